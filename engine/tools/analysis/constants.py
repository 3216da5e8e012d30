"""Constants in tests: the value of an expression without fields, which tests are
constant, the boundary values a test writes, and a test's three-valued result on a value.

A test or expression of a kind these passes have no rule for (a new cell operator, a
function call) is not constant: the analysis treats it as opaque ("?"), never exact."""
from __future__ import annotations

from typing import Any, Optional

from decide.runtime import reference as _ref
from decide.model.walk import Visitor


UNKNOWN = object()  # "this expression is not a constant"


class _Const(Visitor):
    """The value of an expression without fields, or UNKNOWN."""

    def Literal(self, e):
        return e.value

    def Neg(self, e):
        v = self.visit(e.operand)
        if v is UNKNOWN:
            return UNKNOWN
        return None if v is None else -v

    def Arith(self, e):
        a, b = self.visit(e.left), self.visit(e.right)
        if a is UNKNOWN or b is UNKNOWN:
            return UNKNOWN
        return _ref.arith(e.op, a, b)

    def __default__(self, e):
        return UNKNOWN


const_value = _Const().visit


class _IsConst(Visitor):
    """Does a test give the same answer whatever the other fields hold?"""

    def AnyTest(self, t):
        return True

    NullTest = AnyTest

    def CompareTest(self, t):
        return const_value(t.value) is not UNKNOWN

    def RangeTest(self, t):
        return const_value(t.low) is not UNKNOWN and const_value(t.high) is not UNKNOWN

    def OrTests(self, t):
        return all(self.visit(x) for x in t.tests)

    NotTests = OrTests

    def __default__(self, t):
        return False


test_is_const = _IsConst().visit


class _Consts(Visitor):
    """Collect the constant values of a test; ``ordered`` is set when an order test exists."""

    def CompareTest(self, t, out: list, ordered: list):
        v = const_value(t.value)
        if v is not UNKNOWN and v is not None:
            out.append(v)
            if t.op != "=":
                ordered.append(True)

    def RangeTest(self, t, out: list, ordered: list):
        ordered.append(True)
        for e in (t.low, t.high):
            v = const_value(e)
            if v is not UNKNOWN and v is not None:
                out.append(v)

    def OrTests(self, t, out: list, ordered: list):
        for x in t.tests:
            self.visit(x, out, ordered)

    NotTests = OrTests

    def __default__(self, t, out: list, ordered: list):
        pass


test_consts = _Consts().visit


class _Status(Visitor):
    """Three-valued result of a test on value ``v`` (FEEL), or "?" when it depends on
    another field.  Delegates to the reference interpreter for the semantics."""

    def OrTests(self, t, v) -> Optional[bool] | str:
        parts = [self.visit(x, v) for x in t.tests]
        if any(p is True for p in parts):
            return True
        if any(p == "?" for p in parts):
            return "?"
        if any(p is None for p in parts):
            return None
        return False

    def NotTests(self, t, v) -> Optional[bool] | str:
        r = self.OrTests(t, v)
        return r if r in ("?", None) else (not r)

    def __default__(self, t, v) -> Any:
        if not test_is_const(t):
            return "?"
        return _ref.unary(t, v, {})


status = _Status().visit
