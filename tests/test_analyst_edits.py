"""A corpus of the edits analysts make to the shipped workbooks (issue 13).

Each edit either keeps the meaning the analyst meant (the 113 Tests cases still pass)
or stops the load with one error that names workbook › sheet › cell and the fix; never
a silent change.  The edits are made with openpyxl (as Excel stores them), by rewriting
the sheet XML where a program stores something openpyxl cannot write (LibreOffice's
merged cells keep the covered values; a formula's cached error value), and, where
LibreOffice is installed, by re-saving through LibreOffice itself.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import openpyxl
import pytest

import decide
from decide.model.errors import WorkbookError
from decide.tools.testing import run_tests
from tests import workbooks as wbk
from tests.workbooks import table, write_workbook

TABLES = Path(__file__).resolve().parent.parent / "tables"
SHIPPED_CASES = 113
CARD, PURCHASE = "card_eligibility.xlsx", "purchase_restriction.xlsx"


# --------------------------------------------------------------------------- helpers
def copy_tables(tmp_path: Path) -> Path:
    d = tmp_path / "tables"
    shutil.copytree(TABLES, d, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return d


def edit(tmp_path: Path, workbook: str, change) -> Path:
    """The shipped tables with ``change(wb)`` applied to one workbook, saved by openpyxl."""
    d = copy_tables(tmp_path)
    wb = openpyxl.load_workbook(d / workbook)
    change(wb)
    wb.save(d / workbook)
    return d


def sheet_of(wb, title_start: str):
    return next(ws for ws in wb.worksheets if ws.title.startswith(title_start))


def rewrite_sheet_xml(path: Path, title_start: str, change) -> None:
    """``change(xml) -> xml`` on the part of the sheet whose title starts so."""
    wb = openpyxl.load_workbook(path, read_only=True)
    index = next(i for i, n in enumerate(wb.sheetnames) if n.startswith(title_start))
    wb.close()
    part = f"xl/worksheets/sheet{index + 1}.xml"
    with zipfile.ZipFile(path) as z:
        items = [(i, z.read(i.filename)) for i in z.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for info, data in items:
            if info.filename == part:
                data = change(data.decode("utf-8")).encode("utf-8")
            z.writestr(info, data)


def outcomes(d: Path):
    return run_tests(decide.load(d))


def passes_all(d: Path) -> None:
    results = outcomes(d)
    failed = [str(r) for r in results if not r.passed]
    assert len(results) == SHIPPED_CASES and not failed, failed


def errors(d: Path) -> list:
    with pytest.raises(WorkbookError) as e:
        decide.load(d)
    return [x for x in e.value.diagnostics if x.severity == "error"]


def one_error(d: Path, code: str, sheet: str, cell: str, *words: str):
    errs = errors(d)
    assert len(errs) == 1, [str(x) for x in errs]
    (e,) = errs
    assert (e.code, e.loc.sheet, e.loc.cell) == (code, sheet, cell), str(e)
    for w in words:
        assert w in e.message, (w, str(e))
    return e


# --------------------------------------------------------------------------- controls
def test_control_the_shipped_tables_pass(tmp_path):
    passes_all(copy_tables(tmp_path))


def test_control_saved_again_by_openpyxl_pass(tmp_path):
    passes_all(edit(tmp_path, CARD, lambda wb: None))


def test_control_a_renamed_sheet_means_the_same(tmp_path):
    def rename(wb):
        sheet_of(wb, "5 実績-金額").title = "金額の実績（改名）"
        sheet_of(wb, "Tests").title = "テストケース"
    passes_all(edit(tmp_path, CARD, rename))


# --------------------------------------------------------------------------- 1. blank rows
def test_a_blank_row_among_the_rules_is_one_error_naming_it(tmp_path):
    d = edit(tmp_path, CARD, lambda wb: sheet_of(wb, "1 書類ルール").insert_rows(10))
    one_error(d, "E134", "1 書類ルール", "row 10", "row 11", "delete the empty row")


def test_a_blank_row_among_the_tests_cases_is_one_error(tmp_path):
    d = edit(tmp_path, PURCHASE, lambda wb: sheet_of(wb, "Tests").insert_rows(8))
    one_error(d, "E134", "Tests", "row 8", "the cases go on at row 9")


def test_a_blank_row_under_the_last_rule_changes_nothing(tmp_path):
    def below(wb):
        ws = sheet_of(wb, "1 書類ルール")
        ws.insert_rows(ws.max_row + 1, 3)
    passes_all(edit(tmp_path, CARD, below))


# --------------------------------------------------------------------------- 2. hidden rows, merges
def test_a_hidden_rule_row_is_one_error(tmp_path):
    d = edit(tmp_path, CARD, lambda wb: setattr(sheet_of(wb, "6 遅延").row_dimensions[9], "hidden", True))
    one_error(d, "E107", "6 遅延からの回復", "row 9", "hidden", "unhide")


def test_a_hidden_input_column_is_one_error(tmp_path):
    d = edit(tmp_path, CARD, lambda wb: setattr(sheet_of(wb, "6 遅延").column_dimensions["C"], "hidden", True))
    one_error(d, "E107", "6 遅延からの回復", "C5", "column C is hidden", "unhide")


def test_a_hidden_annotation_column_changes_nothing(tmp_path):
    def hide(wb):
        ws = sheet_of(wb, "6 遅延")
        ws.column_dimensions.group("F", "G", hidden=True)
    d = edit(tmp_path, CARD, hide)
    from decide.compile.reader import read_directory
    sheets, _ = read_directory(d / CARD)
    assert next(x for x in sheets if x.title.startswith("6 遅延")).hidden_columns == {6, 7}
    passes_all(d)


def test_an_excel_merge_means_its_value_in_every_covered_cell(tmp_path):
    """Excel (and openpyxl) empties the covered cells of a merge: they still mean the
    top-left value, here rule 6's document "drivers_license"."""
    d = edit(tmp_path, CARD, lambda wb: sheet_of(wb, "1 書類ルール").merge_cells("B11:B12"))
    with zipfile.ZipFile(d / CARD) as z:
        xml = next(x for x in (z.read(n).decode() for n in z.namelist()) if 'ref="B11:B12"' in x)
    assert not re.search(r'<c r="B12"[^>]*>\s*<v>', xml)  # B12 is stored empty
    passes_all(d)


