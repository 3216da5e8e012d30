"""Deciding a whole batch in one call: an iterable of dicts, a pandas DataFrame, or an
Arrow RecordBatch or Table in; typed Arrow columns out.

    from decide.runtime.batch import decide_batch
    table = decide_batch(book, "card_eligibility", cases)      # a pyarrow.Table
    table = decide_batch(book, "card_eligibility", df, keep=["member_id"])

Each input row gives one output row, in order; a bad row (a field of the wrong type,
an unknown field, a value outside the allowed ones, a hit policy violated, an
output that does not fit its column) is a row whose ``error`` holds the error as
JSON text and whose outputs are null: never a dropped row.

Input values are typed by the Glossary row by row (``input_schema`` gives the Arrow
schema a caller may cast to first).  Output columns (``output_schema``): the columns
named in ``keep``, passed through unchanged (an id, a line number); the decision's
outputs typed from the Glossary (text → string, number → decimal128(38, 10), integer
→ int64, boolean → bool, date → date32, version → string, text list →
list<string>); ``fired``, the rules that fired as ``"Table#rule"``; ``version`` when
results carry a rule-set version; ``error``.  A column of an Arrow or pandas input
that is neither a Glossary field nor kept is refused up front (``CaseError``): in a
column it would fail every row.

pyarrow is optional (``pip install 'decide[arrow]'``); ``decide_rows`` needs none.
"""
from __future__ import annotations

import json
import math
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable, Iterator, Mapping, NamedTuple, Sequence

from decide.model.errors import CaseError, EvaluationError, did_you_mean
from decide.model.ir import Type
from decide.runtime.result import Result

NUMBER_PRECISION, NUMBER_SCALE = 38, 10
FIRED, VERSION, ERROR = "fired", "version", "error"
_INT64 = (-(1 << 63), (1 << 63) - 1)
_QUANTUM = Decimal(1).scaleb(-NUMBER_SCALE)


class Outcome(NamedTuple):
    """One row's outcome: the ``Result``, or the error as a dict (``to_dict()`` of the
    engine's exception)."""

    result: Result | None
    error: dict | None


def decide_rows(book, decision: str, rows: Iterable[Any], *, as_of=None) -> Iterator[Outcome]:
    """An ``Outcome`` for every row (a mapping of raw facts), in order, decided as of
    ``as_of`` (a date; None: each row's own ``as_of``, else today)."""
    decide = book.decide
    for facts in rows:
        try:
            yield Outcome(decide(decision, facts, as_of=as_of), None)
        except (CaseError, EvaluationError) as e:
            yield Outcome(None, e.to_dict())


def fired_names(result: Result) -> list[str]:
    return [f"{f.table}#{f.rule}" for f in result.fired]


def _has_version() -> bool:
    return "version" in getattr(Result, "__slots__", ()) or hasattr(Result, "version")


# --------------------------------------------------------------------------- Arrow types
def _pa():
    try:
        import pyarrow
    except ImportError:
        raise ImportError("Arrow batches need pyarrow: pip install 'decide[arrow]'") from None
    return pyarrow


def arrow_type(t: Type):
    """The Arrow type of a Glossary type."""
    pa = _pa()
    return {Type.TEXT: pa.string(), Type.NUMBER: pa.decimal128(NUMBER_PRECISION, NUMBER_SCALE),
            Type.INTEGER: pa.int64(), Type.BOOLEAN: pa.bool_(), Type.DATE: pa.date32(),
            Type.VERSION: pa.string(), Type.TEXT_LIST: pa.list_(pa.string())}[t]


def plan_of(book, decision: str):
    """The plan of ``decision``, or a CaseError naming the decisions there are."""
    if decision not in book.decisions:
        raise CaseError(f'unknown decision "{decision}"{did_you_mean(str(decision), book.decisions)}; '
                        f'decisions: {", ".join(sorted(book.decisions))}')
    return book.ir.decisions[decision]


