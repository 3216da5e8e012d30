"""Hit policies (U, A, P, F, C, C+, C<, C>, C#, R, O) with the results DMN 1.5
prescribes, every Glossary type as input and output, chaining, ``book.decisions``
and ``decide tables``."""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

import decide
from decide import EvaluationError, WorkbookError
from tests.workbooks import table, write_workbook

DECIDE = str(Path(sys.executable).with_name("decide"))
D = Decimal
GRADES = '"gold","silver","bronze"'  # priority order: gold first

GLOSSARY = [
    ("score", "integer", None, "点数"),
    ("u_level", "text"),
    ("a_level", "text"),
    ("a_note", "text"),
    ("p_grade", "text", GRADES, "等級"),
    ("p_note", "text", '"r1","r2","r3","r4"'),
    ("f_grade", "text", GRADES),
    ("c_grade", "text", GRADES),
    ("csum_fee", "number"),
    ("cmin_fee", "number"),
    ("cmax_fee", "number"),
    ("cmin_day", "date"),
    ("ccount_kind", "text"),
    ("ccount_n", "integer"),
    ("r_grade", "text", GRADES),
    ("r_fee", "number"),
    ("o_grade", "text", GRADES),
    ("o_rule", "integer", "1, 2, 3, 4"),
    ("c_reasons", "text list", '"few_uses","late_payment","young"'),
]

POLICY_TABLES = [
    table("U_t", "UNIQUE", ["INPUT score", "OUTPUT u_level"],
          [[1, "< 10", '"low"'], [2, "[10..20]", '"mid"'], [3, "> 15", '"high"']]),
    table("A_t", "ANY", ["INPUT score", "OUTPUT a_level", "OUTPUT a_note"],
          [[1, ">= 0", '"ok"', '"same"'], [2, "<= 100", '"ok"', '"same"'], [3, "> 100", '"big"', '"same"']]),
    table("P_t", "PRIORITY", ["INPUT score", "OUTPUT p_grade", "OUTPUT p_note"],
          [[1, ">= 0", '"bronze"', '"r1"'], [2, ">= 50", '"silver"', '"r2"'], [3, ">= 90", '"gold"', '"r3"'],
           [4, ">= 95", '"silver"', '"r4"']]),
    table("F_t", "FIRST", ["INPUT score", "OUTPUT f_grade"],
          [[1, ">= 50", '"silver"'], [2, ">= 90", '"gold"'], [3, ">= 0", '"bronze"']]),
    table("C_t", "COLLECT", ["INPUT score", "OUTPUT c_grade"],
          [[1, ">= 0", '"bronze"'], [2, ">= 50", '"silver"'], [3, ">= 90", '"gold"'], [4, ">= 95", '"bronze"']]),
    table("Csum_t", "C+", ["INPUT score", "OUTPUT csum_fee"],
          [[1, ">= 0", 10], [2, ">= 50", "20.5"], [3, ">= 90", "0.1 + 0.2"]]),
    table("Cmin_t", "C<", ["INPUT score", "OUTPUT cmin_fee", "OUTPUT cmin_day"],
          [[1, ">= 0", 10, 'date("2024-05-01")'], [2, ">= 50", "20.5", dt.datetime(2024, 1, 31)],
           [3, ">= 90", "0.1 + 0.2", 'date("2024-03-01")']]),
    table("Cmax_t", "C>", ["INPUT score", "OUTPUT cmax_fee"],
          [[1, ">= 0", 10], [2, ">= 50", "20.5"], [3, ">= 90", "0.1 + 0.2"]]),
    table("Ccount_t", "C#", ["INPUT score", "OUTPUT ccount_kind", "OUTPUT ccount_n"],
          [[1, ">= 0", '"a"', 1], [2, ">= 50", '"a"', 2], [3, ">= 90", '"b"', 3]]),
    table("R_t", "RULE ORDER", ["INPUT score", "OUTPUT r_grade", "OUTPUT r_fee"],
          [[1, ">= 0", '"bronze"', 1], [2, ">= 90", '"gold"', 2], [3, ">= 50", '"silver"', 3],
           [4, ">= 95", '"bronze"', 4]]),
    table("O_t", "OUTPUT ORDER", ["INPUT score", "OUTPUT o_grade", "OUTPUT o_rule"],
          [[1, ">= 0", '"bronze"', 1], [2, ">= 50", '"silver"', 2], [3, ">= 90", '"gold"', 3],
           [4, ">= 95", '"silver"', 4]]),
    table("Creasons_t", "C", ["INPUT score", "OUTPUT c_reasons"],
          [[1, "< 50", '"few_uses"'], [2, "< 20", '"young"'], [3, "< 10", '"few_uses"']]),
]


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    d = tmp_path_factory.mktemp("policies")
    write_workbook(d / "policies.xlsx", glossary=GLOSSARY, tables=POLICY_TABLES)
    return decide.load(d)


