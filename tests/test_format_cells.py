"""WORKBOOK_FORMAT.md, cell by cell: every row of the input-cell table, output cells,
input-column expressions, Excel-typed cells, formulas, and the "Settled details".

One workbook holds one small FIRST table per construct (INPUT under test → OUTPUT
``hit_<id>`` = true), so a case matches exactly when ``hit_<id>`` is true and the
table returns null (no rule matched) otherwise.  Errors are checked on small
workbooks of their own, since one error stops the whole load.
"""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

import decide
from decide import CaseError, WorkbookError
from tests.workbooks import raw_sheet, set_cached_values, table, write_workbook

DECIDE = str(Path(sys.executable).with_name("decide"))

BASE_GLOSSARY = [
    ("country", "text", '"JP","US","FR"', "国"),
    ("name", "text"),
    ("amount_yen", "number", None, "金額"),
    ("available_limit_yen", "number"),
    ("ratio", "number"),
    ("age", "integer"),
    ("min_age", "integer"),
    ("max_age", "integer"),
    ("member", "boolean"),
    ("birth", "date"),
    ("app_version", "version"),
    ("tags", "text list", '"a","b","c"'),
]

T, F = True, False
D = Decimal

# (id, column header, cell as written (str = typed text; other = an Excel-typed cell),
#  [(facts or the column field's value (None = absent), matches?), ...])
CELL_CASES = [
    # -- or empty: anything, including null
    ("dash", "country", "-", [("JP", T), ("US", T), (None, T)]),
    ("empty", "country", None, [("JP", T), (None, T)]),
    # "approved": equals the string
    ("quoted", "country", '"JP"', [("JP", T), ("US", F), (None, F)]),
    ("quoted_free", "name", '"Tanaka"', [("Tanaka", T), ("tanaka", F), (None, F)]),
    ("bare_allowed", "country", "JP", [("JP", T), ("US", F), (None, F)]),
    # literals, typed and as Excel cells
    ("num_text", "amount_yen", "3000", [(3000, T), (D("3000.0"), T), (2999, F), (None, F)]),
    ("num_cell", "amount_yen", 3000, [(3000, T), (D("3000.00"), T), (3001, F), (None, F)]),
    ("dec_text", "ratio", "0.3", [(D("0.3"), T), (0.3, T), (D("0.30"), T), (D("0.31"), F)]),
    ("dec_cell", "ratio", 0.3, [(D("0.3"), T), (0.3, T), (D("0.29"), F), (None, F)]),
    ("int_float_cell", "age", 3.0, [(3, T), (4, F)]),
    ("true_text", "member", "true", [(True, T), (False, F), (None, F)]),
    ("true_cell", "member", True, [(True, T), (False, F), (None, F)]),
    ("false_text", "member", "false", [(False, T), (True, F), (None, F)]),
    ("false_cell", "member", False, [(False, T), (True, F), (None, F)]),
    ("date_text", "birth", 'date("2020-02-03")',
     [("2020-02-03", T), (dt.date(2020, 2, 3), T), ("2020-02-04", F), (None, F)]),
    ("date_cell", "birth", dt.datetime(2020, 2, 3),
     [("2020-02-03", T), (dt.date(2020, 2, 3), T), ("2020-02-02", F), (None, F)]),
    ("date_lt", "birth", '< date("2000-01-01")', [("1999-12-31", T), ("2000-01-01", F)]),
    # comparisons
    ("lt", "amount_yen", "< 3000", [(2999, T), (D("2999.99"), T), (3000, F), (None, F)]),
    ("le", "amount_yen", "<= 3000", [(3000, T), (D("3000.01"), F), (None, F)]),
    ("gt", "age", "> 2", [(3, T), (2, F), (None, F)]),
    ("ge", "age", ">= 3", [(3, T), (2, F), (None, F)]),
    ("ge_nospace", "age", ">=3", [(3, T), (2, F)]),
    # intervals: ( ) and outward ] [ are open ends
    ("iv_closed", "age", "[1..5]", [(1, T), (3, T), (5, T), (0, F), (6, F), (None, F)]),
    ("iv_open_low", "age", "(1..5]", [(1, F), (2, T), (5, T)]),
    ("iv_open_high", "age", "[1..5)", [(1, T), (4, T), (5, F)]),
    ("iv_outward_low", "age", "]1..5]", [(1, F), (2, T), (5, T), (None, F)]),
    ("iv_outward_high", "age", "[1..5[", [(1, T), (4, T), (5, F), (None, F)]),
    ("iv_open_both", "age", "(1..5)", [(1, F), (3, T), (5, F)]),
    ("iv_outward_both", "age", "]1..5[", [(1, F), (3, T), (5, F)]),
    ("iv_decimal", "amount_yen", "[0.1..0.3]", [(D("0.3"), T), (0.1, T), (D("0.31"), F)]),
    ("iv_version", "app_version", '["6.0.0".."7.0.0")', [("6.10.0", T), ("7.0.0", F), ("5.9", F)]),
    ("iv_date", "birth", '[date("2020-01-01")..date("2020-12-31")]',
     [("2020-06-30", T), ("2021-01-01", F)]),
    # lists
    ("list_text", "name", '"a","b"', [("a", T), ("b", T), ("c", F), (None, F)]),
    ("list_num", "age", "1, 2, 3", [(1, T), (2, T), (3, T), (4, F), (None, F)]),
    ("list_mixed", "age", "1, [10..20]", [(1, T), (15, T), (5, F)]),
    # not(...)
    ("not_value", "country", 'not("JP")', [("US", T), ("JP", F), (None, T)]),
    ("not_values", "country", 'not("JP","US")', [("FR", T), ("US", F), ("JP", F), (None, T)]),
    ("not_cmp", "age", "not(< 3)", [(5, T), (3, T), (2, F), (None, F)]),
    ("not_interval", "age", "not([1..5])", [(6, T), (3, F), (None, F)]),
    # null
    ("null", "country", "null", [(None, T), ("JP", F)]),
    # field references
    ("ref_gt", "amount_yen", "> available_limit_yen",
     [({"amount_yen": 5, "available_limit_yen": 3}, T), ({"amount_yen": 3, "available_limit_yen": 3}, F),
      ({"amount_yen": 5}, F), ({"available_limit_yen": 3}, F)]),
    ("ref_interval", "age", "[min_age..max_age]",
     [({"age": 20, "min_age": 18, "max_age": 65}, T), ({"age": 18, "min_age": 18, "max_age": 65}, T),
      ({"age": 65, "min_age": 18, "max_age": 65}, T), ({"age": 17, "min_age": 18, "max_age": 65}, F),
      ({"age": 66, "min_age": 18, "max_age": 65}, F), ({"age": 20, "max_age": 65}, F)]),
    # smart quotes typed by Excel
    ("smart", "country", "“JP”", [("JP", T), ("US", F)]),
    ("smart_not", "country", "not(“JP”)", [("US", T), ("JP", F), (None, T)]),
    # versions compare part by part
    ("version_gt", "app_version", '> "6.7.0"', [("6.10.0", T), ("6.7.1", T), ("6.7.0", F), ("6.6.9", F),
                                                 (None, F)]),
    ("version_eq", "app_version", '"6.7.0"', [("6.7.0", T), ("6.7.1", F)]),
    # a text list input: the test names a text the list must contain
    ("text_list", "tags", '"a"', [(["a", "b"], T), (["b"], F), ([], F), (None, F)]),
    # a header may be the label instead of the field name
    ("label_header", "国", '"US"', [({"country": "US"}, T), ({"country": "JP"}, F)]),
    ("label_header_num", "金額", ">= 100", [({"amount_yen": 100}, T), ({"amount_yen": 99}, F)]),
    # an INPUT column may be an arithmetic expression over fields
    ("expr_col", "amount_yen - available_limit_yen", "> 0",
     [({"amount_yen": 5, "available_limit_yen": 3}, T), ({"amount_yen": 3, "available_limit_yen": 3}, F),
      ({"amount_yen": 5}, F)]),
    ("expr_col_interval", "amount_yen * 2", "[10..20]",
     [({"amount_yen": 5}, T), ({"amount_yen": D("10.0")}, T), ({"amount_yen": D("10.5")}, F)]),
]