def input_schema(book, decision: str):
    """The Arrow schema of the inputs ``decision`` takes, typed from the Glossary."""
    pa = _pa()
    fields = book.ir.fields
    return pa.schema([pa.field(n, arrow_type(fields[n].type)) for n in plan_of(book, decision).inputs])


def output_schema(book, decision: str, keep=None):
    """The Arrow schema of ``decide_batch``'s result; ``keep`` is a schema (or a list of
    fields) of the columns passed through, first."""
    pa = _pa()
    fields = book.ir.fields
    kept = list(keep or [])
    cols = [*kept, *(pa.field(n, arrow_type(fields[n].type)) for n in plan_of(book, decision).outputs),
            pa.field(FIRED, pa.list_(pa.string()))]
    if _has_version():
        cols.append(pa.field(VERSION, pa.string()))
    cols.append(pa.field(ERROR, pa.string()))
    names = [c.name for c in cols]
    clash = sorted({n for n in names if names.count(n) > 1})
    if clash:
        raise CaseError(f'column {", ".join(clash)} is both kept and an output of {decision}: '
                        "rename it before deciding")
    return pa.schema(cols)


# --------------------------------------------------------------------------- values
class _Misfit(ValueError):
    """An output value its Arrow column cannot hold."""


def _fit(value: Any, t: Type) -> Any:
    """An output value as its Arrow column takes it, or _Misfit."""
    if value is None:
        return None
    if t is Type.NUMBER:
        d = Decimal(value)
        try:
            q = d.quantize(_QUANTUM)
        except InvalidOperation:
            q = None
        if q is None or q != d or len(q.as_tuple().digits) > NUMBER_PRECISION:
            raise _Misfit(f"the number {value} does not fit decimal({NUMBER_PRECISION}, {NUMBER_SCALE})")
        return q
    if t is Type.INTEGER:
        if not _INT64[0] <= value <= _INT64[1]:
            raise _Misfit(f"the whole number {value} does not fit a 64-bit integer")
        return value
    if t is Type.VERSION:
        return str(value)
    if t is Type.TEXT_LIST:
        return list(value)
    return value


def _plain(v: Any) -> Any:
    """A pandas/numpy cell as a plain Python value: NaN, NaT and None are null."""
    if v is None:
        return None
    mod = type(v).__module__
    if mod.startswith("numpy"):
        v = v.tolist() if hasattr(v, "tolist") else v.item()
    elif mod.startswith("pandas") and type(v).__name__ in ("NaTType", "NAType"):
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


# --------------------------------------------------------------------------- batches
def _columns_of(data) -> list[str] | None:
    names = getattr(data, "column_names", None)  # Arrow
    if names is None and hasattr(data, "columns") and hasattr(data, "itertuples"):  # pandas
        names = [str(c) for c in data.columns]
    return None if names is None else list(names)


def check_columns(book, decision: str, columns: Sequence[str], keep: Sequence[str] = ()) -> None:
    """CaseError when a column is neither a Glossary field nor kept, or a kept column is missing."""
    plan = plan_of(book, decision)
    missing = [k for k in keep if k not in columns]
    if missing:
        raise CaseError(f'kept column "{missing[0]}" is not in the input; its columns: {", ".join(columns)}')
    bad = [c for c in columns if c not in book.ir.fields and c not in keep]
    if bad:
        c = bad[0]
        hint = did_you_mean(c, plan.inputs) or did_you_mean(c, book.ir.fields)
        raise CaseError(f'column "{c}" is not a field of the Glossary{hint}; decision {decision} takes: '
                        f'{", ".join(plan.inputs)}', c)


