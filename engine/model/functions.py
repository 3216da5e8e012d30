"""The functions a cell may call: one table, one entry per function.

Each entry is a signature and an implementation::

    fn("string length(text) -> integer", len)

The parser (``sfeel.py``) knows a function's name and arity from here, name
resolution (``resolve.py``) checks its argument types and gives its result type,
the reference interpreter calls it, the native runtime binds it into the generated
code, the durable backend computes it in Python like any computed value, and the
analysis treats its value as opaque.  Adding a function is one entry here, one line
in docs/workbook-format.md ("Functions") and a test.

Signature words: a Glossary type (``text``, ``number``, ``integer``, ``boolean``,
``date``, ``version``, ``text list``), ``list`` (a text list or a ``[...]`` list),
``any``; ``number`` accepts an integer.  ``name(any...)`` takes any number of
arguments.  Result ``item``: the item type of the first argument whose type is known
(``min`` of numbers is a number).

Null follows FEEL: a null argument makes the result null, unless the entry says
``nulls=True`` (the implementation then sees the nulls: ``is defined``, ``min`` …);
an argument the implementation cannot take (an error) gives null too.
"""
from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Callable, Mapping, Optional

from decide.model.ir import Type

_TYPES = {t.value: t for t in Type}
_KINDS = frozenset(_TYPES) | {"list", "any"}


@dataclass(frozen=True)
class Function:
    name: str
    params: tuple[str, ...]  # one kind per argument (see the module's docstring)
    variadic: bool  # the one parameter repeats, any number of times
    result: str  # a Glossary type name, or "item"
    impl: Callable
    nulls: bool = False  # the implementation receives null arguments
    signature: str = ""

    @property
    def arity(self) -> Optional[int]:
        """The number of arguments, None when any number is accepted."""
        return None if self.variadic else len(self.params)

    def __call__(self, *args):
        if not self.nulls and None in args:
            return None
        try:
            return self.impl(*args)
        except (TypeError, ValueError, ArithmeticError):
            return None

    def problem(self, types: list[Optional[Type]]) -> Optional[str]:
        """Why arguments of these types (None: unknown or null) are wrong, or None."""
        for i, t in enumerate(types):
            kind = self.params[0] if self.variadic else self.params[i]
            if t is None or kind == "any":
                continue
            if kind == "list":
                ok = t is Type.TEXT_LIST
            else:
                want = _TYPES[kind]
                ok = t is want or (want is Type.NUMBER and t.is_numeric)
            if not ok:
                what = "a list" if kind == "list" else f"a {kind}"
                return (f"{self.name}() takes {what} as argument {i + 1}, not a {t.value}: "
                        f"{self.signature}")
        return None

    def result_type(self, types: list[Optional[Type]]) -> Optional[Type]:
        if self.result == "item":
            return next((t.item for t in types if t), None)
        return _TYPES[self.result]


_SIG = re.compile(r"\s*([a-z][a-z ]*[a-z])\((.*)\)\s*->\s*([a-z ]+?)\s*$")


def fn(signature: str, impl: Callable, nulls: bool = False) -> Function:
    """A table entry from ``"name(kind, kind) -> result"`` and its implementation."""
    m = _SIG.fullmatch(signature)
    if not m:
        raise ValueError(f"not a signature: {signature!r}")
    name, params, result = m.group(1), m.group(2), m.group(3)
    params = tuple(p.strip() for p in params.split(",")) if params.strip() else ()
    variadic = len(params) == 1 and params[0].endswith("...")
    if variadic:
        params = (params[0][:-3].strip(),)
    for k in params:
        if k not in _KINDS:
            raise ValueError(f"{signature!r}: unknown argument kind {k!r}")
    if result not in _TYPES and result != "item":
        raise ValueError(f"{signature!r}: unknown result type {result!r}")
    return Function(name, params, variadic, result, impl, nulls, signature.strip())


# --------------------------------------------------------------------------- implementations
def _date(x):
    if isinstance(x, _dt.date):
        return x
    return _dt.date.fromisoformat(x) if isinstance(x, str) else None


def _items(args):
    return list(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list)) else list(args)


def _aggregate(f, empty=None):
    def apply(*args):
        items = _items(args)
        if not items:
            return empty
        if any(x is None for x in items):
            return None
        return f(items)
    return apply


def _rounded(mode):
    return lambda x: int(Decimal(x).to_integral_value(rounding=mode))


# --------------------------------------------------------------------------- the table
FUNCTIONS: Mapping[str, Function] = {f.name: f for f in (
    fn("date(any) -> date", _date),
    fn("list contains(list, any) -> boolean", lambda xs, x: x in xs),
    fn("count(list) -> integer", len),
    fn("contains(text, text) -> boolean", lambda s, part: part in s),
    fn("starts with(text, text) -> boolean", lambda s, prefix: s.startswith(prefix)),
    fn("ends with(text, text) -> boolean", lambda s, suffix: s.endswith(suffix)),
    fn("string length(text) -> integer", len),
    fn("abs(number) -> number", abs),
    fn("min(any...) -> item", _aggregate(min), nulls=True),
    fn("max(any...) -> item", _aggregate(max), nulls=True),
    fn("sum(any...) -> number", _aggregate(sum, empty=0), nulls=True),
    fn("floor(number) -> number", _rounded(ROUND_FLOOR)),
    fn("ceiling(number) -> number", _rounded(ROUND_CEILING)),
    fn("upper case(text) -> text", lambda s: s.upper()),
    fn("lower case(text) -> text", lambda s: s.lower()),
    fn("is defined(any) -> boolean", lambda x: x is not None, nulls=True),
)}
