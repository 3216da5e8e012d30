"""Random cases for a decision, drawn from its Glossary (for the Spark, Dask and batch
equality tests), and the comparison of distributed results with ``decide batch``'s."""
from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

from decide.app import casejson
from decide.model.ir import Literal, RangeTest, Type


def _value(f, rng: random.Random):
    allowed = f.allowed
    if f.type is Type.BOOLEAN:
        return rng.random() < 0.5
    if isinstance(allowed, tuple) and allowed:
        if f.type is Type.TEXT_LIST:
            return sorted(rng.sample(list(allowed), rng.randrange(0, min(3, len(allowed)) + 1)))
        v = rng.choice(allowed)
        return str(v) if f.type is Type.VERSION else v
    if f.type is Type.INTEGER:
        lo, hi = 0, 60
        if isinstance(allowed, RangeTest):
            lo = allowed.low.value if isinstance(allowed.low, Literal) else 0
            hi = allowed.high.value if isinstance(allowed.high, Literal) else lo + 60
        return rng.randint(int(lo), int(min(hi, lo + 120_000)))
    if f.type is Type.DATE:
        return dt.date(2012, 1, 1) + dt.timedelta(days=rng.randrange(0, 5000))
    if f.type is Type.VERSION:
        return f"{rng.randrange(1, 20)}.{rng.randrange(0, 10)}.{rng.randrange(0, 5)}"
    if f.type is Type.TEXT_LIST:
        return []
    if f.type is Type.NUMBER:
        return rng.randrange(0, 100_000)
    return rng.choice(["山田 太郎", "YAMADA TARO", "ヤマダ タロウ", "x"])


def random_cases(book, decision: str, n: int, seed: int = 1, bad_every: int = 50) -> list[dict]:
    """``n`` cases of typed values (dates as dates), some inputs absent (None); every
    ``bad_every``-th case has a value its field does not allow."""
    rng = random.Random(seed)
    fields = book.ir.fields
    inputs = book.ir.decisions[decision].inputs
    text_fields = [n for n in inputs if fields[n].type is Type.TEXT and isinstance(fields[n].allowed, tuple)]
    cases = []
    for i in range(1, n + 1):
        case = {k: None if rng.random() < 0.05 else _value(fields[k], rng) for k in inputs}
        if bad_every and i % bad_every == 0:
            case[rng.choice(text_fields)] = "not_an_allowed_value"
        cases.append(case)
    return cases


def write_jsonl(cases: list[dict], path: Path) -> Path:
    with path.open("w", encoding="utf-8") as f:
        for c in cases:
            f.write(casejson.dumps({k: v for k, v in c.items() if v is not None}, pretty=False) + "\n")
    return path


def arrow_table(book, decision: str, cases: list[dict]):
    """The cases as an Arrow table typed from the Glossary, with an ``id`` column = line."""
    import pyarrow as pa
    from decide.runtime.batch import input_schema
    schema = input_schema(book, decision).insert(0, pa.field("id", pa.int64()))
    cols = {"id": list(range(1, len(cases) + 1))}
    for f in schema:
        if f.name != "id":
            cols[f.name] = [c[f.name] for c in cases]
    return pa.table(cols, schema=schema)


def batch_rows(text: str) -> dict[int, dict]:
    """``decide batch`` JSON Lines output by line."""
    rows = {}
    for line in text.splitlines():
        r = json.loads(line, parse_float=casejson._decimal)
        rows[r["line"]] = r
    return rows


def assert_same_as_batch(book, decision: str, got: list[dict], expected: dict[int, dict]) -> int:
    """Each distributed row (with ``id`` = the line) equals the batch row of its line;
    returns the number of error rows."""
    outputs = book.ir.decisions[decision].outputs
    assert len(got) == len(expected), (len(got), len(expected))
    assert sorted(r["id"] for r in got) == sorted(expected)  # none dropped, none doubled
    errors = 0
    for r in got:
        e = expected[r["id"]]
        if "error" in e:
            errors += 1
            assert r["error"] is not None and json.loads(r["error"]) == e["error"], (r, e)
            assert all(r[n] is None for n in outputs) and r["fired"] is None
            continue
        assert r["error"] is None, (r, e)
        fired = [f"{x['table']}#{x['rule']}" for x in e["fired"]]
        assert list(r["fired"]) == fired, (r, e)
        for n in outputs:
            v = r[n]
            v = list(v) if v is not None and not isinstance(v, (str, bool, int)) and hasattr(v, "__len__") else v
            if isinstance(v, dt.date):
                v = v.isoformat()
            assert v == e["outputs"][n], (n, r, e)
    return errors
