"""``decide verify``: search for counterexamples to the Invariants sheets with hypothesis.

Cases are generated from the Glossary: each input field of the decision is absent
(null) or a value of its type within its allowed values, drawn with a bias toward the
boundary values written in the tables' cells and the invariants (and their
neighbours: 2999, 3000, 3001), toward the values used in the Tests sheets, and toward
other fields' boundaries (so that ``amount_yen > available_limit_yen`` meets its
edge).  Hypothesis shrinks a failing case to a small one (fields absent where they
do not matter, small values), which is what is reported, with the rules that fired.

Use from a test suite::

    import decide
    from decide.tools.verify import assert_invariants
    def test_invariants():
        assert_invariants(decide.load("tables/"))
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Optional, Union

from hypothesis import HealthCheck, Phase, assume, given, seed as _seed, settings, strategies as st
from hypothesis.errors import Unsatisfiable

from decide.tools.analysis import const_value, test_consts, UNKNOWN
from decide.model.errors import CaseError, EvaluationError
from decide.model.ir import Book, Compare, Field, Invariant, InvariantSuite, Name, RangeTest, Type
from decide.model.types import TYPES
from decide.model.values import in_allowed, show, to_json


@dataclass
class InvariantFailure:
    suite: InvariantSuite
    prop: Invariant
    case: dict  # field → typed value (absent fields left out)
    outputs: dict = field(default_factory=dict)
    fired: list = field(default_factory=list)  # (table, rule id, "workbook › sheet › row")
    problem: str = ""  # what went wrong: THEN was false / null, or the decision raised

    def describe(self) -> str:
        p = self.prop
        lines = [f"{p.loc}: invariant {p.id} of {self.suite.target} does not hold",
                 f"  WHEN {p.when_text or '(always)'}",
                 f"  THEN {p.then_text}",
                 f"  {self.problem}",
                 "  smallest counterexample found:"]
        if self.case:
            for k, v in self.case.items():
                lines.append(f"    {k} = {show(v)}")
        else:
            lines.append("    (every field absent)")
        if self.outputs:
            lines.append("  outputs:")
            for k, v in self.outputs.items():
                lines.append(f"    {k} = {_show_out(v)}")
        if self.fired:
            lines.append("  rules that fired:")
            for t, rid, where in self.fired:
                lines.append(f"    {t} rule {rid} ({where})")
        else:
            lines.append("  no rule fired")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"decision": self.suite.target, "property": self.prop.id,
                "where": str(self.prop.loc), "when": self.prop.when_text, "then": self.prop.then_text,
                "problem": self.problem,
                "case": {k: to_json(v) for k, v in self.case.items()},
                "outputs": {k: to_json(v) for k, v in self.outputs.items()},
                "fired": [{"table": t, "rule": r, "where": w} for t, r, w in self.fired]}


def _show_out(v) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(show(x) for x in v) + "]"
    return show(v)


# --------------------------------------------------------------------------- boundaries
def _walk_expr_consts(e, out: dict):
    """field → constants it is compared with in an invariant expression."""
    if isinstance(e, Compare):
        for a, b in ((e.left, e.right), (e.right, e.left)):
            if isinstance(a, Name):
                v = const_value(b)
                if v is not UNKNOWN and v is not None:
                    out.setdefault(a.name, []).append(v)
    for attr in ("items", "args"):
        for x in getattr(e, attr, ()) or ():
            _walk_expr_consts(x, out)
    for attr in ("operand", "left", "right", "value", "low", "high"):
        x = getattr(e, attr, None)
        if x is not None and not isinstance(x, (str, int, Decimal)):
            _walk_expr_consts(x, out)


def boundaries(book: Book) -> dict[str, list]:
    """field → the constants written against it in table cells and invariants."""
    out: dict[str, list] = {}
    for t in book.tables.values():
        for i, col in enumerate(t.inputs):
            if col.field is None:
                continue
            vals, ordered = [], []
            for r in t.rules:
                test_consts(r.inputs[i].test, vals, ordered)
            out.setdefault(col.field, []).extend(vals)
    for s in book.invariants:
        for p in s.properties:
            for e in (p.when, p.then):
                if e is not None:
                    _walk_expr_consts(e, out)
    return out


def test_values(book: Book) -> dict[str, list]:
    out: dict[str, list] = {}
    for s in book.tests:
        for c in s.cases:
            for k, v in c.inputs.items():
                out.setdefault(k, []).append(v)
    return out


def neighbours(type_: Type, v) -> list:
    try:
        return TYPES[type_].neighbours(v)
    except (ValueError, ArithmeticError, OverflowError):
        return [v]


def fits(f: Field, v) -> bool:
    from decide.model.values import conforms
    if v is None or not conforms(v, f.type):
        return False
    try:
        return in_allowed(v, f.allowed)
    except TypeError:
        return False


def field_strategy(f: Field, bounds: list, examples: list, shared: list) -> st.SearchStrategy:
    """Values of one field: null first (so shrinking removes fields), then boundary
    values, examples from the Tests sheets, then anything the type allows."""
    t = f.type
    allowed = f.allowed
    own = _specials(f, bounds)
    special = list(own)
    for v in _specials(f, shared) + [v for v in examples if fits(f, v)]:
        if v not in special:
            special.append(v)
    if isinstance(allowed, tuple):
        if t is Type.TEXT_LIST:
            items = [x for v in allowed for x in (v if isinstance(v, tuple) else (v,))]
            base = st.lists(st.sampled_from(items), unique=True, max_size=4).map(tuple)
        else:
            base = st.sampled_from(list(allowed))
    elif t is Type.TEXT_LIST and any(special):  # the texts seen in cells and Tests sheets
        pool = [x for v in special for x in (v if isinstance(v, tuple) else (v,))]
        base = st.lists(st.sampled_from(pool), max_size=3).map(tuple)
    else:  # anything the type allows (within a range of allowed values)
        base = TYPES[t].strategy(allowed if isinstance(allowed, RangeTest) else None)
    if isinstance(allowed, RangeTest) or t in (Type.TEXT, Type.NUMBER):
        base = base.filter(lambda v: fits(f, v))
    parts = [st.none()]
    if own:
        parts.append(st.sampled_from(own))
    if special != own:
        parts.append(st.sampled_from(special))
    parts.append(base)
    return st.one_of(*parts)


def _specials(f: Field, values) -> list:
    """The values and their neighbours (2999, 3000, 3001) that fit the field."""
    t = f.type
    out = []
    for v in values:
        for n in neighbours(t, v):
            if t is Type.INTEGER and isinstance(n, Decimal) and n == int(n):
                n = int(n)
            if fits(f, n) and n not in out:
                out.append(n)
    return out


def case_strategy(book: Book, decision: str, focus: tuple = ()) -> st.SearchStrategy:
    """Cases of a decision: fresh draws of every field, and the Tests sheets' cases with
    a few fields redrawn (preferably the ``focus`` fields, those a property's WHEN
    tests)."""
    plan = book.decisions[decision]
    bounds = boundaries(book)
    examples = test_values(book)
    by_type: dict[Type, list] = {}
    for name in plan.inputs:
        f = book.fields[name]
        by_type.setdefault(f.type, []).extend(bounds.get(name, []))
    strategies = {}
    for name in plan.inputs:
        f = book.fields[name]
        shared = by_type.get(f.type, []) if f.type in (Type.INTEGER, Type.NUMBER, Type.DATE) else []
        strategies[name] = field_strategy(f, bounds.get(name, []), examples.get(name, []), shared)
    fresh = st.fixed_dictionaries(strategies).map(lambda d: {k: v for k, v in d.items() if v is not None})
    # the Tests sheets' cases of this decision, with a few fields changed: reaches the
    # corners (every condition met but one) that independent draws rarely reach
    names = list(plan.inputs)
    bases = [dict(c.inputs) for s in book.tests if s.target == decision for c in s.cases
             if set(c.inputs) <= set(names)]
    if not bases:
        return fresh

    focus = [f for f in focus if f in strategies]
    focus_values = {}
    for name in focus:
        own = _specials(book.fields[name], bounds.get(name, []))
        focus_values[name] = st.sampled_from(own) if own else strategies[name]

    @st.composite
    def mutated(draw):
        case = dict(draw(st.sampled_from(bases)))
        chosen = draw(st.lists(st.sampled_from(names), min_size=0 if focus else 1, max_size=2, unique=True))
        if focus and draw(st.booleans()):
            for name in focus:
                case[name] = draw(focus_values[name])
            chosen = chosen[:1]
        for name in chosen:
            case[name] = draw(strategies[name])
        return {k: v for k, v in case.items() if v is not None}

    return st.one_of(fresh, mutated())


# --------------------------------------------------------------------------- running
class _Runner:
    """Evaluate a decision on typed facts: through a compiled Rulebook when given one
    (what users run), through the reference interpreter for a bare Book."""

    def __init__(self, target):
        from decide.runtime.rulebook import Rulebook
        if isinstance(target, (str, os.PathLike)):
            from decide.runtime.rulebook import load
            target = load(target)
        if isinstance(target, Rulebook):
            self.rulebook, self.book = target, target.ir
        else:
            self.rulebook, self.book = None, target

    def run(self, decision: str, case: dict):
        if self.rulebook is not None:
            res = self.rulebook.decide(decision, case)
            fired = [(f.table, f.rule, f"{f.workbook} › {f.sheet} › row {f.row}") for f in res.fired]
            return dict(res.outputs), fired
        from decide.runtime.facts import normalise
        from decide.runtime.reference import evaluate
        book = self.book
        plan = book.decisions[decision]
        outs, fired = evaluate(book, decision, normalise(book, plan, case))
        named = []
        for t, i in fired:
            r = book.tables[t].rules[i]
            named.append((t, r.id, f"{r.loc.workbook} › {r.loc.sheet} › row {r.row}"))
        return outs, named


def _holds(prop: Invariant, case: dict, outputs: dict):
    """(applies, holds, problem)"""
    from decide.runtime.reference import eval_expr
    env = dict(case)
    for k, v in outputs.items():
        env[k] = tuple(v) if isinstance(v, list) else v
    if prop.when is not None:
        w = eval_expr(prop.when, env)
        if w is not True:
            return False, True, ""
    v = eval_expr(prop.then, env)
    if v is True:
        return True, True, ""
    if v is None:
        return True, False, "THEN is null for this case (a value it compares is absent)"
    return True, False, "THEN is false for this case"


def check_property(runner: _Runner, suite: InvariantSuite, prop: Invariant, *, examples: int = 200,
                   seed: Optional[int] = 0) -> Optional[InvariantFailure]:
    from decide.compile.resolve import referenced_fields
    book = runner.book
    focus = referenced_fields(prop.when) if prop.when is not None else referenced_fields(prop.then)
    strategy = case_strategy(book, suite.target, tuple(sorted(focus)))
    failures: list[InvariantFailure] = []

    def body(case):
        try:
            outputs, fired = runner.run(suite.target, case)
        except CaseError:
            assume(False)
            return
        except EvaluationError as e:
            failures.append(InvariantFailure(suite, prop, dict(case), {}, [],
                                             f"the decision failed on this case: {e}"))
            raise AssertionError(str(e))
        applies, ok, problem = _holds(prop, case, outputs)
        if not ok:
            failures.append(InvariantFailure(suite, prop, dict(case), outputs, fired, problem))
            raise AssertionError(problem)

    test = settings(max_examples=examples, database=None, deadline=None, derandomize=seed is None and False,
                    suppress_health_check=list(HealthCheck), print_blob=False,
                    report_multiple_bugs=False,
                    phases=[Phase.explicit, Phase.generate, Phase.shrink])(given(strategy)(body))
    if seed is not None:
        test = _seed(seed)(test)
    try:
        test()
    except (AssertionError, ExceptionGroup):  # one counterexample is enough; the last one found
        return _minimize(runner, suite, prop, failures[-1]) if failures else None
    except Unsatisfiable:
        return None
    return None


def _minimize(runner: _Runner, suite: InvariantSuite, prop: Invariant,
              failure: InvariantFailure) -> InvariantFailure:
    """Remove every field the failure does not need (after hypothesis's shrinking, which
    cannot leave a Tests-sheet case it started from)."""
    best = failure
    changed = True
    while changed:
        changed = False
        for name in list(best.case):
            trial = {k: v for k, v in best.case.items() if k != name}
            try:
                outputs, fired = runner.run(suite.target, trial)
            except CaseError:
                continue
            except EvaluationError:
                continue
            applies, ok, problem = _holds(prop, trial, outputs)
            if applies and not ok:
                best = InvariantFailure(suite, prop, trial, outputs, fired, problem)
                changed = True
    return best


def check_invariants(target: Union[str, os.PathLike, Book, Any], *, examples: int = 200,
                     seed: Optional[int] = 0, decisions: Optional[list[str]] = None) -> list[InvariantFailure]:
    """Every Invariants sheet of ``target`` (a directory, a Rulebook or an ir.Book):
    the failures found, each with its smallest counterexample; [] when all hold."""
    runner = _Runner(target)
    out = []
    for suite in runner.book.invariants:
        if decisions and suite.target not in decisions:
            continue
        for prop in suite.properties:
            f = check_property(runner, suite, prop, examples=examples, seed=seed)
            if f is not None:
                out.append(f)
    return out


def assert_invariants(target, **kw) -> None:
    """For a user's test suite: raise AssertionError describing every failing invariant."""
    failures = check_invariants(target, **kw)
    if failures:
        raise AssertionError("\n\n".join(f.describe() for f in failures))