def test_a_libreoffice_merge_keeps_covered_values_but_means_the_top_left_one(tmp_path):
    """LibreOffice keeps the covered cells' values: they are read as the top-left value
    too, so the same merge means the same in both programs."""
    d = copy_tables(tmp_path)
    wb = openpyxl.load_workbook(d / CARD)
    sheet_of(wb, "1 書類ルール")["B12"].value = '"other"'  # hidden under the merge B11:B12
    wb.save(d / CARD)
    rewrite_sheet_xml(d / CARD, "1 書類ルール", lambda x: x.replace(
        "</sheetData>", '</sheetData><mergeCells count="1"><mergeCell ref="B11:B12"/></mergeCells>', 1))
    passes_all(d)  # rule 6 reads "drivers_license", as it shows


def test_a_merged_header_over_input_columns_marks_each_of_them(tmp_path):
    """INPUT merged over B5:D5 (and the description over B3:H3): each column is an INPUT."""
    def merge(wb):
        ws = sheet_of(wb, "1 書類ルール")
        assert [ws.cell(5, c).value for c in (2, 3, 4, 5)] == ["INPUT"] * 4
        ws.merge_cells("B5:E5")
        ws.merge_cells("B3:H3")
    passes_all(edit(tmp_path, CARD, merge))


def test_a_merged_output_over_rules_gives_each_rule_the_value(tmp_path):
    d = tmp_path / "t"
    d.mkdir()
    write_workbook(d / "w.xlsx", glossary=[("n", "integer"), ("ok", "boolean")],
                   tables=[table("T", "FIRST", ["INPUT n", "OUTPUT ok"], [[1, "< 0", True], [2, "> 5", None],
                                                                        [3, "-", False]])])
    wb = openpyxl.load_workbook(d / "w.xlsx")
    wb["T"].merge_cells("C6:C7")
    wb.save(d / "w.xlsx")
    book = decide.load(d)
    assert book.decide("T", {"n": 9}).outputs["ok"] is True