FIELD_OF = {"国": "country", "金額": "amount_yen"}


def _facts(header, value):
    if isinstance(value, dict):
        return value
    field = FIELD_OF.get(header, header)
    return {} if value is None else {field: value}


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    d = tmp_path_factory.mktemp("cells")
    glossary = BASE_GLOSSARY + [(f"hit_{cid}", "boolean") for cid, *_ in CELL_CASES]
    tables = [table(f"C_{cid}", "FIRST", [f"INPUT {header}", f"OUTPUT hit_{cid}"], [[1, cell, True]],
                    sheet=f"c{i}")
              for i, (cid, header, cell, _) in enumerate(CELL_CASES)]
    write_workbook(d / "cells.xlsx", glossary=glossary, tables=tables)
    return decide.load(d)


@pytest.mark.parametrize("cid,header,cell,cases", CELL_CASES, ids=[c[0] for c in CELL_CASES])
def test_input_cell(book, cid, header, cell, cases):
    wrong = []
    for value, expected in cases:
        r = book.decide(f"C_{cid}", _facts(header, value))
        got = r.outputs[f"hit_{cid}"]
        assert got in (True, None)
        fired = [f.rule for f in r.fired]
        assert fired == (["1"] if got else [])
        if (got is True) != expected:
            wrong.append((value, expected, got))
    assert not wrong, f"cell {cell!r}: (value, expected match, output) {wrong}"


