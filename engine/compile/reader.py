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
from openpyxl.utils import get_column_letter, range_boundaries
from openpyxl.worksheet._reader import WorkSheetParser
from openpyxl.xml.constants import SHEET_MAIN_NS

from decide.compile.source import SUFFIXES, Source, read_source, refused, workbook_paths  # noqa: F401
from decide.compile.xlsxguard import BoundedZip, Limits, Refused, open_bytes, over_limit, read_file, refusal
from decide.model.errors import Diagnostic
from decide.model.ir import Loc

_FORMULA = f"{{{SHEET_MAIN_NS}}}f"
#: A1 → the sheet's kind (compared case-insensitively, spaces trimmed); English or Japanese
KINDS = {"glossary": "glossary", "decision table": "table", "tests": "tests",
         "invariants": "invariants", "settings": "settings",
         "用語集": "glossary", "決定表": "table", "テスト": "tests", "不変条件": "invariants", "設定": "settings"}
#: a header word in column A of a table-like sheet, and the words beside it
_LOOKS_LIKE = {"rule": ("table", {"INPUT", "OUTPUT"}), "case": ("tests", {"INPUT", "EXPECT", "EXPECTED"})}
_MERGE_BUDGET = 200_000  # cells that merged ranges may cover per sheet: more is refused
_SNIFF_ROWS = 30  # rows of an unrecognised sheet read to see whether it looks like a table


@dataclass
class RawSheet:
    workbook: str  # file name, e.g. "eligibility.xlsx"
    title: str
    kind: str  # "glossary" | "table" | "tests" | "invariants" | "settings" | "other"
    cells: dict[tuple[int, int], Any]  # (row, col) → value; empty cells absent
    uncached_formulas: set[tuple[int, int]] = field(default_factory=set)
    max_row: int = 0
    max_col: int = 0
    hidden_rows: set[int] = field(default_factory=set)
    hidden_columns: set[int] = field(default_factory=set)
    error_values: dict[tuple[int, int], str] = field(default_factory=dict)  # cells showing #VALUE! …
    looks_like: tuple[str, int] | None = None  # an unrecognised sheet that looks like ("table", row)

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


