"""Constants in tests: the value of an expression without fields, which tests are
constant, the boundary values a test writes, and a test's three-valued result on a value."""
from __future__ import annotations

from typing import Any, Optional

from decide.runtime import reference as _ref
from decide.model.ir import AnyTest, Arith, CompareTest, Literal, Name, Neg, NotTests, NullTest, OrTests, RangeTest


_UNKNOWN = object()  # "this expression is not a constant"


def const_value(e) -> Any:
    """The value of an expression without fields, or _UNKNOWN."""
    if isinstance(e, Literal):
        return e.value
    if isinstance(e, Name):
        return _UNKNOWN
    if isinstance(e, Neg):
        v = const_value(e.operand)
        if v is _UNKNOWN:
            return _UNKNOWN
        return None if v is None else -v
    if isinstance(e, Arith):
        a, b = const_value(e.left), const_value(e.right)
        if a is _UNKNOWN or b is _UNKNOWN:
            return _UNKNOWN
        return _ref.arith(e.op, a, b)
    return _UNKNOWN


def test_is_const(t) -> bool:
    if isinstance(t, (AnyTest, NullTest)):
        return True
    if isinstance(t, CompareTest):
        return const_value(t.value) is not _UNKNOWN
    if isinstance(t, RangeTest):
        return const_value(t.low) is not _UNKNOWN and const_value(t.high) is not _UNKNOWN
    if isinstance(t, (OrTests, NotTests)):
        return all(test_is_const(x) for x in t.tests)
    return False


def test_consts(t, out: list, ordered: list):
    """Collect the constant values of a test; ``ordered`` is set when an order test exists."""
    if isinstance(t, CompareTest):
        v = const_value(t.value)
        if v is not _UNKNOWN and v is not None:
            out.append(v)
            if t.op != "=":
                ordered.append(True)
    elif isinstance(t, RangeTest):
        ordered.append(True)
        for e in (t.low, t.high):
            v = const_value(e)
            if v is not _UNKNOWN and v is not None:
                out.append(v)
    elif isinstance(t, (OrTests, NotTests)):
        for x in t.tests:
            test_consts(x, out, ordered)


def status(t, v) -> Optional[bool] | str:
    """Three-valued result of a test on value ``v`` (FEEL), or "?" when it depends on
    another field.  Delegates to the reference interpreter for the semantics."""
    if isinstance(t, (OrTests, NotTests)):
        parts = [status(x, v) for x in t.tests]
        if any(p is True for p in parts):
            r = True
        elif any(p == "?" for p in parts):
            r = "?"
        elif any(p is None for p in parts):
            r = None
        else:
            r = False
        if isinstance(t, NotTests):
            return r if r in ("?", None) else (not r)
        return r
    if not test_is_const(t):
        return "?"
    return _ref.unary(t, v, {})
