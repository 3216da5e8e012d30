"""A case's raw facts (JSON or Python values) → validated, typed facts of a decision.

Unknown field names are errors (with a suggestion); Glossary fields that the
decision does not take are ignored; a JSON null is the same as an absent field."""
from __future__ import annotations

from typing import Any, Callable, Mapping

from decide.model.errors import CaseError, did_you_mean
from decide.model.ir import Book, Field, Plan
from decide.model.types import TYPES, ValueProblem, check_size
from decide.model.values import describe_allowed, in_allowed, show


def field_name(f: Field) -> str:
    return f'"{f.name}" ({f.label})' if f.label and f.label != f.name else f'"{f.name}"'


def coerce_field(f: Field, raw: Any):
    """One raw value → the typed value of field ``f``, or CaseError."""
    return _coerce(f, TYPES[f.type].parse_case, raw)


def field_coercer(f: Field) -> Callable[[Any], Any]:
    """``coerce_field`` for one field, its type's parser looked up once (for generated code)."""
    parse = TYPES[f.type].parse_case
    return lambda raw: _coerce(f, parse, raw)


def _coerce(f: Field, parse: Callable[[Any], Any], raw: Any):
    if raw is None:
        return None
    try:
        check_size(raw)
        v = parse(raw)
    except ValueProblem as e:
        raise CaseError(f"{field_name(f)}: {e}", f.name, raw) from None
    if f.allowed is not None and not in_allowed(v, f.allowed):
        raise CaseError(f"{field_name(f)}: {show(v)} is not allowed; allowed values: "
                        f"{describe_allowed(f.allowed)}", f.name, raw)
    return v


def unknown_fields(book: Book, plan: Plan, facts: Mapping) -> CaseError:
    bad = [k for k in facts if k not in book.fields]
    k = bad[0]
    if not isinstance(k, str):
        return CaseError(f"field names must be texts, got {k!r}")
    hint = did_you_mean(k, plan.inputs) or did_you_mean(k, book.fields)
    more = f" (and {len(bad) - 1} more: {', '.join(map(str, bad[1:4]))})" if len(bad) > 1 else ""
    return CaseError(f'unknown field "{k}"{hint}{more}; decision {plan.name} takes: '
                     + ", ".join(plan.inputs), k)


def as_mapping(facts: Any) -> Mapping:
    if isinstance(facts, Mapping):
        return facts
    raise CaseError(f"a case is a JSON object of facts (field: value), not {type(facts).__name__}")


def normalise(book: Book, plan: Plan, facts: Any) -> dict:
    """Validated, typed input facts of ``plan`` (absent and null fields left out)."""
    facts = as_mapping(facts)
    if any(k not in book.fields for k in facts):
        raise unknown_fields(book, plan, facts)
    out = {}
    for name in plan.inputs:
        raw = facts.get(name)
        if raw is not None:
            out[name] = coerce_field(book.fields[name], raw)
    return out


def apply_derive(book: Book, plan: Plan, typed: dict) -> dict:
    """Run the decision's derive hook and type-check what it returns."""
    if plan.derive is None:
        return typed
    extra = plan.derive(dict(typed)) or {}
    env = dict(typed)
    env.update(derived_values(book, plan, extra))
    return env


def derived_values(book: Book, plan: Plan, extra) -> dict:
    """What a derive hook returned (non-empty), checked against the fields it declares
    and typed: {field: typed value (None for null)}."""
    out = {}
    for k, v in extra.items():
        if k not in plan.derived:
            raise CaseError(f'decision {plan.name} computed "{k}", which it does not declare')
        out[k] = coerce_field(book.fields[k], v)
    return out