class _CellParser(WorkSheetParser):
    """openpyxl's streaming sheet parser (the one its read-only worksheets use), reading
    each cell's cached value and noting whether it holds a formula: one pass, and only
    the cells present (``iter_rows`` pads every row to the widest and fills the gaps)."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.hidden_rows: set[int] = set()

    def parse_cell(self, element):
        cell = super().parse_cell(element)
        cell["formula"] = element.find(_FORMULA) is not None
        return cell

    def parse_row(self, row):
        idx, cells = super().parse_row(row)
        if row.get("hidden") in ("1", "true"):
            self.hidden_rows.add(idx)
        return idx, cells

    def hidden_columns(self, limit: int) -> set[int]:
        """The hidden columns (``<col min max hidden="1">``) up to ``limit``."""
        out = set()
        for attrs in self.column_dimensions.values():
            if attrs.get("hidden") in ("1", "true"):
                lo, hi = int(attrs["min"]), min(int(attrs.get("max", attrs["min"])), limit)
                out.update(range(lo, hi + 1))
        return out

    def merges(self) -> list[tuple[int, int, int, int]]:
        """The merged ranges (min row, min col, max row, max col), once the rows are read."""
        if not self.merged_cells:
            return []
        out = []
        for m in self.merged_cells.mergeCell:
            min_col, min_row, max_col, max_row = range_boundaries(m.ref)
            out.append((min_row, min_col, max_row, max_col))
        return out


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


def _rows(zf: BoundedZip, part: str, strings: list, wb, parsers: list):
    """The sheet's rows, streamed; its parser is appended to ``parsers``, to be asked, once
    the rows are read, what it found beside them (hidden rows and columns, merges)."""
    with zf.open(part) as src:
        parser = _CellParser(src, strings, data_only=True, epoch=wb.epoch,
                             date_formats=wb._date_formats, timedelta_formats=wb._timedelta_formats)
        parsers.append(parser)
        yield from parser.parse()


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _kind(a1: Any) -> str:
    return KINDS.get(a1.strip().lower(), "other") if isinstance(a1, str) else "other"


def _sniff(first, rows) -> tuple[str, int] | None:
    """Whether an unrecognised sheet looks like a table or a Tests sheet: a row within the
    first few whose column A is Rule (Case) and whose other cells say INPUT/OUTPUT (EXPECT)."""
    for idx, row in chain([first], rows):
        if idx > _SNIFF_ROWS:
            return None
        values = {c["column"]: c["value"] for c in row if isinstance(c["value"], str)}
        head = (values.get(1) or "").strip().lower()
        if head in _LOOKS_LIKE:
            kind, words = _LOOKS_LIKE[head]
            if any(v.strip().upper() in words for col, v in values.items() if col > 1):
                return kind, idx
    return None


def _read_sheet(rows, parsers: list, title: str, name: str, limits: Limits) -> RawSheet:
    """One sheet from its rows: A1 alone decides its kind; only the kinds the engine reads
    are read further, within the row and column limits (and the zip's byte budget).  A
    merged range means its top-left value in every cell it covers (Excel empties the
    others, LibreOffice keeps them: both read the same)."""
    try:
        first = next(rows, None)
        a1 = None
        if first is not None and first[0] == 1:
            a1 = next((c["value"] for c in first[1] if c["column"] == 1), None)
        kind = _kind(a1)
        if kind == "other":
            cells = {} if _blank(a1) else {(1, 1): a1}
            sheet = RawSheet(name, title, kind, cells, set(), len(cells), len(cells))
            if first is not None:
                sheet.looks_like = _sniff(first, rows)
            return sheet
        cells: dict[tuple[int, int], Any] = {}
        uncached, errors = set(), {}
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
                    continue
                if c.get("data_type") == "e":
                    errors[(r, col)] = str(v)
                cells[(r, col)] = v
                max_row, max_col = max(max_row, r), max(max_col, col)
        parser = parsers[0]
        sheet = RawSheet(name, title, kind, cells, uncached, max_row, max_col,
                         set(parser.hidden_rows), parser.hidden_columns(max_col), errors)
        _fill_merges(sheet, parser.merges(), limits)
        return sheet
    finally:
        rows.close()


def _fill_merges(sheet: RawSheet, merges, limits: Limits) -> None:
    """Every cell a merged range covers takes the value (and formula state) of its
    top-left cell; a range past the sheet's limits is cut at them."""
    budget = _MERGE_BUDGET
    for r0, c0, r1, c1 in merges:
        r1, c1 = min(r1, limits.max_rows), min(c1, limits.max_columns)
        area = max(0, r1 - r0 + 1) * max(0, c1 - c0 + 1)
        budget -= area
        if budget < 0:
            raise over_limit(f"has merged ranges covering more than {_MERGE_BUDGET:,} cells: "
                             "unmerge them", sheet.title)
        top = (r0, c0)
        for r in range(r0, r1 + 1):
            for col in range(c0, c1 + 1):
                if (r, col) == top:
                    continue
                sheet.cells.pop((r, col), None)
                sheet.uncached_formulas.discard((r, col))
                sheet.error_values.pop((r, col), None)
                if top in sheet.cells:
                    sheet.cells[(r, col)] = sheet.cells[top]
                if top in sheet.uncached_formulas:
                    sheet.uncached_formulas.add((r, col))
                if top in sheet.error_values:
                    sheet.error_values[(r, col)] = sheet.error_values[top]
        if top in sheet.cells or top in sheet.uncached_formulas:
            sheet.max_row, sheet.max_col = max(sheet.max_row, r1), max(sheet.max_col, c1)


def parse_workbook(data: bytes, name: str, limits: Limits) -> tuple[list[RawSheet], list[Diagnostic]]:
    """The sheets of one workbook from its bytes (``xlsxguard.read_file``), or one
    diagnostic saying why it is not read.  One pass over each sheet's XML."""
    sheet = ""
    try:
        zf = open_bytes(data, limits)
        try:
            wb, strings, parts = _open(zf)
            sheets = []
            for sheet, part in parts:
                parsers: list = []
                sheets.append(_read_sheet(_rows(zf, part, strings, wb, parsers), parsers, sheet, name, limits))
            return sheets, []
        except Exception as e:  # whatever a damaged or hostile file makes openpyxl raise
            raise refusal(e, "" if sheet else zf.last_part, sheet) from None
        finally:
            zf.close()
    except Refused as r:
        return [], [refused(name, r)]


def read_workbook(path: Path, name: str | None = None, root: Path | None = None,
                  limits: Limits | None = None) -> tuple[list[RawSheet], list[Diagnostic]]:
    """The sheets of one workbook, or one diagnostic saying why it is not read.
    ``root``: the tables directory (a symbolic link may not lead out of it)."""
    name = name or path.name
    limits = limits or Limits.from_env()
    try:
        data = read_file(path, root, limits)
    except Refused as r:
        return [], [refused(name, r)]
    return parse_workbook(data, name, limits)


def parse_source(src: Source) -> tuple[list[RawSheet], list[Diagnostic]]:
    """The sheets of every workbook read, and every problem, in the order read."""
    sheets, diags = [], list(src.problems)
    for rel, data in src.entries:
        if isinstance(data, Diagnostic):
            diags.append(data)
            continue
        s, dg = parse_workbook(data, rel, src.limits)
        sheets.extend(s)
        diags.extend(dg)
    return sheets, diags


def read_directory(directory: str | os.PathLike,
                   limits: Limits | None = None) -> tuple[list[RawSheet], list[Diagnostic]]:
    return parse_source(read_source(directory, limits))
