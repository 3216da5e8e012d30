"""Memory and speed of ``decide batch`` on large JSON Lines inputs.  Not a test.

    python bench/bench_batch.py                # 100,000 and 1,000,000 lines
    python bench/bench_batch.py --lines 20000  # one smaller run

Writes purchase cases to a temporary file, runs the installed ``decide batch`` on
it in a child process, and reports the child's peak RSS and its rate: a streaming
batch keeps the same peak whatever the input length.
"""
from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CATEGORIES = ["general_goods", "books", "gift_card", "kindle", "fashion", "subscription"]


def write_cases(path: Path, n: int, rng: random.Random) -> None:
    with path.open("w") as f:
        for _ in range(n):
            f.write(json.dumps({"merchant": "amazon", "category": rng.choice(CATEGORIES),
                                "amount_yen": rng.randrange(0, 60000), "recurring": rng.random() < 0.1}) + "\n")


def run(n: int, tmp: Path, decide: str) -> tuple[float, float]:
    cases = tmp / f"{n}.jsonl"
    write_cases(cases, n, random.Random(3))
    t0 = time.perf_counter()
    subprocess.run([decide, "batch", str(cases), "-d", "purchase_restriction", "-o", str(tmp / f"{n}.out")],
                   check=True)
    secs = time.perf_counter() - t0
    # peak RSS of the largest child so far (kB on Linux)
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    lines = sum(1 for _ in (tmp / f"{n}.out").open())
    assert lines == n, (lines, n)
    return peak_mb, n / secs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, nargs="*", default=[100_000, 1_000_000])
    args = ap.parse_args()
    decide = shutil.which("decide") or str(Path(sys.executable).with_name("decide"))
    with tempfile.TemporaryDirectory() as d:
        for n in sorted(args.lines):  # growing: RUSAGE_CHILDREN keeps the maximum so far
            peak, rate = run(n, Path(d), decide)
            print(f"{n:>9,} lines: peak RSS {peak:.1f} MB (max over the runs so far), {rate:,.0f} cases/s")


if __name__ == "__main__":
    main()
