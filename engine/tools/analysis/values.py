"""Representative values: a value of a type strictly between two boundaries (``between``),
whether a value fits a type, and its normal form."""
from __future__ import annotations

import datetime as _dt
import math
from decimal import Decimal

from decide.model.ir import Type
from decide.model.values import Version


EMPTY = object()  # "this cell holds no value of the type"


def is_num(x):
    return isinstance(x, (int, Decimal)) and not isinstance(x, bool)


def _between_int(a, b):
    lo = None if a is None else math.floor(a) + 1
    hi = None if b is None else math.ceil(b) - 1
    if lo is None and hi is None:
        return 0
    if lo is None:
        return hi
    if hi is None:
        return lo
    return lo if lo <= hi else EMPTY


def _between_num(a, b):
    if a is None and b is None:
        return 0
    if a is None:
        return b - 1
    if b is None:
        return a + 1
    if a + 1 < b:
        return a + 1
    return (Decimal(a) + Decimal(b)) / 2


def _between_date(a, b):
    lo = None if a is None else a.toordinal()
    hi = None if b is None else b.toordinal()
    if lo is None and hi is None:
        return _dt.date(2024, 1, 1)
    r = _between_int(lo, hi)
    if r is EMPTY or not (1 <= r <= _dt.date.max.toordinal()):
        return EMPTY
    return _dt.date.fromordinal(r)


def _vtuple(v: Version):
    rel = list(v.release)
    while rel and rel[-1] == 0:
        rel.pop()
    return tuple(rel)


def _between_version(a, b):
    if a is None and b is None:
        return Version("1.0.0")
    if a is None:
        z = Version("0")
        return z if z < b else EMPTY
    ta = _vtuple(a)
    if b is None:
        first = ta[0] if ta else 0
        return Version(f"{first + 1}.0.0")
    # a nicer candidate first: bump the last part of a
    for cand in (ta[:-1] + (ta[-1] + 1,) if ta else (1,),
                 ta + (1,),
                 ta + (0,) * len(_vtuple(b)) + (1,)):
        v = Version(".".join(str(x) for x in cand) if cand else "0")
        if a < v < b:
            return v
    return EMPTY


_TEXT_CANDIDATES = ("other", "x", "zz", "a", "m", "A", "0", "~", "")


def between_text(a, b, avoid=()):
    for c in _TEXT_CANDIDATES:
        if (a is None or c > a) and (b is None or c < b) and c not in avoid:
            return c
    if a is None:
        return "" if b != "" else EMPTY
    for suffix in ("a", "0", "\x00"):
        c = a + suffix
        if b is None or c < b:
            return c
    return EMPTY


def between(type_: Type, a, b):
    """A value of ``type_`` strictly between a and b (None = unbounded), or EMPTY."""
    try:
        if type_ is Type.INTEGER:
            return _between_int(a, b)
        if type_ is Type.NUMBER:
            return _between_num(a, b)
        if type_ is Type.DATE:
            return _between_date(a, b)
        if type_ is Type.VERSION:
            return _between_version(a, b)
        if type_ is Type.TEXT:
            return between_text(a, b)
    except (TypeError, ValueError, ArithmeticError, OverflowError):
        return EMPTY
    return EMPTY


def fits(type_: Type, v) -> bool:
    if type_ is Type.INTEGER:
        return is_num(v) and v == int(v)
    if type_ is Type.NUMBER:
        return is_num(v)
    if type_ is Type.DATE:
        return isinstance(v, _dt.date)
    if type_ is Type.VERSION:
        return isinstance(v, Version)
    if type_ is Type.TEXT:
        return isinstance(v, str)
    if type_ is Type.BOOLEAN:
        return isinstance(v, bool)
    return False


def normal_form(type_: Type, v):
    if type_ is Type.INTEGER and is_num(v):
        return int(v)
    return v
