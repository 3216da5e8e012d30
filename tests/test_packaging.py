"""Packaging: every Python package under engine/, decisions/ and tables/ is listed in
pyproject.toml under its import name (a subpackage left out installs fine in editable
mode and breaks a normal install), and the shipped workbooks are package data."""
from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONF = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def _import_name(folder: Path) -> str:
    """The import name of a repository folder, by the package-dir mapping."""
    rel = folder.relative_to(ROOT).as_posix()
    best = max((src for src in CONF["package-dir"].values() if rel == src or rel.startswith(src + "/")),
               key=len)
    pkg = next(k for k, v in CONF["package-dir"].items() if v == best)
    rest = rel[len(best):].strip("/")
    return ".".join([pkg, *rest.split("/")]) if rest else pkg


def test_every_package_is_listed_in_pyproject():
    listed = set(CONF["packages"])
    found = {_import_name(p.parent)
             for top in ("engine", "decisions", "tables") for p in (ROOT / top).rglob("__init__.py")
             if "__pycache__" not in p.parts}
    assert found <= listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"
    assert _import_name(ROOT / "engine" / "runtime" / "durable") == "decide.runtime.durable"


def test_no_generic_top_level_names_are_installed():
    tops = {p.split(".")[0] for p in CONF["packages"]}
    assert tops == {"decide"}, tops


def test_the_shipped_workbooks_are_package_data():
    assert "*.xlsx" in CONF["package-data"]["decide.atone.tables"]
    assert CONF["package-dir"]["decide.atone.tables"] == "tables"
    assert sorted(p.name for p in (ROOT / "tables").glob("*.xlsx"))


def test_the_installed_tables_are_found_every_time():
    """The decide.tables entry point resolves to the workbooks on every call (a
    function named like the ``tables`` sub-package would be replaced by it once the
    sub-package is imported)."""
    from decide.app.shipped import shipped_tables
    first, second = shipped_tables(), shipped_tables()
    assert first == second and first is not None
    assert sorted(p.name for p in Path(first).glob("*.xlsx")) == sorted(
        p.name for p in (ROOT / "tables").glob("*.xlsx"))
