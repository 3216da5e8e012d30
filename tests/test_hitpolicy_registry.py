"""A hit policy is one registered object (``decide.model.hitpolicy``): two toy policies
registered here, LAST (single hit: the last matching rule wins) and REVERSE ORDER
(multi hit: every match, last row first), are written in workbooks, parsed, decided
by the reference interpreter, the native runtime and the durable backend alike, and
linted, traced and tested with no other change to the engine."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import decide
from decide import WorkbookError
from decide.app.cli import main
from decide.model.hitpolicy import HitPolicy, Policy, register, unregister
from decide.runtime import reference
from decide.tools.testing import run_tests
from decide.tools.explain import why_not
from tests import workbooks as wb
from tests.workbooks import table, write_workbook


def _last(book, t, matched, outputs_of):
    return [matched[-1]], [matched[-1]]


def _reverse(book, t, matched, outputs_of):
    return matched[::-1], matched[::-1]


def _rows_backwards(book, t, outputs):
    return list(range(len(t.rules)))[::-1]


LAST = Policy("LAST", "L", True, _last, order=_rows_backwards, lost="comes last",
              shadow=("comes after it", "come after it", "Delete it, or move it down."))
REVERSE = Policy("REVERSE ORDER", "V", False, _reverse)


@pytest.fixture(scope="module", autouse=True)
def toy_policies():
    register(LAST)
    register(REVERSE)
    yield
    unregister(LAST)
    unregister(REVERSE)


GLOSSARY = [
    ("score", "integer", "[0..100]", "点数"),
    ("code", "text"),
    ("grade", "text", '"gold","silver","bronze"'),
    ("big_rule", "integer"),
    ("notes", "text list"),
    ("summary", "text"),
    ("verdict", "text"),
]

# 1: every score; 2: >= 50; 3: >= 90 — LAST picks the highest row that matches.
SMALL = [[1, "-", '"bronze"'], [2, ">= 50", '"silver"'], [3, ">= 90", '"gold"']]
# 60 rules keyed by code (indexed by both runtimes), several per code, plus catch-alls.
BIG = [[i + 1, f'"k{i % 20}"', f">= {5 * (i // 20) + 10 * (i % 3)}", i + 1] for i in range(60)] + \
      [[61, "-", "> 95", 61], [62, '"k3","k4"', "< 5", 62]]
CASES = [{"score": s, "code": f"k{c}"} for s in (0, 4, 10, 17, 20, 49, 50, 89, 90, 96, 100)
         for c in (0, 3, 4, 7, 19, 99)] + [{}, {"score": 60}, {"code": "k4"}]


def _book(d, small="LAST", big="L", multi="REVERSE ORDER"):
    write_workbook(d / "toys.xlsx", glossary=GLOSSARY, tables=[
        table("Small", small, ["INPUT score", "OUTPUT grade"], SMALL),
        table("Big", big, ["INPUT code", "INPUT score", "OUTPUT big_rule"], BIG),
        table("Back", multi, ["INPUT score", "OUTPUT notes", "OUTPUT summary"],
              [[1, "-", '"any"', '"a"'], [2, ">= 50", '"half"', None], [3, ">= 90", '"top"', '"t"']]),
        table("After", "last", ["INPUT notes", "OUTPUT verdict"],  # a downstream table of the list
              [[1, '"any"', '"some"'], [2, '"top"', '"best"'], [3, '"nothing"', '"never"']]),
    ], sheets=[wb.tests_sheet("Small", ["INPUT score", "EXPECT grade"], [[1, 95, '"gold"'], [2, 10, '"bronze"']])])
    return d


@pytest.fixture(scope="module")
def toys(tmp_path_factory):
    return _book(tmp_path_factory.mktemp("toys"))


def test_registry_parses_the_toy_policies_by_name_and_letter(toys):
    ir = decide.load(toys).ir
    assert ir.tables["Small"].hit_policy is LAST and ir.tables["Big"].hit_policy is LAST
    assert ir.tables["After"].hit_policy is LAST  # any case
    assert ir.tables["Back"].hit_policy is REVERSE
    assert HitPolicy("L") is LAST and HitPolicy.REVERSE_ORDER is REVERSE and LAST in list(HitPolicy)
    assert "LAST (L)" in HitPolicy.listing()


def test_a_misspelt_toy_policy_gets_a_did_you_mean(tmp_path):
    write_workbook(tmp_path / "bad.xlsx", glossary=GLOSSARY,
                   tables=[table("Small", "LASST", ["INPUT score", "OUTPUT grade"], SMALL)])
    with pytest.raises(WorkbookError) as e:
        decide.load(tmp_path)
    d = next(x for x in e.value.diagnostics if x.code == "E123")
    assert d.loc.cell == "B2" and '(did you mean "LAST"?)' in d.message and "LAST (L)" in d.message


def test_registering_a_clashing_policy_is_refused():
    with pytest.raises(ValueError):
        register(Policy("LATEST", "L", True, _last))
    with pytest.raises(ValueError):
        register(Policy("FIRST", "Z", True, _last))


def test_last_and_reverse_order_decide_as_defined(toys):
    book = decide.load(toys)
    r = book.decide("Small", {"score": 95})
    assert r.outputs == {"grade": "gold"} and [f.rule for f in r.fired] == ["3"]
    assert book.decide("Small", {"score": 60}).outputs == {"grade": "silver"}
    r = book.decide("Back", {"score": 95})
    assert r.outputs == {"notes": ["top", "half", "any"], "summary": ["t", None, "a"]}
    assert [f.rule for f in r.fired] == ["3", "2", "1"]
    assert book.decide("After", {"score": 95}).outputs == {"verdict": "best"}  # the list, tested downstream
    # k4 with score 4 matches rules 5 (>= 0) and 62 (< 5): the last one wins
    assert book.decide("Big", {"code": "k4", "score": 4}).outputs == {"big_rule": 62}


def _ref(ir, name, case):
    outs, fired = reference.evaluate(ir, name, case)
    return outs, [(t, i) for t, i in fired]


def _run(book, name, case):
    r = book.decide(name, case)
    return r.outputs, [(f.table, f.index) for f in r.fired]


@pytest.mark.parametrize("engine", ["native", "durable"])
def test_reference_native_and_durable_agree_on_the_toy_policies(toys, engine):
    if engine == "durable":
        pytest.importorskip("durable.engine")
    book = decide.load(toys, engine=engine)
    ir = book.ir
    for name in ("Small", "Big", "Back", "After"):
        for case in CASES:
            facts = {k: v for k, v in case.items() if k in ir.decisions[name].inputs}
            assert _run(book, name, facts) == _ref(ir, name, facts), (engine, name, facts)


def test_lint_trace_and_tests_work_on_a_toy_policy(tmp_path):
    # under LAST, rule 2 (>= 60) is covered by the later rule 3 (>= 50): it never fires
    write_workbook(tmp_path / "lint.xlsx", glossary=GLOSSARY, tables=[
        table("Small", "LAST", ["INPUT score", "OUTPUT grade"],
              [[1, "-", '"bronze"'], [2, ">= 60", '"gold"'], [3, ">= 50", '"silver"']]),
        table("Back", "V", ["INPUT score", "OUTPUT notes"], [[1, "-", '"any"'], [2, "> 200", '"never"']]),
    ])
    book = decide.load(tmp_path)
    res = CliRunner().invoke(main, ["lint", str(tmp_path), "--format", "json"])
    assert res.exit_code == 1, res.output  # findings, not a crash
    diags = json.loads(res.output)["diagnostics"]
    shadowed = next(d for d in diags if d["code"] == "L104")
    assert shadowed["sheet"] == "Small" and shadowed["rules"][0] == "2"
    assert "comes after it" in shadowed["message"] and "move it down" in shadowed["message"]
    assert any(d["sheet"] == "Back" and d.get("rules", [None])[0] == "2" for d in diags)  # never matches
    # the lint reference lists the toy policy under the rules its traits select
    ref = {ln.split()[1]: ln for ln in CliRunner().invoke(main, ["lint", "--rules"]).output.splitlines()}
    assert " P F L " in ref["shadowed-rule"] and " U A P F L " in ref["uncovered-cases"]
    assert " L " not in ref["overlapping-rules"] and " V " not in ref["useless-column"]
    # the trace: under LAST the rules before the winner are never tried
    trace = {t.table: t for t in why_not(book.ir, "Small", {"score": 55})}["Small"]
    assert trace.fired == ["3"] and [r.rule for r in trace.rules] == ["3"]
    trace = {t.table: t for t in why_not(book.ir, "Small", {"score": 10})}["Small"]
    assert trace.fired == ["1"] and [(r.rule, r.fired) for r in trace.rules] == \
        [("1", True), ("2", False), ("3", False)]


def test_tests_sheets_run_on_a_toy_policy(toys):
    outcomes = run_tests(decide.load(toys))
    assert [o.case.id for o in outcomes] == ["1", "2"] and all(not o.mismatches and not o.error for o in outcomes)