def ids(result, table=None):
    return [f.rule for f in result.fired if table is None or f.table == table]


# --------------------------------------------------------------------------- single hit
def test_unique(book):
    r = book.decide("U_t", {"score": 5})
    assert r.outputs == {"u_level": "low"} and ids(r) == ["1"]
    assert book.decide("U_t", {"score": 10}).outputs == {"u_level": "mid"}
    assert book.decide("U_t", {"score": 30}).outputs == {"u_level": "high"}
    r = book.decide("U_t", {})
    assert r.outputs == {"u_level": None} and ids(r) == []


def test_unique_two_matches_is_evaluation_error_naming_the_rules(book):
    with pytest.raises(EvaluationError) as e:
        book.decide("U_t", {"score": 17})
    err = e.value
    assert err.table == "U_t"
    assert sorted(r[1] for r in err.rules) == ["2", "3"]
    assert "U_t" in str(err) and "2" in str(err) and "3" in str(err)
    assert "UNIQUE" in str(err)
    d = err.to_dict()
    assert d["error"] == "evaluation" and [x["rule"] for x in d["rules"]] == ["2", "3"]


def test_any_agreeing_matches(book):
    r = book.decide("A_t", {"score": 50})
    assert r.outputs == {"a_level": "ok", "a_note": "same"}
    assert ids(r) and set(ids(r)) <= {"1", "2"}
    assert book.decide("A_t", {"score": -1}).outputs == {"a_level": "ok", "a_note": "same"}
    assert book.decide("A_t", {}).outputs == {"a_level": None, "a_note": None}


def test_any_disagreeing_matches_is_evaluation_error(book):
    with pytest.raises(EvaluationError) as e:
        book.decide("A_t", {"score": 200})
    assert sorted(r[1] for r in e.value.rules) == ["1", "3"]
    assert "ANY" in str(e.value) and "A_t" in str(e.value)


def test_priority_uses_glossary_order_not_rule_order(book):
    r = book.decide("P_t", {"score": 96})  # rules 1 (bronze), 2 (silver), 3 (gold), 4 (silver) match
    assert r.outputs == {"p_grade": "gold", "p_note": "r3"} and ids(r) == ["3"]
    r = book.decide("P_t", {"score": 60})
    assert r.outputs == {"p_grade": "silver", "p_note": "r2"} and ids(r) == ["2"]
    assert book.decide("P_t", {"score": 1}).outputs == {"p_grade": "bronze", "p_note": "r1"}
    assert book.decide("P_t", {"score": -1}).outputs == {"p_grade": None, "p_note": None}


def test_first_takes_rule_order(book):
    r = book.decide("F_t", {"score": 95})
    assert r.outputs == {"f_grade": "silver"} and ids(r) == ["1"]
    assert book.decide("F_t", {"score": 10}).outputs == {"f_grade": "bronze"}
    r = book.decide("F_t", {"score": -5})
    assert r.outputs == {"f_grade": None} and ids(r) == []


# --------------------------------------------------------------------------- multiple hits
def test_collect_list(book):
    r = book.decide("C_t", {"score": 96})
    assert sorted(r.outputs["c_grade"]) == sorted(["bronze", "silver", "gold", "bronze"])
    assert sorted(ids(r)) == ["1", "2", "3", "4"]
    assert book.decide("C_t", {"score": 60}).outputs["c_grade"] in (["bronze", "silver"], ["silver", "bronze"])
    r = book.decide("C_t", {"score": -1})
    assert r.outputs == {"c_grade": []} and ids(r) == []


