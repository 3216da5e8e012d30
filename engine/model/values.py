"""Typed values: what a value of each Glossary type is in Python, how a case's raw
JSON/Python value becomes one, and how values are shown back to people.

- text: ``str``                 - number: ``Decimal`` (or ``int``), never ``float``
- integer: ``int``              - boolean: ``bool``
- date: ``datetime.date``       - version: ``Version`` (dotted, compared part by part)
- text list: ``tuple[str, ...]``  - null: ``None``
"""
from __future__ import annotations

import datetime as _dt
import re
from decimal import Decimal
from typing import Any

from packaging.version import Version as _PkgVersion

from decide.model.ir import RangeTest, Literal, Type

_VERSION_RE = re.compile(r"^\d+(\.\d+)*$")


class Version(_PkgVersion):
    """A dotted version (``6.7.0``), compared part by part; ``14`` == ``14.0``."""

    def __init__(self, text: str):
        text = str(text).strip()
        if not _VERSION_RE.match(text):
            raise ValueError(f'"{text}" is not a dotted version such as "6.7.0"')
        super().__init__(text)
        self.text = text

    def __repr__(self) -> str:
        return f"Version({self.text!r})"

    def __str__(self) -> str:
        return self.text


def is_version_text(text: str) -> bool:
    return bool(_VERSION_RE.match(str(text).strip()))


def to_decimal(x: Any) -> Decimal:
    """A float is read through its shortest repr, so 0.3 stays 0.3."""
    if isinstance(x, float):
        return Decimal(repr(x))
    return Decimal(x)


def parse_date(text: str) -> _dt.date:
    return _dt.date.fromisoformat(text.strip())


# --------------------------------------------------------------------------- case values
class ValueProblem(ValueError):
    """A raw value does not fit a type; the message says what would."""


MAX_DIGITS = 100  # digits before the decimal point of a number in a case
TOO_BIG = 10 ** MAX_DIGITS


