"""Issue 2, acceptance item 4: one workbook with many different mistakes yields all of
them in one run, each naming workbook › sheet › cell and what would be valid; through
the CLI: exit code 2, every error printed, no traceback."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import decide
from decide import WorkbookError
from tests.workbooks import Text, invariants_sheet, raw_sheet, table, write_workbook
from tests.workbooks import tests_sheet as make_tests_sheet

DECIDE = str(Path(sys.executable).with_name("decide"))
WB = "mistakes.xlsx"

GLOSSARY = [
    ("country", "text", '"JP","US","FR"', "国"),  # row 3
    ("name", "text"),
    ("amount_yen", "number", None, "金額"),
    ("available_limit_yen", "number"),
    ("ok", "boolean"),
    ("app_version", "version"),
    ("x", "number"),
    ("y", "number"),
    ("fee", "number"),
    ("grade", "text"),
    ("grade2", "text"),
    ("level", "text"),
    ("score", "string"),  # row 15: unknown type
    ("Amount Yen", "number"),  # row 16: bad field name
    ("level2", "text", '"a", [1..'),  # row 17: allowed values that do not parse
]

CELL_RULES = [  # INPUT amount_yen | INPUT country | INPUT name | INPUT app_version | OUTPUT ok
    [1, "3,000円", "-", "-", "-", "true"],  # row 6
    [2, Text("=> 3"), "-", "-", "-", "true"],
    [3, "[1..]", "-", "-", "-", "true"],
    [4, ">= 三千", "-", "-", "-", "true"],
    [5, "＞＝３０００", "-", "-", "-", "true"],  # row 10
    [6, '"abc"', "-", "-", "-", "true"],
    [7, "[30000..10000]", "-", "-", "-", "true"],
    [8, "-", '"JP', "-", "-", "true"],
    [9, "-", '"DE"', "-", "-", "true"],
    [10, "-", "-", 123, "-", "true"],  # row 15
    [11, "> availabel_limit_yen", "-", "-", "-", "true"],
    [12, "-", "-", "-", '>= "abc"', "true"],
    [13, "-", "-", "-", "-", '"yes"'],
    [1, "-", "-", "-", "-", "false"],  # duplicate id
    [None, "-", "-", "-", "-", "false"],  # row 20: no id
    [16, "=1+2", "-", "-", "-", "true"],  # formula without a cached value
]

# (sheet, cell, code or None, what the message must contain: the offending text and a
#  hint of what would be valid)
EXPECTED = [
    ("Glossary", "B15", "E111", ["string", "text"]),
    ("Glossary", "A16", "E110", ["Amount Yen", "amount_yen"]),
    ("Glossary", "C17", "E112", ["level2"]),
    ("Glossary2", "A3", "E113", ["country", "Glossary › A3"]),
    ("Cells", "B6", None, ["3,000", "3000"]),
    ("Cells", "B7", None, ["=>", ">="]),
    ("Cells", "B8", None, ["[1..]"]),
    ("Cells", "B9", None, ["三千", "3000"]),
    ("Cells", "B10", None, ["full-width"]),
    ("Cells", "B11", None, ['"abc"', "number"]),
    ("Cells", "B12", None, ["empty", "[low..high]"]),
    ("Cells", "C13", None, ['"JP', "quote"]),
    ("Cells", "C14", None, ['"DE"', '"JP"']),
    ("Cells", "D15", None, ["123", "quote"]),
    ("Cells", "B16", None, ["availabel_limit_yen", "available_limit_yen"]),
    ("Cells", "E17", None, ["abc", "6.7.0"]),
    ("Cells", "F18", None, ['"yes"', "true"]),
    ("Cells", "A19", "E128", ['"1"', "A6"]),
    ("Cells", "A20", "E129", ["id"]),
    ("Cells", "B21", "E101", ["Excel", "type the value"]),
    ("Headers", "B5", "E126", ["contry", "country"]),
    ("Headers", "C4", "E125", ["INPT", "INPUT"]),
    ("NoPolicy", "B2", "E122", ["UNIQUE", "FIRST", "COLLECT"]),
    ("BadPolicy", "B2", "E123", ["SOMETIMES", "UNIQUE", "FIRST"]),
    ("BadName", "B1", "E121", ["Purchase Restriction", "letters"]),
    ("CycA", None, "E151", ["CycA", "CycB"]),
    ("Dup2", "B1", "E130", ["Grades", "Dup1"]),
    ("FeeB", "C5", "E150", ["fee", "FeeA", "FeeB"]),
    # no close name to suggest: the message lists the decisions that exist
    ("Tests", "B1", "E160", ["Eligibilty", "FeeA"]),
    ("Tests", "B6", "E162", ['"abc"', "number"]),
    ("Invariants", "B3", "E171", ["amount_yen >"]),
    ("Invariants", "C4", "E171", ["fe", 'did you mean "fee"']),
]


def build(directory: Path) -> Path:
    tables = [
        table("Cells", "FIRST", ["INPUT amount_yen", "INPUT country", "INPUT name", "INPUT app_version",
                                 "OUTPUT ok"], CELL_RULES),
        table("Headers", "FIRST", ["INPUT contry", "INPT amount_yen", "OUTPUT level"], [[1, "-", "-", '"a"']]),
        table("NoPolicy", None, ["INPUT amount_yen", "OUTPUT level"], [[1, "-", '"a"']]),
        table("BadPolicy", "SOMETIMES", ["INPUT amount_yen", "OUTPUT level"], [[1, "-", '"a"']]),
        table("Purchase Restriction", "FIRST", ["INPUT amount_yen", "OUTPUT level"], [[1, "-", '"a"']],
              sheet="BadName"),
        table("CycA", "FIRST", ["INPUT x", "OUTPUT y"], [[1, "> 0", 1]]),
        table("CycB", "FIRST", ["INPUT y", "OUTPUT x"], [[1, "> 0", 1]]),
        table("Grades", "FIRST", ["INPUT amount_yen", "OUTPUT grade"], [[1, "-", '"a"']], sheet="Dup1"),
        table("Grades", "FIRST", ["INPUT amount_yen", "OUTPUT grade2"], [[1, "-", '"a"']], sheet="Dup2"),
        table("FeeA", "FIRST", ["INPUT amount_yen", "OUTPUT fee"], [[1, "-", 1]]),
        table("FeeB", "FIRST", ["INPUT country", "OUTPUT fee"], [[1, "-", 2]]),
    ]
    sheets = [
        raw_sheet("Glossary2", [["Glossary"], ["Field", "Type", "Allowed values", "Label", "Description"],
                                ["country", "number"]]),
        make_tests_sheet("Eligibilty", ["INPUT amount_yen", "EXPECT fee"], [["c1", 100, 1], ["c2", '"abc"', 1]]),
        invariants_sheet("FeeA", [["inv1", "amount_yen >", "fee >= 0"], ["inv2", None, "fe >= 0"]]),
        raw_sheet("Notes", [["This sheet is a note and is ignored"]]),
    ]
    return write_workbook(directory / WB, glossary=GLOSSARY, tables=tables, sheets=sheets)


@pytest.fixture(scope="module")
def tables_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("mistakes")
    build(d)
    return d


@pytest.fixture(scope="module")
def diagnostics(tables_dir):
    with pytest.raises(WorkbookError) as e:
        decide.load(tables_dir)
    return [d for d in e.value.diagnostics if d.severity == "error"]


def _find(diags, sheet, cell, code):
    return [d for d in diags if d.sheet == sheet and (cell is None or d.cell == cell)
            and (code is None or d.code == code)]


def test_at_least_twenty_different_mistakes_in_one_load(diagnostics):
    assert len(EXPECTED) >= 20
    places = {(d.sheet, d.cell) for d in diagnostics}
    assert len(places) >= 30
    assert len({d.code for d in diagnostics}) >= 15


@pytest.mark.parametrize("sheet,cell,code,hints", EXPECTED, ids=[f"{s}!{c}" for s, c, _, _ in EXPECTED])
def test_each_mistake_is_reported_where_it_is_with_what_is_valid(diagnostics, sheet, cell, code, hints):
    found = _find(diagnostics, sheet, cell, code)
    assert found, f"no error at {sheet}!{cell} ({code}); got:\n" + "\n".join(f"{d.code} {d}" for d in diagnostics)
    d = found[0]
    assert d.workbook == WB
    assert d.cell, "every error names its cell"
    text = str(d) + " " + (str(d.related) if d.related else "")
    missing = [h for h in hints if h not in text]
    assert not missing, f"{d.code} {d}: message lacks {missing}"


def test_nothing_else_and_no_duplicates(diagnostics):
    expected = {(s, c) for s, c, _, _ in EXPECTED}
    extra = [d for d in diagnostics
             if (d.sheet, d.cell) not in expected and not any(s == d.sheet and c is None for s, c in expected)]
    assert not extra, "unexpected errors:\n" + "\n".join(f"{d.code} {d}" for d in extra)
    keys = [(d.sheet, d.cell, d.message) for d in diagnostics]
    assert len(keys) == len(set(keys)), "an error reported twice"


def test_every_diagnostic_has_code_and_place(diagnostics):
    for d in diagnostics:
        assert re.fullmatch(r"E\d{3}", d.code)
        assert str(d).startswith(f"{WB} › {d.sheet} › {d.cell}: ")
        dd = d.to_dict()
        assert dd["workbook"] == WB and dd["sheet"] == d.sheet and dd["cell"] == d.cell


def test_two_place_errors_name_both_places(diagnostics):
    cyc = _find(diagnostics, "CycA", None, "E151")[0]
    assert "CycB" in str(cyc) and (cyc.related is not None and cyc.related.sheet == "CycB"
                                   or "CycB › " in cyc.message)
    dup = _find(diagnostics, "Dup2", "B1", "E130")[0]
    assert "Dup1" in dup.message and dup.related is not None and dup.related.sheet == "Dup1"
    fee = _find(diagnostics, "FeeB", "C5", "E150")[0]
    assert "FeeA" in fee.message and fee.related is not None and fee.related.sheet == "FeeA"
    redecl = _find(diagnostics, "Glossary2", "A3", "E113")[0]
    assert redecl.related is not None and (redecl.related.sheet, redecl.related.cell) == ("Glossary", "A3")


# --------------------------------------------------------------------------- CLI
def _assert_all_printed(p):
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert "Traceback" not in p.stderr and "Traceback" not in p.stdout
    for sheet, cell, _, _ in EXPECTED:
        where = f"{WB} › {sheet}" + (f" › {cell}" if cell else "")
        assert where in p.stderr, f"{where} not printed:\n{p.stderr}"


def test_cli_run_prints_every_error_exit_2(tables_dir, tmp_path):
    case = tmp_path / "case.json"
    case.write_text('{"amount_yen": 100}')
    p = subprocess.run([DECIDE, str(case), "--decision", "FeeA", "--tables", str(tables_dir)],
                       capture_output=True, text=True)
    _assert_all_printed(p)
    assert p.stdout == ""


@pytest.mark.parametrize("command", [["tables"], ["test"]])
def test_cli_subcommands_print_every_error_exit_2(tables_dir, command):
    p = subprocess.run([DECIDE, *command, str(tables_dir)], capture_output=True, text=True)
    _assert_all_printed(p)


def test_cli_batch_prints_every_error_exit_2(tables_dir, tmp_path):
    cases = tmp_path / "cases.jsonl"
    cases.write_text('{"amount_yen": 100}\n')
    p = subprocess.run([DECIDE, "batch", str(cases), "--decision", "FeeA", "--tables", str(tables_dir)],
                       capture_output=True, text=True)
    _assert_all_printed(p)


def test_cli_unreadable_workbook_exit_2(tmp_path):
    (tmp_path / "broken.xlsx").write_text("not a zip")
    case = tmp_path / "case.json"
    case.write_text("{}")
    p = subprocess.run([DECIDE, str(case), "--decision", "X", "--tables", str(tmp_path)],
                       capture_output=True, text=True)
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert "broken.xlsx" in p.stderr


# --------------------------------------------------------------------------- silent picks
def _errors(path):
    with pytest.raises(WorkbookError) as e:
        decide.load(path)
    return [d for d in e.value.diagnostics if d.severity == "error"]


def test_a_label_shared_by_two_fields_is_an_error_not_a_silent_pick(tmp_path):
    """A header may be a field's label; a label that two fields share cannot say which."""
    write_workbook(tmp_path / "w.xlsx",
                   glossary=[("a_yen", "number", None, "金額"), ("b_yen", "number", None, "金額"), ("o", "number")],
                   tables=[table("T", "FIRST", ["INPUT 金額", "OUTPUT o"], [[1, "> 5", 1]])])
    errs = _errors(tmp_path)
    assert any("a_yen" in d.message and "b_yen" in d.message for d in errs), [str(d) for d in errs]