def test_collect_sum(book):
    assert book.decide("Csum_t", {"score": 95}).outputs == {"csum_fee": D("30.8")}
    assert book.decide("Csum_t", {"score": 60}).outputs == {"csum_fee": D("30.5")}
    assert book.decide("Csum_t", {"score": 0}).outputs == {"csum_fee": 10}
    r = book.decide("Csum_t", {"score": -1})
    assert r.outputs == {"csum_fee": None} and ids(r) == []


def test_collect_min(book):
    r = book.decide("Cmin_t", {"score": 95})
    assert r.outputs == {"cmin_fee": D("0.3"), "cmin_day": dt.date(2024, 1, 31)}
    assert book.decide("Cmin_t", {"score": 60}).outputs["cmin_fee"] == 10
    assert book.decide("Cmin_t", {"score": -1}).outputs == {"cmin_fee": None, "cmin_day": None}


def test_collect_max(book):
    assert book.decide("Cmax_t", {"score": 95}).outputs == {"cmax_fee": D("20.5")}
    assert book.decide("Cmax_t", {"score": 1}).outputs == {"cmax_fee": 10}
    assert book.decide("Cmax_t", {"score": -1}).outputs == {"cmax_fee": None}


def test_collect_count_distinct(book):
    assert book.decide("Ccount_t", {"score": 95}).outputs == {"ccount_kind": 2, "ccount_n": 3}
    assert book.decide("Ccount_t", {"score": 60}).outputs == {"ccount_kind": 1, "ccount_n": 2}
    r = book.decide("Ccount_t", {"score": -1})
    assert r.outputs == {"ccount_kind": 0, "ccount_n": 0} and ids(r) == []


def test_rule_order(book):
    r = book.decide("R_t", {"score": 96})
    assert r.outputs == {"r_grade": ["bronze", "gold", "silver", "bronze"], "r_fee": [1, 2, 3, 4]}
    assert ids(r) == ["1", "2", "3", "4"]
    assert book.decide("R_t", {"score": 60}).outputs == {"r_grade": ["bronze", "silver"], "r_fee": [1, 3]}
    assert book.decide("R_t", {"score": -1}).outputs == {"r_grade": [], "r_fee": []}


def test_output_order_by_glossary_priority(book):
    r = book.decide("O_t", {"score": 96})
    assert r.outputs["o_grade"] == ["gold", "silver", "silver", "bronze"]
    # ties keep rule order; the other column follows its rule
    assert r.outputs["o_rule"] == [3, 2, 4, 1]
    assert book.decide("O_t", {"score": 60}).outputs == {"o_grade": ["silver", "bronze"], "o_rule": [2, 1]}
    assert book.decide("O_t", {"score": -1}).outputs == {"o_grade": [], "o_rule": []}


def test_collect_into_text_list_field(book):
    r = book.decide("Creasons_t", {"score": 5})
    assert sorted(r.outputs["c_reasons"]) == ["few_uses", "few_uses", "young"]
    assert book.decide("Creasons_t", {"score": 70}).outputs == {"c_reasons": []}


def test_result_to_dict_of_multi_hit(book):
    d = book.decide("R_t", {"score": 60}).to_dict()
    assert d["decision"] == "R_t"
    assert d["outputs"] == {"r_grade": ["bronze", "silver"], "r_fee": [1, 3]}
    assert [(f["table"], f["rule"], f["workbook"], f["sheet"], f["row"]) for f in d["fired"]] == \
        [("R_t", "1", "policies.xlsx", "R_t", 6), ("R_t", "3", "policies.xlsx", "R_t", 8)]
    json.dumps(d)


def test_letters_and_full_names_are_the_same_policy(tmp_path):
    gl = [("score", "integer")] + [(f"o{i}", "number") for i in range(8)]
    pols = ["U", "unique", "C+", "COLLECT SUM", "r", "Rule Order", "F", " first "]
    write_workbook(tmp_path / "w.xlsx", glossary=gl, tables=[
        table(f"T{i}", p, ["INPUT score", f"OUTPUT o{i}"], [[1, ">= 0", 1], [2, ">= 5", 2]])
        for i, p in enumerate(pols)])
    b = decide.load(tmp_path)
    outs = [b.decide(f"T{i}", {"score": 1}).outputs[f"o{i}"] for i in range(8)]
    assert outs == [1, 1, 1, 1, [1], [1], 1, 1]
    assert b.decide("T2", {"score": 6}).outputs["o2"] == 3
    assert b.decide("T3", {"score": 6}).outputs["o3"] == 3


