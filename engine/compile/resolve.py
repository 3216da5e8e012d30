"""Name resolution and typing of parsed cells.

After this stage the IR keeps one invariant: every ``Name`` is a Glossary field,
and every ``Literal`` holds a value of the type of the place it stands in (a quoted
``"6.7.0"`` in a version column has become a ``Version``).  A bare word that is one
of the column's allowed text values becomes a text literal.
"""
from __future__ import annotations

import re
from typing import Mapping, Optional

from decide.model.errors import did_you_mean
from decide.model.ir import (
    And, AnyTest, Arith, Between, Call, Compare, CompareTest, Field, InTests, ListExpr,
    Literal, Name, Neg, Not, NotTests, NullTest, Or, OrTests, RangeTest, Type,
)
from decide.model.types import TYPES, ValueProblem
from decide.model.values import describe_allowed, in_allowed, show, type_of


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
    if isinstance(e, Name):
        if e.name in fields:
            return e
        if words and e.name in words:
            return Literal(words[e.name])
        raise unknown_name(e.name, fields, words or ())
    if isinstance(e, Literal):
        return e
    if isinstance(e, Neg):
        return Neg(resolve_expr(e.operand, fields, words))
    if isinstance(e, Arith):
        return Arith(e.op, resolve_expr(e.left, fields, words), resolve_expr(e.right, fields, words))
    if isinstance(e, Compare):
        return Compare(e.op, resolve_expr(e.left, fields, words), resolve_expr(e.right, fields, words))
    if isinstance(e, Between):
        return Between(*(resolve_expr(x, fields, words) for x in (e.value, e.low, e.high)))
    if isinstance(e, InTests):
        return InTests(resolve_expr(e.value, fields, words), _resolve_test_names(e.tests, fields, words))
    if isinstance(e, And):
        return And(tuple(resolve_expr(x, fields, words) for x in e.items))
    if isinstance(e, Or):
        return Or(tuple(resolve_expr(x, fields, words) for x in e.items))
    if isinstance(e, Not):
        return Not(resolve_expr(e.operand, fields, words))
    if isinstance(e, ListExpr):
        return ListExpr(tuple(resolve_expr(x, fields, words) for x in e.items))
    if isinstance(e, Call):
        return Call(e.func, tuple(resolve_expr(x, fields, words) for x in e.args))
    raise AssertionError(e)


def _resolve_test_names(t, fields, words):
    if isinstance(t, CompareTest):
        return CompareTest(t.op, resolve_expr(t.value, fields, words))
    if isinstance(t, RangeTest):
        return RangeTest(resolve_expr(t.low, fields, words), resolve_expr(t.high, fields, words),
                         t.low_closed, t.high_closed)
    if isinstance(t, OrTests):
        return OrTests(tuple(_resolve_test_names(x, fields, words) for x in t.tests))
    if isinstance(t, NotTests):
        return NotTests(tuple(_resolve_test_names(x, fields, words) for x in t.tests))
    return t


def infer_type(e, fields: Mapping[str, Field]) -> Optional[Type]:
    """The type of a resolved expression, None for the null literal; ResolveError on a
    type error (text minus number, …)."""
    if isinstance(e, Literal):
        return type_of(e.value)
    if isinstance(e, Name):
        return fields[e.name].type
    if isinstance(e, Neg):
        t = infer_type(e.operand, fields)
        if t not in (None, Type.NUMBER, Type.INTEGER):
            raise ResolveError(f"cannot negate a {t.value}")
        return t
    if isinstance(e, Arith):
        lt, rt = infer_type(e.left, fields), infer_type(e.right, fields)
        if e.op == "+" and lt is Type.TEXT and rt in (Type.TEXT, None):
            return Type.TEXT
        for t in (lt, rt):
            if t not in (None, Type.NUMBER, Type.INTEGER):
                raise ResolveError(f'"{e.op}" needs numbers, not a {t.value}')
        if e.op in ("+", "-", "*") and lt is Type.INTEGER and rt is Type.INTEGER:
            return Type.INTEGER
        return Type.NUMBER
    if isinstance(e, (Compare, Between, InTests, And, Or, Not)):
        if isinstance(e, Compare):
            lt, rt = infer_type(e.left, fields), infer_type(e.right, fields)
            if lt and rt and not comparable(lt, rt, e.op):
                raise ResolveError(f"cannot compare a {lt.value} with a {rt.value} using {e.op}")
        else:
            for sub in _children(e):
                infer_type(sub, fields)
        return Type.BOOLEAN
    if isinstance(e, ListExpr):
        for x in e.items:
            infer_type(x, fields)
        return Type.TEXT_LIST
    if isinstance(e, Call):
        types = [infer_type(a, fields) for a in e.args]
        if e.func in ("list contains", "contains", "starts with", "ends with", "is defined"):
            return Type.BOOLEAN
        if e.func in ("count", "string length"):
            return Type.INTEGER
        if e.func in ("upper case", "lower case"):
            return Type.TEXT
        if e.func == "date":
            return Type.DATE
        if e.func in ("min", "max"):
            return next((t.item for t in types if t), None)
        return Type.NUMBER
    raise AssertionError(e)


