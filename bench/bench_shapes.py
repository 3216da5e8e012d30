"""Benchmark: decisions/s of table shapes, 10 rules against 100,000.  Not a test: run it by hand.

    python bench/bench_shapes.py [--big 100000] [--rounds 5] [--seconds 0.2]
                                 [--shapes thresholds wildcards …] [--policies FIRST UNIQUE …]

Each shape (tests/shapes.py: equality key, bands, nested thresholds, negated ranges,
open ranges on two columns, three partly-wildcard columns, keys on different
columns, a mix) is built as IR at both sizes (a workbook of 100,000 rows is over the
reader's limits) and compiled by the native runtime; each hit policy gets the
shape's form for it (overlapping under FIRST and PRIORITY, disjoint under the
others).  The compiled decision function (validation, the table, fired rules and the
Result; not the ``Rulebook.decide`` wrapper, a constant) runs over 1,000 varied
cases; the two sizes alternate for ``--rounds`` rounds of ``--seconds`` each and the
best round of each counts, so both see the same machine load.  Printed: the rates,
their ratio (10 rules ÷ big), the index the compiler chose, and the big table's
compile time and memory (growth of the process's RSS while compiling).
"""
from __future__ import annotations

import argparse
import gc
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from decide.runtime import native  # noqa: E402
from tests.shapes import SHAPES, book_of, shape_cases, shape_table  # noqa: E402


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 1e6


def rate(fn, cs, seconds):
    n, start = 0, time.perf_counter()
    while True:
        for c in cs:
            try:
                fn(c)
            except Exception:  # noqa: BLE001 - a UNIQUE violation is an answer too
                pass
        n += len(cs)
        now = time.perf_counter()
        if now - start >= seconds:
            return n / (now - start)


def kind(src: str) -> str:
    if "_b0 = -1" in src or "_m0 = []" in src:
        return "multi"
    if "cand" not in src:
        return "inline"
    if "bisect_left" in src:
        return "range"
    return "eq" if "].get(" in src or ".get(v_" in src else "loop"


def compiled(shape, n, policy):
    book = book_of(shape_table(shape, n, policy))
    gc.collect()
    before, t0 = rss_mb(), time.perf_counter()
    fn = native.compile_book(book)["T"]
    took = time.perf_counter() - t0
    return fn, took, rss_mb() - before, kind(fn.source)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--big", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--seconds", type=float, default=0.1)
    ap.add_argument("--shapes", nargs="+", default=list(SHAPES))
    ap.add_argument("--policies", nargs="+", default=["FIRST", "PRIORITY", "UNIQUE", "COLLECT"])
    args = ap.parse_args()
    print(f"python {sys.version.split()[0]}")
    print(f"| shape | policy | 10 rules /s | {args.big:,} rules /s | ratio | index | compile | memory |")
    print("|---|---|---|---|---|---|---|---|")
    for shape in args.shapes:
        for policy in args.policies:
            small, _, _, _ = compiled(shape, 10, policy)
            big, took, mem, k = compiled(shape, args.big, policy)
            cs_small = shape_cases(shape, 10, random.Random(1), 1000)
            cs_big = shape_cases(shape, args.big, random.Random(1), 1000)
            best_small = best_big = 0.0
            for _ in range(args.rounds):
                best_small = max(best_small, rate(small, cs_small, args.seconds))
                best_big = max(best_big, rate(big, cs_big, args.seconds))
            print(f"| {shape} | {policy} | {best_small:,.0f} | {best_big:,.0f} | {best_small / best_big:.2f}× | "
                  f"{k} | {took:.1f} s | {mem:.0f} MB |", flush=True)
            del big
            gc.collect()


if __name__ == "__main__":
    main()