@pytest.mark.parametrize("policy", ["PRIORITY", "OUTPUT ORDER"])
def test_priority_policies_need_allowed_values(tmp_path, policy):
    write_workbook(tmp_path / "w.xlsx", glossary=[("score", "integer"), ("grade", "text")],
                   tables=[table("T", policy, ["INPUT score", "OUTPUT grade"], [[1, "-", '"a"']])])
    with pytest.raises(WorkbookError) as e:
        decide.load(tmp_path)
    d = e.value.diagnostics[0]
    assert d.cell == "C5" and "allowed values" in d.message


# --------------------------------------------------------------------------- every type in and out
TYPE_GLOSSARY = [
    ("in_text", "text", '"JP","US"'), ("in_number", "number"), ("in_integer", "integer"),
    ("in_boolean", "boolean"), ("in_date", "date"), ("in_version", "version"),
    ("in_list", "text list", '"a","b","c"'),
    ("out_text", "text"), ("out_number", "number"), ("out_integer", "integer"),
    ("out_boolean", "boolean"), ("out_date", "date"), ("out_version", "version"),
    ("out_list", "text list", '"a","b","c"'),
    ("c_list", "text list", '"a","b","c"'), ("c_date", "date"), ("c_version", "version"),
    ("c_bool", "boolean"),
]
TYPE_COLUMNS = ["INPUT in_text", "INPUT in_number", "INPUT in_integer", "INPUT in_boolean", "INPUT in_date",
                "INPUT in_version", "INPUT in_list", "OUTPUT out_text", "OUTPUT out_number",
                "OUTPUT out_integer", "OUTPUT out_boolean", "OUTPUT out_date", "OUTPUT out_version",
                "OUTPUT out_list"]


@pytest.fixture(scope="module")
def types_book(tmp_path_factory):
    d = tmp_path_factory.mktemp("types")
    rules = [
        [1, '"JP"', "[0.5..1.5]", "> 3", "true", '>= date("2024-01-01")', '>= "6.10.0"', '"b"',
         '"one"', "1.25", "4", "true", 'date("2024-02-29")', '"6.10.0"', '["a", "c"]'],
        [2, "-", "-", "-", "-", "-", "-", "-",
         '"two"', 0.5, 5, False, dt.datetime(2023, 12, 31), '"1.2"', '"b"'],
    ]
    write_workbook(d / "types.xlsx", glossary=TYPE_GLOSSARY, tables=[
        table("Types", "FIRST", TYPE_COLUMNS, rules),
        table("TypesC", "RULE ORDER", ["INPUT in_integer", "OUTPUT c_list", "OUTPUT c_date",
                                       "OUTPUT c_version", "OUTPUT c_bool"],
              [[1, ">= 0", '"a"', 'date("2024-01-02")', '"2.0.1"', "true"],
               [2, ">= 5", '"c"', 'date("2024-01-01")', '"10.0"', "false"]]),
    ])
    return decide.load(d)


FULL = {"in_text": "JP", "in_number": 1, "in_integer": 4, "in_boolean": True, "in_date": "2024-01-01",
        "in_version": "6.10.0", "in_list": ["a", "b"]}


def test_every_type_as_input_and_output(types_book):
    r = types_book.decide("Types", FULL)
    assert ids(r) == ["1"]
    o = r.outputs
    assert o["out_text"] == "one"
    assert o["out_number"] == D("1.25")
    assert o["out_integer"] == 4 and type(o["out_integer"]) is int
    assert o["out_boolean"] is True
    assert o["out_date"] == dt.date(2024, 2, 29)
    assert str(o["out_version"]) == "6.10.0"
    assert list(o["out_list"]) == ["a", "c"]
    assert r.to_dict()["outputs"] == {"out_text": "one", "out_number": 1.25, "out_integer": 4,
                                      "out_boolean": True, "out_date": "2024-02-29",
                                      "out_version": "6.10.0", "out_list": ["a", "c"]}


