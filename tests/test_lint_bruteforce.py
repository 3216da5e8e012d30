"""Hypothesis cross-check: lint's exact analysis against brute force on small random
tables.  The domains are small, so brute force enumerates every case (null included
where the analysis includes it): lint says "gap" exactly when some case falls
through, "overlap" exactly when some case matches two rules, and "shadowed/never"
exactly for the rules that are never the first to match."""
from __future__ import annotations

import itertools
from decimal import Decimal

from hypothesis import HealthCheck, given, settings, strategies as st

from decide.runtime import reference
from decide.tools.analysis import analyze_table
from decide.model.errors import EvaluationError
from decide.model.ir import (
    AnyTest, Book, CompareTest, Field, HitPolicy, InputColumn, InputEntry, Literal, Loc, Name,
    NotTests, NullTest, OrTests, OutputColumn, OutputEntry, RangeTest, Rule, Table, Type,
)

LOC = Loc("r.xlsx", "T", "A1")

FIELDS = {
    "n": Field("n", Type.INTEGER, RangeTest(Literal(0), Literal(6), True, True), "n", "", LOC),
    "s": Field("s", Type.TEXT, ("a", "b", "c"), "s", "", LOC),
    "b": Field("b", Type.BOOLEAN, None, "b", "", LOC),
    "x": Field("x", Type.NUMBER, None, "x", "", LOC),
    "o": Field("o", Type.TEXT, ("x", "y", "z"), "o", "", LOC),
}
# every present value brute force tries (finite domains: all of them)
SAMPLES = {
    "n": list(range(0, 7)),
    "s": ["a", "b", "c"],
    "b": [True, False],
    "x": [Decimal(k) / 2 for k in range(-4, 14)],
}
FINITE = {"n", "s", "b"}


def literal(field):
    if field == "n":
        return st.integers(0, 6)
    if field == "s":
        return st.sampled_from(["a", "b", "c"])
    if field == "b":
        return st.booleans()
    return st.sampled_from([Decimal(k) / 2 for k in range(0, 10, 1)])


def simple_test(field):
    eq = literal(field).map(lambda v: CompareTest("=", Literal(v)))
    if field == "b":
        return eq
    cmp = st.tuples(st.sampled_from(["<", "<=", ">", ">="]), literal(field)).map(
        lambda p: CompareTest(p[0], Literal(p[1])))
    rng = st.tuples(literal(field), literal(field), st.booleans(), st.booleans()).filter(
        lambda p: p[0] < p[1] or (p[0] == p[1] and p[2] and p[3])).map(
        lambda p: RangeTest(Literal(p[0]), Literal(p[1]), p[2], p[3]))
    return st.one_of(eq, cmp, rng)


def unary(field):
    base = simple_test(field)
    return st.one_of(
        st.just(AnyTest()), st.just(AnyTest()), st.just(NullTest()), base,
        st.lists(base, min_size=2, max_size=3).map(lambda ts: OrTests(tuple(ts))),
        st.lists(st.one_of(base, st.just(NullTest())), min_size=1, max_size=2).map(
            lambda ts: NotTests(tuple(ts))),
    )


@st.composite
def tables(draw, policies=("U", "A", "F", "P")):
    fields = draw(st.lists(st.sampled_from(["n", "s", "b", "x"]), min_size=1, max_size=3, unique=True))
    hp = HitPolicy(draw(st.sampled_from(policies)))
    n_rules = draw(st.integers(1, 5))
    cols = tuple(InputColumn(f, Name(f), FIELDS[f].type, f, LOC.at(f"B{i}")) for i, f in enumerate(fields))
    outc = (OutputColumn("o", "o", Type.TEXT, LOC.at("Z1")),)
    rules = []
    for i in range(n_rules):
        ins = tuple(InputEntry(draw(unary(f)), "?", LOC.at(f"B{i + 7}")) for f in fields)
        out = (OutputEntry(Literal(draw(st.sampled_from(["x", "y", "z"]))), "?", LOC.at(f"Z{i + 7}")),)
        rules.append(Rule(str(i + 1), i, i + 7, ins, out, (), LOC.at(f"A{i + 7}")))
    t = Table("T", hp, None, "", cols, outc, (), tuple(rules), LOC)
    book = Book(FIELDS, {"T": t}, (), (), {}, {}, ())
    return book, t


def cases(t, with_null):
    fields = [c.field for c in t.inputs]
    pools = [SAMPLES[f] + ([None] if with_null else []) for f in fields]
    for combo in itertools.product(*pools):
        yield {f: v for f, v in zip(fields, combo) if v is not None}


def all_finite(t):
    return all(c.field in FINITE for c in t.inputs)


def kinds(a, kind):
    return [f for f in a.findings if f.kind == kind]


SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))