# --------------------------------------------------------------------------- output cells
OUT_GLOSSARY = [
    ("country", "text", '"JP","US","FR"'),
    ("amount_yen", "number"),
    ("o_text", "text", '"approved","rejected"'),
    ("o_free", "text"),
    ("o_num", "number"),
    ("o_sum", "number"),
    ("o_int", "integer"),
    ("o_bool", "boolean"),
    ("o_date", "date"),
    ("o_date_cell", "date"),
    ("o_null", "text"),
    ("o_empty", "number"),
    ("o_expr", "number"),
    ("o_version", "version"),
    ("o_dec_cell", "number"),
]


@pytest.fixture(scope="module")
def out_book(tmp_path_factory):
    d = tmp_path_factory.mktemp("outputs")
    cols = ["INPUT country", "OUTPUT o_text", "OUTPUT o_free", "OUTPUT o_num", "OUTPUT o_sum",
            "OUTPUT o_int", "OUTPUT o_bool", "OUTPUT o_date", "OUTPUT o_date_cell", "OUTPUT o_null",
            "OUTPUT o_empty", "OUTPUT o_expr", "OUTPUT o_version", "OUTPUT o_dec_cell"]
    rules = [
        [1, '"JP"', '"approved"', "“smart”", "1.5", "0.1 + 0.2", "7", "true", 'date("2020-02-03")',
         dt.datetime(2021, 3, 4), "null", None, "amount_yen * 2", '"6.10.0"', 0.1],
        [2, "-", "rejected", '"x"', 2, "10 / 4", 8, False, '"2020-02-03"', None, None, None,
         "amount_yen - 0.1", None, None],
    ]
    write_workbook(d / "out.xlsx", glossary=OUT_GLOSSARY, tables=[table("Out", "FIRST", cols, rules)])
    return decide.load(d)


def test_output_literals_and_arithmetic(out_book):
    r = out_book.decide("Out", {"country": "JP", "amount_yen": D("0.15")})
    o = r.outputs
    assert o["o_text"] == "approved"
    assert o["o_free"] == "smart"
    assert o["o_num"] == D("1.5") and not isinstance(o["o_num"], float)
    assert o["o_sum"] == D("0.3"), "0.1 + 0.2 must equal 0.3 (decimal semantics)"
    assert o["o_int"] == 7 and isinstance(o["o_int"], int)
    assert o["o_bool"] is True
    assert o["o_date"] == dt.date(2020, 2, 3)
    assert o["o_date_cell"] == dt.date(2021, 3, 4)
    assert o["o_null"] is None
    assert o["o_empty"] is None
    assert o["o_expr"] == D("0.30")
    assert str(o["o_version"]) == "6.10.0"
    assert o["o_dec_cell"] == D("0.1")
    js = r.to_dict()
    assert js["outputs"]["o_sum"] == D("0.3") and isinstance(js["outputs"]["o_sum"], D)  # exact
    from decide.app.casejson import dumps
    assert '"o_sum": 0.3,' in dumps(js) and '"o_expr": 0.30,' in dumps(js)  # its digits, not a float's
    assert js["outputs"]["o_date"] == "2020-02-03"
    assert js["outputs"]["o_null"] is None


