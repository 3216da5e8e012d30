"""Hypothesis strategies: random glossaries, decision tables (every hit policy, type
and unary-test form, chained 1–3 deep) and cases drawn from the glossary.

Tables are built as IR directly (the workbook path is tested elsewhere), so the
property tests are fast enough to run hundreds of examples in CI."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import strategies as st

from decide.runtime import reference
from decide.model.errors import EvaluationError
from decide.compile.graph import dependencies, table_plan, topo_order
from decide.model.ir import (
    Aggregator, AnyTest, Arith, Book, CompareTest, Field, HitPolicy, InputColumn, InputEntry,
    Literal, Loc, Name, NotTests, NullTest, OrTests, OutputColumn, OutputEntry, RangeTest, Rule,
    Table, Type,
)
from decide.model.values import Version

DOMAINS = {
    Type.INTEGER: [0, 1, 2, 3, 5, 8, 10],
    Type.NUMBER: [Decimal("0"), Decimal("0.5"), Decimal("1"), Decimal("2.5"), 3, Decimal("7.25")],
    Type.TEXT: ["a", "b", "c", "d"],
    Type.BOOLEAN: [True, False],
    Type.DATE: [dt.date(2020, 2, 3), dt.date(2020, 2, 4), dt.date(2021, 1, 1), dt.date(2019, 12, 31)],
    Type.VERSION: [Version("6.6.9"), Version("6.7.0"), Version("6.10.0"), Version("14")],
}
ORDERED = (Type.INTEGER, Type.NUMBER, Type.DATE, Type.VERSION, Type.TEXT)
PRIORITY_VALUES = ("high", "mid", "low")
LOC = Loc("gen.xlsx", "Gen", "A1")


def field(name, type_, allowed=None):
    return Field(name, type_, allowed, name, "", LOC)


@st.composite
def positive_test(draw, type_, refs):
    dom = DOMAINS[type_]
    choices = ["eq"]
    if type_ in ORDERED:
        choices += ["cmp", "range"]
    if refs:
        choices.append("ref")
    kind = draw(st.sampled_from(choices))
    if kind == "eq":
        return CompareTest("=", Literal(draw(st.sampled_from(dom))))
    if kind == "cmp":
        return CompareTest(draw(st.sampled_from(["<", "<=", ">", ">="])), Literal(draw(st.sampled_from(dom))))
    if kind == "ref":
        op = draw(st.sampled_from(["=", "<", ">="] if type_ in ORDERED else ["="]))
        return CompareTest(op, Name(draw(st.sampled_from(refs))))
    a, b = sorted(draw(st.lists(st.sampled_from(dom), min_size=2, max_size=2, unique=True)))
    return RangeTest(Literal(a), Literal(b), draw(st.booleans()), draw(st.booleans()))


@st.composite
def unary_test(draw, type_, refs):
    kind = draw(st.sampled_from(["any", "any", "one", "one", "or", "not", "null"]))
    if kind == "any":
        return AnyTest()
    if kind == "null":
        return NullTest()
    if kind == "one":
        return draw(positive_test(type_, refs))
    tests = tuple(draw(st.lists(st.one_of(positive_test(type_, refs), st.just(NullTest())),
                                min_size=1, max_size=3)))
    return OrTests(tests) if kind == "or" else NotTests(tests)


@st.composite
def keyed_test(draw, type_):
    """Mostly equality tests: tables that the runtime indexes."""
    dom = DOMAINS[type_]
    r = draw(st.integers(0, 9))
    if r < 6:
        return CompareTest("=", Literal(draw(st.sampled_from(dom))))
    if r < 8 and type_ in ORDERED:
        a, b = sorted(draw(st.lists(st.sampled_from(dom), min_size=2, max_size=2, unique=True)))
        return RangeTest(Literal(a), Literal(b), draw(st.booleans()), draw(st.booleans()))
    return AnyTest()


@st.composite
def tables_and_fields(draw):
    """A glossary and 1–3 chained tables."""
    n_inputs = draw(st.integers(1, 4))
    types = [draw(st.sampled_from(list(DOMAINS))) for _ in range(n_inputs)]
    fields = {f"in{i}": field(f"in{i}", t) for i, t in enumerate(types)}
    tables = []
    listy: set = set()
    n_tables = draw(st.integers(1, 3))
    for k in range(n_tables):
        available = [f for f in fields if f not in listy]  # inputs and earlier outputs
        n_cols = draw(st.integers(0, 3))
        cols = [draw(st.sampled_from(available)) for _ in range(n_cols)]
        policy = draw(st.sampled_from(list(HitPolicy)))
        agg = None
        if policy is HitPolicy.COLLECT:
            agg = draw(st.sampled_from([None, Aggregator.SUM, Aggregator.MIN, Aggregator.MAX, Aggregator.COUNT]))
        # outputs
        outs = []
        n_out = draw(st.integers(1, 2))
        for j in range(n_out):
            name = f"t{k}o{j}"
            if policy in (HitPolicy.PRIORITY, HitPolicy.OUTPUT_ORDER):
                f = field(name, Type.TEXT, PRIORITY_VALUES)
            elif agg in (Aggregator.SUM, Aggregator.MIN, Aggregator.MAX, Aggregator.COUNT):
                f = field(name, draw(st.sampled_from([Type.INTEGER, Type.NUMBER])))
            elif not policy.single and agg is None:
                f = field(name, draw(st.sampled_from([Type.TEXT_LIST, Type.INTEGER])))
            else:
                f = field(name, draw(st.sampled_from([Type.TEXT, Type.INTEGER, Type.NUMBER, Type.BOOLEAN])))
            outs.append(f)
        keyed = draw(st.booleans())
        n_rules = draw(st.integers(0, 40 if keyed else 12))
        rules = []
        numeric_inputs = [c for c in available if fields[c].type in (Type.INTEGER, Type.NUMBER)]
        for i in range(n_rules):
            entries = []
            for c in cols:
                t = fields[c].type
                refs = [x for x in available if x != c and fields[x].type is t and x.startswith("in")]
                if t is Type.TEXT_LIST:
                    test = draw(st.sampled_from([AnyTest(), NullTest(), CompareTest("=", Literal("a")),
                                                 NotTests((CompareTest("=", Literal("b")),))]))
                elif keyed:
                    test = draw(keyed_test(t))
                else:
                    test = draw(unary_test(t, refs))
                entries.append(InputEntry(test, "", LOC))
            oentries = []
            for f in outs:
                oentries.append(OutputEntry(draw(output_value(f, numeric_inputs, fields, policy, agg)), "", LOC))
            rules.append(Rule(str(i + 1), i, i + 6, tuple(entries), tuple(oentries), (), LOC))
        icols = tuple(InputColumn(c, Name(c), fields[c].type, c, LOC) for c in cols)
        ocols = tuple(OutputColumn(f.name, f.name, f.type, LOC) for f in outs)
        tables.append(Table(f"T{k}", policy, agg, "", icols, ocols, (), tuple(rules), LOC))
        for f in outs:
            fields[f.name] = f
            if not policy.single and agg is None and f.type is not Type.TEXT_LIST:
                listy.add(f.name)  # a list of numbers: not a valid input downstream
    return fields, tables


@st.composite
def output_value(draw, f, numeric_inputs, fields, policy, agg):
    if draw(st.integers(0, 9)) == 0:
        return Literal(None)
    t = f.type
    if isinstance(f.allowed, tuple):
        return Literal(draw(st.sampled_from(f.allowed)))
    if t is Type.TEXT_LIST:
        return Literal(draw(st.sampled_from(["a", "b", "c"])))
    if t in (Type.INTEGER, Type.NUMBER):
        ints = [c for c in numeric_inputs if fields[c].type is Type.INTEGER]
        if ints and draw(st.integers(0, 3)) == 0:
            return Arith("+", Name(draw(st.sampled_from(ints))), Literal(draw(st.integers(0, 3))))
        if t is Type.NUMBER:
            return Literal(draw(st.sampled_from([Decimal("0.1"), Decimal("0.2"), 1, Decimal("2.5")])))
        return Literal(draw(st.integers(0, 5)))
    return Literal(draw(st.sampled_from(DOMAINS[t])))


def make_book(fields, tables) -> Book:
    by_name = {t.name: t for t in tables}
    deps = dependencies(by_name)
    order = topo_order(deps)
    ordered = {n: by_name[n] for n in order}
    plans = {t.name: table_plan(t, ordered, deps, order) for t in ordered.values()}
    return Book(fields, ordered, (), (), {}, plans)


def case_for(draw, book: Book, name: str) -> dict:
    plan = book.decisions[name]
    case = {}
    for f in plan.inputs:
        v = draw(st.one_of(st.none(), st.sampled_from(DOMAINS[book.fields[f].type])))
        if v is not None:
            case[f] = v
    return case


def outcome_reference(book, name, case):
    """What the reference says for a case: outputs and fired rules, or the violation."""
    try:
        outputs, fired = reference.evaluate(book, name, case)
        return "ok", outputs, fired
    except EvaluationError as e:
        return "error", e.table, sorted(r[1] for r in e.rules)


def outcome_native(fns, name, case):
    """The same for a compiled decision function."""
    try:
        r = fns[name](dict(case))
        return "ok", r.outputs, [(f.table, f.index) for f in r.fired]
    except EvaluationError as e:
        return "error", e.table, sorted(r[1] for r in e.rules)


# --------------------------------------------------------------- raw cases from a Glossary
def glossary_value(f: Field):
    """Any raw case value (as a JSON case holds it) of a Glossary field: its allowed
    values, or values of its type (ranges respected), plus DOMAINS' small values."""
    t = f.type
    if t is Type.BOOLEAN:
        return st.booleans()
    if isinstance(f.allowed, tuple):
        if t is Type.TEXT_LIST:
            return st.lists(st.sampled_from(f.allowed), max_size=3, unique=True)
        return st.sampled_from(f.allowed)
    if t is Type.TEXT_LIST:
        return st.lists(st.text(max_size=6), max_size=3)
    if t in (Type.INTEGER, Type.NUMBER):
        lo, hi = 0, 10**7
        if isinstance(f.allowed, RangeTest):
            lo, hi = int(f.allowed.low.value), int(f.allowed.high.value)
        ints = st.one_of(st.integers(lo, min(hi, lo + 20)), st.integers(lo, hi))
        if t is Type.INTEGER:
            return ints
        return st.one_of(ints, st.decimals(lo, hi, places=2, allow_nan=False, allow_infinity=False))
    if t is Type.DATE:
        return st.dates(dt.date(2005, 1, 1), dt.date(2035, 12, 31)).map(dt.date.isoformat)
    if t is Type.VERSION:
        return st.lists(st.integers(0, 20), min_size=1, max_size=3).map(lambda p: ".".join(map(str, p)))
    return st.one_of(st.sampled_from(DOMAINS[Type.TEXT]), st.text(max_size=8))


def glossary_cases(book: Book, decision: str):
    """Any raw case of ``decision`` in a loaded book: each input absent or any value
    of its Glossary type (``glossary_value``)."""
    plan = book.decisions[decision]
    return st.fixed_dictionaries({}, optional={n: glossary_value(book.fields[n]) for n in plan.inputs})
