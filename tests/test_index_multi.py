"""Hypothesis: every index kind agrees with the reference interpreter.

Random tables of every hit policy, type and test form (tests/strategies.py), each
compiled three ways: the index the compiler chooses for any table however small,
the multi-column index forced on every table, and no index; plus random tables of
the large shapes (tests/shapes.py) with a few hundred rules, where a column's tests
mix keys, ranges, negated and open ranges, nulls and wildcards."""
from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from decide.model.ir import HitPolicy
from decide.runtime import index, native

from .shapes import RANDOM_POLICIES, book_of, random_case, random_table, outcome, reference_outcome
from .strategies import case_for, make_book, outcome_native, outcome_reference, tables_and_fields

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def compiled(book, force=None, small=0, groups=None):
    old = native.SMALL_TABLE, index.FORCE, index.MAX_GROUPS
    native.SMALL_TABLE, index.FORCE = small, force
    if groups is not None:
        index.MAX_GROUPS = groups
    try:
        return native.compile_book(book)
    finally:
        native.SMALL_TABLE, index.FORCE, index.MAX_GROUPS = old


@settings(max_examples=100, **SETTINGS)
@given(st.data())
def test_multi_index_agrees_with_reference(data):
    fields, tables = data.draw(tables_and_fields())
    book = make_book(fields, tables)
    fns = compiled(book, "multi", groups=data.draw(st.sampled_from([1, 2, index.MAX_GROUPS])))
    for name in book.decisions:
        for _ in range(6):
            case = case_for(data.draw, book, name)
            assert outcome_native(fns, name, case) == outcome_reference(book, name, case), (name, case)


@settings(max_examples=40, **SETTINGS)
@given(seed=st.integers(0, 2**32), policy=st.sampled_from(RANDOM_POLICIES), n=st.integers(20, 300),
       force=st.sampled_from([None, "multi"]))
def test_random_wide_tables_agree_with_reference(seed, policy, n, force):
    rng = random.Random(seed)
    book = book_of(random_table(n, policy, rng))
    fns = compiled(book, force, small=native.SMALL_TABLE)
    for _ in range(60):
        case = random_case(rng, n)
        assert outcome(fns["T"], case) == reference_outcome(book, case), case


@pytest.mark.parametrize("policy", ["FIRST", "PRIORITY", "COLLECT"])
def test_a_thousand_rules_of_mixed_tests_agree_with_reference(policy):
    rng = random.Random(policy)
    book = book_of(random_table(1500, policy, rng))
    fns = compiled(book, small=native.SMALL_TABLE)
    for _ in range(150):
        case = random_case(rng, 1500)
        assert outcome(fns["T"], case) == reference_outcome(book, case), case


def test_priority_with_literal_outputs_is_found_by_rank():
    """PRIORITY with literal outputs runs as FIRST over the rules ranked by priority."""
    rng = random.Random(7)
    book = book_of(random_table(500, "PRIORITY", rng))
    assert book.tables["T"].hit_policy is HitPolicy.PRIORITY
    src = native.source(book, "T")
    assert ".first(" in src
