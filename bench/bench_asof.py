"""Benchmark: what the as-of date costs a decision.  Not a test: run it by hand.

    python bench/bench_asof.py [--rounds N] [--seconds S]

On bench_native's 8-rule, 5-input FIRST table, interleaved rounds (best of each kept):
- the compiled function called as ``Rulebook.decide`` called it before effective dates
  (look-up, call, version): the baseline;
- ``book.decide(name, facts)``: today's date found and put on the Result;
- the same table with a 適用日 column (rule 4 valid from 2027-01-01), so the date goes
  into the facts: ``book.decide(name, facts)`` and ``book.decide(name, facts, as_of=date)``.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import random
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import decide  # noqa: E402
from bench_native import COLS8, GLOSSARY, RULES8, cases8, rate  # noqa: E402
from tests.workbooks import table, write_workbook  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=1.0)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    write_workbook(tmp / "plain" / "p.xlsx", glossary=GLOSSARY, tables=[table("Purchase", "FIRST", COLS8, RULES8)])
    dated_rules = [[*r[:-2], "-", *r[-2:]] for r in RULES8]
    dated_rules[3][-3] = '>= date("2027-01-01")'
    write_workbook(tmp / "dated" / "p.xlsx", glossary=GLOSSARY,
                   tables=[table("Purchase", "FIRST", [*COLS8[:-2], "INPUT as_of", *COLS8[-2:]], dated_rules)])
    plain, dated = decide.load(tmp / "plain", services=[]), decide.load(tmp / "dated", services=[])
    cases = cases8(1000, random.Random(7))
    day = _dt.date(2027, 1, 1)
    state = plain._state

    def before(c):  # Rulebook.decide as it was: look-up, call with the version
        return state[1]["Purchase"](c, state[4])

    runs = {"decide as before (no date)": before,
            "book.decide: today on the Result": lambda c: plain.decide("Purchase", c),
            "dated table: today into the facts": lambda c: dated.decide("Purchase", c),
            "dated table: as_of=date given": lambda c: dated.decide("Purchase", c, as_of=day)}
    best = dict.fromkeys(runs, 0.0)
    for _ in range(args.rounds):
        for k, fn in runs.items():
            best[k] = max(best[k], rate(fn, cases, args.seconds))
    base = best["decide as before (no date)"]
    print(f"python {sys.version.split()[0]}")
    for k, v in best.items():
        print(f"{k:40s} {v:12,.0f} decisions/s  {base / v:.3f}x the time  (+{(1 / v - 1 / base) * 1e9:.0f} ns)")


if __name__ == "__main__":
    main()
