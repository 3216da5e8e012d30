"""The reference interpreter: the semantics, written to be obviously correct, not fast.

Used by the tests as the oracle that the compiled runtimes must agree with, and by
tools that need to evaluate single expressions (invariants, why-not traces).

``evaluate(book, name, facts)`` takes validated, typed input facts (see
``facts.normalise``), runs the decision's ``derive`` hook, then every table of the
plan in dependency order, and returns ``(outputs, fired)``: outputs maps the plan's
output fields to values (multi-hit columns as lists), fired lists
``(table name, rule index)`` in evaluation order.

Null follows FEEL: an equality test on null is false (so ``not("JP")`` matches
null); an ordering or interval test on null is null, which does not match, and
``not(...)`` of null is null.  ``-`` and ``null`` match null.
"""
from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Context, Decimal, DivisionByZero, InvalidOperation, Overflow
from typing import Any, Mapping

from decide.model.values import conforms, in_allowed
from decide.model.hitpolicy import priority_key, violation  # noqa: F401 (the runtimes use them from here)
from decide.model.ir import (
    And, AnyTest, Arith, Between, Book, Call, Compare, CompareTest, InTests, ListExpr, Literal, Name,
    Neg, Not, NotTests, NullTest, Or, OrTests, RangeTest, Table, Type,
)


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


def eval_expr(e, env: Mapping[str, Any]):
    if isinstance(e, Literal):
        return e.value
    if isinstance(e, Name):
        return env.get(e.name)
    if isinstance(e, Neg):
        v = _num(eval_expr(e.operand, env))
        return None if v is None else -v
    if isinstance(e, Arith):
        return arith(e.op, eval_expr(e.left, env), eval_expr(e.right, env))
    if isinstance(e, Compare):
        return compare(e.op, eval_expr(e.left, env), eval_expr(e.right, env))
    if isinstance(e, Between):
        v = eval_expr(e.value, env)
        return and3([compare(">=", v, eval_expr(e.low, env)), compare("<=", v, eval_expr(e.high, env))])
    if isinstance(e, InTests):
        return unary(e.tests, eval_expr(e.value, env), env)
    if isinstance(e, And):
        return and3(eval_expr(x, env) for x in e.items)
    if isinstance(e, Or):
        return or3(eval_expr(x, env) for x in e.items)
    if isinstance(e, Not):
        v = eval_expr(e.operand, env)
        return None if not isinstance(v, bool) else not v
    if isinstance(e, ListExpr):
        return tuple(eval_expr(x, env) for x in e.items)
    if isinstance(e, Call):
        return call(e.func, [eval_expr(a, env) for a in e.args])
    raise AssertionError(e)


def call(func: str, args: list):
    if func == "is defined":
        return args[0] is not None
    if any(a is None for a in args) and func not in ("min", "max", "sum"):
        return None
    if func == "list contains":
        return args[1] in args[0]
    if func == "count":
        return len(args[0])
    if func == "contains":
        return args[1] in args[0]
    if func == "starts with":
        return args[0].startswith(args[1])
    if func == "ends with":
        return args[0].endswith(args[1])
    if func == "string length":
        return len(args[0])
    if func == "upper case":
        return args[0].upper()
    if func == "lower case":
        return args[0].lower()
    if func == "abs":
        return abs(args[0])
    if func in ("floor", "ceiling"):
        d = Decimal(args[0])
        return int(d.to_integral_value(rounding="ROUND_FLOOR" if func == "floor" else "ROUND_CEILING"))
    if func in ("min", "max", "sum"):
        items = list(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list)) else args
        if any(x is None for x in items) or not items:
            return None if func != "sum" or any(x is None for x in items) else 0
        return {"min": min, "max": max, "sum": sum}[func](items)
    if func == "date":
        return None
    raise AssertionError(func)


# --------------------------------------------------------------------------- unary tests
def unary(t, x, env) -> bool | None:
    """Does input value ``x`` satisfy test ``t``?  True, False, or None (null)."""
    if isinstance(t, AnyTest):
        return True
    if isinstance(t, NullTest):
        return x is None
    if isinstance(t, CompareTest):
        v = eval_expr(t.value, env)
        if t.op == "=":
            if x is None or v is None:
                return False
            if isinstance(x, tuple) and not isinstance(v, tuple):
                return v in x  # a text-list input: the test names an element it must contain
            return x == v
        return compare(t.op, x, v)
    if isinstance(t, RangeTest):
        lo, hi = eval_expr(t.low, env), eval_expr(t.high, env)
        return and3([compare(">=" if t.low_closed else ">", x, lo),
                     compare("<=" if t.high_closed else "<", x, hi)])
    if isinstance(t, OrTests):
        return or3(unary(s, x, env) for s in t.tests)
    if isinstance(t, NotTests):
        return not3(or3(unary(s, x, env) for s in t.tests))
    raise AssertionError(t)


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
