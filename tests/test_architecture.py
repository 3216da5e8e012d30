"""The layers hold: import-linter's contracts (pyproject.toml, [tool.importlinter])
pass on the repository's source, and no module imports, directly or through others,
a module that imports it back.

The source is laid out as it installs (engine/ → decide, decisions/ → decide.atone)
in a folder of links, so the check sees the repository whatever way decide was
installed (an editable install maps folders with an import hook grimp cannot follow)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _installed_layout(tmp: Path) -> Path:
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    for pkg, src in sorted(conf.items(), key=lambda kv: kv[0].count(".")):
        for f in (ROOT / src).rglob("*.py"):  # real folders, linked files: nothing writes back
            rel = f.relative_to(ROOT / src)
            dest = tmp.joinpath(*pkg.split("."), rel)
            if "__pycache__" in rel.parts or dest.exists():
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.symlink_to(f)
    return tmp


@pytest.fixture(scope="module")
def layout(tmp_path_factory):
    return _installed_layout(tmp_path_factory.mktemp("layout"))


def _lint_imports(layout: Path, config: Path) -> subprocess.CompletedProcess:
    exe = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    env = dict(os.environ, PYTHONPATH=str(layout))
    return subprocess.run([exe, "--config", str(config), "--no-cache"], cwd=layout,
                          capture_output=True, text=True, env=env, timeout=300)


def test_import_linter_contracts_are_kept(layout):
    p = _lint_imports(layout, ROOT / "pyproject.toml")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "broken" in p.stdout and " 0 broken" in p.stdout


def test_an_upward_import_breaks_the_contract(layout, tmp_path):
    """The contract is live: a model module that imports the CLI is reported."""
    bad = tmp_path / "layout"
    shutil.copytree(layout, bad, symlinks=True)
    (bad / "decide" / "model" / "upward.py").write_text("from decide.app import cli\n")
    p = _lint_imports(bad, ROOT / "pyproject.toml")
    assert p.returncode != 0 and "decide.model.upward -> decide.app.cli" in p.stdout, p.stdout


def _cycles(layout: Path) -> list[list[str]]:
    code = r"""
import sys, json, grimp
g = grimp.build_graph("decide")
adj = {m: sorted(g.find_modules_directly_imported_by(m)) for m in g.modules}
index, low, stack, on, out, n = {}, {}, [], set(), [], [0]
sys.setrecursionlimit(10000)
def visit(v):
    index[v] = low[v] = n[0]; n[0] += 1; stack.append(v); on.add(v)
    for w in adj[v]:
        if w not in index:
            visit(w); low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop(); on.discard(w); comp.append(w)
            if w == v:
                break
        if len(comp) > 1:
            out.append(sorted(comp))
for m in sorted(adj):
    if m not in index:
        visit(m)
print(json.dumps(out))
"""
    import json
    p = subprocess.run([sys.executable, "-c", code], cwd=layout, capture_output=True, text=True,
                       env=dict(os.environ, PYTHONPATH=str(layout)), timeout=300)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def test_no_import_cycles(layout):
    assert _cycles(layout) == []
