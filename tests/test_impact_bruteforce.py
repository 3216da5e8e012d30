"""Hypothesis: the exact per-table impact of an edit (``analysis.table_diff``) against
brute force on small random pairs of tables: it finds a region exactly when some
case is decided differently, and each region's example really is."""
from __future__ import annotations

import itertools

from hypothesis import given, strategies as st

from decide.runtime import reference
from decide.tools.analysis import table_diff
from decide.model.errors import EvaluationError
from decide.model.ir import (
    Aggregator, Book, HitPolicy, InputColumn, InputEntry, Literal, Name, OutputColumn, OutputEntry, Rule, Table,
)

from .test_lint_bruteforce import FIELDS, LOC, SAMPLES, SETTINGS, unary


def _rules(draw, fields):
    rules = []
    for i in range(draw(st.integers(1, 4))):
        ins = tuple(InputEntry(draw(unary(f)), "?", LOC.at(f"B{i + 7}")) for f in fields)
        out = (OutputEntry(Literal(draw(st.sampled_from(["x", "y", "z"]))), "?", LOC.at(f"Z{i + 7}")),)
        rules.append(Rule(str(i + 1), i, i + 7, ins, out, (), LOC.at(f"A{i + 7}")))
    return tuple(rules)


@st.composite
def table_pairs(draw):
    fields = draw(st.lists(st.sampled_from(["n", "s", "b"]), min_size=1, max_size=2, unique=True))
    cols = tuple(InputColumn(f, Name(f), FIELDS[f].type, f, LOC.at(f"B{i}")) for i, f in enumerate(fields))
    outc = (OutputColumn("o", "o", FIELDS["o"].type, LOC.at("Z1")),)
    policies = ["F", "P", "U", "A", "C", "R", "O"]
    hp_old = HitPolicy(draw(st.sampled_from(policies)))
    hp_new = HitPolicy(draw(st.sampled_from(policies)))
    agg_old = draw(st.sampled_from([None, Aggregator.COUNT])) if hp_old is HitPolicy.COLLECT else None
    agg_new = draw(st.sampled_from([None, Aggregator.COUNT])) if hp_new is HitPolicy.COLLECT else None
    old = Table("T", hp_old, agg_old, "", cols, outc, (), _rules(draw, fields), LOC)
    new = Table("T", hp_new, agg_new, "", cols, outc, (), _rules(draw, fields), LOC)
    book = Book(FIELDS, {"T": old}, (), (), {}, {}, ())
    return book, old, new, fields


def _out(book, t, case):
    try:
        out = reference.eval_table(book, t, case)[0]
    except EvaluationError:
        return "error"
    if t.hit_policy is HitPolicy.COLLECT and t.aggregator is None:  # a set, as DMN leaves order open
        return {k: sorted(map(repr, v)) for k, v in out.items()}
    return out


@SETTINGS
@given(table_pairs())
def test_table_diff_finds_a_region_exactly_when_a_case_changes(p):
    book, old, new, fields = p
    regions = table_diff(old, new, book, book, limit=50)
    assert regions is not None
    for r in regions:
        assert _out(book, old, r.witness) != _out(book, new, r.witness), r
    pools = [SAMPLES[f] + [None] for f in fields]
    changed = []
    for combo in itertools.product(*pools):
        case = {f: v for f, v in zip(fields, combo) if v is not None}
        if _out(book, old, case) != _out(book, new, case):
            changed.append(case)
    assert bool(regions) == bool(changed)
