"""docs/ci/decide-review.yml: well-formed GitHub Actions YAML whose steps, run here
as a runner would run them (but for the checkouts, the install and the comment),
produce the pull-request summary."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from openpyxl import load_workbook

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / "docs" / "ci" / "decide-review.yml"


@pytest.fixture(scope="module")
def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def _steps(workflow):
    return workflow["jobs"]["review"]["steps"]


def test_a_pull_request_workflow_that_can_comment(workflow):
    on = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert "pull_request" in on
    assert workflow["permissions"]["pull-requests"] == "write"
    job = workflow["jobs"]["review"]
    assert job["runs-on"].startswith("ubuntu")
    uses = [s.get("uses", "") for s in job["steps"]]
    assert uses.count("actions/checkout@v4") == 2 and "actions/setup-python@v5" in uses
    base = next(s for s in job["steps"] if s.get("uses") == "actions/checkout@v4" and "with" in s)
    assert base["with"]["ref"] == "${{ github.event.pull_request.base.sha }}"
    for s in job["steps"]:
        assert set(s) <= {"name", "id", "uses", "with", "run", "env", "if"}, s
        assert ("uses" in s) != ("run" in s), s
    post = next(s for s in job["steps"] if "gh pr comment" in s.get("run", ""))
    assert post["env"]["GH_TOKEN"] == "${{ github.token }}"
    ids = {s["id"] for s in job["steps"] if "id" in s}
    assert ids == {"test", "lint", "diff"}


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash not installed")
def test_its_steps_post_the_test_lint_and_diff_summary(workflow, tmp_path):
    """The test, lint, diff and summary steps, run with bash as the runner runs them,
    on a checkout whose spend threshold was raised (and its Tests not updated)."""
    work = tmp_path / "checkout"
    shutil.copytree(ROOT / "tables", work / "tables", ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    shutil.copytree(ROOT / "tables", work / ".base" / "tables", ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    wb = load_workbook(work / "tables" / "card_eligibility.xlsx")
    wb["5 実績-金額"]["B7"] = ">= 5000"
    wb.save(work / "tables" / "card_eligibility.xlsx")
    temp = tmp_path / "runner"
    temp.mkdir()
    env = dict(os.environ, RUNNER_TEMP=str(temp), GITHUB_OUTPUT=str(temp / "output"),
               GITHUB_STEP_SUMMARY=str(temp / "summary"), **workflow["env"],
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    outputs: dict[str, dict] = {}
    for step in _steps(workflow):
        run = step.get("run", "")
        if not run or "pip install" in run or "gh pr comment" in run or step.get("if"):
            continue
        step_env = dict(env)
        for k, v in step.get("env", {}).items():  # ${{ steps.X.outputs.code }}
            for sid, out in outputs.items():
                v = v.replace(f"${{{{ steps.{sid}.outputs.code }}}}", out.get("code", ""))
            step_env[k] = v
        (temp / "output").write_text("")
        subprocess.run(["bash", "-e", "-c", run], cwd=work, env=step_env, check=True, timeout=600)
        if "id" in step:
            lines = (temp / "output").read_text().splitlines()
            outputs[step["id"]] = dict(line.split("=", 1) for line in lines)
    assert outputs == {"test": {"code": "1"}, "lint": {"code": "0"}, "diff": {"code": "1"}}
    comment = (temp / "comment.md").read_text(encoding="utf-8")
    assert comment.startswith("<!-- decide-review -->\n\n## decide test: failed\n\n```\n")
    assert "case spend_3000" in comment and re.search(r"\n\d+ passed, 1 failed\n", comment)
    assert "## decide lint: clean" in comment
    assert "## Decision tables: what this change does" in comment
    assert "| 1 | total_spent_yen | B7 | `>= 3000` | `>= 5000` |" in comment
    assert (temp / "summary").read_text(encoding="utf-8").strip() == comment.strip()
    assert (temp / "results.xlsx").exists()  # kept as the run's artifact
