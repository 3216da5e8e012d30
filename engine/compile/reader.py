"""Workbook source: read every ``.xlsx`` under a directory into plain cell grids.

Values are read with their positions and nothing else: formatting is never
interpreted.  A formula cell is read through its cached value; a formula without
one is reported (the workbook was saved by a program that does not compute).
"""
from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from decide.model.errors import Diagnostic
from decide.model.ir import Loc

KINDS = {"glossary": "glossary", "decision table": "table", "tests": "tests",
         "invariants": "invariants"}


@dataclass
class RawSheet:
    workbook: str  # file name, e.g. "eligibility.xlsx"
    title: str
    kind: str  # "glossary" | "table" | "tests" | "invariants" | "other"
    cells: dict[tuple[int, int], Any]  # (row, col) → value; empty cells absent
    uncached_formulas: set[tuple[int, int]] = field(default_factory=set)
    max_row: int = 0
    max_col: int = 0

    def loc(self, row: int | None = None, col: int | None = None) -> Loc:
        if row is None:
            return Loc(self.workbook, self.title)
        if col is None:
            return Loc(self.workbook, self.title, f"row {row}")
        return Loc(self.workbook, self.title, f"{get_column_letter(col)}{row}")

    def get(self, row: int, col: int) -> Any:
        return self.cells.get((row, col))

    def text(self, row: int, col: int) -> str:
        v = self.cells.get((row, col))
        return "" if v is None else str(v).strip()

    def row_empty(self, row: int) -> bool:
        return all((row, c) not in self.cells for c in range(1, self.max_col + 1))


def workbook_paths(directory: str | os.PathLike) -> list[Path]:
    d = Path(directory)
    if d.is_file():
        return [d]
    return sorted(p for p in d.rglob("*.xlsx") if not p.name.startswith(("~$", ".~")))


def read_workbook(path: Path, name: str | None = None) -> tuple[list[RawSheet], list[Diagnostic]]:
    name = name or path.name
    try:
        values = load_workbook(path, data_only=True, read_only=True)
        formulas = load_workbook(path, data_only=False, read_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as e:
        return [], [Diagnostic("E100", "error", Loc(name),
                               f"cannot be read as an Excel workbook (.xlsx): {e}")]
    sheets = []
    for ws in values.worksheets:
        first = next(ws.iter_rows(min_row=1, max_row=1, max_col=1, values_only=True), (None,))
        a1 = first[0] if first else None
        kind = KINDS.get(str(a1).strip().lower(), "other") if isinstance(a1, str) else "other"
        cells: dict[tuple[int, int], Any] = {}
        max_row = max_col = 0
        for row in ws.iter_rows():
            for c in row:
                v = c.value
                if v is None or (isinstance(v, str) and not v.strip()):
                    continue
                cells[(c.row, c.column)] = v
                max_row = max(max_row, c.row)
                max_col = max(max_col, c.column)
        if kind == "other":
            sheets.append(RawSheet(name, ws.title, kind, cells, set(), max_row, max_col))
            continue
        uncached = set()
        for row in formulas[ws.title].iter_rows():
            for c in row:
                if getattr(c, "data_type", None) == "f" and (c.row, c.column) not in cells:
                    uncached.add((c.row, c.column))
                    max_row = max(max_row, c.row)
                    max_col = max(max_col, c.column)
        sheets.append(RawSheet(name, ws.title, kind, cells, uncached, max_row, max_col))
    values.close()
    formulas.close()
    return sheets, []


def read_directory(directory: str | os.PathLike) -> tuple[list[RawSheet], list[Diagnostic]]:
    d = Path(directory)
    if not d.exists():
        return [], [Diagnostic("E100", "error", Loc(str(directory)),
                               "no such directory or file")]
    paths = workbook_paths(d)
    if not paths:
        return [], [Diagnostic("E100", "error", Loc(str(directory)),
                               "contains no .xlsx workbook")]
    sheets, diags = [], []
    for p in paths:
        rel = p.name if d.is_file() else str(p.relative_to(d))
        s, dg = read_workbook(p, rel)
        sheets.extend(s)
        diags.extend(dg)
    return sheets, diags