@pytest.mark.parametrize("field,value", [
    ("in_text", "US"), ("in_number", D("1.6")), ("in_integer", 3), ("in_boolean", False), ("in_boolean", None),
    ("in_date", "2023-12-31"), ("in_version", "6.9.99"), ("in_list", ["a", "c"]), ("in_list", None)])
def test_each_type_input_can_fail_its_test(types_book, field, value):
    facts = dict(FULL, **{field: value})
    if value is None:
        del facts[field]
    r = types_book.decide("Types", facts)
    assert ids(r) == ["2"]
    o = r.outputs
    assert o["out_text"] == "two" and o["out_number"] == D("0.5") and o["out_integer"] == 5
    assert o["out_boolean"] is False and o["out_date"] == dt.date(2023, 12, 31)
    assert str(o["out_version"]) == "1.2" and list(o["out_list"]) == ["b"]


def test_every_type_in_a_multi_hit_column(types_book):
    r = types_book.decide("TypesC", {"in_integer": 7})
    o = r.outputs
    assert o["c_list"] == ["a", "c"]
    assert o["c_date"] == [dt.date(2024, 1, 2), dt.date(2024, 1, 1)]
    assert [str(v) for v in o["c_version"]] == ["2.0.1", "10.0"]
    assert o["c_bool"] == [True, False]


def test_text_list_output_written_as_sfeel_list_under_single_hit(tmp_path):
    """WORKBOOK_FORMAT: a text list is written as an S-FEEL list ("a","b")."""
    write_workbook(tmp_path / "w.xlsx", glossary=[("n", "integer"), ("tags", "text list")],
                   tables=[table("T", "FIRST", ["INPUT n", "OUTPUT tags"], [[1, "-", '"a","b"']])])
    assert list(decide.load(tmp_path).decide("T", {"n": 1}).outputs["tags"]) == ["a", "b"]


def test_version_comparison_is_part_by_part(types_book):
    facts = dict(FULL, in_version="6.9.0")
    assert ids(types_book.decide("Types", facts)) == ["2"]
    facts = dict(FULL, in_version="6.10")
    assert ids(types_book.decide("Types", facts)) == ["1"]
    facts = dict(FULL, in_version="10.0.0")
    assert ids(types_book.decide("Types", facts)) == ["1"]


# --------------------------------------------------------------------------- chaining
CHAIN_GLOSSARY = [
    ("age", "integer", None, "年齢"),
    ("income_yen", "number", None, "年収"),
    ("country", "text", '"JP","US"'),
    ("risk", "text", '"high","medium","low"', "リスク"),
    ("reasons", "text list", '"young","low_income","foreign"'),
    ("limit_yen", "number", None, "利用限度額"),
    ("decision", "text", '"decline","review","approve"'),
]


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    d = tmp_path_factory.mktemp("chain")
    # the downstream table sits in the first workbook: order comes from the names, not the files
    write_workbook(d / "a_limits.xlsx", glossary=CHAIN_GLOSSARY, tables=[
        table("Decision", "FIRST", ["INPUT risk", "INPUT limit_yen", "OUTPUT decision"],
              [[1, '"high"', "-", '"decline"'], [2, "-", "< 100000", '"review"'], [3, "-", "-", '"approve"']]),
        table("Limit", "FIRST", ["INPUT リスク", "INPUT income_yen", "OUTPUT limit_yen"],
              [["L1", '"low"', "-", "income_yen / 10"], ["L2", '"medium"', "-", "income_yen / 20"],
               ["L3", "-", "-", 0]]),
    ])
    write_workbook(d / "b_risk.xlsx", glossary=CHAIN_GLOSSARY, tables=[
        table("Reasons", "COLLECT", ["INPUT age", "INPUT income_yen", "INPUT country", "OUTPUT reasons"],
              [["y", "< 20", "-", "-", '"young"'], ["i", "-", "< 2000000", "-", '"low_income"'],
               ["f", "-", "-", 'not("JP")', '"foreign"']]),
        table("Risk", "PRIORITY", ["INPUT reasons", "OUTPUT risk"],
              [["r1", '"young"', '"high"'], ["r2", '"low_income"', '"medium"'], ["r3", '"foreign"', '"high"'],
               ["r4", "-", '"low"']]),
    ])
    return decide.load(d)


