"""Build small workbooks with openpyxl for tests (shared by the test modules).

    path = write_workbook(tmp_path / "t.xlsx",
        glossary=[("amount", "number", "", "金額")],
        tables=[table("T", "FIRST", ["INPUT amount", "OUTPUT ok"], [[1, "> 3", True]])])
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Sequence

from openpyxl import Workbook


def table(name: str, policy: str | None, columns: Sequence[str], rules: Iterable[Sequence[Any]],
          description: str | None = None, sheet: str | None = None) -> dict:
    """columns: "INPUT field", "OUTPUT field" or "ANNOTATION note"; rules: rows
    starting with the rule id, one value per column (None = empty cell)."""
    return {"kind": "table", "name": name, "policy": policy, "columns": list(columns),
            "rules": [list(r) for r in rules], "description": description, "sheet": sheet or name}


def tests_sheet(target: str, columns: Sequence[str], cases: Iterable[Sequence[Any]],
                sheet: str = "Tests") -> dict:
    """columns: "INPUT field" or "EXPECT field"; cases: rows starting with the case id."""
    return {"kind": "tests", "target": target, "columns": list(columns),
            "cases": [list(c) for c in cases], "sheet": sheet}


def invariants_sheet(target: str, rows: Iterable[Sequence[Any]], sheet: str = "Invariants") -> dict:
    return {"kind": "invariants", "target": target, "rows": [list(r) for r in rows], "sheet": sheet}


def write_workbook(path: Path, glossary: Iterable[Sequence[Any]] = (), sheets: Iterable[dict] = (),
                   tables: Iterable[dict] = ()) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = "Glossary"
    ws.append(["Glossary"])
    ws.append(["Field", "Type", "Allowed values", "Label", "Description"])
    for row in glossary:
        ws.append(list(row) + [None] * (5 - len(row)))
    for spec in list(tables) + list(sheets):
        s = wb.create_sheet(spec["sheet"][:31])
        if spec["kind"] == "table":
            s.append(["Decision table", spec["name"]])
            s.append(["Hit policy", spec["policy"]])
            if spec["description"]:
                s.append(["Description", spec["description"]])
            s.append([])
            s.append(["Rule"] + [c.split(" ", 1)[0] for c in spec["columns"]])
            s.append([None] + [c.split(" ", 1)[1] if " " in c else None for c in spec["columns"]])
            for r in spec["rules"]:
                s.append(r)
        elif spec["kind"] == "tests":
            s.append(["Tests", spec["target"]])
            s.append([])
            s.append(["Case"] + [c.split(" ", 1)[0] for c in spec["columns"]])
            s.append([None] + [c.split(" ", 1)[1] for c in spec["columns"]])
            for c in spec["cases"]:
                s.append(c)
        elif spec["kind"] == "invariants":
            s.append(["Invariants", spec["target"]])
            s.append(["Property", "WHEN", "THEN"])
            for r in spec["rows"]:
                s.append(r)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path
