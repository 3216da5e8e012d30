"""Issue 8, registries for what grows: the function table (decide.model.functions), the
IR traversal (decide.model.walk) and the generic fallback that lets a new cell operator
reach the durable backend and the analysis without editing them."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

import decide
from decide.compile.resolve import ResolveError, literal_values, referenced_fields, resolve_test
from decide.compile.sfeel import SFeelError, parse_expression, parse_unary_tests
from decide.model.functions import FUNCTIONS, fn
from decide.model.ir import (
    AnyTest, Arith, Call, Compare, CompareTest, Expr, HitPolicy, InputColumn, InputEntry,
    Literal, Name, NotTests, OrTests, OutputColumn, OutputEntry, RangeTest, Rule, Table, Type,
)
from decide.model.walk import Visitor, children, iter_nodes, transform
from decide.runtime import native, reference
from decide.tools.analysis import analyze_table, build_variables
from tests.strategies import LOC, field, make_book
from tests.workbooks import table, write_workbook

DOCS = Path(__file__).resolve().parents[1] / "docs" / "workbook-format.md"


def _durable_or_skip():
    try:
        from durable import engine  # noqa: F401  (importable here?)
    except BaseException:
        pytest.skip("durable_rules cannot be imported here")
    from decide.runtime.durable.backend import DurableBackend
    return DurableBackend


# --------------------------------------------------------------------------- (a) functions
@pytest.fixture
def double(monkeypatch):
    """A toy function, added to the table the way a real one is: one entry."""
    monkeypatch.setitem(FUNCTIONS, "double", fn("double(number) -> number", lambda x: 2 * x))


DOUBLE_RULES = [  # INPUT double(amount) | INPUT limit | OUTPUT doubled | OUTPUT band
    [1, "> 100", "< double(amount)", "double(amount) + 1", '"big, over twice the limit"'],
    [2, "> 100", "-", "double(limit)", '"big"'],
    [3, "-", "-", "double(limit) - 1", '"small"'],
]


def _double_book(tmp_path: Path, engine: str = "native"):
    write_workbook(tmp_path / "d" / "double.xlsx", glossary=[
        ("amount", "number"), ("limit", "number"), ("doubled", "number"), ("band", "text"),
    ], tables=[table("Double", "FIRST",
                     ["INPUT double(amount)", "INPUT limit", "OUTPUT doubled", "OUTPUT band"], DOUBLE_RULES)])
    return decide.load(tmp_path / "d", engine=engine, services=[])


CASES = [{"amount": 60, "limit": 50}, {"amount": 60, "limit": 130}, {"amount": Decimal("50.5"), "limit": 10},
         {"amount": Decimal("50.5")}, {"amount": 10, "limit": 3}, {"limit": 1}, {}]
EXPECTED = [({"doubled": 121, "band": "big, over twice the limit"}, 1),
            ({"doubled": 260, "band": "big"}, 2),
            ({"doubled": Decimal("102.0"), "band": "big, over twice the limit"}, 1),
            ({"doubled": None, "band": "big"}, 2),
            ({"doubled": 5, "band": "small"}, 3), ({"doubled": 1, "band": "small"}, 3),
            ({"doubled": None, "band": "small"}, 3)]


def test_a_function_added_to_the_table_is_parsed_typed_and_decided_alike(tmp_path, double):
    book = _double_book(tmp_path)
    for case, (outputs, rule) in zip(CASES, EXPECTED):
        ref_out, ref_fired = reference.evaluate(book.ir, "Double", case)
        r = book.decide("Double", case)
        assert r.outputs == ref_out == outputs, case
        assert [f.rule for f in r.fired] == [str(rule)] and ref_fired == [("Double", rule - 1)]
    # the native runtime calls the table's implementation, not the interpreter
    src = native._Gen(book.ir, book.ir.decisions["Double"]).build().source
    assert "F_double(v_amount)" in src and "_EVAL" not in src


def test_a_function_added_to_the_table_runs_on_the_durable_engine(tmp_path, double):
    _durable_or_skip()
    book = _double_book(tmp_path, engine="durable")
    for case, (outputs, _) in zip(CASES, EXPECTED):
        assert book.decide("Double", case).outputs == outputs, case


def test_a_function_is_checked_against_its_signature(tmp_path, double):
    with pytest.raises(decide.WorkbookError) as e:
        write_workbook(tmp_path / "w" / "bad.xlsx", glossary=[("name", "text"), ("n", "number")],
                       tables=[table("Bad", "FIRST", ["INPUT name", "OUTPUT n"], [[1, "-", "double(name)"]])])
        decide.load(tmp_path / "w", services=[])
    assert "bad.xlsx › Bad › C" in str(e.value)
    assert "double() takes a number as argument 1, not a text: double(number) -> number" in str(e.value)
    with pytest.raises(SFeelError, match=r"double\(\) takes 1 argument, got 2"):
        parse_expression("double(1, 2)")


def test_an_unknown_function_lists_the_table():
    with pytest.raises(SFeelError) as e:
        parse_expression("triple(3)")
    assert ", ".join(sorted(FUNCTIONS)) in str(e.value)


def test_every_function_of_the_table_is_documented():
    text = DOCS.read_text()
    for f in FUNCTIONS.values():
        assert f"`{f.signature}`" in text, f"docs/workbook-format.md does not list {f.signature}"


# Every built-in function, through the reference and the native code generator alike.
BUILTINS = [  # (expression, output type, expected)
    ('list contains(tags, "a")', Type.BOOLEAN, True),
    ('list contains(tags, "z")', Type.BOOLEAN, False),
    ("list contains(tags, nothing)", Type.BOOLEAN, None),
    ("count(tags)", Type.INTEGER, 2),
    ('contains(word, "ell")', Type.BOOLEAN, True),
    ('starts with(word, "he")', Type.BOOLEAN, True),
    ('ends with(word, "he")', Type.BOOLEAN, False),
    ("string length(word)", Type.INTEGER, 5),
    ("upper case(word)", Type.TEXT, "HELLO"),
    ("lower case(upper case(word))", Type.TEXT, "hello"),
    ("abs(neg)", Type.NUMBER, Decimal("2.5")),
    ("floor(neg)", Type.NUMBER, -3),
    ("ceiling(neg)", Type.NUMBER, -2),
    ("min(3, neg, 7)", Type.NUMBER, Decimal("-2.5")),
    ("max([1, 9, 4])", Type.NUMBER, 9),
    ("sum(1, 2, neg)", Type.NUMBER, Decimal("0.5")),
    ("sum([])", Type.NUMBER, 0),
    ("min([])", Type.NUMBER, None),
    ("max(1, nothing)", Type.NUMBER, None),
    ("is defined(nothing)", Type.BOOLEAN, False),
    ("is defined(word)", Type.BOOLEAN, True),
    ("date(day)", Type.DATE, dt.date(2020, 2, 3)),
    ("date(iso)", Type.DATE, dt.date(2021, 6, 1)),
    ('date(upper case("x"))', Type.DATE, None),
    ("string length(nothing)", Type.INTEGER, None),
]


def test_every_builtin_function_agrees_between_reference_and_native():
    fields = {"tags": field("tags", Type.TEXT_LIST), "word": field("word", Type.TEXT),
              "neg": field("neg", Type.NUMBER), "day": field("day", Type.DATE),
              "iso": field("iso", Type.TEXT), "nothing": field("nothing", Type.TEXT)}
    outs = []
    for i, (text, type_, _) in enumerate(BUILTINS):
        fields[f"o{i}"] = field(f"o{i}", type_)
        outs.append(OutputColumn(f"o{i}", f"o{i}", type_, LOC))
    rule = Rule("1", 0, 7, (), tuple(OutputEntry(parse_expression(t), t, LOC) for t, _, _ in BUILTINS), (), LOC)
    book = make_book(fields, [Table("F", HitPolicy.FIRST, None, "", (), tuple(outs), (), (rule,), LOC)])
    case = {"tags": ("a", "b"), "word": "hello", "neg": Decimal("-2.5"), "day": dt.date(2020, 2, 3),
            "iso": "2021-06-01"}
    expected = {f"o{i}": want for i, (_, _, want) in enumerate(BUILTINS)}
    assert reference.evaluate(book, "F", case)[0] == expected
    assert native.compile_book(book)["F"](case).outputs == expected


# --------------------------------------------------------------------------- (b) the traversal
def test_children_and_iter_nodes_follow_the_fields_of_parsed_cells():
    e = parse_expression('amount * 2 > limit and list contains(tags, "a")')
    cmp_, call = children(e)
    assert isinstance(cmp_, Compare) and isinstance(call, Call)
    assert children(cmp_) == (Arith("*", Name("amount"), Literal(2)), Name("limit"))
    assert children(call) == (Name("tags"), Literal("a"))
    assert children(Literal(("a", "b"))) == ()  # a text-list value is not a node
    assert [type(n).__name__ for n in iter_nodes(e)] == [
        "And", "Compare", "Arith", "Name", "Literal", "Name", "Call", "Name", "Literal"]
    t = parse_unary_tests('not("a", [1..limit])')
    assert isinstance(t, NotTests)
    assert children(t) == (CompareTest("=", Literal("a")), RangeTest(Literal(1), Name("limit"), True, True))
    assert referenced_fields(t) == {"limit"} and literal_values(t) == {"a", 1}


def test_transform_rebuilds_bottom_up_and_keeps_what_it_does_not_change():
    e = parse_expression("max(a, b * 2) + [a]")
    renamed = transform(e, lambda n: Name(n.name.upper()) if isinstance(n, Name) else n)
    assert renamed == parse_expression("max(A, B * 2) + [A]")
    assert transform(e, lambda n: n) is e
    folded = transform(parse_expression("x > 2 * 3 + 1"),  # constant folding, bottom-up
                       lambda n: Literal(reference.eval_expr(n, {}))
                       if isinstance(n, Arith) and all(isinstance(c, Literal) for c in children(n)) else n)
    assert folded == Compare(">", Name("x"), Literal(7))
    t = parse_unary_tests('"a", < limit')
    assert transform(t, lambda n: Literal(9) if n == Name("limit") else n) == \
        OrTests((CompareTest("=", Literal("a")), CompareTest("<", Literal(9))))


# --------------------------------------------------------------------------- (c) the visitor
class _Size(Visitor):
    """Counts names; knows nothing else but walks through it."""

    def Name(self, n):
        return 1

    def __default__(self, n):
        return sum(self.visit(c) for c in children(n))


def test_a_visitor_dispatches_by_class_and_falls_back_to_its_default():
    assert _Size().visit(parse_expression("a + b * a > count(tags) and not(c)")) == 5
    assert _Size().visit(parse_unary_tests("[a..b], > c")) == 3

    class Bare(Visitor):
        def Literal(self, n):
            return n.value

    assert Bare().visit(Literal(3)) == 3
    with pytest.raises(TypeError, match="Bare does not handle Name nodes"):
        Bare().visit(Name("x"))


# --------------------------------------------------------------------------- a new cell operator
@dataclass(frozen=True)
class PrefixTest:
    """A cell operator the engine does not have: ``prefix "gi"`` (the text starts with it)."""

    prefix: Expr


def _prefix_semantics(self, t, x, env):  # what reference.py would gain
    p = reference.eval_expr(t.prefix, env)
    return None if x is None or p is None else x.startswith(p)


@pytest.fixture
def prefix_test(monkeypatch):
    monkeypatch.setattr(reference._Tester, "PrefixTest", _prefix_semantics, raising=False)
    monkeypatch.setattr(reference._Tester, "_dispatch", {})


def _prefix_book(policy=HitPolicy.FIRST):
    fields = {"category": field("category", Type.TEXT, ("gift_card", "giro", "books")),
              "code": field("code", Type.TEXT), "out": field("out", Type.INTEGER)}
    cells = [PrefixTest(Literal("gi")), NotTests((PrefixTest(Name("code")),)), CompareTest("=", Literal("books")),
             OrTests((PrefixTest(Literal("b")), CompareTest("=", Literal("giro")))), AnyTest()]
    rules = tuple(Rule(str(i + 1), i, 7 + i, (InputEntry(c, "", LOC),), (OutputEntry(Literal(i + 1), "", LOC),), (), LOC)
                  for i, c in enumerate(cells))
    t = Table("P", policy, None, "", (InputColumn("category", Name("category"), Type.TEXT, "category", LOC),),
              (OutputColumn("out", "out", Type.INTEGER, LOC),), (), rules, LOC)
    return make_book(fields, [t])


PREFIX_CASES = [{"category": c, "code": k} for c in ("gift_card", "giro", "books", None)
                for k in ("gi", "b", "x", None)]


def _without_nulls(case):
    return {k: v for k, v in case.items() if v is not None}


def test_a_new_cell_operator_needs_only_its_reference_semantics(prefix_test):
    # resolution: a value of the column's type, names resolved, wrong types refused
    words = {"gift_card": "gift_card"}
    resolved = resolve_test(PrefixTest(Name("code")), Type.TEXT, tuple(words), {"code": field("code", Type.TEXT)}, "x")
    assert resolved == PrefixTest(Name("code")) and referenced_fields(resolved) == {"code"}
    with pytest.raises(ResolveError, match="is a number but x is text"):
        resolve_test(PrefixTest(Literal(3)), Type.TEXT, None, {}, "x")
    for policy in (HitPolicy.FIRST, HitPolicy.COLLECT):
        book = _prefix_book(policy)
        compiled = native.compile_book(book)["P"]
        for case in map(_without_nulls, PREFIX_CASES):
            outputs, fired = reference.evaluate(book, "P", case)
            r = compiled(case)
            assert (r.outputs, [(f.table, f.index) for f in r.fired]) == (outputs, fired), case


def test_a_new_cell_operator_runs_on_the_durable_engine_computed_in_python(prefix_test):
    DurableBackend = _durable_or_skip()
    for policy in (HitPolicy.FIRST, HitPolicy.COLLECT):
        book = _prefix_book(policy)
        backend = DurableBackend(book)
        try:
            for case in map(_without_nulls, PREFIX_CASES):
                want = reference.evaluate(book, "P", case)
                outputs, fired = backend.run("P", dict(case))
                assert (outputs, list(fired)) == want, case
        finally:
            backend.close()


def test_the_analysis_treats_a_new_cell_operator_as_unknown(prefix_test):
    book = _prefix_book(HitPolicy.UNIQUE)
    t = book.tables["P"]
    (var,) = build_variables(t, book)
    assert var.masks(t.rules[0].inputs[0].test) == (0, var.full)  # certain nowhere, possible anywhere
    assert "some of its tests are of a kind the analysis does not model" in var.notes
    res = analyze_table(t, book)
    for f in res.findings:  # whatever it still claims is true of the reference
        if f.kind == "overlap":
            matched = reference.matching_rules(t, f.witness)
            assert set(f.rules) <= set(matched), f
        assert f.kind not in ("gap", "shadowed", "never") or 0 not in f.rules + f.others, f
    assert not any(f.kind == "gap" for f in res.findings)  # rule 1 may match any category

