"""Name resolution and typing of parsed cells.

After this stage the IR keeps one invariant: every ``Name`` is a Glossary field,
and every ``Literal`` holds a value of the type of the place it stands in (a quoted
``"6.7.0"`` in a version column has become a ``Version``).  A bare word that is one
of the column's allowed text values becomes a text literal.
"""
from __future__ import annotations

import re
from typing import Mapping, Optional, get_args

from decide.model.errors import did_you_mean
from decide.model.functions import FUNCTIONS
from decide.model.ir import (
    CompareTest, Field, Literal, Name, NotTests, OrTests, RangeTest, Type, UnaryTest,
)
from decide.model.types import TYPES, ValueProblem
from decide.model.values import describe_allowed, in_allowed, show, type_of
from decide.model.walk import Visitor, children, iter_nodes, map_children, transform


class ResolveError(ValueError):
    pass


_CJK_NUM = re.compile(r"[〇一二三四五六七八九十百千万億]")


def unknown_name(word: str, fields: Mapping[str, Field], extra=()) -> ResolveError:
    if _CJK_NUM.search(word):
        return ResolveError(f'"{word}" is not a value: write numbers with half-width digits, e.g. 3000')
    extra = [str(x) for x in extra]
    same_case = [x for x in extra if x.lower() == word.lower()]
    hint = f' (did you mean "{same_case[0]}"?)' if same_case else did_you_mean(word, list(fields) + extra)
    if extra:
        shown = ", ".join(f'"{x}"' for x in extra[:12]) + (", …" if len(extra) > 12 else "")
        return ResolveError(
            f'unknown name "{word}"{hint}: a bare word must be a Glossary field or one of the '
            f"column's allowed values ({shown}); a text is written in double quotes")
    return ResolveError(
        f'unknown name "{word}"{hint}: a bare word must be a Glossary field; '
        f'a text is written in double quotes, e.g. "{word}"')


# --------------------------------------------------------------------------- literals
def coerce_literal(value, type_: Type, what: str = "the column"):
    """A parsed literal → a value of ``type_`` (a text list column's literals are its
    texts), or ResolveError saying how to fix it."""
    if value is None:
        return None
    try:
        return TYPES[type_.item].parse_cell(value, what)
    except ValueProblem as e:
        raise ResolveError(str(e)) from None


# --------------------------------------------------------------------------- expressions
def resolve_expr(e, fields: Mapping[str, Field], words: Mapping[str, object] | None = None):
    """Check names; a bare word in ``words`` (allowed values) becomes a Literal."""

    def name(n):
        if n.__class__ is not Name or n.name in fields:
            return n
        if words and n.name in words:
            return Literal(words[n.name])
        raise unknown_name(n.name, fields, words or ())

    return transform(e, name)


class _Typer(Visitor):
    """The type of a resolved expression (None for null); ResolveError on a type error."""

    def __init__(self, fields: Mapping[str, Field]):
        self.fields = fields

    def Literal(self, e):
        return type_of(e.value)

    def Name(self, e):
        return self.fields[e.name].type

    def Neg(self, e):
        t = self.visit(e.operand)
        if t not in (None, Type.NUMBER, Type.INTEGER):
            raise ResolveError(f"cannot negate a {t.value}")
        return t

    def Arith(self, e):
        lt, rt = self.visit(e.left), self.visit(e.right)
        if e.op == "+" and lt is Type.TEXT and rt in (Type.TEXT, None):
            return Type.TEXT
        for t in (lt, rt):
            if t not in (None, Type.NUMBER, Type.INTEGER):
                raise ResolveError(f'"{e.op}" needs numbers, not a {t.value}')
        if e.op in ("+", "-", "*") and lt is Type.INTEGER and rt is Type.INTEGER:
            return Type.INTEGER
        return Type.NUMBER

    def Compare(self, e):
        lt, rt = self.visit(e.left), self.visit(e.right)
        if lt and rt and not comparable(lt, rt, e.op):
            raise ResolveError(f"cannot compare a {lt.value} with a {rt.value} using {e.op}")
        return Type.BOOLEAN

    def InTests(self, e):
        self.visit(e.value)
        return Type.BOOLEAN

    def ListExpr(self, e):
        for x in e.items:
            self.visit(x)
        return Type.TEXT_LIST

    def Call(self, e):
        f = FUNCTIONS[e.func]
        types = [self.visit(a) for a in e.args]
        problem = f.problem(types)
        if problem:
            raise ResolveError(problem)
        return f.result_type(types)

    def Between(self, e):
        """Between, And, Or, Not: a condition over typed parts."""
        for sub in children(e):
            self.visit(sub)
        return Type.BOOLEAN

    And = Or = Not = Between


