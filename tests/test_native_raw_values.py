"""The native runtime's compiled case validation types raw values exactly as the
reference path (``facts.normalise``: each field's ``parse_case`` and allowed values)
does — its fast paths (floats for integer and number fields, remembered version
texts) included: same typed values, or the same CaseError (message, field, value)."""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings, strategies as st

import decide
from decide.model.errors import CaseError
from decide.runtime.facts import normalise
from decide.runtime.native import compile_validators
from tests.workbooks import table, write_workbook

GLOSSARY = [
    ("count", "integer", "[0..10000000]", "件数"),
    ("whole", "integer", "", "整数"),
    ("amount", "number", "[-1000..1000]", "金額"),
    ("rate", "number", "", "率"),
    ("app", "version", "", "版"),
    ("ok", "boolean", "", "可否"),
]
FIELDS = [g[0] for g in GLOSSARY[:-1]]


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    d = tmp_path_factory.mktemp("raw")
    write_workbook(d / "raw.xlsx", glossary=GLOSSARY, tables=[
        table("Raw", "FIRST", [f"INPUT {f}" for f in FIELDS] + ["OUTPUT ok"],
              [[1, "> 5", "-", "-", "-", "-", True], [2, "-", "-", "-", "-", "-", False]])])
    return decide.load(d, services=[])


@pytest.fixture(scope="module")
def validate(book):
    return compile_validators(book.ir)["Raw"]


def outcome(fn, facts):
    try:
        return "ok", fn(facts)
    except CaseError as e:
        return "error", str(e), e.field, repr(e.value)


NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-2e7, max_value=2e7).map(round).map(float),  # whole floats in and out of range
    st.sampled_from([0.0, -0.0, 5000.0, 1e7, 1e7 + 1, 2.0 ** 53, -(2.0 ** 53), 2.0 ** 53 + 2, 1e99, 1e100,
                     0.1, 0.3, 1e-7, 123.456]),
    st.integers(min_value=-10 ** 101, max_value=10 ** 101),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.just(True), st.text(max_size=3),
)


@settings(max_examples=600, deadline=None)
@given(st.sampled_from(FIELDS[:4]), NUMBERS)
def test_numbers_typed_as_the_reference_types_them(book, validate, field, raw):
    plan = book.ir.decisions["Raw"]
    got = outcome(validate, {field: raw})
    want = outcome(lambda f: normalise(book.ir, plan, f), {field: raw})
    assert got == want, (field, raw)
    if got[0] == "ok" and field in got[1]:
        assert type(got[1][field]) is type(want[1][field])  # int stays int, Decimal Decimal


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(["6.7.0", "6.7", "6.6.9", "14", "x", "", "1..2"]),
                          st.from_regex(r"\A[0-9]{1,3}(\.[0-9]{1,3}){0,3}\Z"), st.integers(-3, 30)),
                min_size=1, max_size=6))
def test_versions_remembered_and_refused_as_the_reference_does(book, validate, raws):
    """The same text twice (remembered the second time) gives the same answer."""
    plan = book.ir.decisions["Raw"]
    for raw in raws + raws:
        assert outcome(validate, {"app": raw}) == outcome(lambda f: normalise(book.ir, plan, f), {"app": raw})


def test_a_float_amount_decides_like_its_decimal(book):
    assert book.decide("Raw", {"count": 6.0}).outputs == {"ok": True}
    assert book.decide("Raw", {"count": 6}).fired == book.decide("Raw", {"count": 6.0}).fired
    with pytest.raises(CaseError) as e:
        book.decide("Raw", {"count": 6.5})
    assert e.value.value == 6.5
    assert book.decide("Raw", {"amount": 0.3}).outputs == {"ok": False}
    assert compile_validators(book.ir)["Raw"]({"amount": 0.3, "rate": 1e-7}) == \
        {"amount": Decimal("0.3"), "rate": Decimal("1E-7")}