def _children(e):
    if isinstance(e, Between):
        return (e.value, e.low, e.high)
    if isinstance(e, InTests):
        return (e.value,)
    if isinstance(e, (And, Or)):
        return e.items
    if isinstance(e, Not):
        return (e.operand,)
    return ()


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

    def endpoint(e, op):
        e = resolve_expr(e, fields, words)
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
            if col_type is Type.BOOLEAN and op != "=":
                raise ResolveError(f"{what} is boolean: write true or false, not {op}")
            return Literal(v)
        t = infer_type(e, fields)
        if t is not None and not comparable(col_type.item, t, op):
            raise ResolveError(f"{what} is {col_type.value} but the test's value is "
                               f"{t.value}")
        return e

    def walk(t):
        if isinstance(t, (AnyTest, NullTest)):
            return t
        if isinstance(t, CompareTest):
            return CompareTest(t.op, endpoint(t.value, t.op))
        if isinstance(t, RangeTest):
            if col_type in (Type.BOOLEAN, Type.TEXT_LIST):
                raise ResolveError(f"{what} is {col_type.value}: an interval cannot test it")
            lo, hi = endpoint(t.low, "<"), endpoint(t.high, "<")
            if isinstance(lo, Literal) and isinstance(hi, Literal):
                if lo.value > hi.value or (lo.value == hi.value and not (t.low_closed and t.high_closed)):
                    raise ResolveError(
                        f"the interval is empty (its lower end {show(lo.value)} is not below its "
                        f"upper end {show(hi.value)}): write it as [low..high]")
            return RangeTest(lo, hi, t.low_closed, t.high_closed)
        if isinstance(t, OrTests):
            return OrTests(tuple(walk(x) for x in t.tests))
        if isinstance(t, NotTests):
            return NotTests(tuple(walk(x) for x in t.tests))
        raise AssertionError(t)

    return walk(test)


def referenced_fields(node) -> set[str]:
    """Every field name a resolved expression or test mentions."""
    out: set[str] = set()

    def walk(n):
        if isinstance(n, Name):
            out.add(n.name)
        elif isinstance(n, (Literal, AnyTest, NullTest)) or n is None:
            return
        elif isinstance(n, CompareTest):
            walk(n.value)
        elif isinstance(n, RangeTest):
            walk(n.low), walk(n.high)
        elif isinstance(n, (OrTests, NotTests)):
            for x in n.tests:
                walk(x)
        elif isinstance(n, Neg):
            walk(n.operand)
        elif isinstance(n, (Arith, Compare)):
            walk(n.left), walk(n.right)
        elif isinstance(n, Between):
            walk(n.value), walk(n.low), walk(n.high)
        elif isinstance(n, InTests):
            walk(n.value), walk(n.tests)
        elif isinstance(n, (And, Or, ListExpr)):
            for x in n.items:
                walk(x)
        elif isinstance(n, Not):
            walk(n.operand)
        elif isinstance(n, Call):
            for x in n.args:
                walk(x)

    walk(node)
    return out


def literal_values(test) -> set:
    """Every literal a unary test compares with: the boundary values written in a cell."""
    out: set = set()

    def walk(t):
        if isinstance(t, CompareTest) and isinstance(t.value, Literal):
            out.add(t.value.value)
        elif isinstance(t, RangeTest):
            for e in (t.low, t.high):
                if isinstance(e, Literal):
                    out.add(e.value)
        elif isinstance(t, (OrTests, NotTests)):
            for s in t.tests:
                walk(s)

    walk(test)
    return out