def test_chaining_evaluates_upstream_tables(chain):
    r = chain.decide("Decision", {"age": 30, "income_yen": 5000000, "country": "JP"})
    assert r.outputs == {"decision": "approve"}
    assert [(f.table, f.rule) for f in r.fired] == [("Risk", "r4"), ("Limit", "L1"), ("Decision", "3")]
    r = chain.decide("Decision", {"age": 30, "income_yen": 1500000, "country": "JP"})
    assert r.outputs == {"decision": "review"}  # medium → 75,000 yen < 100,000
    fired = [(f.table, f.rule, f.workbook, f.sheet, f.row) for f in r.fired]
    assert fired == [("Reasons", "i", "b_risk.xlsx", "Reasons", 7), ("Risk", "r2", "b_risk.xlsx", "Risk", 7),
                     ("Limit", "L2", "a_limits.xlsx", "Limit", 7), ("Decision", "2", "a_limits.xlsx", "Decision", 7)]
    r = chain.decide("Decision", {"age": 18, "income_yen": 1500000, "country": "US"})
    assert r.outputs == {"decision": "decline"}
    assert [(f.table, f.rule) for f in r.fired] == [
        ("Reasons", "y"), ("Reasons", "i"), ("Reasons", "f"), ("Risk", "r1"), ("Limit", "L3"), ("Decision", "1")]


def test_chaining_intermediate_table_as_decision(chain):
    r = chain.decide("Limit", {"age": 30, "income_yen": 1000000, "country": "JP"})
    assert r.outputs == {"limit_yen": D("50000")}
    assert [f.table for f in r.fired] == ["Reasons", "Risk", "Limit"]


def test_book_decisions(chain):
    ds = chain.decisions
    assert set(ds) == {"Decision", "Limit", "Reasons", "Risk"}
    d = ds["Decision"]
    assert d.kind == "table"
    assert set(d.inputs) == {"age", "income_yen", "country"}  # intermediate facts are not inputs
    assert tuple(d.outputs) == ("decision",)
    assert list(d.tables) == ["Reasons", "Risk", "Limit", "Decision"]
    assert set(ds["Risk"].inputs) == {"age", "income_yen", "country"}
    assert set(ds["Reasons"].inputs) == {"age", "income_yen", "country"}
    assert tuple(ds["Reasons"].outputs) == ("reasons",)


