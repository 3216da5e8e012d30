"""The decision log's cost: the same work with and without it.  Not a test.

    python bench/bench_log.py                    # every part
    python bench/bench_log.py --only api --rounds 5
    python bench/bench_log.py --only batch --lines 200000
    python bench/bench_log.py --only http --duration 5

- api: ``book.decide`` on one thread, purchase_restriction and card_eligibility,
  without a log, with ``decide.DecisionLog`` (a file), and with a list's ``append``
  as the sink (the record without the writing): decisions/s;
- batch: ``decide batch`` on N JSON Lines purchase cases, ``--workers 1`` and ``2``,
  without and with ``--decision-log`` (the log's lines counted after each run);
- http: ``decide serve --workers 1`` and ``--workers 2`` under 32 keep-alive clients
  (bench_http's client), without and with ``--decision-log``.

Rounds are interleaved and the best of each kept, so a busy machine slows both alike.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench_batch  # noqa: E402
import bench_http  # noqa: E402

import decide  # noqa: E402


def api(rounds: int, tmp: Path) -> None:
    from decide.atone import tables_dir
    book = decide.load(tables_dir())
    rng = random.Random(1)
    cases = {"purchase_restriction": [bench_batch.case(rng) for _ in range(2000)],
             "card_eligibility": [{"kyc_status": "approved", "months_of_use": rng.randrange(0, 30),
                                   "use_count": rng.randrange(0, 30), "total_spent_yen": rng.randrange(0, 90000),
                                   "late_payment_count": 0, "unpaid_balance_yen": 0} for _ in range(2000)]}
    log = decide.DecisionLog(tmp / "api.jsonl")
    kept: list = []
    sinks = {"no log": None, "DecisionLog (file)": log, "list.append (record only)": kept.append}
    for name, facts in cases.items():
        best = {k: float("inf") for k in sinks}
        for _ in range(rounds):
            for k, sink in sinks.items():
                kept.clear()
                t0 = time.perf_counter()
                for f in facts:
                    book.decide(name, f, decision_log=sink)
                best[k] = min(best[k], time.perf_counter() - t0)
        base = best["no log"]
        print(f"api {name}: " + "; ".join(f"{k} {len(facts) / t:,.0f}/s ({t / base:.2f}× the time)"
                                          for k, t in best.items()), flush=True)
    size = (tmp / "api.jsonl").stat().st_size
    lines = sum(1 for _ in open(tmp / "api.jsonl", "rb"))
    print(f"  log: {lines:,} lines, {size / lines:,.0f} bytes a line", flush=True)


def batch(n: int, rounds: int, tmp: Path) -> None:
    cmd = bench_batch.decide_cmd()
    cases = tmp / "b.jsonl"
    bench_batch.write_cases(cases, n, random.Random(4))
    for w in (1, 2):
        best = {"no log": float("inf"), "--decision-log": float("inf")}
        for r in range(rounds):
            for k in best:
                log = tmp / f"b{w}-{r}.log"
                extra = ["--decision-log", str(log)] if k != "no log" else []
                best[k] = min(best[k], bench_batch.timed([cmd, "batch", str(cases), "-d", bench_batch.DECISION,
                                                         "-o", str(tmp / "b.out"), "--workers", str(w), *extra]))
                if extra:
                    assert sum(1 for _ in open(log, "rb")) == n
                    log.unlink()
        print(f"batch --workers {w}, {n:,} lines: no log {n / best['no log']:,.0f} cases/s; --decision-log "
              f"{n / best['--decision-log']:,.0f} cases/s ({best['--decision-log'] / best['no log']:.2f}× the time)"
              f"; load average {os.getloadavg()[0]:.1f}", flush=True)


def http(seconds: float, rounds: int, tmp: Path) -> None:
    for w in ("1", "2"):
        best: dict = {}
        for r in range(rounds):
            for k in ("no log", "--decision-log"):
                log = tmp / f"h{w}-{r}.log"
                args = ["--workers", w, *(["--decision-log", str(log)] if k != "no log" else [])]
                res = bench_http.load(args, 32, seconds)
                if k != "no log":
                    lines = sum(1 for _ in open(log, "rb"))
                    assert lines >= res["requests"], (lines, res["requests"])  # + the warm-up's
                    log.unlink()
                if k not in best or res["rps"] > best[k]["rps"]:
                    best[k] = res
        a, b = best["no log"], best["--decision-log"]
        print(f"http --workers {w}, 32 clients: no log {a['rps']:,.0f} req/s (p99 {a['p99_ms']:.1f} ms); "
              f"--decision-log {b['rps']:,.0f} req/s (p99 {b['p99_ms']:.1f} ms): {a['rps'] / b['rps']:.2f}× the "
              f"time per request; errors {a['errors'] + b['errors']}; load average {os.getloadavg()[0]:.1f}",
              flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=["api", "batch", "http"])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--lines", type=int, default=200_000)
    ap.add_argument("--duration", type=float, default=5.0)
    a = ap.parse_args()
    print(f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}, load average {os.getloadavg()[0]:.1f}",
          flush=True)
    with tempfile.TemporaryDirectory() as d:
        if a.only in (None, "api"):
            api(a.rounds, Path(d))
        if a.only in (None, "batch"):
            batch(a.lines, a.rounds, Path(d))
        if a.only in (None, "http"):
            http(a.duration, a.rounds, Path(d))


if __name__ == "__main__":
    main()