def infer_type(e, fields: Mapping[str, Field]) -> Optional[Type]:
    """The type of a resolved expression, None for the null literal; ResolveError on a
    type error (text minus number, …)."""
    return _Typer(fields).visit(e)


def comparable(a: Type, b: Type, op: str = "<") -> bool:
    if a.is_numeric and b.is_numeric:
        return True
    if a is Type.TEXT_LIST or b is Type.TEXT_LIST:
        return op in ("=", "!=") and a is b
    if a is not b:
        return False
    return op in ("=", "!=") or a.is_ordered


# --------------------------------------------------------------------------- unary tests
def resolve_test(test, col_type: Type, allowed, fields: Mapping[str, Field], what: str):
    """Resolve and type a unary test for a column of ``col_type`` with ``allowed`` values."""
    words = {}
    if isinstance(allowed, tuple) and col_type.item is Type.TEXT:
        words = {v: v for v in allowed if isinstance(v, str) and re.fullmatch(r"[^\W\d]\w*", v)}
    return _TestResolver(col_type, allowed, fields, what, words).visit(test)


class _TestResolver(Visitor):
    """Names resolved, literals coerced to the column's type, operands type-checked."""

    def __init__(self, col_type, allowed, fields, what, words):
        self.col_type, self.allowed, self.fields, self.what, self.words = \
            col_type, allowed, fields, what, words

    def endpoint(self, e, op):
        col_type, allowed, what = self.col_type, self.allowed, self.what
        e = resolve_expr(e, self.fields, self.words)
        if isinstance(e, Literal):
            if e.value is None:
                raise ResolveError("null is tested with the cell null alone, not in a comparison")
            v = coerce_literal(e.value, col_type, what)
            if op == "=" and isinstance(allowed, tuple) and not in_allowed(v, allowed):
                raise ResolveError(f"{show(v)} is not an allowed value of {what}; allowed: "
                                   f"{describe_allowed(allowed)}")
            if col_type is Type.TEXT_LIST and op != "=":
                raise ResolveError(f"{what} is a text list: test it with texts it must contain, "
                                   'e.g. "few_uses"')
            if col_type is Type.BOOLEAN and op not in ("=", None):
                raise ResolveError(f"{what} is boolean: write true or false, not {op}")
            return Literal(v)
        t = infer_type(e, self.fields)
        if t is not None and not comparable(col_type.item, t, op or "="):
            raise ResolveError(f"{what} is {col_type.value} but the test's value is "
                               f"{t.value}")
        return e

    def AnyTest(self, t):
        return t

    def NullTest(self, t):
        return t

    def CompareTest(self, t):
        return CompareTest(t.op, self.endpoint(t.value, t.op))

    def RangeTest(self, t):
        col_type, what = self.col_type, self.what
        if col_type in (Type.BOOLEAN, Type.TEXT_LIST):
            raise ResolveError(f"{what} is {col_type.value}: an interval cannot test it")
        lo, hi = self.endpoint(t.low, "<"), self.endpoint(t.high, "<")
        if isinstance(lo, Literal) and isinstance(hi, Literal):
            if lo.value > hi.value or (lo.value == hi.value and not (t.low_closed and t.high_closed)):
                raise ResolveError(
                    f"the interval is empty (its lower end {show(lo.value)} is not below its "
                    f"upper end {show(hi.value)}): write it as [low..high]")
        return RangeTest(lo, hi, t.low_closed, t.high_closed)

    def OrTests(self, t):
        return OrTests(tuple(self.visit(x) for x in t.tests))

    def NotTests(self, t):
        return NotTests(tuple(self.visit(x) for x in t.tests))

    def __default__(self, t):
        """A test this resolver has no rule for: the tests inside it are resolved as
        tests, its values as values of the column's type (a literal is coerced to it,
        any other value must compare with it)."""
        return map_children(t, lambda n: self.visit(n) if n.__class__ in _TESTS
                            else self.endpoint(n, None))


_TESTS = frozenset(get_args(UnaryTest))


def referenced_fields(node) -> set[str]:
    """Every field name a resolved expression or test mentions."""
    out: set[str] = set()
    if node is not None:
        for n in iter_nodes(node):
            if n.__class__ is Name:
                out.add(n.name)
    return out


class _Boundaries(Visitor):
    """The literals a unary test compares its value with."""

    def CompareTest(self, t, out):
        if isinstance(t.value, Literal):
            out.add(t.value.value)

    def RangeTest(self, t, out):
        for e in (t.low, t.high):
            if isinstance(e, Literal):
                out.add(e.value)

    def OrTests(self, t, out):
        for s in t.tests:
            self.visit(s, out)

    NotTests = OrTests

    def __default__(self, t, out):
        pass


def literal_values(test) -> set:
    """Every literal a unary test compares with: the boundary values written in a cell."""
    out: set = set()
    _Boundaries().visit(test, out)
    return out
