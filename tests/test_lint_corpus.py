"""The planted-defect corpus: workbooks built here with openpyxl, each with known
defects.  Lint must find every defect, and each witness case, fed back through
``decide.load(...).decide(...)``, must really exhibit it.  Defect-free tables must
give no finding at all."""
from __future__ import annotations

import pytest

import decide
from decide.runtime import reference
from decide.model.errors import EvaluationError
from decide.tools.lint import lint

from .workbooks import table, write_workbook

G_AMOUNT = ("amount", "integer", "[0..100000]", "金額")
G_PRICE = ("price", "number", None, "価格")
G_COUNTRY = ("country", "text", None, "国")
G_CAT = ("category", "text", '"gift_card","books","kindle"', "カテゴリ")
G_FLAG = ("recurring", "boolean", None, "継続課金")
G_FLAG2 = ("verified", "boolean", None, "確認済み")
G_ISSUED = ("issued", "date", None, "発行日")
G_APP = ("app_version", "version", None, "アプリ")
G_OK = ("ok", "boolean", None, "可否")
G_LIMIT = ("limit", "integer", None, "利用可能額")
G_LEVEL = ("level", "text", '"deny","review","allow"', "判定")

# name → (glossary, table spec, expected {(code, subject rule id)})
CORPUS = {
    "overlap_number_closed_ends": (
        [G_AMOUNT, G_OK],
        table("T", "UNIQUE", ["INPUT amount", "OUTPUT ok"],
              [[1, "[0..100]", True], [2, "[100..200]", False], [3, "> 200", True]]),
        {("L101", "2")}),
    "overlap_strings_not": (
        [G_COUNTRY, G_LEVEL],
        table("T", "UNIQUE", ["INPUT country", "OUTPUT level"],
              [[1, '"JP"', '"allow"'], [2, 'not("US")', '"deny"'], [3, '"US"', '"review"']]),
        {("L101", "2")}),
    "overlap_boolean": (
        [G_FLAG, G_FLAG2, G_OK],
        table("T", "UNIQUE", ["INPUT recurring", "INPUT verified", "OUTPUT ok"],
              [[1, "true", "-", False], [2, "-", "true", True], [3, "false", "false", True]]),
        {("L101", "2")}),
    "overlap_dates": (
        [G_ISSUED, G_OK],
        table("T", "UNIQUE", ["INPUT issued", "OUTPUT ok"],
              [[1, '< date("2020-02-04")', True], [2, '>= date("2020-02-03")', False]]),
        {("L101", "2")}),
    "overlap_null": (
        [G_COUNTRY, G_LEVEL],
        table("T", "UNIQUE", ["INPUT country", "OUTPUT level"],
              [[1, "null", '"deny"'], [2, 'not("JP")', '"allow"'], [3, '"JP"', '"review"']]),
        {("L101", "2")}),
    "conflict_any_versions": (
        [G_APP, G_OK],
        table("T", "ANY", ["INPUT app_version", "OUTPUT ok"],
              [[1, '>= "6.7.0"', True], [2, '< "6.7.1"', False]]),
        {("L102", "2")}),
    "gap_number_open_ends": (
        [G_AMOUNT, G_OK],
        table("T", "FIRST", ["INPUT amount", "OUTPUT ok"],
              [[1, "< 3000", True], [2, "> 3000", False]]),
        {("L103", None)}),
    "gap_strings_allowed": (
        [G_CAT, G_OK],
        table("T", "UNIQUE", ["INPUT category", "OUTPUT ok"],
              [[1, '"gift_card"', False], [2, '"books"', True]]),
        {("L103", None)}),
    "gap_dates": (
        [G_ISSUED, G_OK],
        table("T", "UNIQUE", ["INPUT issued", "OUTPUT ok"],
              [[1, '<= date("2020-02-03")', True], [2, '> date("2020-02-04")', False]]),
        {("L103", None)}),
    "gap_booleans": (
        [G_FLAG, G_FLAG2, G_LEVEL],
        table("T", "PRIORITY", ["INPUT recurring", "INPUT verified", "OUTPUT level"],
              [[1, "true", "-", '"deny"'], [2, "false", "true", '"allow"']]),
        {("L103", None)}),
    "gap_decimal_numbers": (
        [G_PRICE, G_OK],
        table("T", "UNIQUE", ["INPUT price", "OUTPUT ok"],
              [[1, "[0..0.5)", True], [2, "(0.5..1]", False], [3, "< 0", False], [4, "> 1", True]]),
        {("L103", None)}),
    "shadowed_number_range": (
        [G_AMOUNT, G_OK],
        table("T", "FIRST", ["INPUT amount", "OUTPUT ok"],
              [[1, "> 100", False], [2, "> 500", True], [3, "-", True]]),
        {("L104", "2")}),
    "shadowed_by_two_rules": (
        [G_AMOUNT, G_CAT, G_OK],
        table("T", "FIRST", ["INPUT category", "INPUT amount", "OUTPUT ok"],
              [[1, "-", "< 50", False], [2, '"books"', ">= 50", False], [3, '"books"', "[10..60]", True],
               [4, "-", "-", True]]),
        {("L104", "3")}),
    "shadowed_not_strings": (
        [G_COUNTRY, G_OK],
        table("T", "FIRST", ["INPUT country", "OUTPUT ok"],
              [[1, 'not("JP")', False], [2, '"JP"', True], [3, '"US"', True]]),
        {("L104", "3")}),
    "shadowed_priority": (
        [G_CAT, G_LEVEL],
        table("T", "PRIORITY", ["INPUT category", "OUTPUT level"],
              [[1, "-", '"review"'], [2, '"books"', '"allow"'], [3, '"kindle"', '"deny"']]),
        {("L104", "2")}),
    "shadowed_null_not": (
        [G_AMOUNT, G_OK],
        table("T", "FIRST", ["INPUT amount", "OUTPUT ok"],
              [[1, ">= 10", True], [2, "not(< 10)", False], [3, "-", False]]),
        {("L104", "2")}),
    "redundant_first": (
        [G_AMOUNT, G_OK],
        table("T", "FIRST", ["INPUT amount", "OUTPUT ok"],
              [[1, "[10..20]", True], [2, "[0..100]", True], [3, "-", False]]),
        {("L106", "1")}),
    "redundant_any_duplicate": (
        [G_CAT, G_FLAG, G_OK],
        table("T", "ANY", ["INPUT category", "INPUT recurring", "OUTPUT ok"],
              [[1, '"books"', "false", True], [2, '"gift_card", "kindle"', "-", False],
               [3, "-", "true", False], [4, '"books"', "false", True]]),
        {("L106", "4")}),
    "mergeable_dates": (
        [G_ISSUED, G_FLAG, G_OK],
        table("T", "UNIQUE", ["INPUT issued", "INPUT recurring", "OUTPUT ok"],
              [[1, '<= date("2020-02-03")', "true", True], [2, '<= date("2020-02-03")', "false", True],
               [3, '> date("2020-02-03")', "-", False]]),
        {("L107", "2"), ("L108", "recurring")}),
    "useless_boolean_column": (
        [G_CAT, G_FLAG, G_OK],
        table("T", "FIRST", ["INPUT category", "INPUT recurring", "OUTPUT ok"],
              [[1, '"gift_card"', "true", False], [2, '"gift_card"', "false", False],
               [3, "-", "-", True]]),
        {("L108", "recurring"), ("L107", "2")}),
    "useless_date_column": (
        [G_AMOUNT, G_ISSUED, G_OK],
        table("T", "UNIQUE", ["INPUT amount", "INPUT issued", "OUTPUT ok"],
              [[1, "< 1000", '< date("2020-01-01")', True], [2, "< 1000", '>= date("2020-01-01")', True],
               [3, ">= 1000", "-", False]]),
        {("L108", "issued"), ("L107", "2")}),
    "useless_number_column": (
        [G_CAT, G_AMOUNT, G_LEVEL],
        table("T", "UNIQUE", ["INPUT category", "INPUT amount", "OUTPUT level"],
              [[1, '"gift_card"', "< 100", '"deny"'], [2, '"gift_card"', ">= 100", '"deny"'],
               [3, 'not("gift_card")', "-", '"allow"']]),
        {("L108", "amount"), ("L107", "2")}),
    "useless_not_column": (
        [G_COUNTRY, G_FLAG, G_OK],
        table("T", "FIRST", ["INPUT recurring", "INPUT country", "OUTPUT ok"],
              [[1, "true", '"JP"', False], [2, "true", 'not("JP")', False], [3, "-", "-", True]]),
        {("L108", "country"), ("L107", "2")}),
    "redundant_null": (
        [G_FLAG, G_OK],
        table("T", "FIRST", ["INPUT recurring", "OUTPUT ok"],
              [[1, "null", True], [2, "true", False], [3, "-", True]]),
        {("L106", "1")}),
    "gap_not_strings": (
        [G_COUNTRY, G_OK],
        table("T", "UNIQUE", ["INPUT country", "OUTPUT ok"],
              [[1, 'not("JP", "US")', True], [2, '"JP"', False]]),
        {("L103", None)}),
    "overlap_expression_header": (
        [G_AMOUNT, G_LIMIT, G_LEVEL],
        table("T", "UNIQUE", ["INPUT amount - limit", "OUTPUT level"],
              [[1, "> 0", '"deny"'], [2, "<= 0", '"allow"'], [3, "> 5000", '"review"']]),
        {("L101", "3")}),
    "gap_expression_header": (
        [G_AMOUNT, G_LIMIT, G_OK],
        table("T", "FIRST", ["INPUT amount - limit", "OUTPUT ok"],
              [[1, "> 0", False], [2, "< 0", True]]),
        {("L103", None)}),
    "overlap_field_reference": (
        [G_AMOUNT, G_LIMIT, G_LEVEL],
        table("T", "UNIQUE", ["INPUT amount", "OUTPUT level"],
              [[1, ">= limit", '"deny"'], [2, "<= limit", '"allow"']]),
        {("L101", "2")}),
    "shadowed_field_reference": (
        [G_AMOUNT, G_LIMIT, G_OK],
        table("T", "FIRST", ["INPUT amount", "OUTPUT ok"],
              [[1, ">= limit", False], [2, "> limit", True], [3, "-", True]]),
        {("L104", "2")}),
    "never_matches_integer": (
        [G_AMOUNT, G_OK],
        table("T", "FIRST", ["INPUT amount", "OUTPUT ok"],
              [[1, "(1..2)", True], [2, "-", False]]),
        {("L105", "1"), ("L108", "amount")}),
}