def _rows_and_kept(data, keep: Sequence[str]):
    """(the rows as fact dicts, {kept column: values}, the kept columns' Arrow fields or None)."""
    pa = _pa()
    if isinstance(data, (pa.Table, pa.RecordBatch)):
        rows = data.to_pylist()
        kept = {k: data.column(k) for k in keep}
        fields = [data.schema.field(k) for k in keep]
    elif hasattr(data, "itertuples") and hasattr(data, "columns"):  # a pandas DataFrame
        cols = [str(c) for c in data.columns]
        rows = [{c: _plain(v) for c, v in zip(cols, t)} for t in data.itertuples(index=False, name=None)]
        kept = {k: [r[k] for r in rows] for k in keep}
        fields = None
    else:
        rows = list(data)
        kept = {k: [r.get(k) if isinstance(r, Mapping) else None for r in rows] for k in keep}
        fields = None
    if keep:
        rows = [{c: v for c, v in r.items() if c not in keep} if isinstance(r, Mapping) else r for r in rows]
    return rows, kept, fields


def to_arrow(book, decision: str, outcomes: Sequence[Outcome], kept: Mapping[str, Any] | None = None,
             kept_fields=None):
    """The outcomes as an Arrow RecordBatch of ``output_schema`` (kept columns first)."""
    pa = _pa()
    plan = plan_of(book, decision)
    fields = book.ir.fields
    kept = dict(kept or {})
    if kept_fields is None:
        arrays = {k: v if isinstance(v, (pa.Array, pa.ChunkedArray)) else pa.array(v) for k, v in kept.items()}
        kept_fields = [pa.field(k, a.type) for k, a in arrays.items()]
    else:
        arrays = {f.name: kept[f.name] for f in kept_fields}
    schema = output_schema(book, decision, kept_fields)
    outs = {n: [] for n in plan.outputs}
    fired, versions, errors = [], [], []
    version = _has_version()
    for result, error in outcomes:
        values = None
        if result is not None:
            try:
                values = [_fit(result.outputs.get(n), fields[n].type) for n in plan.outputs]
            except _Misfit as e:
                error = {"error": "output", "message": f"{decision}: {e}"}
        if values is None:
            for n in plan.outputs:
                outs[n].append(None)
            fired.append(None)
            versions.append(None)
            errors.append(json.dumps(error, ensure_ascii=False))
            continue
        for n, v in zip(plan.outputs, values):
            outs[n].append(v)
        fired.append(fired_names(result))
        if version:
            versions.append(None if result.version is None else str(result.version))
        errors.append(None)
    columns = [arrays[f.name] for f in kept_fields]
    columns = [c.combine_chunks() if isinstance(c, pa.ChunkedArray) else c for c in columns]
    for n in plan.outputs:
        columns.append(pa.array(outs[n], schema.field(n).type))
    columns.append(pa.array(fired, schema.field(FIRED).type))
    if version:
        columns.append(pa.array(versions, pa.string()))
    columns.append(pa.array(errors, pa.string()))
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def decide_batch(book, decision: str, data, *, keep: Sequence[str] = (), as_of=None):
    """Decide every row of ``data`` (an iterable of dicts, a pandas DataFrame, an Arrow
    RecordBatch or Table); the results as Arrow columns, one row per input row, in
    order: a RecordBatch for a RecordBatch, else a Table.  ``keep`` names input columns
    carried through unchanged (not facts); ``as_of`` as in ``decide_rows``."""
    pa = _pa()
    keep = list(keep)
    columns = _columns_of(data)
    if columns is not None:
        check_columns(book, decision, columns, keep)
    else:
        plan_of(book, decision)
    rows, kept, fields = _rows_and_kept(data, keep)
    out = to_arrow(book, decision, list(decide_rows(book, decision, rows, as_of=as_of)), kept, fields)
    return out if isinstance(data, pa.RecordBatch) else pa.Table.from_batches([out], out.schema)


def decide_batches(book, decision: str, batches: Iterable, *, keep: Sequence[str] = (),
                   as_of=None) -> Iterator:
    """``decide_batch`` over a stream of Arrow RecordBatches, one RecordBatch out per batch
    in (what Spark's ``mapInArrow`` and Ray's ``map_batches`` hand a function)."""
    for b in batches:
        yield decide_batch(book, decision, b, keep=keep, as_of=as_of)
