"""Benchmark of ``decide why`` on the shipped tables (not a test).

    python bench/bench_why.py [--rounds 20]

For every shipped example (examples/*.json) whose outcome is not the best one, the
time of one ``counterfactuals`` answer (the exact search, the confirmation of each
option by the reference interpreter, the ranges) on the loaded shipped tables: the
median and the worst of ``--rounds`` rounds, after one warm-up round (which loads
the romanisation dictionary the name check uses).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import decide  # noqa: E402
from decide.app.shipped import shipped_tables  # noqa: E402
from decide.tools.why import counterfactuals  # noqa: E402

WANT = {"card_eligibility": {"card_status": "issuable"},
        "purchase_restriction": {"allowed": True},
        "decline_diagnosis": {"causes": ["unknown"]}}


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=20)
    args = ap.parse_args(argv)
    book = decide.load(shipped_tables())
    cases = []
    for path in sorted((ROOT / "examples").glob("*.json")):
        facts = json.loads(path.read_text(encoding="utf-8"))
        name = facts.pop("decision")
        want = WANT[name]
        outputs = book.decide(name, facts).outputs
        if any(outputs[f] != w for f, w in want.items()):  # the outcome is not the best one
            cases.append((path.name, name, facts, want))
        counterfactuals(book, name, facts, want)  # warm-up
    times = {c[0]: [] for c in cases}
    for _ in range(args.rounds):
        for label, name, facts, want in cases:
            t = time.perf_counter()
            counterfactuals(book, name, facts, want)
            times[label].append((time.perf_counter() - t) * 1000)
    print("| example | want | changes | median ms | worst ms |")
    print("|---|---|---|---|---|")
    for label, name, facts, want in cases:
        a = counterfactuals(book, name, facts, want)
        n = len(a.options[0].changes) if a.options else "impossible"
        w = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in want.items())
        print(f"| {label} | {w} | {n} | {statistics.median(times[label]):.1f} | {max(times[label]):.1f} |")


if __name__ == "__main__":
    main()
