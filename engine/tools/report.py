"""The ``decide test --report results.xlsx`` workbook.

One workbook holds a copy of every sheet of every workbook (values, cell styles,
merged cells, frozen panes), with the results written in, and a ``Test results``
summary sheet first:

- the summary counts the cases and rules, then lists **every failure** (one line per
  wrong EXPECT cell, or the case's error) with its reason and the real place
  (``card_eligibility.xlsx › Tests › W36``), linked to that cell of the copy; then
  each Tests sheet's counts, the rules no test exercises, and the index of the copies;
- each Tests sheet gets, right of its columns, one ``ACTUAL`` column per expected
  field and a ``RESULT`` column (PASS / FAIL with the reasons / ERROR with the
  message); the EXPECT cells are filled green when they match and red when they do
  not, and the case id cell takes the colour of the case;
- each Decision table gets an ``ANNOTATION`` column ``test hits`` with how many test
  cases fired each rule, filled green when at least one did and amber when none did
  (an ANNOTATION column, so the copy still loads as a decision table).

Sheet names: a sheet title found in one workbook only is kept; a title several
workbooks share (``Glossary``, ``Tests`` …) is prefixed with its workbook's name,
shortened to Excel's 31 characters.  The copies' names are therefore not the
sources' names, so the report never shows a copy's name as a place: the summary
names the real workbook and sheet, each printed page is headed by them, and the
summary's last section maps every copy to its source.

Print and PDF: every sheet fits the page width (landscape when wide), repeats its
header rows on each page, and numbers its pages.  Columns are sized to their
contents (wide text wraps, at most ``MAX_WIDTH`` characters).
"""
from __future__ import annotations

import os
import re
import unicodedata
from collections import Counter
from copy import copy
from pathlib import Path

from decide.model.ir import Book, Loc
from decide.tools.rule_hits import coverage, rule_hits
from decide.tools.testing import show_value

PASS_FILL = "C6EFCE"  # Excel's "good" green
FAIL_FILL = "FFC7CE"  # Excel's "bad" red
NONE_FILL = "FFEB9C"  # Excel's "neutral" amber
HEAD_FILL = "DDEBF7"
SUMMARY = "Test results"
MAX_WIDTH = 50  # a column's width in characters; longer text wraps
HEADER_WIDTH = 16  # a header name alone does not widen its column past this (it wraps)
MIN_WIDTH = 8
PORTRAIT_WIDTH = 100  # sheets wider than this (in characters) print landscape
A3_WIDTH = 300  # and sheets wider than this on A3 paper (A4 would shrink them below 50 %)
LINE_HEIGHT = 15  # points, one line of 11-point text


# --------------------------------------------------------------------------- small helpers
def _rc(cell: str) -> tuple[int, int]:
    from openpyxl.utils import column_index_from_string
    m = re.match(r"([A-Z]+)(\d+)$", cell)
    return int(m.group(2)), column_index_from_string(m.group(1))


def _fill(color: str):
    from openpyxl.styles import PatternFill
    return PatternFill(start_color=color, end_color=color, fill_type="solid")


def text_width(value) -> float:
    """How many characters wide a value shows (a CJK character counts a little over
    two, a capital letter 1.2), its longest line."""
    if value is None:
        return 0
    lines = str(value).splitlines() or [""]
    return max(sum(2.1 if unicodedata.east_asian_width(ch) in "WF" else 1.2 if ch.isupper() else 1
                   for ch in line) for line in lines)


def _link(cell, sheet: str, target: str) -> None:
    """Make ``cell`` a link to ``target`` (``W36``) of the report's sheet ``sheet``."""
    from openpyxl.worksheet.hyperlink import Hyperlink
    location = "'" + sheet.replace("'", "''") + "'!" + target
    cell.hyperlink = Hyperlink(ref=cell.coordinate, location=location, display=str(cell.value))
    cell.font = _link_font()


def _link_font():
    from openpyxl.styles import Font
    return Font(name="Calibri", color="0563C1", underline="single")


def _wrap(cell) -> None:
    a = copy(cell.alignment)
    a.wrap_text, a.vertical = True, "top"
    cell.alignment = a


# --------------------------------------------------------------------------- names of the copies
def _prefixed(stem: str, title: str) -> str:
    """``stem title`` within 31 characters: the workbook's name shortened first (to no
    less than 8 characters), then the title."""
    name = f"{stem} {title}"
    if len(name) <= 31:
        return name
    room = 31 - len(title) - 1
    if room >= 8:
        return f"{stem[:room - 1]}… {title}"
    stem = stem if len(stem) <= 12 else stem[:11] + "…"
    return f"{stem} {title[:31 - len(stem) - 2]}…"


