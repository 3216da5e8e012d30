"""Hypothesis: the compiled native runtime agrees with the reference interpreter on
random tables (every hit policy, type and test form; chained 1–3 deep; small tables
inlined and large ones indexed) and random cases, outputs and fired rules alike."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from decide.runtime import native

from .strategies import case_for, make_book, outcome_native, outcome_reference, tables_and_fields


def check(data, small_table):
    fields, tables = data.draw(tables_and_fields())
    book = make_book(fields, tables)
    old = native.SMALL_TABLE
    native.SMALL_TABLE = small_table
    try:
        fns = native.compile_book(book)
    finally:
        native.SMALL_TABLE = old
    for name in book.decisions:
        for _ in range(5):
            case = case_for(data.draw, book, name)
            assert outcome_native(fns, name, case) == outcome_reference(book, name, case), (name, case)


SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@settings(max_examples=300, **SETTINGS)
@given(st.data())
def test_native_agrees_with_reference(data):
    check(data, native.SMALL_TABLE)


@settings(max_examples=250, **SETTINGS)
@given(st.data())
def test_native_indexed_agrees_with_reference(data):
    """Every table considered for an index, however small."""
    check(data, 0)


@pytest.mark.slow
@settings(max_examples=5000, **SETTINGS)
@given(st.data())
def test_native_agrees_with_reference_slow(data):
    check(data, data.draw(st.sampled_from([0, native.SMALL_TABLE])))