# --------------------------------------------------------------------------- 3. keywords, unrecognised sheets
def test_japanese_keywords_in_a1_and_the_hit_policy_label(tmp_path):
    def japanese(wb):
        sheet_of(wb, "Glossary")["A1"] = "用語集"
        sheet_of(wb, "1 書類ルール")["A1"] = "決定表"
        sheet_of(wb, "1 書類ルール")["A2"] = "ヒットポリシー"
        sheet_of(wb, "Tests")["A1"] = "テスト"
        sheet_of(wb, "Invariants")["A1"] = "不変条件"
    passes_all(edit(tmp_path, CARD, japanese))


@pytest.mark.parametrize("sheet, a1, words", [
    ("5 実績-金額", "決定票", ("looks like a decision table", 'its A1 is "決定票"', "決定表")),
    ("5 実績-金額", None, ("looks like a decision table", "its A1 is empty", "Decision table")),
    ("Tests", "Test", ("looks like a Tests sheet", "Tests (or テスト)")),
])
def test_a_misspelt_a1_on_a_table_is_one_error_naming_the_sheet(tmp_path, sheet, a1, words):
    """Not the downstream "CardStatus reads enough_spend … add it to the decision's inputs"."""
    d = edit(tmp_path, CARD, lambda wb: sheet_of(wb, sheet).__setitem__("A1", a1))
    one_error(d, "E190", sheet, "A1", *words)


def test_lint_names_the_unrecognised_sheet(tmp_path):
    from click.testing import CliRunner
    from decide.app.cli import main
    d = edit(tmp_path, CARD, lambda wb: sheet_of(wb, "5 実績-金額").__setitem__("A1", "決定票"))
    r = CliRunner().invoke(main, ["lint", str(d)])
    assert r.exit_code == 2 and "5 実績-金額 › A1" in r.output and "E190" in r.output, r.output
    assert "E182" not in r.output


# --------------------------------------------------------------------------- 4. hints
def _date_book(tmp_path, cell):
    d = tmp_path / "t"
    d.mkdir(exist_ok=True)
    write_workbook(d / "w.xlsx", glossary=[("issued", "date"), ("amount_yen", "integer"), ("ok", "boolean")],
                   tables=[table("T", "FIRST", ["INPUT issued", "INPUT amount_yen", "OUTPUT ok"],
                                 [[1, *cell, True]])])
    return d


@pytest.mark.parametrize("typed, suggested", [
    ("<= 2020-02-03", '<= date("2020-02-03")'),
    ("<= 2020年2月3日", '<= date("2020-02-03")'),
    ("2020/2/3", 'date("2020-02-03")'),
    ('"2021/4/1"', 'date("2021-04-01")'),  # quoted: the date type's own message names the date
])
def test_a_calendar_date_in_a_date_column_suggests_date(tmp_path, typed, suggested):
    one_error(_date_book(tmp_path, [typed, "-"]), "E140" if "年" in typed else "E141", "T", "B6",
              f"write {suggested}")


@pytest.mark.parametrize("typed, suggested", [
    ("¥3,000", "3000"), (">= ¥3,000", ">= 3000"), ("3,000円", "3000"), ("< 5000円", "< 5000"),
    ("￥3000", "3000"),
])
def test_yen_amounts_suggest_the_number(tmp_path, typed, suggested):
    e = one_error(_date_book(tmp_path, ["-", typed]), "E140", "T", "C6")
    assert e.message.endswith(f"write {suggested}"), str(e)


def test_a_date_typed_in_a_tests_cell_suggests_date(tmp_path):
    d = tmp_path / "t"
    d.mkdir()
    write_workbook(d / "w.xlsx", glossary=[("issued", "date"), ("ok", "boolean")],
                   tables=[table("T", "FIRST", ["INPUT issued", "OUTPUT ok"], [[1, "-", True]])],
                   sheets=[wbk.tests_sheet("T", ["INPUT issued", "EXPECT ok"], [["c1", "2020年2月3日", "true"]])])
    one_error(d, "E162", "Tests", "B5", 'write date("2020-02-03")')