def copy_titles(sources: list[tuple[str, list[str]]]) -> dict[tuple[str, str], str]:
    """(workbook, sheet) → the title of its copy in the report, for every sheet of
    ``sources`` ([(workbook, [sheet titles])]): unique titles kept, shared ones
    prefixed with the workbook's name, every title within Excel's 31 characters and
    distinct (Excel compares them case-insensitively)."""
    count = Counter(t for _, titles in sources for t in titles)
    taken = {SUMMARY.lower()}
    out = {}
    for rel, titles in sources:
        stem = Path(rel).stem
        for t in titles:
            base = (t if count[t] == 1 else _prefixed(stem, t))[:31]
            name, k = base, 2
            while name.lower() in taken:
                suffix = f" ({k})"
                name, k = base[:31 - len(suffix)] + suffix, k + 1
            taken.add(name.lower())
            out[(rel, t)] = name
    return out


def _named(font):
    f = copy(font)
    f.name = "Calibri"
    return f


def _copy_sheet(src, dst) -> None:
    from openpyxl.utils import column_index_from_string, get_column_letter
    for row in src.iter_rows():
        for c in row:
            if c.value is None and not c.has_style:
                continue
            d = dst.cell(row=c.row, column=c.column, value=c.value)
            if c.has_style:
                d.font = copy(c.font)
                if not d.font.name:  # no font named: Excel's default, not the viewer's serif
                    d.font = _named(c.font)
                d.fill = copy(c.fill)
                d.border = copy(c.border)
                d.alignment = copy(c.alignment)
                d.number_format = c.number_format
                d.protection = copy(c.protection)
    for key, dim in src.column_dimensions.items():
        # a <col> element may cover several columns (min..max): every one gets the width
        lo = dim.min or column_index_from_string(key)
        hi = max(dim.max or lo, lo)
        for idx in range(lo, min(hi, max(src.max_column, lo)) + 1):
            d = dst.column_dimensions[get_column_letter(idx)]
            if dim.width:
                d.width = dim.width
            d.hidden = dim.hidden
    for key, dim in src.row_dimensions.items():
        if dim.height:
            dst.row_dimensions[key].height = dim.height
    for rng in src.merged_cells.ranges:
        dst.merge_cells(str(rng))
    dst.freeze_panes = src.freeze_panes


# --------------------------------------------------------------------------- layout
def fit_columns(ws, first_row: int) -> None:
    """Size every column to what it holds from ``first_row`` (the header) down, and to
    the labels above it that cannot overflow (their right neighbour is filled, as the
    ``Decision table`` / ``Hit policy`` labels of column A); text wider than
    ``MAX_WIDTH`` wraps, and a header name wider than ``HEADER_WIDTH`` wraps."""
    from openpyxl.utils import get_column_letter
    need: dict[int, int] = {}
    head: dict[int, int] = {}
    for row in ws.iter_rows():
        for c in row:
            if c.value is None:
                continue
            if c.row < first_row and ws.cell(row=c.row, column=c.column + 1).value is None:
                continue  # a title or description: it overflows to the right, as in the source
            w = text_width(c.value) * (1.15 if c.font and c.font.b else 1) + 2
            in_head = c.row == first_row + 1  # the names (INPUT / OUTPUT above them are short)
            bucket = head if in_head else need
            bucket[c.column] = max(bucket.get(c.column, 0), w)
    for col in set(need) | set(head):
        width = round(max(MIN_WIDTH, min(MAX_WIDTH, max(need.get(col, 0), min(head.get(col, 0), HEADER_WIDTH)))))
        ws.column_dimensions[get_column_letter(col)].width = width
        for row in ws.iter_rows(min_row=first_row, min_col=col, max_col=col):
            c = row[0]
            if c.value is not None and text_width(c.value) + 2 > width:
                _wrap(c)