@SETTINGS
@given(tables())
def test_gap_exactly_when_a_case_falls_through(bt):
    book, t = bt
    a = analyze_table(t, book)
    gaps = kinds(a, "gap")
    for g in gaps:  # every witness really falls through
        assert reference.matching_rules(t, g.witness) == [], g
    falls = any(not reference.matching_rules(t, c) for c in cases(t, with_null=False))
    if falls:
        assert gaps, "brute force found a gap that lint missed"
    elif all_finite(t):
        assert not gaps


@SETTINGS
@given(tables(policies=("U",)))
def test_overlap_exactly_when_a_case_matches_two_rules(bt):
    book, t = bt
    a = analyze_table(t, book)
    pairs = {(f.others[0], f.rules[0]) for f in kinds(a, "overlap")}
    for f in kinds(a, "overlap"):
        m = reference.matching_rules(t, f.witness)
        assert f.rules[0] in m and f.others[0] in m
    brute = set()
    for c in cases(t, with_null=True):
        m = reference.matching_rules(t, c)
        brute |= {(i, j) for i in m for j in m if i < j}
    if all_finite(t):
        assert pairs == brute
    else:
        assert brute <= pairs


@SETTINGS
@given(tables(policies=("A",)))
def test_any_conflict_exactly_when_matching_rules_disagree(bt):
    book, t = bt
    a = analyze_table(t, book)
    found = kinds(a, "conflict")
    for f in found:
        try:
            reference.eval_table(book, t, f.witness)
            raise AssertionError("witness does not violate ANY")
        except EvaluationError:
            pass
    brute = False
    for c in cases(t, with_null=True):
        try:
            reference.eval_table(book, t, c)
        except EvaluationError:
            brute = True
            break
    if brute:
        assert found
    elif all_finite(t):
        assert not found


@SETTINGS
@given(tables(policies=("F", "P")))
def test_shadowed_exactly_for_rules_that_never_fire(bt):
    book, t = bt
    a = analyze_table(t, book)
    dead = {f.rules[0] for f in a.findings if f.kind in ("shadowed", "never")}
    fires = set()
    for c in cases(t, with_null=True):
        _, fired = reference.eval_table(book, t, c)
        fires |= set(fired)
    never_fire = set(range(len(t.rules))) - fires
    if all_finite(t):
        assert dead == never_fire
    else:
        assert dead <= never_fire


@SETTINGS
@given(tables(policies=("F", "U", "A", "P")))
def test_useless_column_exactly_when_outcome_ignores_it(bt):
    book, t = bt
    a = analyze_table(t, book)
    if any(f.kind in ("overlap", "conflict") for f in a.findings) or not all_finite(t):
        return
    useless = {t.inputs[f.column].field for f in kinds(a, "useless")}
    fields = [c.field for c in t.inputs]
    for f in fields:
        others = [g for g in fields if g != f]
        depends = False
        for combo in itertools.product(*[SAMPLES[g] for g in others]):
            base = dict(zip(others, combo))
            outs = {tuple(reference.eval_table(book, t, {**base, f: v})[0].items())
                    for v in SAMPLES[f]}
            if len(outs) > 1:
                depends = True
                break
        assert (f in useless) == (not depends), (f, useless)


# --------------------------------------------------------------------------- expression headers
FIELDS_X = dict(FIELDS, m=Field("m", Type.INTEGER, RangeTest(Literal(0), Literal(3), True, True), "m", "", LOC))


def expr_test():
    lit = st.integers(-4, 7)
    eq = lit.map(lambda v: CompareTest("=", Literal(v)))
    cmp = st.tuples(st.sampled_from(["<", "<=", ">", ">="]), lit).map(lambda p: CompareTest(p[0], Literal(p[1])))
    rng = st.tuples(lit, lit, st.booleans(), st.booleans()).filter(
        lambda p: p[0] < p[1] or (p[0] == p[1] and p[2] and p[3])).map(
        lambda p: RangeTest(Literal(p[0]), Literal(p[1]), p[2], p[3]))
    base = st.one_of(eq, cmp, rng)
    return st.one_of(st.just(AnyTest()), base,
                     st.lists(base, min_size=2, max_size=2).map(lambda ts: OrTests(tuple(ts))),
                     st.lists(base, min_size=1, max_size=2).map(lambda ts: NotTests(tuple(ts))))