@pytest.mark.parametrize("value", ["#VALUE!", "#REF!", "#N/A", "#DIV/0!", "#NAME?"])
def test_a_cell_showing_an_excel_error_is_a_formula_error(tmp_path, value):
    """The cell's formula failed: Excel saves the error as its cached value."""
    d = edit(tmp_path, CARD, lambda wb: None)
    rewrite_sheet_xml(d / CARD, "5 実績-金額", lambda x: re.sub(
        r'<c r="B7"[^>]*?(/>|>.*?</c>)', f'<c r="B7" t="e"><f>A1/0</f><v>{value}</v></c>', x, count=1))
    one_error(d, "E106", "5 実績-金額", "B7", f"Excel error {value}", "fix the formula")


def test_an_excel_error_typed_into_a_cell_is_an_error_value_too(tmp_path):
    """Typed #N/A is an error value in Excel (and openpyxl stores it so)."""
    one_error(_date_book(tmp_path, ["-", "#N/A"]), "E106", "T", "C6", "Excel error #N/A")


def test_an_excel_error_as_text_says_so(tmp_path):
    d = _date_book(tmp_path, ["-", wbk.Text("#DIV/0!")])
    one_error(d, "E140", "T", "C6", "Excel error #DIV/0!")


# --------------------------------------------------------------------------- 5. cascades, test ids
def test_a_column_inserted_in_the_glossary_means_nothing(tmp_path):
    passes_all(edit(tmp_path, CARD, lambda wb: sheet_of(wb, "Glossary").insert_cols(2)))


def test_a_named_column_inserted_in_the_glossary_is_one_error_at_its_header(tmp_path):
    def notes(wb):
        ws = sheet_of(wb, "Glossary")
        ws.insert_cols(3)
        ws["C2"] = "備考"
        ws["C3"] = "メモ"
    one_error(edit(tmp_path, CARD, notes), "E117", "Glossary 用語", "C2", "not a Glossary column")


def test_a_broken_glossary_header_is_one_error_not_one_per_table(tmp_path):
    def typo(wb):
        sheet_of(wb, "Glossary")["B2"] = "Typ"
    errs = errors(edit(tmp_path, CARD, typo))
    assert [(e.code, e.loc.cell) for e in errs] == [("E117", "B2"), ("E114", "A2")], [str(e) for e in errs]


def test_a_column_inserted_in_a_table_means_nothing(tmp_path):
    passes_all(edit(tmp_path, CARD, lambda wb: sheet_of(wb, "1 書類ルール").insert_cols(3)))


def test_a_tests_column_naming_an_input_is_one_error_at_its_header(tmp_path):
    def expect_input(wb):
        ws = sheet_of(wb, "Tests")
        ws["B3"] = "EXPECT"  # kyc_status is an input of card_eligibility
    one_error(edit(tmp_path, CARD, expect_input), "E161", "Tests", "B4", "mark the column INPUT")


@pytest.mark.parametrize("second", ["same", "Capitalised"])
def test_duplicate_case_ids_are_an_error(tmp_path, second):
    def dup(wb):
        ws = sheet_of(wb, "Tests")
        first = ws["A5"].value
        ws["A6"] = first if second == "same" else first[:1].upper() + first[1:]
    e = one_error(edit(tmp_path, CARD, dup), "E164", "Tests", "A6", "used twice", "A5")
    assert ("differ only in capitals" in e.message) == (second != "same")


def test_sorted_first_rules_change_the_decision_and_tests_say_so(tmp_path):
    """Under FIRST the order of the rules is their meaning: sorting them is a real change,
    which the Tests sheet catches (the catch-all no longer comes last)."""
    def sort(wb):
        ws = sheet_of(wb, "6 遅延")
        rows = [[c.value for c in ws[r]] for r in range(7, 11)]
        rows.sort(key=lambda r: str(r[4]))
        for r, values in zip(range(7, 11), rows):
            for col, v in enumerate(values, 1):
                ws.cell(r, col).value = v
    assert any(not r.passed for r in outcomes(edit(tmp_path, CARD, sort)))


# --------------------------------------------------------------------------- through LibreOffice
SOFFICE = shutil.which("soffice")
needs_libreoffice = pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed")