def fit_rows(ws, first_row: int) -> None:
    """Give each row from ``first_row`` down the height of its tallest wrapped cell
    (Excel and LibreOffice do not grow a row when they open a file)."""
    from openpyxl.utils import get_column_letter
    for row in ws.iter_rows(min_row=first_row):
        lines = 1
        for c in row:
            dim = ws.column_dimensions.get(get_column_letter(c.column))
            if c.value is None or not (c.alignment and c.alignment.wrap_text) or (dim and dim.hidden):
                continue
            width = (dim.width if dim else None) or 9
            room = max(1.0, (width - 1) * 0.9)  # words do not fill a line exactly
            n = sum(max(1, -(-text_width(part) // room)) for part in str(c.value).splitlines() or [""])
            lines = max(lines, int(n))
        if lines > 1:
            r = row[0].row
            ws.row_dimensions[r].height = max(ws.row_dimensions[r].height or 0, LINE_HEIGHT * lines + 2)
            for c in row:
                if c.value is not None and not (c.alignment and c.alignment.vertical):
                    a = copy(c.alignment)
                    a.vertical = "top"
                    c.alignment = a


def _sheet_width(ws) -> float:
    from openpyxl.utils import get_column_letter
    total = 0.0
    for col in range(1, ws.max_column + 1):
        d = ws.column_dimensions.get(get_column_letter(col))
        if d is not None and d.hidden:
            continue
        total += d.width if d is not None and d.width else 9
    return total


def print_setup(ws, label: str, title_rows: tuple[int, int] | None = None, grid: bool = True,
                note: str | None = None) -> None:
    """One page wide (landscape when the sheet is wide, on A3 when very wide), as many
    pages down as it takes, header rows repeated, ``label`` (the real workbook › sheet)
    atop every page and the page number at its foot."""
    width = _sheet_width(ws)
    ws.page_setup.paperSize = ws.PAPERSIZE_A3 if width > A3_WIDTH else ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if width > PORTRAIT_WIDTH else "portrait"
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.print_options.gridLines = grid
    if title_rows:
        ws.print_title_rows = f"{title_rows[0]}:{title_rows[1]}"
    ws.oddHeader.left.text = label.replace("&", "&&")
    ws.oddHeader.left.size = 9
    if note:
        ws.oddHeader.right.text = note.replace("&", "&&")
        ws.oddHeader.right.size = 9
    ws.oddFooter.right.text = "&P / &N"
    ws.oddFooter.right.size = 9


def _header_rows(book: Book) -> dict[tuple[str, str], tuple[int, int]]:
    """(workbook, sheet) → the first and last row of its column headers."""
    rows: dict[tuple[str, str], tuple[int, int]] = {}
    for t in book.tables.values():
        if t.rules:
            rows[(t.loc.workbook, t.loc.sheet)] = (t.rules[0].row - 2, t.rules[0].row - 1)
    for s in book.tests:
        if s.cases:
            r = _rc(s.cases[0].loc.cell)[0]
            rows[(s.loc.workbook, s.loc.sheet)] = (r - 2, r - 1)
    for f in book.fields.values():
        if not f.loc.cell:  # declared by the engine (as_of), on no sheet
            continue
        key = (f.loc.workbook, f.loc.sheet)
        r = _rc(f.loc.cell)[0] - 1
        rows[key] = min(rows.get(key, (r, r)), (r, r))
    for s in book.invariants:
        if s.properties:
            r = _rc(s.properties[0].loc.cell)[0] - 1
            rows[(s.loc.workbook, s.loc.sheet)] = (r, r)
    return rows


# --------------------------------------------------------------------------- the results written in
def _reasons(o) -> list[tuple[str, Loc]]:
    """(reason, the cell it is about) for one case that did not pass."""
    if o.error:
        return [(f"ERROR: {o.error}", o.case.loc)]
    return [(f"{m.field}: expected {show_value(m.expected)}, got {show_value(m.actual)}", m.cell)
            for m in o.mismatches]


def _write_tests(ws, outs) -> None:
    from openpyxl.styles import Font
    bold = Font(name="Calibri", bold=True)
    head_row = _rc(outs[0].case.loc.cell)[0] - 2
    fields: list[str] = []
    for o in outs:
        fields.extend(f for f in o.case.expected if f not in fields)
    col0 = ws.max_column + 1
    for k, f in enumerate(fields):
        for r, v in ((head_row, "ACTUAL"), (head_row + 1, f)):
            c = ws.cell(row=r, column=col0 + k, value=v)
            c.font, c.fill = bold, _fill(HEAD_FILL)
    rcol = col0 + len(fields)
    c = ws.cell(row=head_row, column=rcol, value="RESULT")
    c.font, c.fill = bold, _fill(HEAD_FILL)
    ws.cell(row=head_row + 1, column=rcol).fill = _fill(HEAD_FILL)
    for o in outs:
        row = _rc(o.case.loc.cell)[0]
        bad = {m.field for m in o.mismatches}
        if not o.error:
            for k, f in enumerate(fields):
                if f in o.outputs:
                    ws.cell(row=row, column=col0 + k, value=show_value(o.outputs[f]))
                if f in o.case.expected:
                    color = _fill(FAIL_FILL if f in bad else PASS_FILL)
                    ws.cell(row=row, column=col0 + k).fill = color
                    er, ec = _rc(o.case.cells[f].cell)
                    ws.cell(row=er, column=ec).fill = color
        if o.passed:
            verdict = "PASS"
        elif o.error:
            verdict = f"ERROR: {o.error}"
        else:
            verdict = "FAIL: " + "; ".join(r for r, _ in _reasons(o))
        color = _fill(PASS_FILL if o.passed else FAIL_FILL)
        ws.cell(row=row, column=rcol, value=verdict).fill = color
        ws.cell(row=row, column=1).fill = color


def fold_inputs(ws, outs) -> str | None:
    """Fold (group and hide) the INPUT columns of a Tests sheet's copy, so that its case
    ids, expected and actual values and results print readably; Excel and LibreOffice
    show a ＋ above the sheet that unfolds them.  → "B–V", the columns folded."""
    from openpyxl.utils import get_column_letter
    cols = sorted({_rc(o.case.cells[f].cell)[1] for o in outs for f in o.case.inputs})
    if not cols:
        return None
    runs, start = [], cols[0]
    for a, b in zip(cols, cols[1:] + [None]):
        if b != a + 1:
            runs.append((start, a))
            start = b
    for col in cols:  # one <col> each (openpyxl's group() would keep one width for all)
        d = ws.column_dimensions[get_column_letter(col)]
        d.outline_level, d.hidden = 1, True
    return ", ".join(f"{get_column_letter(lo)}–{get_column_letter(hi)}" if hi > lo else get_column_letter(lo)
                     for lo, hi in runs)


def _write_hits(ws, table, hits) -> None:
    from openpyxl.styles import Font
    bold = Font(name="Calibri", bold=True)
    first_row = table.rules[0].row
    col = ws.max_column + 1
    for r, v in ((first_row - 2, "ANNOTATION"), (first_row - 1, "test hits")):
        c = ws.cell(row=r, column=col, value=v)
        c.font, c.fill = bold, _fill(HEAD_FILL)
    for r in table.rules:
        n = len(hits[(table.name, r.index)])
        ws.cell(row=r.row, column=col, value=n).fill = _fill(PASS_FILL if n else NONE_FILL)
        if not n:
            ws.cell(row=r.row, column=1).fill = _fill(NONE_FILL)


# --------------------------------------------------------------------------- the summary
class _Summary:
    """Appends the summary's rows; ``place`` links a real place to its copy."""

    def __init__(self, ws, titles: dict[tuple[str, str], str]):
        from openpyxl.styles import Font
        self.ws, self.titles = ws, titles
        self.bold = Font(name="Calibri", bold=True)

    def row(self, values, fill: dict[int, str] | None = None):
        self.ws.append(values)
        r = self.ws.max_row
        for col, color in (fill or {}).items():
            self.ws.cell(row=r, column=col).fill = _fill(color)
        return r

    def section(self, title: str, header: list[str]) -> int:
        self.ws.append([])
        r = self.row([title])
        self.ws.cell(row=r, column=1).font = self.bold
        if header:
            r = self.row(header)
            for c in self.ws[r]:
                c.font, c.fill = self.bold, _fill(HEAD_FILL)
        return r

    def place(self, r: int, col: int, loc: Loc) -> None:
        """Column ``col`` of row ``r``: the real place, linked to the copy's cell."""
        c = self.ws.cell(row=r, column=col, value=str(loc))
        title = self.titles.get((loc.workbook, loc.sheet))
        if title is None:
            return
        m = re.match(r"(?:row )?([A-Z]*)(\d+)$", loc.cell)
        target = (m.group(1) or "A") + m.group(2) if m else "A1"
        _link(c, title, target)


def _write_summary(ws, book: Book, outcomes, titles) -> int | None:
    """→ the row of the failures' header (repeated on every printed page)."""
    from openpyxl.styles import Font
    s = _Summary(ws, titles)
    passed = sum(o.passed for o in outcomes)
    cov = coverage(book, outcomes)
    missing = [c for c in cov if c.hits == 0]
    s.row([SUMMARY])
    ws["A1"].font = Font(name="Calibri", bold=True, size=14)
    s.row(["Cases", len(outcomes)])
    s.row(["Passed", passed], {2: PASS_FILL})
    s.row(["Failed", len(outcomes) - passed], {2: FAIL_FILL if passed < len(outcomes) else PASS_FILL})
    s.row(["Rules", len(cov)])
    s.row(["Rules no test exercises", len(missing)], {2: NONE_FILL if missing else PASS_FILL})

    failed = [o for o in outcomes if not o.passed]
    head = None
    if failed:
        head = s.section(f"Failures ({len(failed)} case{'s' if len(failed) != 1 else ''})",
                         ["Case", "Decision", "Result", "Reason", "Where"])
        for o in failed:
            for reason, loc in _reasons(o):
                r = s.row([o.case.id, o.suite.target, "ERROR" if o.error else "FAIL", reason],
                          {3: FAIL_FILL})
                s.place(r, 5, loc)
    else:
        s.section("Every case passed.", [])

    s.section("Tests sheets", ["Decision", "Cases", "Failed", "", "Where"])
    for suite in book.tests:
        outs = [o for o in outcomes if o.suite is suite]
        bad = sum(not o.passed for o in outs)
        r = s.row([suite.target, len(outs), bad], {3: FAIL_FILL if bad else PASS_FILL})
        s.place(r, 5, Loc(suite.loc.workbook, suite.loc.sheet))

    if missing:
        s.section("Rules no test exercises", ["Table", "Rule", "", "", "Where"])
        for c in missing:
            r = s.row([c.table, f"rule {c.rule}"], {2: NONE_FILL})
            s.place(r, 5, c.loc)

    s.section("Sheets in this report", ["Sheet", "", "", "", "Copy of"])
    for (rel, sheet), title in titles.items():
        r = s.row([title])
        _link(ws.cell(row=r, column=1), title, "A1")
        ws.cell(row=r, column=5, value=f"{rel} › {sheet}")

    for col, width in (("A", 30), ("B", 22), ("C", 9), ("D", 60), ("E", 44)):
        ws.column_dimensions[col].width = width
    for row in ws.iter_rows(min_row=2):
        for c in row:
            if c.value is not None and c.column in (4, 5) and text_width(c.value) + 2 > \
                    ws.column_dimensions[c.column_letter].width:
                _wrap(c)
    fit_rows(ws, 2)
    return head


# --------------------------------------------------------------------------- the workbook
def _sources(root: Path) -> list[tuple[str, Path]]:
    if root.is_file():
        return [(root.name, root)]
    return [(str(p.relative_to(root)), p) for p in sorted(root.rglob("*.xlsx"))
            if not p.name.startswith(("~$", ".~"))]


def write_report(rulebook, outcomes, path: str | os.PathLike) -> Path:
    """Write the results workbook; returns its path."""
    from openpyxl import Workbook, load_workbook

    book: Book = rulebook.ir
    loaded = []
    for rel, src_path in _sources(Path(rulebook.path)):
        try:
            loaded.append((rel, load_workbook(src_path)))
        except Exception:  # a workbook that did not load has no results to show
            continue
    titles = copy_titles([(rel, wb.sheetnames) for rel, wb in loaded])
    out = Workbook()
    summary = out.active
    summary.title = SUMMARY
    sheets: dict[tuple[str, str], object] = {}
    for rel, wb in loaded:
        for ws in wb.worksheets:
            dst = out.create_sheet(titles[(rel, ws.title)])
            _copy_sheet(ws, dst)
            sheets[(rel, ws.title)] = dst

    for suite in book.tests:
        outs = [o for o in outcomes if o.suite is suite]
        ws = sheets.get((suite.loc.workbook, suite.loc.sheet))
        if ws is not None and outs:
            _write_tests(ws, outs)
    hits = rule_hits(book, outcomes)
    for t in book.tables.values():
        ws = sheets.get((t.loc.workbook, t.loc.sheet))
        if ws is not None and t.rules:
            _write_hits(ws, t, hits)

    header_rows = _header_rows(book)
    suites = {(s.loc.workbook, s.loc.sheet): s for s in book.tests}
    for key, ws in sheets.items():
        rows = header_rows.get(key)
        if rows:
            fit_columns(ws, rows[0])
        note = None
        if key in suites and suites[key].cases and _sheet_width(ws) > A3_WIDTH:
            folded = fold_inputs(ws, [o for o in outcomes if o.suite is suites[key]])
            note = folded and f"INPUT columns {folded} folded: ＋ above them unfolds"
        if rows:
            fit_rows(ws, rows[0])
        print_setup(ws, f"{key[0]} › {key[1]}", rows, note=note)
    head = _write_summary(summary, book, outcomes, titles)
    print_setup(summary, SUMMARY, (head, head) if head else None, grid=False)

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    out.save(path)
    return path
