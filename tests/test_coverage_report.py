"""Coverage of the rules by the Tests sheets, and the --report workbook read back."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from openpyxl import load_workbook

import decide
from openpyxl.utils import get_column_letter

from decide.tools import report
from decide.tools.coverage import FAIL_FILL, NONE_FILL, PASS_FILL, after_tests, coverage, write_report
from decide.tools.testing import run_tests

from . import workbooks as wbk
from .workbooks import table, write_workbook


def _book(tmp_path):
    write_workbook(
        tmp_path / "t" / "limits.xlsx",
        glossary=[("amount", "integer", "[0..1000000]", "金額"), ("ok", "boolean", None, "可否")],
        tables=[table("Limit", "FIRST", ["INPUT amount", "OUTPUT ok"],
                      [[1, "> 50000", False], [2, "[3000..50000]", True], [3, "-", True]])],
        sheets=[wbk.tests_sheet("Limit", ["INPUT amount", "EXPECT ok"],
                            [["big", 60000, False], ["mid", 3000, True], ["wrong", 70000, True]])])
    return decide.load(tmp_path / "t")


def _fill(cell) -> str:
    return (cell.fill.fgColor.rgb or "")[-6:] if cell.fill and cell.fill.fill_type else ""


def test_rules_no_case_exercises_are_listed(tmp_path):
    rb = _book(tmp_path)
    outcomes = run_tests(rb)
    cov = {c.rule: c.hits for c in coverage(rb.ir, outcomes)}
    assert cov == {"1": 2, "2": 1, "3": 0}
    text = after_tests(rb, outcomes)
    assert "Rules no test case exercises (1 of 3)" in text
    assert "Limit rule 3 (limits.xlsx › Limit › row 8)" in text


def test_report_shows_actual_values_pass_fail_and_hits(tmp_path):
    rb = _book(tmp_path)
    outcomes = run_tests(rb)
    out = tmp_path / "results.xlsx"
    text = after_tests(rb, outcomes, report=str(out))
    assert str(out) in text
    wb = load_workbook(out)
    assert wb.sheetnames[0] == "Test results"
    s = wb["Test results"]
    assert [s.cell(r, 2).value for r in (2, 3, 4)] == [3, 2, 1]
    # Tests sheet: an ACTUAL column for ok, then RESULT; fills on the EXPECT cells
    ts = wb["Tests"]
    head = [c.value for c in ts[3]]
    names = [c.value for c in ts[4]]
    a, r = head.index("ACTUAL") + 1, head.index("RESULT") + 1
    assert names[a - 1] == "ok"
    rows = {ts.cell(row, 1).value: row for row in range(5, 8)}
    assert ts.cell(rows["big"], a).value == "false"
    assert ts.cell(rows["wrong"], a).value == "false"
    assert ts.cell(rows["big"], r).value == "PASS"
    assert ts.cell(rows["wrong"], r).value.startswith("FAIL: ok: expected true, got false")
    assert _fill(ts.cell(rows["big"], 3)) == PASS_FILL  # the EXPECT cell
    assert _fill(ts.cell(rows["wrong"], 3)) == FAIL_FILL
    assert _fill(ts.cell(rows["wrong"], 1)) == FAIL_FILL
    # table sheet: a "test hits" annotation column
    tt = wb["Limit"]
    rows = [r.row for r in rb.ir.tables["Limit"].rules]
    hr = [c.value for c in tt[rows[0] - 2]]
    col = len(hr)
    assert hr[-1] == "ANNOTATION" and tt.cell(rows[0] - 1, col).value == "test hits"
    assert [tt.cell(row, col).value for row in rows] == [2, 1, 0]
    assert _fill(tt.cell(rows[2], col)) == NONE_FILL and _fill(tt.cell(rows[0], col)) == PASS_FILL
    # the copy of the table still loads as a decision table (the column is an annotation)
    again = tmp_path / "again"
    again.mkdir()
    keep = load_workbook(out)
    for name in list(keep.sheetnames):
        if name not in ("Glossary", "Limit"):
            del keep[name]
    keep.save(again / "limits.xlsx")
    assert decide.load(again).ir.tables["Limit"].annotations == ("test hits",)


def test_report_of_the_shipped_tables(tmp_path):
    tables = Path(__file__).resolve().parents[1] / "tables"
    rb = decide.load(tables)
    outcomes = run_tests(rb)
    path = write_report(rb, outcomes, tmp_path / "r.xlsx")
    wb = load_workbook(path)
    assert {"card_eligibility Tests", "decline_diagnosis Tests", "purchase_restriction Tests"} <= \
        set(wb.sheetnames) and len(wb.sheetnames) > 10
    assert wb["Test results"].cell(2, 2).value == len(outcomes)


def _two_books(tmp_path):
    """Two workbooks that share sheet titles (Glossary, Tests) and a 31-character one."""
    long = "Limits for very large purchases"  # 31 characters, Excel's longest
    assert len(long) == 31
    write_workbook(
        tmp_path / "t" / "limits.xlsx",
        glossary=[("amount", "integer", "[0..1000000]", "金額"), ("ok", "boolean", None, "可否")],
        tables=[table("Limit", "FIRST", ["INPUT amount", "OUTPUT ok", "ANNOTATION note"],
                      [[1, "> 50000", False, "高額の購入は不可。" * 8], [2, "-", True, "それ以外は可。"]],
                      sheet=long)],
        sheets=[wbk.tests_sheet("Limit", ["INPUT amount", "EXPECT ok"],
                                [["big", 60000, False], ["wrong", 70000, True]])])
    write_workbook(
        tmp_path / "t" / "second_workbook_with_a_long_name.xlsx",
        glossary=[("n", "integer", "[0..10]", "件数"), ("small", "boolean", None, "少ない")],
        tables=[table("Few", "FIRST", ["INPUT n", "OUTPUT small"], [[1, "< 3", True], [2, "-", False]],
                      sheet=long)],
        sheets=[wbk.tests_sheet("Few", ["INPUT n", "EXPECT small"], [["two", 2, False], ["five", 5, False]])])
    return decide.load(tmp_path / "t")


def _links(ws) -> list:
    return [c for row in ws.iter_rows() for c in row if c.hyperlink is not None]


def test_summary_lists_every_failure_with_its_reason_and_a_link_to_its_cell(tmp_path):
    rb = _two_books(tmp_path)
    wb = load_workbook(write_report(rb, run_tests(rb), tmp_path / "r.xlsx"))
    s = wb["Test results"]
    rows = [[c.value for c in r] for r in s.iter_rows()]
    head = next(i for i, r in enumerate(rows) if r[:5] == ["Case", "Decision", "Result", "Reason", "Where"])
    fails = [r for r in rows[head + 1:head + 3]]
    assert fails == [
        ["wrong", "Limit", "FAIL", "ok: expected true, got false", "limits.xlsx › Tests › C6"],
        ["two", "Few", "FAIL", "small: expected false, got true",
         "second_workbook_with_a_long_name.xlsx › Tests › C5"]]
    assert rows[head + 3] == [None] * len(rows[head + 3])  # and nothing else failed
    # the Where cells link to that very cell of the copy of that very sheet
    where = {s.cell(head + 1 + k, 5).hyperlink.location for k in (1, 2)}
    assert where == {"'limits Tests'!C6", "'second_workbook_with_a_l… Tests'!C5"}
    for c in _links(s):
        sheet, cell = c.hyperlink.location.rsplit("!", 1)
        assert sheet.strip("'") in wb.sheetnames, c.hyperlink.location
    # the copy linked to really holds the failing EXPECT cell
    assert wb["second_workbook_with_a_l… Tests"]["C5"].value is False


def test_where_never_names_a_sheet_that_does_not_exist(tmp_path):
    """Copies of sheets of several workbooks are renamed (shared titles, 31 characters):
    every place the summary shows is the real workbook › sheet, and its index maps each
    copy to its source."""
    rb = _two_books(tmp_path)
    wb = load_workbook(write_report(rb, run_tests(rb), tmp_path / "r.xlsx"))
    s = wb["Test results"]
    sources = {"limits.xlsx": ["Glossary", "Limits for very large purchases", "Tests"],
               "second_workbook_with_a_long_name.xlsx": ["Glossary", "Limits for very large purchases",
                                                         "Tests"]}
    real = {f"{w} › {t}" for w, ts in sources.items() for t in ts}
    assert len(wb.sheetnames) == 7 and all(len(n) <= 31 for n in wb.sheetnames)
    for row in s.iter_rows(min_row=8):
        v = row[4].value
        if v and "›" in v:
            assert v in real or v.rsplit(" › ", 1)[0] in real, v
    index = {}
    start = next(r for r in range(1, s.max_row + 1) if s.cell(r, 1).value == "Sheets in this report")
    for r in range(start + 2, s.max_row + 1):
        index[s.cell(r, 1).value] = s.cell(r, 5).value
    assert set(index) == set(wb.sheetnames) - {"Test results"}
    assert set(index.values()) == real
    # the printed pages of every copy are headed by its real place
    for title, place in index.items():
        assert wb[title].oddHeader.left.text == place


def test_print_setup_fits_the_page_width_and_repeats_the_header_rows(tmp_path):
    rb = _book(tmp_path)
    wb = load_workbook(write_report(rb, run_tests(rb), tmp_path / "r.xlsx"))
    for ws in wb.worksheets:
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert (ws.page_setup.fitToWidth, ws.page_setup.fitToHeight) == (1, 0), ws.title
        assert ws.oddFooter.right.text == "&P / &N"
    assert wb["Tests"].print_title_rows == "$3:$4"  # the INPUT/EXPECT row and the names
    assert wb["Limit"].print_title_rows == "$4:$5"
    assert wb["Glossary"].print_title_rows == "$2:$2"
    assert wb["Test results"].page_setup.orientation == "landscape"  # the reasons are wide
    assert wb["Limit"].page_setup.orientation == "portrait"


def test_columns_fit_their_contents_and_long_text_wraps(tmp_path):
    rb = _two_books(tmp_path)
    wb = load_workbook(write_report(rb, run_tests(rb), tmp_path / "r.xlsx"))
    assert "limits Limits for very large p…" in wb.sheetnames
    assert "second_work… Limits for very l…" in wb.sheetnames
    ws = wb["limits Limits for very large p…"]
    width = {k: d.width for k, d in ws.column_dimensions.items()}
    # the annotation (72 CJK characters) is as wide as allowed, and wraps
    assert width["D"] == report.MAX_WIDTH
    assert ws["D6"].alignment.wrap_text and not ws["D7"].alignment.wrap_text
    assert ws.row_dimensions[6].height >= 3 * report.LINE_HEIGHT  # the row shows every line
    # a short column is narrow, but never narrower than its header name allows
    assert report.MIN_WIDTH <= width["B"] < 20
    s = wb["Test results"]
    assert s.column_dimensions["D"].width >= 40 and s.column_dimensions["E"].width >= 40


def test_wide_tests_sheets_fold_their_inputs(tmp_path):
    """The shipped card_eligibility Tests sheet (22 INPUT columns) is folded to case,
    EXPECT, ACTUAL and RESULT so that it prints readably; the inputs are one ＋ away."""
    tables = Path(__file__).resolve().parents[1] / "tables"
    rb = decide.load(tables)
    wb = load_workbook(write_report(rb, run_tests(rb), tmp_path / "r.xlsx"))
    ws = wb["card_eligibility Tests"]
    head = [c.value for c in ws[3]]
    for col, kind in enumerate(head, 1):
        d = ws.column_dimensions[get_column_letter(col)]
        assert (d.hidden, d.outline_level) == ((True, 1) if kind == "INPUT" else (False, 0)), (col, kind)
    assert "INPUT columns B–V folded" in ws.oddHeader.right.text
    assert int(ws.page_setup.paperSize) == int(ws.PAPERSIZE_A4)  # narrow enough once folded
    assert wb["purchase_restriction Tests"].column_dimensions["B"].hidden is False


def _pdf(xlsx: Path) -> Path:
    subprocess.run(["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(xlsx.parent), str(xlsx)],
                   check=True, capture_output=True, timeout=300)
    pdf = xlsx.with_suffix(".pdf")
    assert pdf.exists() and pdf.stat().st_size > 1000
    return pdf


def _pages(pdf: Path) -> list[str]:
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True,
                          text=True).stdout
    return text.split("\f")[:-1]


needs_office = pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice not installed")
needs_poppler = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")


@needs_office
def test_report_renders_in_libreoffice(tmp_path):
    rb = _book(tmp_path)
    _pdf(write_report(rb, run_tests(rb), tmp_path / "results.xlsx"))


@needs_office
@needs_poppler
def test_rendered_report_one_page_per_sheet_headed_by_its_real_place(tmp_path):
    """Rendered by LibreOffice: each sheet on one page wide, headed by its real workbook ›
    sheet, and the failure's reason printed whole on the summary and on the Tests sheet."""
    rb = _book(tmp_path)
    pages = _pages(_pdf(write_report(rb, run_tests(rb), tmp_path / "results.xlsx")))
    assert len(pages) == 4  # Test results, Glossary, Limit, Tests
    heads = [p.strip().splitlines()[0].strip() for p in pages]
    assert heads == ["Test results", "limits.xlsx › Glossary", "limits.xlsx › Limit", "limits.xlsx › Tests"]
    assert "ok: expected true, got false" in pages[0] and "limits.xlsx › Tests › C7" in pages[0]
    assert "FAIL: ok: expected true, got false" in pages[3]


@needs_office
@needs_poppler
def test_rendered_report_of_the_shipped_tables(tmp_path):
    """The shipped tables' report prints one page wide per sheet (the card_eligibility
    Tests sheet printed on 20 pages before), with every case's result readable."""
    tables = Path(__file__).resolve().parents[1] / "tables"
    rb = decide.load(tables)
    outcomes = run_tests(rb)
    pages = _pages(_pdf(write_report(rb, outcomes, tmp_path / "shipped.xlsx")))
    tests_pages = [p for p in pages if p.strip().startswith("card_eligibility.xlsx › Tests")]
    assert 1 <= len(tests_pages) <= 3
    text = "".join(tests_pages)
    ids = [o.case.id for o in outcomes if o.suite.loc.workbook == "card_eligibility.xlsx"]
    assert all(i in text for i in ids) and text.count("PASS") == len(ids)
    assert len(pages) < 60  # 38 sheets
