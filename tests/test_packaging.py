"""Packaging: every Python package under engine/ and decisions/ is listed in
pyproject.toml (a subpackage left out installs fine in editable mode and breaks a
normal install), and the shipped workbooks are package data."""
from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_is_listed_in_pyproject():
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = set(conf["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts)
             for top in ("engine", "decisions", "tables") for p in (ROOT / top).rglob("__init__.py")
             if "__pycache__" not in p.parts}
    assert found <= listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"


def test_the_shipped_workbooks_are_package_data():
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "*.xlsx" in conf["tool"]["setuptools"]["package-data"]["tables"]
    assert sorted(p.name for p in (ROOT / "tables").glob("*.xlsx"))