CLEAN = {
    "clean_number_partition": (
        [G_AMOUNT, G_OK],
        table("T", "UNIQUE", ["INPUT amount", "OUTPUT ok"],
              [[1, "< 3000", True], [2, "[3000..50000)", False], [3, ">= 50000", True]])),
    "clean_first_with_catch_all": (
        [G_CAT, G_AMOUNT, G_OK],
        table("T", "FIRST", ["INPUT category", "INPUT amount", "OUTPUT ok"],
              [[1, '"gift_card"', "-", False], [2, "-", "> 50000", False], [3, "-", "-", True]])),
    "clean_dates": (
        [G_ISSUED, G_OK],
        table("T", "UNIQUE", ["INPUT issued", "OUTPUT ok"],
              [[1, '<= date("2020-02-03")', True], [2, '> date("2020-02-03")', False]])),
    "clean_booleans": (
        [G_FLAG, G_FLAG2, G_OK],
        table("T", "UNIQUE", ["INPUT recurring", "INPUT verified", "OUTPUT ok"],
              [[1, "true", "-", False], [2, "false", "true", True], [3, "false", "false", False]])),
    "clean_not_strings": (
        [G_COUNTRY, G_OK],
        table("T", "UNIQUE", ["INPUT country", "OUTPUT ok"],
              [[1, '"JP"', True], [2, 'not("JP")', False]])),
    "clean_versions": (
        [G_APP, G_LEVEL],
        table("T", "ANY", ["INPUT app_version", "OUTPUT level"],
              [[1, '>= "6.10"', '"allow"'], [2, '["6.7.0".."6.10")', '"review"'],
               [3, '< "6.7.0"', '"deny"']])),
    "clean_decimal": (
        [G_PRICE, G_OK],
        table("T", "UNIQUE", ["INPUT price", "OUTPUT ok"],
              [[1, "<= 0.5", True], [2, "> 0.5", False]])),
    "clean_expression_header": (
        [G_AMOUNT, G_LIMIT, G_OK],
        table("T", "UNIQUE", ["INPUT amount - limit", "OUTPUT ok"],
              [[1, "> 0", False], [2, "<= 0", True]])),
    "clean_field_reference": (
        [G_AMOUNT, G_LIMIT, G_OK],
        table("T", "UNIQUE", ["INPUT amount", "OUTPUT ok"],
              [[1, "> limit", False], [2, "<= limit", True]])),
    "clean_priority": (
        [G_CAT, G_LEVEL],
        table("T", "PRIORITY", ["INPUT category", "OUTPUT level"],
              [[1, '"gift_card"', '"deny"'], [2, "-", '"allow"'], [3, '"kindle"', '"review"']])),
}

