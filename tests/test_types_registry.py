"""The Glossary type registry (decide.model.types): every type has a complete spec, and
its parts agree with each other: a canonical value is accepted unchanged by cell parsing,
case parsing and the native validator's fast check; the JSON form reads back as the value;
what ``show`` writes in a cell reads back as the value."""
from __future__ import annotations

import datetime as _dt
from decimal import Decimal

import pytest
from hypothesis import example, given, settings, strategies as st

from decide.compile.resolve import ResolveError, coerce_literal
from decide.compile.sfeel import parse_literal
from decide.model.errors import CaseError
from decide.model.ir import Field, Type
from decide.model.types import TYPES, TypeSpec, ValueProblem, Version
from decide.model.values import coerce, conforms, show, to_json, type_of
from decide.runtime.facts import coerce_field

from .workbooks import table, write_workbook


def canonical(type_: Type):
    return TYPES[type_].strategy()


typed_values = st.sampled_from(list(Type)).flatmap(lambda t: st.tuples(st.just(t), canonical(t)))

# anything a case may hold: JSON values, and the Python values a caller may pass
raw_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.decimals() | st.text(max_size=8)
    | st.sampled_from(["6.7.0", "2020-02-03", " 14 ", "1.5", "true", ""])
    | st.dates() | st.datetimes() | st.builds(Version, st.sampled_from(["1", "6.7.0", "14.0"])),
    lambda xs: st.lists(xs, max_size=3) | st.lists(xs, max_size=3).map(tuple)
    | st.dictionaries(st.text(max_size=3), xs, max_size=2),
    max_leaves=6)


QUOTES = set('"\\“”„‟＂″')  # a double quote, a backslash, and what Excel types for quotes


def fast_check_fn(spec: TypeSpec):
    """The spec's fast check compiled as the native runtime compiles it, or None."""
    ns: dict = {}

    def bind(obj, hint):
        ns[hint] = obj
        return hint
    src = spec.fast_check("v", bind)
    if src is None:
        return None
    return eval(f"lambda v: {src}", ns)


def test_every_glossary_type_has_a_complete_spec():
    assert set(TYPES) == set(Type)
    for t, spec in TYPES.items():
        assert isinstance(spec, TypeSpec) and spec.type is t and spec.name == t.value
        assert spec.classes and all(isinstance(c, type) for c in spec.classes)
        for part in ("conforms", "parse_cell", "parse_case", "strategy"):  # no default for these
            assert getattr(type(spec), part) is not getattr(TypeSpec, part), (t, part)
        assert spec.refines is None or spec.refines in TYPES


@settings(max_examples=300, deadline=None)
@given(typed_values)
def test_a_value_of_a_type_is_of_its_classes_and_natural_type(tv):
    t, v = tv
    spec = TYPES[t]
    assert isinstance(v, spec.classes) and spec.conforms(v)
    assert type_of(v) is (spec.refines or t)
    assert isinstance(show(v), str)


@settings(max_examples=300, deadline=None)
@given(typed_values)
def test_cell_and_case_parsing_agree_on_canonical_values(tv):
    t, v = tv
    spec = TYPES[t]
    assert conforms(v, t)
    by_case = coerce(v, t)
    by_cell = spec.parse_cell(v, "the column")
    assert by_case == v and by_cell == v
    assert type(by_case) is type(v) and type(by_cell) is type(v)
    fast = fast_check_fn(spec)
    if fast is not None:
        assert fast(v) is True  # the native validator takes it as it is


@settings(max_examples=300, deadline=None)
@given(typed_values)
def test_the_json_form_reads_back_as_the_value(tv):
    t, v = tv
    assert coerce(to_json(v), t) == v


