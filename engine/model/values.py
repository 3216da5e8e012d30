"""Typed values: a case's raw value → a typed value, conformance, allowed values, and
values shown back to people.  What each Glossary type's values are lives in one place,
``decide.model.types`` (re-exported here: ``Version``, ``show``, ``to_json`` …).
"""
from __future__ import annotations

from typing import Any

from decide.model.ir import RangeTest, Literal, Type
from decide.model.types import (  # noqa: F401  (re-exported)
    TYPES, Version, check_size, ValueProblem, is_version_text, parse_date, show, show_raw, to_decimal, to_json,
    type_of,
)

__all__ = [
    "Version", "ValueProblem", "coerce", "conforms", "describe_allowed", "in_allowed", "is_version_text",
    "parse_date", "show", "show_raw", "to_decimal", "to_json", "type_of",
]


def coerce(raw: Any, type_: Type) -> Any:
    """Turn a raw case value (JSON or Python) into the typed value, or raise
    ValueProblem with a message naming what is expected."""
    if raw is None:
        return None
    check_size(raw)
    return TYPES[type_].parse_case(raw)


def conforms(value: Any, type_: Type) -> bool:
    """Is ``value`` (already typed) a value of ``type_``?"""
    return value is None or TYPES[type_].conforms(value)


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


def describe_allowed(allowed) -> str:
    if allowed is None:
        return "any value"
    if isinstance(allowed, RangeTest):
        lo = show(allowed.low.value) if isinstance(allowed.low, Literal) else "…"
        hi = show(allowed.high.value) if isinstance(allowed.high, Literal) else "…"
        return f"{'[' if allowed.low_closed else '('}{lo}..{hi}{']' if allowed.high_closed else ')'}"
    return ", ".join(show(v) for v in allowed)
