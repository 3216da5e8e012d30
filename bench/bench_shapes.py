"""Benchmark: decisions/s of table shapes as they grow.  Not a test: run it by hand.

    python bench/bench_shapes.py [--seconds S] [--sizes 10 100 1000 10000]

Each shape is one FIRST table plus a catch-all, written as a workbook with openpyxl
and loaded through ``decide.load``; ``book.decide`` (validation, fired rules and the
Result included) runs over 1,000 varied cases.  Printed: decisions/s per size, the
ratio to the 10-rule table, and the load+compile time.  Shapes:

- thresholds: nested ``> K`` on one column, highest first;
- negated:    ``not([a..b])`` on one column and ``< K`` on another;
- wildcards:  three columns (``> K``, ``[a..b]``, a text key), each ``-`` in a third
  of the rules.
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import decide  # noqa: E402
from tests.test_large_tables import GLOSSARY, SHAPES, cases  # noqa: E402
from tests.workbooks import table, write_workbook  # noqa: E402


def rate(fn, cs, seconds):
    n, start = 0, time.perf_counter()
    while True:
        for c in cs:
            fn("T", c)
        n += len(cs)
        now = time.perf_counter()
        if now - start >= seconds:
            return n / (now - start)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=1.0)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000, 10000])
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    print(f"python {sys.version.split()[0]}")
    print("| shape | rules | decisions/s | vs 10 rules | load+compile |")
    print("|---|---|---|---|---|")
    for shape, make in SHAPES.items():
        base = None
        for n in args.sizes:
            cols, rules = make(n)
            d = tmp / f"{shape}{n}"
            write_workbook(d / "t.xlsx", glossary=GLOSSARY, tables=[table("T", "FIRST", cols, rules)])
            t0 = time.perf_counter()
            book = decide.load(d, services=[])
            load = time.perf_counter() - t0
            r = rate(book.decide, cases(n, random.Random(n), 1000), args.seconds)
            base = base or r
            print(f"| {shape} | {n:,} | {r:,.0f} | {base / r:.2f}× | {load:.2f} s |", flush=True)


if __name__ == "__main__":
    main()
