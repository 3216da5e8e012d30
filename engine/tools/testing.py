"""Run the Tests sheets of a loaded rulebook.

A case passes when every EXPECT cell it fills equals the decision's output.  A
``text list`` output is compared as a set when the table that produces it is
COLLECT (whose order DMN leaves open) and as a sequence under RULE ORDER and
OUTPUT ORDER (and for single-hit tables)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from decide.model.errors import CaseError, EvaluationError
from decide.model.ir import Loc, TestCase, TestSuite
from decide.model.values import show


@dataclass(frozen=True)
class Mismatch:
    field: str
    expected: Any
    actual: Any
    cell: Loc


@dataclass(frozen=True)
class CaseOutcome:
    suite: TestSuite
    case: TestCase
    mismatches: tuple[Mismatch, ...] = ()
    error: Optional[str] = None
    outputs: dict = field(default_factory=dict)
    fired: tuple = ()

    @property
    def passed(self) -> bool:
        return not self.mismatches and self.error is None

    def describe(self) -> str:
        head = f"{self.case.loc.workbook} › {self.case.loc.sheet} › row {self.case.loc.cell[1:]} " \
               f"(case {self.case.id}, {self.suite.target})"
        if self.error:
            return f"{head}: {self.error}"
        lines = [f"{head}:"]
        for m in self.mismatches:
            lines.append(f"  {m.field} [{m.cell.cell}]: expected {show_value(m.expected)}, "
                         f"got {show_value(m.actual)}")
        return "\n".join(lines)


def show_value(v) -> str:
    if isinstance(v, list):
        v = tuple(v)
    if isinstance(v, tuple) and not v:
        return "[]"
    return show(v)


def _as_set_fields(book) -> set[str]:
    out = set()
    for t in book.tables.values():
        if t.hit_policy.unordered and t.aggregator is None:  # COLLECT: DMN leaves the order open
            out.update(t.output_fields)
    return out


def equal(expected, actual, as_set: bool) -> bool:
    if isinstance(expected, tuple) or isinstance(actual, (list, tuple)):
        exp = list(expected) if isinstance(expected, (tuple, list)) else ([] if expected is None else [expected])
        act = list(actual) if isinstance(actual, (tuple, list)) else ([] if actual is None else [actual])
        return set(exp) == set(act) if as_set else exp == act
    return expected == actual


def run_case(rulebook, suite: TestSuite, case: TestCase, as_set: set[str]) -> CaseOutcome:
    try:
        result = rulebook.decide(suite.target, dict(case.inputs))
    except (CaseError, EvaluationError) as e:
        return CaseOutcome(suite, case, error=str(e))
    mismatches = []
    for f, exp in case.expected.items():
        act = result.outputs.get(f)
        if not equal(exp, act, f in as_set):
            mismatches.append(Mismatch(f, exp, act, case.cells[f]))
    return CaseOutcome(suite, case, tuple(mismatches), outputs=result.outputs, fired=result.fired)


def run_tests(rulebook) -> list[CaseOutcome]:
    """Every case of every Tests sheet, in workbook order."""
    as_set = _as_set_fields(rulebook.ir)
    return [run_case(rulebook, s, c, as_set) for s in rulebook.ir.tests for c in s.cases]