@st.composite
def expr_tables(draw):
    from decide.model.ir import Arith
    hp = HitPolicy(draw(st.sampled_from(["U", "F"])))
    with_s = draw(st.booleans())
    cols = [InputColumn("n - m", Arith("-", Name("n"), Name("m")), Type.INTEGER, None, LOC.at("B5"))]
    if with_s:
        cols.append(InputColumn("s", Name("s"), Type.TEXT, "s", LOC.at("C5")))
    rules = []
    for i in range(draw(st.integers(1, 4))):
        ins = [InputEntry(draw(expr_test()), "?", LOC.at(f"B{i + 7}"))]
        if with_s:
            ins.append(InputEntry(draw(unary("s")), "?", LOC.at(f"C{i + 7}")))
        out = (OutputEntry(Literal(draw(st.sampled_from(["x", "y"]))), "?", LOC.at(f"Z{i + 7}")),)
        rules.append(Rule(str(i + 1), i, i + 7, tuple(ins), out, (), LOC.at(f"A{i + 7}")))
    t = Table("T", hp, None, "", tuple(cols), (OutputColumn("o", "o", Type.TEXT, LOC.at("Z1")),), (),
              tuple(rules), LOC)
    return Book(FIELDS_X, {"T": t}, (), (), {}, {}, ()), t, with_s


@SETTINGS
@given(expr_tables())
def test_expression_header_gap_and_overlap_exactly_by_brute_force(bt):
    book, t, with_s = bt
    a = analyze_table(t, book)
    pools = [range(0, 7), range(0, 4)] + ([SAMPLES["s"]] if with_s else [])
    present = [dict(zip(["n", "m", "s"], c)) for c in itertools.product(*pools)]
    falls = any(not reference.matching_rules(t, c) for c in present)
    gaps = kinds(a, "gap")
    for g in gaps:
        assert reference.matching_rules(t, g.witness) == []
    assert bool(gaps) == falls
    if t.hit_policy is HitPolicy.UNIQUE:
        pairs = {(f.others[0], f.rules[0]) for f in kinds(a, "overlap")}
        brute = set()
        pools = [list(range(0, 7)) + [None], list(range(0, 4)) + [None]] + (
            [SAMPLES["s"] + [None]] if with_s else [])
        for combo in itertools.product(*pools):
            c = {k: v for k, v in zip(["n", "m", "s"], combo) if v is not None}
            m = reference.matching_rules(t, c)
            brute |= {(i, j) for i in m for j in m if i < j}
        assert pairs == brute


@st.composite
def ref_tables(draw):
    """Column n tested against field m (``> m``, ``= m``, ``-``), maybe with column s."""
    hp = HitPolicy(draw(st.sampled_from(["U", "F"])))
    with_s = draw(st.booleans())
    cols = [InputColumn("n", Name("n"), Type.INTEGER, "n", LOC.at("B5"))]
    if with_s:
        cols.append(InputColumn("s", Name("s"), Type.TEXT, "s", LOC.at("C5")))
    ref = st.one_of(st.just(AnyTest()), st.sampled_from(["=", "<", "<=", ">", ">="]).map(
        lambda op: CompareTest(op, Name("m"))))
    rules = []
    for i in range(draw(st.integers(1, 4))):
        ins = [InputEntry(draw(ref), "?", LOC.at(f"B{i + 7}"))]
        if with_s:
            ins.append(InputEntry(draw(unary("s")), "?", LOC.at(f"C{i + 7}")))
        out = (OutputEntry(Literal(draw(st.sampled_from(["x", "y"]))), "?", LOC.at(f"Z{i + 7}")),)
        rules.append(Rule(str(i + 1), i, i + 7, tuple(ins), out, (), LOC.at(f"A{i + 7}")))
    t = Table("T", hp, None, "", tuple(cols), (OutputColumn("o", "o", Type.TEXT, LOC.at("Z1")),), (),
              tuple(rules), LOC)
    return Book(FIELDS_X, {"T": t}, (), (), {}, {}, ()), t, with_s


@SETTINGS
@given(ref_tables())
def test_field_reference_columns_exactly_by_brute_force(bt):
    book, t, with_s = bt
    a = analyze_table(t, book)
    pools = [list(range(0, 7)) + [None], list(range(0, 4)) + [None]] + (
        [SAMPLES["s"] + [None]] if with_s else [])
    every = [{k: v for k, v in zip(["n", "m", "s"], c) if v is not None} for c in itertools.product(*pools)]
    present = [c for c in every if len(c) == len(pools)]
    gaps = kinds(a, "gap")
    for g in gaps:
        assert reference.matching_rules(t, g.witness) == []
    assert bool(gaps) == any(not reference.matching_rules(t, c) for c in present)
    if t.hit_policy is HitPolicy.UNIQUE:
        pairs = {(f.others[0], f.rules[0]) for f in kinds(a, "overlap")}
        brute = set()
        for c in every:
            m = reference.matching_rules(t, c)
            brute |= {(i, j) for i in m for j in m if i < j}
        assert pairs == brute
    else:
        dead = {f.rules[0] for f in a.findings if f.kind in ("shadowed", "never")}
        fires = set()
        for c in every:
            _, fired = reference.eval_table(book, t, c)
            fires |= set(fired)
        assert dead == set(range(len(t.rules))) - fires
