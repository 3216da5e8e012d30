"""The reference interpreter: the semantics, written to be obviously correct, not fast.

Used by the tests as the oracle that the compiled runtimes must agree with, and by
tools that need to evaluate single expressions (invariants, why-not traces).

``evaluate(book, name, facts)`` takes validated, typed input facts (see
``facts.normalise``), runs the decision's ``derive`` hook, then every table of the
plan in dependency order, and returns ``(outputs, fired)``: outputs maps the plan's
output fields to values (multi-hit columns as lists), fired lists
``(table name, rule index)`` in evaluation order.

Functions come from the table in ``decide.model.functions`` (with FEEL's nulls).
Null follows FEEL: an equality test on null is false (so ``not("JP")`` matches
null); an ordering or interval test on null is null, which does not match, and
``not(...)`` of null is null.  ``-`` and ``null`` match null.
"""
from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Context, Decimal, DivisionByZero, InvalidOperation, Overflow
from typing import Any, Mapping

from decide.model.values import conforms, in_allowed
from decide.model.hitpolicy import priority_key, violation  # noqa: F401 (the runtimes use them from here)
from decide.model.functions import FUNCTIONS
from decide.model.ir import Book, Table, Type
from decide.model.walk import Visitor


# --------------------------------------------------------------------------- expressions
def _num(x):
    return x if isinstance(x, (int, Decimal)) and not isinstance(x, bool) else None


# FEEL numbers are decimal128: 34 significant digits; a result beyond its range is null.
FEEL_CONTEXT = Context(prec=34, Emax=6144, Emin=-6143, rounding=ROUND_HALF_EVEN,
                       traps=[InvalidOperation, Overflow, DivisionByZero])
_BIG = 10 ** 34


def feel_number(r):
    """An arithmetic result as a FEEL number: exact integers below 10**34 stay int,
    anything else is rounded to 34 digits; out of range is null."""
    if isinstance(r, int):
        if -_BIG < r < _BIG:
            return r
        if r.bit_length() > 20420:  # beyond decimal128's exponent range
            return None
    try:
        return FEEL_CONTEXT.plus(Decimal(r)) if isinstance(r, Decimal) else FEEL_CONTEXT.create_decimal(r)
    except (ArithmeticError, ValueError):
        return None


def arith(op: str, a, b):
    if a is None or b is None:
        return None
    if op == "+" and isinstance(a, str) and isinstance(b, str):
        return a + b
    a, b = _num(a), _num(b)
    if a is None or b is None:
        return None
    try:
        if op == "+":
            return feel_number(a + b)
        if op == "-":
            return feel_number(a - b)
        if op == "*":
            return feel_number(a * b)
        if op == "/":
            return None if b == 0 else FEEL_CONTEXT.divide(Decimal(a), Decimal(b))
        if op == "**":
            r = FEEL_CONTEXT.power(Decimal(a), Decimal(b))
            if isinstance(a, int) and isinstance(b, int) and b >= 0 and r == r.to_integral_value() \
                    and abs(r) < _BIG:
                return int(r)
            return r
    except (ArithmeticError, ValueError):
        return None
    raise AssertionError(op)


def compare(op: str, a, b):
    if op == "=":
        return a == b if (a is None) == (b is None) else False
    if op == "!=":
        return a != b if (a is None) == (b is None) else True
    if a is None or b is None:
        return None
    try:
        if op == "<":
            return a < b
        if op == "<=":
            return a <= b
        if op == ">":
            return a > b
        if op == ">=":
            return a >= b
    except TypeError:
        return None
    raise AssertionError(op)


def and3(values):
    values = list(values)
    if any(v is False for v in values):
        return False
    if any(v is None for v in values):
        return None
    return True


def or3(values):
    values = list(values)
    if any(v is True for v in values):
        return True
    if any(v is None for v in values):
        return None
    return False


def not3(v):
    return None if v is None else (not v)


class _Evaluator(Visitor):
    """An expression's value over ``env`` (field → typed value)."""

    def Literal(self, e, env):
        return e.value

    def Name(self, e, env):
        return env.get(e.name)

    def Neg(self, e, env):
        v = _num(self.visit(e.operand, env))
        return None if v is None else -v

    def Arith(self, e, env):
        return arith(e.op, self.visit(e.left, env), self.visit(e.right, env))

    def Compare(self, e, env):
        return compare(e.op, self.visit(e.left, env), self.visit(e.right, env))

    def Between(self, e, env):
        v = self.visit(e.value, env)
        return and3([compare(">=", v, self.visit(e.low, env)), compare("<=", v, self.visit(e.high, env))])

    def InTests(self, e, env):
        return unary(e.tests, self.visit(e.value, env), env)

    def And(self, e, env):
        return and3(self.visit(x, env) for x in e.items)

    def Or(self, e, env):
        return or3(self.visit(x, env) for x in e.items)

    def Not(self, e, env):
        v = self.visit(e.operand, env)
        return None if not isinstance(v, bool) else not v

    def ListExpr(self, e, env):
        return tuple(self.visit(x, env) for x in e.items)

    def Call(self, e, env):
        return FUNCTIONS[e.func](*[self.visit(a, env) for a in e.args])


