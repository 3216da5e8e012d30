"""Test coverage of the rules, and the ``decide test --report results.xlsx`` workbook.

``after_tests(rulebook, outcomes, report=None)`` is what ``decide test`` calls after
running the Tests sheets (``decide.tools.testing.run_tests``): it returns the text that
lists the rules no Tests case exercises, and writes the report when asked.

The report is one workbook holding a copy of every sheet of every workbook
(values and cell styles), plus a ``Test results`` summary sheet first:

- each Tests sheet gets, right of its columns, one ``ACTUAL`` column per expected
  field and a ``RESULT`` column (PASS / FAIL / ERROR with the message); the EXPECT
  cells are filled green when they match and red when they do not, and the case id
  cell takes the colour of the case;
- each Decision table gets an ``ANNOTATION`` column ``test hits`` with how many test
  cases fired each rule, filled green when at least one did and amber when none did
  (an ANNOTATION column, so the copy still loads as a decision table).
"""
from __future__ import annotations

import os
import re
from copy import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from decide.model.ir import Book, Loc

PASS_FILL = "C6EFCE"  # Excel's "good" green
FAIL_FILL = "FFC7CE"  # Excel's "bad" red
NONE_FILL = "FFEB9C"  # Excel's "neutral" amber
HEAD_FILL = "DDEBF7"


@dataclass
class RuleCoverage:
    table: str
    rule: str
    index: int
    loc: Loc
    hits: int
    cases: list  # ids of the cases that fired it (first few)


def rule_hits(book: Book, outcomes) -> dict[tuple[str, int], list[str]]:
    """(table, rule index) → ids of the test cases that fired it."""
    hits: dict[tuple[str, int], list[str]] = {(t.name, r.index): [] for t in book.tables.values()
                                              for r in t.rules}
    for o in outcomes:
        seen = set()
        for f in o.fired:
            key = (f.table, f.index)
            if key in hits and key not in seen:
                hits[key].append(o.case.id)
                seen.add(key)
    return hits


def coverage(book: Book, outcomes) -> list[RuleCoverage]:
    hits = rule_hits(book, outcomes)
    out = []
    for t in book.tables.values():
        for r in t.rules:
            ids = hits[(t.name, r.index)]
            out.append(RuleCoverage(t.name, str(r.id), r.index, r.loc, len(ids), ids[:5]))
    return out


def uncovered_text(book: Book, outcomes) -> str:
    cov = coverage(book, outcomes)
    missing = [c for c in cov if c.hits == 0]
    total = len(cov)
    lines = []
    if missing:
        lines.append(f"Rules no test case exercises ({len(missing)} of {total}):")
        for c in missing:
            lines.append(f"  {c.table} rule {c.rule} ({c.loc.workbook} › {c.loc.sheet} › row "
                         f"{c.loc.cell[1:]})")
    else:
        lines.append(f"Every rule is exercised by at least one test case ({total} rules).")
    return "\n".join(lines)


def after_tests(rulebook, outcomes, report: Optional[str] = None) -> str:
    """Called by ``decide test``: the coverage text, and the report when asked."""
    text = uncovered_text(rulebook.ir, outcomes)
    if report:
        path = write_report(rulebook, outcomes, report)
        text += f"\nReport written to {path}"
    return text


# --------------------------------------------------------------------------- the report
def _cell_rc(cell: str) -> tuple[int, int]:
    from openpyxl.utils import column_index_from_string
    m = re.match(r"([A-Z]+)(\d+)$", cell)
    return int(m.group(2)), column_index_from_string(m.group(1))


def _fill(color: str):
    from openpyxl.styles import PatternFill
    return PatternFill(start_color=color, end_color=color, fill_type="solid")


def _copy_sheet(src, dst):
    for row in src.iter_rows():
        for c in row:
            if c.value is None and not c.has_style:
                continue
            d = dst.cell(row=c.row, column=c.column, value=c.value)
            if c.has_style:
                d.font = copy(c.font)
                d.fill = copy(c.fill)
                d.border = copy(c.border)
                d.alignment = copy(c.alignment)
                d.number_format = c.number_format
                d.protection = copy(c.protection)
    for key, dim in src.column_dimensions.items():
        dst.column_dimensions[key].width = dim.width
    for key, dim in src.row_dimensions.items():
        if dim.height:
            dst.row_dimensions[key].height = dim.height
    for rng in src.merged_cells.ranges:
        dst.merge_cells(str(rng))
    dst.freeze_panes = src.freeze_panes


def _unique_title(wb, title: str, stem: str) -> str:
    t = title[:31]
    if t not in wb.sheetnames:
        return t
    t = f"{stem} {title}"[:31]
    k = 2
    while t in wb.sheetnames:
        t = f"{title[:27]} ({k})"
        k += 1
    return t


def _show(v) -> str:
    from decide.tools.testing import show_value
    return show_value(v)


def _fit_page(ws):
    """Print (and export to PDF) each sheet landscape, one page wide unless it is so
    wide that one page would be unreadable."""
    ws.page_setup.orientation = "landscape"
    if ws.max_column > 16:
        return
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0