def libreoffice_save(path: Path, tmp_path: Path) -> None:
    """Open and save ``path`` with LibreOffice Calc (headless), as an analyst's save would."""
    out = tmp_path / "lo-out"
    subprocess.run([SOFFICE, "--headless", f"-env:UserInstallation=file://{tmp_path / 'lo-profile'}",
                    "--convert-to", "xlsx", "--outdir", str(out), str(path)],
                   check=True, capture_output=True, timeout=180)
    shutil.move(out / path.name, path)


@needs_libreoffice
def test_control_saved_by_libreoffice_pass(tmp_path):
    d = copy_tables(tmp_path)
    for p in sorted(d.glob("*.xlsx")):
        libreoffice_save(p, tmp_path)
    passes_all(d)


@needs_libreoffice
def test_a_libreoffice_saved_merge_means_the_top_left_value(tmp_path):
    d = copy_tables(tmp_path)
    wb = openpyxl.load_workbook(d / CARD)
    sheet_of(wb, "1 書類ルール")["B12"].value = '"other"'
    wb.save(d / CARD)
    rewrite_sheet_xml(d / CARD, "1 書類ルール", lambda x: x.replace(
        "</sheetData>", '</sheetData><mergeCells count="1"><mergeCell ref="B11:B12"/></mergeCells>', 1))
    libreoffice_save(d / CARD, tmp_path)
    with zipfile.ZipFile(d / CARD) as z:
        assert any('ref="B11:B12"' in z.read(n).decode() for n in z.namelist() if n.endswith(".xml"))
    passes_all(d)


@needs_libreoffice
def test_a_formula_error_computed_by_libreoffice_names_the_cell(tmp_path):
    d = edit(tmp_path, CARD, lambda wb: sheet_of(wb, "5 実績-金額").__setitem__("C8", "=1/0"))
    libreoffice_save(d / CARD, tmp_path)
    one_error(d, "E106", "5 実績-金額", "C8", "#DIV/0!", "division by zero")


@needs_libreoffice
def test_a_row_hidden_then_saved_by_libreoffice_is_one_error(tmp_path):
    d = edit(tmp_path, CARD, lambda wb: setattr(sheet_of(wb, "6 遅延").row_dimensions[9], "hidden", True))
    libreoffice_save(d / CARD, tmp_path)
    one_error(d, "E107", "6 遅延からの回復", "row 9")


# --------------------------------------------------------------------------- 8. lint: gaps through a missing input
def _lint(d: Path):
    from decide.tools.lint import lint
    return lint(decide.load(d).ir, decision_cases=0)


def test_lint_reports_a_gap_reached_only_through_a_missing_input(tmp_path):
    d = tmp_path / "t"
    d.mkdir()
    write_workbook(d / "w.xlsx", glossary=[("spent", "integer"), ("kind", "text"), ("ok", "boolean"),
                                           ("label", "text"), ("level", "text")],
                   tables=[table("T", "FIRST", ["INPUT spent", "INPUT kind", "OUTPUT ok"],
                                 [[1, "< 3000", "-", False], [2, ">= 3000", "-", True]]),
                           table("U", "FIRST", ["INPUT ok", "OUTPUT label"],
                                 [[1, "true", '"yes"'], [2, "false", '"no"']]),
                           table("V", "FIRST", ["INPUT spent", "OUTPUT level"], [[1, "< 3000", '"low"']])])
    found = sorted((x for x in _lint(d) if x.code in ("L103", "L123")), key=lambda x: x.loc.sheet)
    assert [(x.code, x.severity, x.loc.sheet, x.loc.cell) for x in found] == \
        [("L123", "info", "T", "B5"), ("L103", "warning", "V", "B1")], [str(x) for x in found]
    assert '"spent" is missing' in found[0].message and "null" in found[0].message
    # U reads ok, which T computes: a missing ok is T's gap, not U's; V has a gap (L103)
    # already, whose catch-all rule would cover a missing spent too: one finding


def test_lint_stays_clean_on_the_shipped_tables(tmp_path):
    found = [x for x in _lint(copy_tables(tmp_path)) if x.severity != "info" or x.code == "L123"]
    assert not found, [str(x) for x in found]
