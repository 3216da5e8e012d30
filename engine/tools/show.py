"""``decide show WORKBOOK.xlsx``: a workbook as stable, line-oriented text.

What the engine reads of a workbook, one line per row, each filled cell with its
address (``A7: 1 | B7: >= 3000 | C7: true``), under a line naming the sheet and what
it is (Glossary, Decision table, Tests, Invariants; any other sheet is ignored by the
engine and shown by its A1 alone).  So a decision table shows its name and hit policy
(rows 1–2), its column headers, and each rule as one line; a Glossary each field as
one line; a Tests sheet each case; an Invariants sheet each property.

The text is the same for the same cells whatever program saved the file, and never
names the file (git hands a textconv driver a temporary copy), so it serves as a git
``textconv`` driver: ``git diff`` of a workbook then shows the rows whose cells
changed.  The cells come from the engine's own reader (``decide.compile.reader``),
so what is shown is what ``decide`` loads: cached values of formulas, dates as ISO
dates, numbers in their shortest form.
"""
from __future__ import annotations

import datetime as _dt
from pathlib import Path

from openpyxl.utils import get_column_letter

from decide.compile.reader import RawSheet, read_workbook, workbook_paths
from decide.model.errors import Diagnostic

KIND_TITLES = {"glossary": "Glossary", "table": "Decision table", "tests": "Tests", "settings": "Settings",
               "invariants": "Invariants", "other": "Ignored sheet"}


def show_value(v) -> str:
    """A cell's value as one line of text."""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"  # as Excel shows a boolean cell
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() and abs(v) < 1e16 else repr(v)
    if isinstance(v, _dt.datetime):
        return v.date().isoformat() if v.time() == _dt.time() else v.isoformat(" ")
    if isinstance(v, (_dt.date, _dt.time)):
        return v.isoformat()
    text = str(v)
    return text.replace("\\", "\\\\").replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n")


def sheet_lines(sheet: RawSheet) -> list[str]:
    """The sheet's title line, then one indented line per row that holds a cell."""
    lines = [f'{KIND_TITLES.get(sheet.kind, sheet.kind)} "{sheet.title}"']
    rows: dict[int, list[int]] = {}
    for (r, c) in sheet.cells:
        rows.setdefault(r, []).append(c)
    for r in sorted(rows):
        cells = " | ".join(f"{get_column_letter(c)}{r}: {show_value(sheet.cells[(r, c)])}"
                           for c in sorted(rows[r]))
        lines.append(f"  {cells}")
    for r, c in sorted(sheet.uncached_formulas):
        lines.append(f"  {get_column_letter(c)}{r}: (a formula with no saved value)")
    return lines


def workbook_lines(path: str | Path) -> tuple[list[str], list[Diagnostic]]:
    """Every sheet of one workbook, in the workbook's order; or the reason it is not read."""
    sheets, diags = read_workbook(Path(path))
    lines: list[str] = []
    for s in sheets:
        lines.extend(sheet_lines(s))
    return lines, diags


def show(path: str | Path) -> tuple[str, list[Diagnostic]]:
    """The text of a workbook, or of every workbook under a directory (each headed by
    its path relative to the directory)."""
    p = Path(path)
    if p.is_dir():
        out, diags = [], []
        for wb in workbook_paths(p):
            lines, d = workbook_lines(wb)
            out.append(f"# {wb.relative_to(p)}")
            out.extend(lines)
            diags.extend(d)
        return "\n".join(out), diags
    lines, diags = workbook_lines(p)
    return "\n".join(lines), diags