def write_report(rulebook, outcomes, path: str | os.PathLike) -> Path:
    """Write the results workbook; returns its path."""
    from openpyxl import Workbook, load_workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book: Book = rulebook.ir
    root = Path(rulebook.path)
    sources = [root] if root.is_file() else sorted(p for p in root.rglob("*.xlsx")
                                                   if not p.name.startswith(("~$", ".~")))
    out = Workbook()
    summary = out.active
    summary.title = "Test results"
    sheet_map: dict[tuple[str, str], object] = {}
    for src_path in sources:
        rel = src_path.name if root.is_file() else str(src_path.relative_to(root))
        try:
            wb = load_workbook(src_path)
        except Exception:  # a workbook that did not load has no results to show
            continue
        for ws in wb.worksheets:
            dst = out.create_sheet(_unique_title(out, ws.title, Path(rel).stem))
            _copy_sheet(ws, dst)
            sheet_map[(rel, ws.title)] = dst

    # Tests sheets: actual values, pass/fail
    by_suite: dict[int, list] = {}
    for o in outcomes:
        by_suite.setdefault(id(o.suite), []).append(o)
    bold = Font(bold=True)
    touched = []
    for suite in book.tests:
        ws = sheet_map.get((suite.loc.workbook, suite.loc.sheet))
        outs = by_suite.get(id(suite), [])
        if ws is None or not outs:
            continue
        touched.append(ws)
        first_row = _cell_rc(outs[0].case.loc.cell)[0]
        head_row = first_row - 2
        fields = []
        for o in outs:
            for f in o.case.expected:
                if f not in fields:
                    fields.append(f)
        col0 = ws.max_column + 1
        for k, f in enumerate(fields):
            c = ws.cell(row=head_row, column=col0 + k, value="ACTUAL")
            c.font, c.fill = bold, _fill(HEAD_FILL)
            c = ws.cell(row=head_row + 1, column=col0 + k, value=f)
            c.font, c.fill = bold, _fill(HEAD_FILL)
            ws.column_dimensions[get_column_letter(col0 + k)].width = 24
        rcol = col0 + len(fields)
        c = ws.cell(row=head_row, column=rcol, value="RESULT")
        c.font, c.fill = bold, _fill(HEAD_FILL)
        ws.column_dimensions[get_column_letter(rcol)].width = 40
        for o in outs:
            row = _cell_rc(o.case.loc.cell)[0]
            bad = {m.field for m in o.mismatches}
            for k, f in enumerate(fields):
                if o.error:
                    continue
                ws.cell(row=row, column=col0 + k, value=_show(o.outputs.get(f)) if f in o.outputs else None)
                if f in o.case.expected:
                    color = FAIL_FILL if f in bad else PASS_FILL
                    ws.cell(row=row, column=col0 + k).fill = _fill(color)
                    er, ec = _cell_rc(o.case.cells[f].cell)
                    ws.cell(row=er, column=ec).fill = _fill(color)
            if o.error:
                verdict, color = f"ERROR: {o.error}", FAIL_FILL
            elif o.mismatches:
                verdict = "FAIL: " + ", ".join(f"{m.field} expected {_show(m.expected)}, got "
                                               f"{_show(m.actual)}" for m in o.mismatches)
                color = FAIL_FILL
            else:
                verdict, color = "PASS", PASS_FILL
            ws.cell(row=row, column=rcol, value=verdict).fill = _fill(color)
            ws.cell(row=row, column=1).fill = _fill(color)

    # Decision tables: hits per rule
    hits = rule_hits(book, outcomes)
    for t in book.tables.values():
        ws = sheet_map.get((t.loc.workbook, t.loc.sheet))
        if ws is None or not t.rules:
            continue
        touched.append(ws)
        first_row = t.rules[0].row
        col = ws.max_column + 1
        c = ws.cell(row=first_row - 2, column=col, value="ANNOTATION")
        c.font, c.fill = bold, _fill(HEAD_FILL)
        c = ws.cell(row=first_row - 1, column=col, value="test hits")
        c.font, c.fill = bold, _fill(HEAD_FILL)
        ws.column_dimensions[get_column_letter(col)].width = 12
        for r in t.rules:
            n = len(hits[(t.name, r.index)])
            c = ws.cell(row=r.row, column=col, value=n)
            c.fill = _fill(PASS_FILL if n else NONE_FILL)
            if not n:
                ws.cell(row=r.row, column=1).fill = _fill(NONE_FILL)

    # summary sheet
    passed = sum(o.passed for o in outcomes)
    cov = coverage(book, outcomes)
    summary.append(["Test results"])
    summary["A1"].font = Font(bold=True, size=14)
    summary.append(["Cases", len(outcomes)])
    summary.append(["Passed", passed])
    summary.append(["Failed", len(outcomes) - passed])
    summary.append(["Rules", len(cov)])
    summary.append(["Rules no test exercises", sum(c.hits == 0 for c in cov)])
    summary.cell(row=3, column=2).fill = _fill(PASS_FILL)
    summary.cell(row=4, column=2).fill = _fill(FAIL_FILL if passed < len(outcomes) else PASS_FILL)
    summary.append([])
    summary.append(["Case", "Decision", "Result", "Where"])
    for c in summary[summary.max_row]:
        c.font, c.fill = bold, _fill(HEAD_FILL)
    for o in outcomes:
        summary.append([o.case.id, o.suite.target,
                        "PASS" if o.passed else ("ERROR" if o.error else "FAIL"), str(o.case.loc)])
        summary.cell(row=summary.max_row, column=3).fill = _fill(PASS_FILL if o.passed else FAIL_FILL)
    missing = [c for c in cov if c.hits == 0]
    if missing:
        summary.append([])
        summary.append(["Rules no test exercises"])
        summary.cell(row=summary.max_row, column=1).font = bold
        for c in missing:
            summary.append([c.table, f"rule {c.rule}", str(c.loc)])
            summary.cell(row=summary.max_row, column=2).fill = _fill(NONE_FILL)
    for col, width in (("A", 28), ("B", 22), ("C", 10), ("D", 48)):
        summary.column_dimensions[col].width = width
    for ws in [summary] + list(touched):
        _fit_page(ws)
    path = Path(path)
    if path.parent and not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
    out.save(path)
    return path