eval_expr = _Evaluator().visit  # eval_expr(e, env)


def call(func: str, args: list):
    """A function of the table (``decide.model.functions``) applied, FEEL nulls included."""
    return FUNCTIONS[func](*args)


# --------------------------------------------------------------------------- unary tests
class _Tester(Visitor):
    """Does input value ``x`` satisfy a test?  True, False, or None (null)."""

    def AnyTest(self, t, x, env):
        return True

    def NullTest(self, t, x, env):
        return x is None

    def CompareTest(self, t, x, env):
        v = eval_expr(t.value, env)
        if t.op == "=":
            if x is None or v is None:
                return False
            if isinstance(x, tuple) and not isinstance(v, tuple):
                return v in x  # a text-list input: the test names an element it must contain
            return x == v
        return compare(t.op, x, v)

    def RangeTest(self, t, x, env):
        lo, hi = eval_expr(t.low, env), eval_expr(t.high, env)
        return and3([compare(">=" if t.low_closed else ">", x, lo),
                     compare("<=" if t.high_closed else "<", x, hi)])

    def OrTests(self, t, x, env):
        return or3(self.visit(s, x, env) for s in t.tests)

    def NotTests(self, t, x, env):
        return not3(or3(self.visit(s, x, env) for s in t.tests))


unary = _Tester().visit  # unary(t, x, env) -> bool | None


# --------------------------------------------------------------------------- tables
def matching_rules(t: Table, env) -> list[int]:
    xs = [eval_expr(col.expr, env) for col in t.inputs]
    return [r.index for r in t.rules
            if all(unary(e.test, xs[i], env) is True for i, e in enumerate(r.inputs))]


def rule_outputs(t: Table, index: int, env) -> tuple:
    return tuple(output_value(col, eval_expr(o.expr, env))
                 for col, o in zip(t.outputs, t.rules[index].outputs))


def cast_output(type_: Type, v):
    """An integer field's integral Decimal result is an int."""
    if type_ is Type.INTEGER and isinstance(v, Decimal) and v == v.to_integral_value():
        return int(v)
    return v


def output_value(col, v):
    """A computed output as its field declares it: DMN makes a result that does not
    conform to the output's type or allowed values null."""
    v = cast_output(col.type, v)
    if v is None:
        return None
    if isinstance(v, list):
        v = tuple(v)
    if not (conforms(v, col.type) or conforms(v, col.type.item)):  # a text list collects texts
        return None
    if col.allowed is not None and not in_allowed(v, col.allowed):
        return None
    return v


def output_checker(col):
    """``output_value(col, ·)`` as one function, with a fast path for texts."""
    allowed = col.allowed
    if col.type.item is Type.TEXT and (allowed is None or isinstance(allowed, tuple)):
        texts = frozenset(allowed) if allowed is not None else None

        def check(v):
            if v.__class__ is str:
                return v if texts is None or v in texts else None
            return output_value(col, v)
        return check
    return lambda v: output_value(col, v)


def eval_table(book: Book, t: Table, env) -> tuple[dict, list[int]]:
    return table_result(book, t, matching_rules(t, env), env)


def table_result(book: Book, t: Table, matched: list[int], env, outputs_of=None) -> tuple[dict, list[int]]:
    """The hit policy: a table's outputs and fired rules from its matching rules (in
    rule order), as the policy object decides (``hitpolicy.py``).  ``outputs_of(i)``
    gives rule i's output tuple (a backend may pass a faster one); the durable backend
    calls this too, so the policy is written once."""
    if outputs_of is None:
        def outputs_of(i):
            return rule_outputs(t, i, env)
    return t.hit_policy.finalize(book, t, matched, outputs_of)


def run_tables(book: Book, plan, env: dict) -> tuple[dict, list[tuple[str, int]]]:
    """Every table of the plan, in order, over ``env`` (typed and derived facts)."""
    fired = []
    for tname in plan.tables:
        outs, idx = eval_table(book, book.tables[tname], env)
        env.update({k: tuple(v) if isinstance(v, list) else v for k, v in outs.items()})
        fired.extend((tname, i) for i in idx)
    return env, fired


def evaluate_env(book: Book, name: str, env: Mapping[str, Any]) -> dict:
    """All facts after the decision's tables ran (inputs, derived and every output)."""
    return run_tables(book, book.decisions[name], dict(env))[0]


def evaluate(book: Book, name: str, facts: Mapping[str, Any]) -> tuple[dict, list[tuple[str, int]]]:
    from decide.runtime.facts import apply_derive
    plan = book.decisions[name]
    env, fired = run_tables(book, plan, apply_derive(book, plan, dict(facts)))
    return {f: list(env[f]) if isinstance(env.get(f), tuple) else env.get(f)
            for f in plan.outputs}, fired
