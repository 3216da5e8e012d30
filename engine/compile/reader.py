"""Workbook source: read every ``.xlsx`` under a directory into plain cell grids.

Values are read with their positions and nothing else: formatting is never
interpreted.  A formula cell is read through its cached value; a formula without
one is reported (the workbook was saved by a program that does not compute).
Every read is bounded (xlsxguard): a file that is damaged, hostile, too big or not
an .xlsx gives one diagnostic naming it, and the other workbooks are still read.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any

from openpyxl.reader.excel import ExcelReader
from openpyxl.styles.stylesheet import apply_stylesheet
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._reader import WorkSheetParser
from openpyxl.xml.constants import SHEET_MAIN_NS

from decide.compile.xlsxguard import OTHER_FORMATS, BoundedZip, Limits, Refused, open_workbook, over_limit, refusal
from decide.model.errors import Diagnostic
from decide.model.ir import Loc

_FORMULA = f"{{{SHEET_MAIN_NS}}}f"
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


SUFFIXES = (".xlsx",) + tuple(OTHER_FORMATS)  # listed so that a wrong format is reported, not missed


def workbook_paths(directory: str | os.PathLike) -> list[Path]:
    d = Path(directory)
    if d.is_file():
        return [d]
    return sorted(p for p in d.rglob("*") if p.suffix.lower() in SUFFIXES
                  and not p.name.startswith(("~$", ".~")))


class _CellParser(WorkSheetParser):
    """openpyxl's streaming sheet parser (the one its read-only worksheets use), reading
    each cell's cached value and noting whether it holds a formula: one pass, and only
    the cells present (``iter_rows`` pads every row to the widest and fills the gaps)."""

    def parse_cell(self, element):
        cell = super().parse_cell(element)
        cell["formula"] = element.find(_FORMULA) is not None
        return cell


def _open(zf: BoundedZip):
    """What openpyxl's read-only load does, less what the engine does not need: document
    properties, theme, chart sheets, defined names, and each worksheet's size scan (which
    reads a sheet without a <dimension> tag to its end).  → (workbook, shared strings,
    [(sheet title, part name)])."""
    reader = ExcelReader(zf.source, read_only=True, data_only=True)
    reader.archive, reader.valid_files = zf, zf.namelist()
    reader.read_manifest()
    reader.read_strings()
    reader.read_workbook()
    apply_stylesheet(zf, reader.wb)
    sheets = [(s.name, rel.target) for s, rel in reader.parser.find_sheets()
              if rel.target in reader.valid_files and "chartsheet" not in rel.Type]
    return reader.wb, reader.shared_strings, sheets


def _rows(zf: BoundedZip, part: str, strings: list, wb):
    with zf.open(part) as src:
        parser = _CellParser(src, strings, data_only=True, epoch=wb.epoch,
                             date_formats=wb._date_formats, timedelta_formats=wb._timedelta_formats)
        yield from parser.parse()


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _read_sheet(rows, title: str, name: str, limits: Limits) -> RawSheet:
    """One sheet from its rows: A1 alone decides its kind; only the kinds the engine reads
    are read further, within the row and column limits (and the zip's byte budget)."""
    try:
        first = next(rows, None)
        a1 = None
        if first is not None and first[0] == 1:
            a1 = next((c["value"] for c in first[1] if c["column"] == 1), None)
        kind = KINDS.get(a1.strip().lower(), "other") if isinstance(a1, str) else "other"
        if kind == "other":
            cells = {} if _blank(a1) else {(1, 1): a1}
            return RawSheet(name, title, kind, cells, set(), len(cells), len(cells))
        cells: dict[tuple[int, int], Any] = {}
        uncached = set()
        max_row = max_col = 0
        for idx, row in chain([first], rows):
            if idx > limits.max_rows:
                raise over_limit(f"has rows past row {limits.max_rows:,}, the limit read per sheet (row "
                                 f"{idx:,}; an empty formatted row counts too): delete the rows below the "
                                 f"table, or raise DECIDE_MAX_ROWS", title)
            for c in row:
                v, r, col = c["value"], c["row"], c["column"]
                blank = _blank(v)
                if blank and not c["formula"]:
                    continue
                if col > limits.max_columns or r > limits.max_rows:
                    raise over_limit(f"has a value in {get_column_letter(min(col, 18278))}{r}, past the "
                                     f"{limits.max_columns:,} columns and {limits.max_rows:,} rows read per "
                                     f"sheet: delete it, or raise DECIDE_MAX_COLUMNS", title)
                if blank:
                    uncached.add((r, col))
                else:
                    cells[(r, col)] = v
                max_row, max_col = max(max_row, r), max(max_col, col)
        return RawSheet(name, title, kind, cells, uncached, max_row, max_col)
    finally:
        rows.close()


def read_workbook(path: Path, name: str | None = None, root: Path | None = None,
                  limits: Limits | None = None) -> tuple[list[RawSheet], list[Diagnostic]]:
    """The sheets of one workbook, or one diagnostic saying why it is not read.
    ``root``: the tables directory (a symbolic link may not lead out of it)."""
    name = name or path.name
    limits = limits or Limits.from_env()
    sheet = ""
    try:
        zf = open_workbook(path, root, limits)
        try:
            wb, strings, parts = _open(zf)
            sheets = []
            for sheet, part in parts:
                sheets.append(_read_sheet(_rows(zf, part, strings, wb), sheet, name, limits))
            return sheets, []
        except Exception as e:  # whatever a damaged or hostile file makes openpyxl raise
            raise refusal(e, "" if sheet else zf.last_part, sheet) from None
        finally:
            zf.close()
    except Refused as r:
        return [], [Diagnostic(r.code, "error", Loc(name, r.sheet), r.message)]


def read_directory(directory: str | os.PathLike,
                   limits: Limits | None = None) -> tuple[list[RawSheet], list[Diagnostic]]:
    d = Path(directory)
    if limits is None:
        try:
            limits = Limits.from_env()
        except ValueError as e:
            return [], [Diagnostic("E100", "error", Loc(str(directory)), str(e))]
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
        s, dg = read_workbook(p, rel, None if d.is_file() else d, limits)
        sheets.extend(s)
        diags.extend(dg)
    return sheets, diags