@settings(max_examples=300, deadline=None)
@given(typed_values)
def test_what_show_writes_in_a_cell_reads_back_as_the_value(tv):
    t, v = tv
    texts = v if t is Type.TEXT_LIST else (v,) if t is Type.TEXT else ()
    if any(set(x) & QUOTES for x in texts):
        return  # show writes texts between quotes as they are (no escapes)
    if t is Type.NUMBER and v < 0 and len(v.as_tuple().digits) > 28:
        return  # S-FEEL negates a literal in the 28-digit decimal context
    cell = parse_literal(show(v))
    if t is Type.TEXT_LIST:  # a cell of a text list column holds its texts
        items = cell if isinstance(cell, tuple) else (cell,)
        assert tuple(coerce_literal(x, t, "the column") for x in items) == v
    else:
        assert coerce_literal(cell, t, "the column") == v


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(list(Type)), raw_values)
@example(Type.NUMBER, Decimal("Infinity")).via("a Decimal that is no number once passed the fast check")
@example(Type.NUMBER, Decimal("NaN")).via("ditto")
@example(Type.INTEGER, True).via("a boolean is no integer")
@example(Type.INTEGER, 3.0).via("a float is parsed")
def test_the_fast_check_only_passes_values_case_parsing_keeps(t, raw):
    """Where the generated code skips case parsing, parsing would have returned the value unchanged."""
    spec = TYPES[t]
    fast = fast_check_fn(spec)
    if raw is None or fast is None or not fast(raw):
        return
    v = spec.parse_case(raw)
    assert v == raw and type(v) is type(raw)


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(list(Type)), raw_values)
def test_case_parsing_gives_a_conforming_value_or_says_what_is_expected(t, raw):
    spec = TYPES[t]
    if raw is None:
        assert coerce(raw, t) is None
        return
    try:
        v = spec.parse_case(raw)
    except ValueProblem as e:
        assert str(e).startswith("expected ")
        with pytest.raises(CaseError, match="expected "):
            coerce_field(Field("x", t, None, "x", "", None), raw)
        return
    assert spec.conforms(v)
    assert spec.parse_case(v) == v  # parsing a parsed value changes nothing


@pytest.mark.parametrize("t", list(Type))
def test_cell_parsing_rejects_other_types_with_a_message_naming_the_column(t):
    others = [True, Decimal("1.5"), _dt.date(2020, 2, 3), Version("6.7.0"), "abc"]
    for value in others:
        try:
            v = coerce_literal(value, t, "the column X")
        except ResolveError as e:
            assert "the column X" in str(e)
        else:
            assert TYPES[t.item].conforms(v)


def test_a_boolean_fields_allowed_values_hold_on_the_native_fast_path(tmp_path):
    import decide
    path = write_workbook(tmp_path / "b.xlsx", glossary=[("flag", "boolean", "true", "フラグ"),
                                                         ("ok", "boolean", "", "可")],
                          tables=[table("T", "FIRST", ["INPUT flag", "OUTPUT ok"], [[1, "-", True]])])
    book = decide.load(path, services=[])
    assert book.decide("T", {"flag": True}).outputs == {"ok": True}
    with pytest.raises(CaseError, match=r'"flag" \(フラグ\): false is not allowed; allowed values: true'):
        book.decide("T", {"flag": False})


def test_a_number_that_is_not_finite_is_refused_on_the_native_fast_path(tmp_path):
    import decide
    path = write_workbook(tmp_path / "b.xlsx", glossary=[("amount", "number", "", "金額"),
                                                         ("ok", "boolean", "", "可")],
                          tables=[table("T", "FIRST", ["INPUT amount", "OUTPUT ok"], [[1, "-", True]])])
    book = decide.load(path, services=[])
    assert book.decide("T", {"amount": Decimal("1.5")}).outputs == {"ok": True}
    for bad in (Decimal("Infinity"), Decimal("NaN")):
        with pytest.raises(CaseError, match=r'"amount" \(金額\): expected a number'):
            book.decide("T", {"amount": bad})


@settings(max_examples=300, deadline=None)
@given(typed_values)
def test_neighbours_are_values_of_the_type_around_the_value(tv):
    t, v = tv
    spec = TYPES[t]
    around = spec.neighbours(v)
    assert v in around and all(spec.conforms(x) for x in around)
    if t.is_ordered and t is not Type.TEXT:  # ordered types step to both sides where they can
        assert any(x > v for x in around)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_an_integer_draw_stays_within_an_open_range(data):
    from decide.model.ir import Literal, RangeTest
    lo = data.draw(st.integers(-50, 50))
    hi = data.draw(st.integers(lo + 2, 60))
    v = data.draw(TYPES[Type.INTEGER].strategy(RangeTest(Literal(lo), Literal(hi), False, False)))
    assert lo < v < hi