TABLE_CODES = {"L101", "L102", "L103", "L104", "L105", "L106", "L107", "L108"}


def _load(tmp_path, name, glossary, spec):
    glossary = [g for g in glossary]
    write_workbook(tmp_path / name / "book.xlsx", glossary=glossary, tables=[spec])
    return decide.load(tmp_path / name)


def _subject(d, book):
    """The rule id a table diagnostic is about (None for a gap; the field for L108)."""
    t = book.ir.tables[d.table]
    if d.code == "L103":
        return None
    if d.code == "L108":
        return next(c.field for c in t.inputs if c.loc == d.loc)
    return d.rules[0]


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_every_planted_defect_is_found_and_its_witness_exhibits_it(tmp_path, name):
    glossary, spec, expected = CORPUS[name]
    rb = _load(tmp_path, name, glossary, spec)
    diags = [d for d in lint(rb.ir) if d.code in TABLE_CODES]
    found = {(d.code, _subject(d, rb)) for d in diags}
    assert found == expected, "\n".join(str(d) for d in diags)
    for d in diags:
        exhibit(rb, d)


def _rule_index(t, rid):
    return next(r.index for r in t.rules if str(r.id) == str(rid))


def exhibit(rb, d):
    """Feed the diagnostic's witness to the engine and check that it shows the defect."""
    t = rb.ir.tables[d.table]
    w = d.witness
    if d.code in ("L101", "L102"):
        with pytest.raises(EvaluationError) as e:
            rb.decide(t.name, w)
        assert {r[1] for r in e.value.rules} >= set(d.rules[:2])
    elif d.code == "L103":
        res = rb.decide(t.name, w)
        assert not [f for f in res.fired if f.table == t.name], (d, res)
        assert all(v is None for v in res.outputs.values())
    elif d.code == "L104":
        r = _rule_index(t, d.rules[0])
        assert r in reference.matching_rules(t, w)  # its cells all match …
        res = rb.decide(t.name, w)
        fired = [f.rule for f in res.fired if f.table == t.name]
        assert fired and fired[0] != d.rules[0]  # … but another rule fires
    elif d.code == "L105":
        r = _rule_index(t, d.rules[0])
        assert all(r not in reference.matching_rules(t, {t.inputs[0].field: v})
                   for v in list(range(-2, 6)) + [None])
    elif d.code == "L106":
        r, s = _rule_index(t, d.rules[0]), _rule_index(t, d.rules[1])
        m = reference.matching_rules(t, w)
        assert r in m and s in m
        res = rb.decide(t.name, w)
        assert tuple(res.outputs.values()) == reference.rule_outputs(t, s, w)
    elif d.code == "L107":
        b = _rule_index(t, d.rules[0])
        assert b in reference.matching_rules(t, w)
    elif d.code == "L108":
        w2 = d.witness2
        col = next(c for c in t.inputs if c.loc == d.loc)
        assert {k: v for k, v in w.items() if k != col.field} == \
            {k: v for k, v in w2.items() if k != col.field}
        assert w.get(col.field) != w2.get(col.field)
        assert rb.decide(t.name, w).outputs == rb.decide(t.name, w2).outputs
    else:
        raise AssertionError(d.code)


@pytest.mark.parametrize("name", sorted(CLEAN))
def test_defect_free_tables_give_no_finding(tmp_path, name):
    glossary, spec = CLEAN[name]
    rb = _load(tmp_path, name, glossary, spec)
    diags = lint(rb.ir)
    # L123 (a note, not a defect): which of these tables' inputs, when missing, match no rule
    notes = [d for d in diags if d.code == "L123"]
    assert all(d.severity == "info" and "is missing (null)" in d.message for d in notes)
    diags = [d for d in diags if d.code != "L123"]
    assert diags == [], "\n".join(str(d) for d in diags)


def test_corpus_size():
    assert len(CORPUS) >= 15
    kinds = {code for _, _, exp in CORPUS.values() for code, _ in exp}
    assert {"L101", "L102", "L103", "L104", "L106", "L108"} <= kinds