def test_the_same_output_field_twice_in_one_table_is_an_error(tmp_path):
    write_workbook(tmp_path / "w.xlsx", glossary=[("a", "number"), ("o", "number")],
                   tables=[table("T", "FIRST", ["INPUT a", "OUTPUT o", "OUTPUT o"], [[1, "-", 1, 2]])])
    errs = _errors(tmp_path)
    assert any(d.sheet == "T" and d.cell in ("C5", "D5") and "o" in d.message for d in errs), \
        [str(d) for d in errs]


@pytest.mark.parametrize("n", [1, 3])
def test_cycles_name_every_table_in_them(tmp_path, n):
    names = [f"T{i}" for i in range(n)]
    fields = [f"f{i}" for i in range(n)]
    write_workbook(tmp_path / "w.xlsx", glossary=[(f, "number") for f in fields], tables=[
        table(names[i], "FIRST", [f"INPUT {fields[i]}", f"OUTPUT {fields[(i + 1) % n]}"], [[1, "-", 1]])
        for i in range(n)])
    errs = _errors(tmp_path)
    assert len(errs) == 1 and errs[0].code == "E151"
    text = str(errs[0])
    assert all(f"w.xlsx › {t}" in text for t in names)


@pytest.mark.parametrize("cell", ["(" * 200 + "1" + ")" * 200, "> 1" + "0" * 5000, "[" * 200 + "1" + "]" * 200],
                         ids=["200-nested-parens", "5000-digit-number", "200-nested-brackets"])
def test_pathological_cell_is_a_workbook_error_not_a_crash(tmp_path, cell):
    write_workbook(tmp_path / "w.xlsx", glossary=[("a", "number"), ("o", "number")],
                   tables=[table("T", "FIRST", ["INPUT a", "OUTPUT o"], [[1, cell, 1], [2, Text("=> 3"), 2]])])
    try:
        b = decide.load(tmp_path)
    except WorkbookError as e:
        cells = {d.cell for d in e.diagnostics}
        assert "B7" in cells  # the load went on to the other cells
        return
    except (RecursionError, ValueError) as e:
        pytest.fail(f"decide.load crashed with {type(e).__name__}: {str(e)[:100]}")
    raise AssertionError(f"loaded: {b}")