def test_output_second_rule_excel_cells_and_bare_allowed_word(out_book):
    o = out_book.decide("Out", {"country": "US", "amount_yen": 1}).outputs
    assert o["o_text"] == "rejected"  # a bare word that is an allowed value
    assert o["o_num"] == 2
    assert o["o_sum"] == D("2.5")
    assert o["o_int"] == 8
    assert o["o_bool"] is False
    assert o["o_date"] == dt.date(2020, 2, 3)
    assert o["o_date_cell"] is None and o["o_version"] is None
    assert o["o_expr"] == D("0.9")


def test_output_arithmetic_on_null_input_is_null(out_book):
    assert out_book.decide("Out", {"country": "JP"}).outputs["o_expr"] is None


def test_case_values_decimal_and_iso_dates(book):
    # the JSON number 0.3 (read as Decimal or as float) matches the cell 0.3
    assert book.decide("C_dec_cell", json.loads('{"ratio": 0.3}', parse_float=Decimal)).outputs["hit_dec_cell"]
    assert book.decide("C_dec_cell", json.loads('{"ratio": 0.3}')).outputs["hit_dec_cell"]
    assert book.decide("C_date_cell", {"birth": "2020-02-03"}).outputs["hit_date_cell"]
    with pytest.raises(CaseError, match="birth"):
        book.decide("C_date_cell", {"birth": "03/02/2020"})


def test_case_codes_stay_text(book):
    with pytest.raises(CaseError) as e:
        book.decide("C_quoted_free", {"name": 123})
    assert "name" in str(e.value) and "quote" in str(e.value)