def test_decide_tables_cli(chain):
    p = subprocess.run([DECIDE, "tables", str(chain.path)], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    out = p.stdout
    for name in ("Decision", "Limit", "Reasons", "Risk"):
        assert name in out
    assert "a_limits.xlsx" in out and "PRIORITY" in out
    # inputs and outputs (by label or name)
    lines = out.splitlines()
    i = next(k for k, line in enumerate(lines) if line.strip().startswith("Decision "))
    inputs, outputs = lines[i + 1], lines[i + 2]
    assert "inputs" in inputs and "outputs" in outputs
    for field, label in (("age", "年齢"), ("income_yen", "年収"), ("country", "country")):
        assert field in inputs or label in inputs
    assert "リスク" not in inputs and "risk" not in inputs
    assert "decision" in outputs
    p = subprocess.run([DECIDE, "tables", str(chain.path), "--format", "json"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    js = json.loads(p.stdout)["decisions"]
    assert js["Decision"]["kind"] == "table"
    assert set(js["Decision"]["inputs"]) == {"age", "income_yen", "country"}
    assert js["Decision"]["outputs"] == ["decision"]
    assert js["Decision"]["tables"] == ["Reasons", "Risk", "Limit", "Decision"]


def test_cli_evaluation_error_exit_1(book, tmp_path):
    case = tmp_path / "c.json"
    case.write_text('{"score": 17}')
    p = subprocess.run([DECIDE, str(case), "--decision", "U_t", "--tables", str(book.path)],
                       capture_output=True, text=True)
    assert p.returncode == 1
    assert "Traceback" not in p.stderr
    assert "U_t" in p.stderr and "2" in p.stderr and "3" in p.stderr


@pytest.mark.parametrize("cell,expected", [
    ('"a","b"', ["a", "b"]), ('["a", "b"]', ["a", "b"]), ('"a"', ["a"]), ("[]", []),
    ("null", None), (None, None), ("in_tags", ["b", "c"])])
def test_text_list_output_cells_under_single_hit(tmp_path, cell, expected):
    """Output cells: a literal (null included) or an expression over input fields."""
    write_workbook(tmp_path / "w.xlsx", glossary=[("n", "integer"), ("in_tags", "text list"),
                                                  ("tags", "text list")],
                   tables=[table("T", "FIRST", ["INPUT n", "OUTPUT tags"], [[1, "-", cell]])])
    out = decide.load(tmp_path).decide("T", {"n": 1, "in_tags": ["b", "c"]}).outputs["tags"]
    assert (None if out is None else list(out)) == expected


def test_priority_with_one_ranked_output_and_a_free_text_output(tmp_path):
    """DMN: priority comes from the outputs that have an ordered list of output values;
    the other outputs come from the chosen rule."""
    write_workbook(tmp_path / "w.xlsx",
                   glossary=[("score", "integer"), ("grade", "text", GRADES), ("message", "text")],
                   tables=[table("P", "P", ["INPUT score", "OUTPUT grade", "OUTPUT message"],
                                 [[1, ">= 0", '"bronze"', '"keep going"'], [2, ">= 90", '"gold"', '"great"'],
                                  [3, ">= 50", '"silver"', '"good"']])])
    b = decide.load(tmp_path)
    r = b.decide("P", {"score": 95})
    assert r.outputs == {"grade": "gold", "message": "great"} and ids(r) == ["2"]
    assert b.decide("P", {"score": 60}).outputs == {"grade": "silver", "message": "good"}


@pytest.mark.parametrize("policy", ["RULE ORDER", "OUTPUT ORDER", "COLLECT"])
def test_multi_hit_columns_stay_aligned_when_a_rule_outputs_null(tmp_path, policy):
    """Each field holds that column's value for every matched rule, in the policy's order:
    a rule whose cell is null (or empty) still has its place, so the i-th values of the
    columns come from the same rule (DMN: one output row per hit)."""
    write_workbook(tmp_path / "w.xlsx",
                   glossary=[("n", "integer"), ("grade", "text", GRADES), ("fee", "number")],
                   tables=[table("M", policy, ["INPUT n", "OUTPUT grade", "OUTPUT fee"],
                                 [[1, "-", '"bronze"', 1], [2, "-", "null", 2], [3, "-", '"gold"', None]])])
    r = decide.load(tmp_path).decide("M", {"n": 1})
    rows = list(zip(r.outputs["grade"], r.outputs["fee"]))
    assert len(r.outputs["grade"]) == len(r.outputs["fee"]) == len(r.fired) == 3
    assert sorted(rows, key=repr) == sorted([("bronze", 1), (None, 2), ("gold", None)], key=repr)
    if policy == "RULE ORDER":
        assert rows == [("bronze", 1), (None, 2), ("gold", None)]
    if policy == "OUTPUT ORDER":
        assert rows[:2] == [("gold", None), ("bronze", 1)]  # null has no priority: last


# --------------------------------------------------------------------------- an independent oracle
# Each policy table above, restated in plain Python: (predicate on score, outputs) per rule.
def _ge(k):
    return lambda s: s is not None and s >= k


ORACLE = {
    "U_t": [(lambda s: s is not None and s < 10, ("low",)), (lambda s: s is not None and 10 <= s <= 20, ("mid",)),
            (lambda s: s is not None and s > 15, ("high",))],
    "A_t": [(_ge(0), ("ok", "same")), (lambda s: s is not None and s <= 100, ("ok", "same")),
            (lambda s: s is not None and s > 100, ("big", "same"))],
    "P_t": [(_ge(0), ("bronze", "r1")), (_ge(50), ("silver", "r2")), (_ge(90), ("gold", "r3")), (_ge(95), ("silver", "r4"))],
    "F_t": [(_ge(50), ("silver",)), (_ge(90), ("gold",)), (_ge(0), ("bronze",))],
    "C_t": [(_ge(0), ("bronze",)), (_ge(50), ("silver",)), (_ge(90), ("gold",)), (_ge(95), ("bronze",))],
    "Csum_t": [(_ge(0), (D(10),)), (_ge(50), (D("20.5"),)), (_ge(90), (D("0.3"),))],
    "Cmin_t": [(_ge(0), (D(10), dt.date(2024, 5, 1))), (_ge(50), (D("20.5"), dt.date(2024, 1, 31))),
               (_ge(90), (D("0.3"), dt.date(2024, 3, 1)))],
    "Cmax_t": [(_ge(0), (D(10),)), (_ge(50), (D("20.5"),)), (_ge(90), (D("0.3"),))],
    "Ccount_t": [(_ge(0), ("a", 1)), (_ge(50), ("a", 2)), (_ge(90), ("b", 3))],
    "R_t": [(_ge(0), ("bronze", 1)), (_ge(90), ("gold", 2)), (_ge(50), ("silver", 3)), (_ge(95), ("bronze", 4))],
    "O_t": [(_ge(0), ("bronze", 1)), (_ge(50), ("silver", 2)), (_ge(90), ("gold", 3)), (_ge(95), ("silver", 4))],
}
RANK = {"gold": 0, "silver": 1, "bronze": 2}
NOTE_RANK = {"r1": 0, "r2": 1, "r3": 2, "r4": 3}


def oracle(name, fields, score):
    """DMN 1.5 hit-policy semantics, written out: (outputs, fired rule ids) or "error"."""
    hits = [(str(i + 1), out) for i, (pred, out) in enumerate(ORACLE[name]) if pred(score)]
    policy = name.split("_")[0]
    if policy in ("U", "A", "P", "F"):
        if not hits:
            return {f: None for f in fields}, []
        if policy == "U" and len(hits) > 1:
            return "error"
        if policy == "A" and len({o for _, o in hits}) > 1:
            return "error"
        if policy == "P":
            rid, out = min(hits, key=lambda h: (RANK[h[1][0]], NOTE_RANK[h[1][1]], int(h[0])))
            return dict(zip(fields, out)), [rid]
        if policy == "A":
            return dict(zip(fields, hits[0][1])), None  # which of the agreeing rules fired is open
        return dict(zip(fields, hits[0][1])), [hits[0][0]]
    if policy == "O":
        hits = sorted(hits, key=lambda h: (RANK[h[1][0]], int(h[0])))
    cols = [[o[k] for _, o in hits] for k in range(len(fields))]
    ids_ = [r for r, _ in hits]
    agg = {"Csum": lambda v: sum(v) if v else None, "Cmin": lambda v: min(v) if v else None,
           "Cmax": lambda v: max(v) if v else None, "Ccount": lambda v: len(set(v))}.get(policy)
    if agg:
        return {f: agg(c) for f, c in zip(fields, cols)}, sorted(ids_)
    if policy == "C":
        return {f: sorted(c) for f, c in zip(fields, cols)}, sorted(ids_)
    return dict(zip(fields, cols)), ids_


@pytest.mark.parametrize("name", sorted(ORACLE))
def test_policies_agree_with_the_oracle_on_every_score(book, name):
    fields = list(book.decisions[name].outputs)
    for score in [None, *range(-3, 125)]:
        expected = oracle(name, fields, score)
        facts = {} if score is None else {"score": score}
        if expected == "error":
            with pytest.raises(EvaluationError):
                book.decide(name, facts)
            continue
        r = book.decide(name, facts)
        outs, fired = dict(r.outputs), [f.rule for f in r.fired]
        if name == "C_t":
            outs = {f: sorted(v) for f, v in outs.items()}
        if name.startswith("C"):  # COLLECT: order is open
            fired = sorted(fired)
        assert outs == expected[0], (score, outs, expected[0])
        if expected[1] is not None:
            assert fired == expected[1], (score, fired, expected[1])
        else:
            assert fired and all(ORACLE[name][int(i) - 1][0](score) for i in fired)