def _oversized(raw: Any) -> bool:
    """A number too big to be a fact (nor printable: Python refuses int ↔ str past 4,300 digits)."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        return abs(raw) >= TOO_BIG
    if isinstance(raw, (float, Decimal)):
        d = to_decimal(raw)
        return d.is_finite() and d.adjusted() >= MAX_DIGITS
    return False


def coerce(raw: Any, type_: Type) -> Any:
    """Turn a raw case value (JSON or Python) into the typed value, or raise
    ValueProblem with a message naming what is expected."""
    if raw is None:
        return None
    if _oversized(raw):
        raise ValueProblem(f"a number of more than {MAX_DIGITS} digits is not accepted in a case")
    if type_ is Type.TEXT:
        if isinstance(raw, str):
            return raw
        raise ValueProblem(
            f"expected text, got {_show_raw(raw)}; codes are text: write it in quotes, "
            f'e.g. "{raw}"'
        )
    if type_ is Type.BOOLEAN:
        if isinstance(raw, bool):
            return raw
        raise ValueProblem(f"expected true or false, got {_show_raw(raw)}")
    if type_ is Type.INTEGER:
        if isinstance(raw, bool):
            raise ValueProblem(f"expected a whole number, got {_show_raw(raw)}")
        if isinstance(raw, int):
            return raw
        if isinstance(raw, (float, Decimal)):
            d = to_decimal(raw)
            if d.is_finite() and d == d.to_integral_value():
                return int(d)
        raise ValueProblem(f"expected a whole number, got {_show_raw(raw)}")
    if type_ is Type.NUMBER:
        if isinstance(raw, bool):
            raise ValueProblem(f"expected a number, got {_show_raw(raw)}")
        if isinstance(raw, int):
            return raw
        if isinstance(raw, (float, Decimal)):
            d = to_decimal(raw)
            if d.is_finite():
                return d
        raise ValueProblem(f"expected a number, got {_show_raw(raw)}")
    if type_ is Type.DATE:
        if isinstance(raw, _dt.datetime):
            return raw.date()
        if isinstance(raw, _dt.date):
            return raw
        if isinstance(raw, str):
            try:
                return parse_date(raw)
            except ValueError:
                pass
        raise ValueProblem(f'expected a date such as "2020-02-03", got {_show_raw(raw)}')
    if type_ is Type.VERSION:
        if isinstance(raw, Version):
            return raw
        if isinstance(raw, (str, int, Decimal)) and not isinstance(raw, bool):
            try:
                return Version(str(raw))
            except ValueError:
                pass
        raise ValueProblem(f'expected a dotted version such as "6.7.0", got {_show_raw(raw)}')
    if type_ is Type.TEXT_LIST:
        if isinstance(raw, (list, tuple)) and all(isinstance(x, str) for x in raw):
            return tuple(raw)
        raise ValueProblem(f'expected a list of texts such as ["a", "b"], got {_show_raw(raw)}')
    raise AssertionError(type_)


def _show_raw(raw: Any) -> str:
    if isinstance(raw, str):
        return f'the text "{raw}"'
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, (int, float, Decimal)):
        return f"the number {raw}"
    if isinstance(raw, (list, tuple)):
        return "a list"
    if isinstance(raw, dict):
        return "an object"
    return repr(raw)


def conforms(value: Any, type_: Type) -> bool:
    """Is ``value`` (already typed) a value of ``type_``?"""
    if value is None:
        return True
    if type_ is Type.TEXT:
        return isinstance(value, str)
    if type_ is Type.BOOLEAN:
        return isinstance(value, bool)
    if type_ is Type.INTEGER:
        return isinstance(value, int) and not isinstance(value, bool)
    if type_ is Type.NUMBER:
        return isinstance(value, (int, Decimal)) and not isinstance(value, bool)
    if type_ is Type.DATE:
        return isinstance(value, _dt.date) and not isinstance(value, _dt.datetime)
    if type_ is Type.VERSION:
        return isinstance(value, Version)
    if type_ is Type.TEXT_LIST:
        return isinstance(value, tuple) and all(isinstance(x, str) for x in value)
    return False


def type_of(value: Any) -> Type | None:
    """The natural type of a literal (integers are numbers)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return Type.BOOLEAN
    if isinstance(value, (int, Decimal)):
        return Type.NUMBER
    if isinstance(value, str):
        return Type.TEXT
    if isinstance(value, Version):
        return Type.VERSION
    if isinstance(value, _dt.date):
        return Type.DATE
    if isinstance(value, tuple):
        return Type.TEXT_LIST
    return None


def in_allowed(value: Any, allowed) -> bool:
    """Is a typed, non-null value among a field's allowed values?"""
    if allowed is None or value is None:
        return True
    if isinstance(allowed, RangeTest):
        lo = allowed.low.value if isinstance(allowed.low, Literal) else None
        hi = allowed.high.value if isinstance(allowed.high, Literal) else None
        if lo is not None and (value < lo or (value == lo and not allowed.low_closed)):
            return False
        if hi is not None and (value > hi or (value == hi and not allowed.high_closed)):
            return False
        return True
    if isinstance(value, tuple):
        return all(v in allowed for v in value)
    return value in allowed


def show(value: Any) -> str:
    """A value as an analyst would write it in a cell."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, Version):
        return f'"{value.text}"'
    if isinstance(value, _dt.date):
        return f'date("{value.isoformat()}")'
    if isinstance(value, tuple):
        return ", ".join(show(v) for v in value) if value else "[]"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral_value() else str(value)
    return str(value)


def to_json(value: Any) -> Any:
    """A typed value as a JSON-ready value (decimals stay Decimal for the encoder)."""
    if isinstance(value, Version):
        return value.text
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, tuple):
        return [to_json(v) for v in value]
    if isinstance(value, list):
        return [to_json(v) for v in value]
    return value


def describe_allowed(allowed) -> str:
    if allowed is None:
        return "any value"
    if isinstance(allowed, RangeTest):
        lo = show(allowed.low.value) if isinstance(allowed.low, Literal) else "…"
        hi = show(allowed.high.value) if isinstance(allowed.high, Literal) else "…"
        return f"{'[' if allowed.low_closed else '('}{lo}..{hi}{']' if allowed.high_closed else ')'}"
    return ", ".join(show(v) for v in allowed)