def test_cli_json_number_matches_decimal_cell(book, tmp_path):
    case = tmp_path / "case.json"
    case.write_text('{"decision": "C_iv_decimal", "amount_yen": 0.3}')
    p = subprocess.run([DECIDE, str(case), "--tables", str(book.path)], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["outputs"] == {"hit_iv_decimal": True}
    assert out["fired"][0]["rule"] == "1"


# --------------------------------------------------------------------------- table without inputs
def test_table_without_input_column_always_matches(tmp_path):
    write_workbook(tmp_path / "w.xlsx",
                   glossary=[("base_rate", "number"), ("amount_yen", "number"), ("fee", "number")],
                   tables=[table("Rate", "FIRST", ["OUTPUT base_rate"], [["r1", "0.05"]]),
                           table("Fee", "FIRST", ["INPUT amount_yen", "OUTPUT fee"],
                                 [[1, "> 0", "amount_yen * base_rate"]])])
    b = decide.load(tmp_path)
    assert b.decide("Rate", {}).outputs == {"base_rate": D("0.05")}
    r = b.decide("Fee", {"amount_yen": 1000})
    assert r.outputs == {"fee": D("50")}
    assert [(f.table, f.rule) for f in r.fired] == [("Rate", "r1"), ("Fee", "1")]


# --------------------------------------------------------------------------- load errors
def load_errors(path) -> list:
    with pytest.raises(WorkbookError) as e:
        decide.load(path)
    return [d for d in e.value.diagnostics if d.severity == "error"]


def one_error(path):
    errs = load_errors(path)
    assert len(errs) == 1, [str(d) for d in errs]
    return errs[0]


def _single_table_book(tmp_path, header, cell, glossary=BASE_GLOSSARY):
    write_workbook(tmp_path / "w.xlsx", glossary=list(glossary) + [("hit", "boolean")],
                   tables=[table("T", "FIRST", [f"INPUT {header}", "OUTPUT hit"], [[1, cell, True]])])
    return tmp_path


def test_number_cell_in_text_column_is_error_saying_how_to_fix(tmp_path):
    d = one_error(_single_table_book(tmp_path, "name", 123))
    assert (d.workbook, d.sheet, d.cell) == ("w.xlsx", "T", "B6")
    assert "123" in d.message and "quote" in d.message and "text" in d.message


def test_unquoted_number_text_in_text_column_is_error(tmp_path):
    d = one_error(_single_table_book(tmp_path, "name", "123"))
    assert d.cell == "B6" and "quote" in d.message


def test_quoted_value_outside_allowed_values(tmp_path):
    d = one_error(_single_table_book(tmp_path, "country", '"DE"'))
    assert d.cell == "B6"
    assert "DE" in d.message and '"JP"' in d.message  # says what would be valid


@pytest.mark.parametrize("cell", ["[30000..10000]", "(5..5]", "[5..5)", "]5..5["])
def test_empty_interval_is_error(tmp_path, cell):
    d = one_error(_single_table_book(tmp_path, "amount_yen", cell))
    assert d.cell == "B6" and "empty" in d.message


def test_single_point_interval_is_not_empty(tmp_path):
    b = decide.load(_single_table_book(tmp_path, "amount_yen", "[5..5]"))
    assert b.decide("T", {"amount_yen": 5}).outputs["hit"] is True


@pytest.mark.parametrize("cell", ['> "abc"', '"6.x"', "> 6.7.0"])
def test_version_that_is_not_dotted_is_error(tmp_path, cell):
    d = one_error(_single_table_book(tmp_path, "app_version", cell))
    assert d.cell == "B6"
    # what would be valid in a version column: a dotted version in quotes
    assert "version" in d.message or "quote" in d.message


def test_formula_without_cached_value_is_E101(tmp_path):
    write_workbook(tmp_path / "w.xlsx", glossary=[("amount_yen", "number"), ("hit", "boolean")],
                   tables=[table("T", "FIRST", ["INPUT amount_yen", "OUTPUT hit"], [[1, "=1000*3", True]])])
    d = one_error(tmp_path)
    assert d.code == "E101" and (d.sheet, d.cell) == ("T", "B6")
    assert "Excel" in d.message and "type the value" in d.message


def test_formulas_with_cached_values_read_through_the_value(tmp_path):
    p = write_workbook(tmp_path / "w.xlsx",
                       glossary=[("amount_yen", "number"), ("country", "text"), ("hit", "number")],
                       tables=[table("T", "FIRST", ["INPUT amount_yen", "INPUT country", "OUTPUT hit"],
                                     [[1, "=1000*3", '="""JP"""', "=2+3"]])])
    # a formula's cached text is read like typed text: it shows "JP", quotes included
    set_cached_values(p, {("T", "B6"): 3000, ("T", "C6"): '"JP"', ("T", "D6"): 5})
    b = decide.load(tmp_path)
    assert b.decide("T", {"amount_yen": 3000, "country": "JP"}).outputs["hit"] == 5
    assert b.decide("T", {"amount_yen": 3001, "country": "JP"}).outputs["hit"] is None
    # the cached value of a formula in a text column is a text, even when it looks like a code
    assert b.decide("T", {"amount_yen": 3000, "country": "US"}).outputs["hit"] is None


def test_identical_redeclaration_is_fine(tmp_path):
    g = [("country", "text", '"JP","US"', "国"), ("hit", "boolean")]
    write_workbook(tmp_path / "a.xlsx", glossary=g,
                   tables=[table("A", "FIRST", ["INPUT country", "OUTPUT hit"], [[1, '"JP"', True]])])
    write_workbook(tmp_path / "b.xlsx", glossary=g[:1])
    assert decide.load(tmp_path).decide("A", {"country": "JP"}).outputs["hit"] is True


@pytest.mark.parametrize("second", [("country", "text", '"JP","FR"', "国"),
                                    ("country", "number", None, "国"),
                                    ("country", "text", '"JP","US"', "国名")])
def test_different_redeclaration_names_both_places(tmp_path, second):
    write_workbook(tmp_path / "a.xlsx", glossary=[("country", "text", '"JP","US"', "国")])
    write_workbook(tmp_path / "b.xlsx", glossary=[second])
    d = one_error(tmp_path)
    both = d.message + " " + str(d.loc) + " " + str(d.related)
    assert "country" in d.message
    assert "a.xlsx" in both and "b.xlsx" in both
    assert "a.xlsx" in d.message or "b.xlsx" in d.message  # the message itself names the other place


def test_two_producers_name_both(tmp_path):
    write_workbook(tmp_path / "a.xlsx", glossary=[("country", "text"), ("fee", "number")],
                   tables=[table("FeeA", "FIRST", ["INPUT country", "OUTPUT fee"], [[1, "-", 1]])])
    write_workbook(tmp_path / "b.xlsx", glossary=[("country", "text"), ("fee", "number")],
                   tables=[table("FeeB", "FIRST", ["INPUT country", "OUTPUT fee"], [[1, "-", 2]])])
    d = one_error(tmp_path)
    assert "fee" in d.message and "FeeA" in d.message and "FeeB" in d.message
    text = str(d)  # workbook › sheet › cell: message
    assert "a.xlsx › FeeA" in text and "b.xlsx › FeeB" in text


def test_ignored_sheets_do_not_break_loading(tmp_path):
    write_workbook(tmp_path / "w.xlsx", glossary=[("country", "text"), ("hit", "boolean")],
                   tables=[table("T", "FIRST", ["INPUT country", "OUTPUT hit"], [[1, '"JP"', True]])],
                   sheets=[raw_sheet("Notes", [["メモ", "anything"], ["=1+", 3]])])
    b = decide.load(tmp_path)
    assert [l.sheet for l in b.ir.ignored_sheets] == ["Notes"]


# --------------------------------------------------------------------------- Tests sheets
def _tests_book(tmp_path, cases_c, cases_r, cases_d):
    from tests.workbooks import tests_sheet as make_tests_sheet
    gl = [("score", "integer"), ("birth", "date"), ("ratio", "number"), ("due", "date"),
          ("tags_c", "text list", '"a","b","c"'), ("tags_r", "text list", '"a","b","c"'), ("ok", "boolean")]
    write_workbook(tmp_path / "w.xlsx", glossary=gl, tables=[
        table("TagsC", "COLLECT", ["INPUT score", "OUTPUT tags_c"],
              [[1, ">= 0", '"b"'], [2, ">= 5", '"a"'], [3, ">= 10", '"b"']]),
        table("TagsR", "RULE ORDER", ["INPUT score", "OUTPUT tags_r"],
              [[1, ">= 0", '"b"'], [2, ">= 5", '"a"']]),
        table("Dates", "FIRST", ["INPUT birth", "INPUT ratio", "OUTPUT due", "OUTPUT ok"],
              [[1, 'date("2020-02-03")', 0.3, 'date("2020-03-01")', "true"], [2, "-", "-", "null", "false"]]),
    ], sheets=[make_tests_sheet("TagsC", ["INPUT score", "EXPECT tags_c"], cases_c, sheet="TestsC"),
               make_tests_sheet("TagsR", ["INPUT score", "EXPECT tags_r"], cases_r, sheet="TestsR"),
               make_tests_sheet("Dates", ["INPUT birth", "INPUT ratio", "EXPECT due", "EXPECT ok"], cases_d,
                                sheet="TestsD")])
    return tmp_path


def _outcomes(path):
    from decide.tools.testing import run_tests
    return {o.case.id: o for o in run_tests(decide.load(path))}


def test_tests_sheet_dates_decimals_and_lists(tmp_path):
    path = _tests_book(
        tmp_path,
        cases_c=[["c_order", 7, '"a","b"'], ["c_one", 0, '"b"'], ["c_none", -1, "[]"]],
        cases_r=[["r_seq", 7, '"b","a"'], ["r_none", -1, "[]"]],
        cases_d=[["d_cell", dt.datetime(2020, 2, 3), 0.3, dt.datetime(2020, 3, 1), True],
                 ["d_literal", 'date("2020-02-03")', "0.3", 'date("2020-03-01")', "true"],
                 ["d_iso", '"2020-02-03"', 0.3, '"2020-03-01"', None],
                 ["d_other", dt.datetime(2020, 2, 4), 0.3, "null", False],
                 ["d_absent", None, None, "null", "false"]])
    out = _outcomes(path)
    failed = {k: o.describe() for k, o in out.items() if not o.passed}
    assert not failed, failed
    assert len(out) == 10


def test_tests_sheet_collect_compares_as_set_rule_order_as_sequence(tmp_path):
    path = _tests_book(
        tmp_path,
        cases_c=[["c_dups", 12, '"a","b"'], ["c_wrong", 7, '"a","c"']],
        cases_r=[["r_wrong_order", 7, '"a","b"']],
        cases_d=[["d_wrong", dt.datetime(2020, 2, 3), 0.3, 'date("2020-03-02")', True]])
    out = _outcomes(path)
    # COLLECT: ["b", "a", "b"] as a set is {"a", "b"}
    assert out["c_dups"].passed, out["c_dups"].describe()
    assert not out["c_wrong"].passed
    assert not out["r_wrong_order"].passed
    d = out["d_wrong"]
    assert not d.passed and "2020-03-02" in d.describe() and "2020-03-01" in d.describe()


def test_decide_test_cli_reports_failures_exit_1(tmp_path):
    from click.testing import CliRunner
    from decide.app.cli import main
    path = _tests_book(tmp_path, cases_c=[["c_ok", 0, '"b"']], cases_r=[["r_bad", 7, '"a","b"']],
                       cases_d=[["d_ok", '"2020-02-03"', 0.3, 'date("2020-03-01")', True]])
    r = CliRunner().invoke(main, ["test", str(path)])
    assert r.exit_code == 1, r.output
    assert "r_bad" in r.output and "TestsR" in r.output
    assert '"a", "b"' in r.output and '"b", "a"' in r.output  # expected and actual
    assert "c_ok" not in r.output and "2 passed, 1 failed" in r.output


@pytest.mark.parametrize("facts", [{"n": 7}, {"n": 20}])
def test_computed_output_never_breaks_its_glossary_declaration(tmp_path, facts):
    """An output expression whose value is not of the field's type or outside its allowed
    values (n / 2 = 3.5 for an integer; n * 10 = 200 for [0..100]) must not be returned as
    if it were valid: DMN makes a non-conforming result null; an evaluation error that
    names the cell would do too."""
    write_workbook(tmp_path / "w.xlsx",
                   glossary=[("n", "integer"), ("half", "integer"), ("pct", "number", "[0..100]")],
                   tables=[table("H", "FIRST", ["INPUT n", "OUTPUT half", "OUTPUT pct"], [[1, "-", "n / 2", "n * 10"]])])
    b = decide.load(tmp_path)
    try:
        o = b.decide("H", facts).outputs
    except decide.EvaluationError:
        return
    assert o["half"] is None or (isinstance(o["half"], int) and o["half"] * 2 == facts["n"])
    assert o["pct"] is None or 0 <= o["pct"] <= 100


def test_advice_for_a_code_in_a_text_column_works(tmp_path):
    """The error for 123 in a text column says how to fix it; following the advice must
    fix it.  A cell formatted as text holding 123 reaches the engine as the text "123"
    (what openpyxl reads from such a cell), so "format the cell as text" is only valid
    advice if that cell then loads as the code "123"."""
    d = one_error(_single_table_book(tmp_path / "a", "name", 123))
    assert '"123"' in d.message
    book_dir = _single_table_book(tmp_path / "b", "name", "123")  # the same cell, formatted as text
    try:
        b = decide.load(book_dir)
    except WorkbookError:
        assert "format the cell as text" not in d.message, d.message
        return
    assert b.decide("T", {"name": "123"}).outputs["hit"] is True


@pytest.mark.parametrize("header,cell,hints", [
    ("name", "Tanaka", ['"Tanaka"', "quote"]),
    ("country", "DE", ["DE", '"JP"']),
    ("country", "jp", ['"JP"']),
])
def test_bare_word_that_is_neither_field_nor_allowed_value(tmp_path, header, cell, hints):
    d = one_error(_single_table_book(tmp_path, header, cell))
    assert d.cell == "B6"
    for h in hints:
        assert h in d.message, d.message


@pytest.mark.parametrize("n_type", ["number", "integer"])
def test_arithmetic_overflow_is_null_or_evaluation_error_not_a_crash(tmp_path, n_type):
    write_workbook(tmp_path / "w.xlsx", glossary=[("n", n_type), ("o", "number")],
                   tables=[table("T", "FIRST", ["INPUT n", "OUTPUT o"], [[1, "-", "n ** n"]])])
    b = decide.load(tmp_path)
    assert b.decide("T", {"n": 3}).outputs == {"o": 27}
    try:
        out = b.decide("T", {"n": 5000}).outputs["o"]
    except decide.EvaluationError:
        out = None
    assert out is None  # FEEL numbers are decimal128: out of range is null
    # and the CLI prints it (or an error line) instead of crashing; batch goes on
    from click.testing import CliRunner
    from decide.app.cli import main
    (tmp_path / "c.json").write_text('{"n": 5000}')
    (tmp_path / "c.jsonl").write_text('{"n": 5000}\n{"n": 2}\n')
    r = CliRunner().invoke(main, [str(tmp_path / "c.json"), "-d", "T", "--tables", str(tmp_path)])
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert r.exit_code in (0, 1)
    r = CliRunner().invoke(main, ["batch", str(tmp_path / "c.jsonl"), "-d", "T", "--tables", str(tmp_path)])
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert json.loads(r.stdout.splitlines()[-1])["outputs"] == {"o": 4}
