"""Coverage of the rules by the Tests sheets, and the --report workbook read back."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from openpyxl import load_workbook

import decide
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
    assert ts.cell(rows["wrong"], r).value.startswith("FAIL: ok expected true, got false")
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
    assert "Tests" in wb.sheetnames and len(wb.sheetnames) > 10
    assert wb["Test results"].cell(2, 2).value == len(outcomes)


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice not installed")
def test_report_renders_in_libreoffice(tmp_path):
    rb = _book(tmp_path)
    out = write_report(rb, run_tests(rb), tmp_path / "results.xlsx")
    subprocess.run(["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path), str(out)],
                   check=True, capture_output=True, timeout=180)
    pdf = tmp_path / "results.pdf"
    assert pdf.exists() and pdf.stat().st_size > 1000
