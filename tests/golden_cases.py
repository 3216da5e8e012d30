"""Behaviour recorded before the package was reorganised (issue 8), replayed after.

``python -m tests.golden_cases`` writes tests/golden/*.json from the current code;
tests/test_golden.py runs the same producers and compares.  What is recorded:
every examples/*.json on both engines, every Tests case of the shipped tables,
``decide lint --format json`` on the shipped tables and on every workbook of the lint
test corpus, and ``decide diff --format json`` of two edits of the shipped tables."""
from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

from click.testing import CliRunner
from openpyxl import load_workbook

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"
EXAMPLES = sorted((ROOT / "examples").glob("*.json"))
TABLES = ROOT / "tables"

# The one place that names the package's entry points.
import decide  # noqa: E402
from decide.app.cli import main  # noqa: E402
from decide.tools.testing import run_tests  # noqa: E402


def cli(*args) -> dict:
    r = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return {"exit": r.exit_code, "stdout": r.stdout}


# The rule-set version and the as-of date added by issue 10 (they change with every
# edit of the workbooks and every day): lines of the result's top-level object, right
# after "decision", in the CLI's 2-space JSON.
_ADDED_LINES = {key: re.compile(f'(?m)^  "{key}": "[^"\\n]*",\\n') for key in ("version", "as_of")}


def strip_version(stdout: str) -> str:
    """The CLI's result JSON without its top-level ``"version"`` and ``"as_of"`` keys,
    every other byte kept."""
    if stdout.startswith("{"):
        parsed = json.loads(stdout)
        for key, line in _ADDED_LINES.items():
            if isinstance(parsed, dict) and key in parsed:
                stripped = line.sub("", stdout, count=1)
                parsed.pop(key)
                assert json.loads(stripped) == parsed, f"{key} key not where expected"
                stdout = stripped
    return stdout


def examples() -> dict:
    out = {}
    for p in EXAMPLES:
        for eng in ("native", "durable"):
            r = cli(p, "--tables", TABLES, "--engine", eng)
            out[f"{p.name}:{eng}"] = {**r, "stdout": strip_version(r["stdout"])}
    return out


def tests_cases() -> dict:
    out = {}
    for eng in ("native", "durable"):
        book = decide.load(TABLES, engine=eng)
        for o in run_tests(book):
            key = f"{eng}:{o.case.loc.workbook}:{o.case.loc.sheet}:{o.case.id}"
            out[key] = {"passed": o.passed, "error": o.error,
                        "outputs": json.loads(json.dumps(o.outputs, default=_plain, sort_keys=True)),
                        "fired": [f"{f.table}#{f.rule}" for f in o.fired]}
    return out


def _plain(v):
    """Values as stable text, independent of the engine's own JSON encoder."""
    if isinstance(v, (tuple, set, frozenset)):
        return list(v)
    return f"{type(v).__name__}:{v}"


def strip_lint_names(obj):
    """The lint JSON without the symbolic names added by issue 8 (``name`` keys)."""
    if isinstance(obj, dict):
        return {k: strip_lint_names(v) for k, v in obj.items() if k != "name"}
    if isinstance(obj, list):
        return [strip_lint_names(v) for v in obj]
    return obj


def lint_json(path) -> dict:
    r = cli("lint", path, "--format", "json")
    return {"exit": r["exit"], "json": strip_lint_names(json.loads(r["stdout"]))}


def lint_shipped() -> dict:
    return lint_json(TABLES)


def lint_corpus(tmp: Path) -> dict:
    from tests.test_lint_corpus import CORPUS
    from tests.workbooks import write_workbook
    out = {}
    for name, (glossary, spec, _expected) in sorted(CORPUS.items()):
        d = tmp / name
        d.mkdir(parents=True)
        write_workbook(d / "book.xlsx", glossary, [spec])
        out[name] = lint_json(d)
    return out


EDITS = {
    # a category dropped from the cashable list
    "cashable_list": ("purchase_restriction.xlsx", "1 換金性の高い商品", "B7",
                      '"gift_card", "prepaid_card", "e_money"'),
    # the spend threshold raised
    "spend_threshold": ("card_eligibility.xlsx", "5 実績-金額", "B7", ">= 5000"),
}


def diffs(tmp: Path) -> dict:
    out = {}
    for name, (wb, sheet, cell, value) in EDITS.items():
        new = tmp / f"diff_{name}"
        shutil.copytree(TABLES, new, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
        w = load_workbook(new / wb)
        w[sheet][cell] = value
        w.save(new / wb)
        r = cli("diff", TABLES, new, "--generate", 200, "--format", "json")
        out[name] = {"exit": r["exit"], "json": json.loads(r["stdout"])}
    return out


def produce(tmp: Path) -> dict:
    return {"examples": examples(), "tests_cases": tests_cases(), "lint_shipped": lint_shipped(),
            "lint_corpus": lint_corpus(tmp / "corpus"), "diffs": diffs(tmp)}


def main_record() -> None:
    import tempfile
    GOLDEN.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as t:
        for name, value in produce(Path(t)).items():
            (GOLDEN / f"{name}.json").write_text(
                json.dumps(value, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main_record())
