"""Memory and speed of ``decide batch`` and ``decide.spark`` on large inputs.  Not a test.

    python bench/bench_batch.py                      # memory: 100,000 and 1,000,000 lines, one worker
    python bench/bench_batch.py --lines 20000        # one smaller run
    python bench/bench_batch.py --workers 1000000    # --workers 2 against 1 on 1,000,000 lines
    python bench/bench_batch.py --spark 1000000      # Spark local[2] against --workers 2 (Parquet both)

Writes purchase cases to a temporary file and runs the installed ``decide batch`` on
it in a child process: its peak RSS and rate (a streaming batch keeps the same peak
whatever the input length); the ratio of --workers 2 to one worker (rounds
interleaved, best of each); Spark's rate on the same cases once its session and
Python workers have started (a warm-up job first), next to ``decide batch --workers 2``.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CATEGORIES = ["general_goods", "books", "gift_card", "kindle", "fashion", "subscription"]
DECISION = "purchase_restriction"


def case(rng: random.Random) -> dict:
    return {"merchant": "amazon", "category": rng.choice(CATEGORIES), "amount_yen": rng.randrange(0, 60000),
            "recurring": rng.random() < 0.1}


def write_cases(path: Path, n: int, rng: random.Random) -> None:
    with path.open("w") as f:
        for _ in range(n):
            f.write(json.dumps(case(rng)) + "\n")


def write_parquet(path: Path, n: int, rng: random.Random) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq
    rows = [case(rng) for _ in range(n)]
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=max(1, n // 16))


def decide_cmd() -> str:
    return shutil.which("decide") or str(Path(sys.executable).with_name("decide"))


def timed(args: list[str]) -> float:
    t0 = time.perf_counter()
    p = subprocess.run(args, stderr=subprocess.PIPE, text=True)
    if p.returncode not in (0, 1):
        raise SystemExit(p.stderr)
    return time.perf_counter() - t0


def memory(n: int, tmp: Path, decide: str) -> tuple[float, float]:
    cases = tmp / f"{n}.jsonl"
    write_cases(cases, n, random.Random(3))
    secs = timed([decide, "batch", str(cases), "-d", DECISION, "-o", str(tmp / f"{n}.out")])
    # peak RSS of the largest child so far (kB on Linux)
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    lines = sum(1 for _ in (tmp / f"{n}.out").open())
    assert lines == n, (lines, n)
    return peak_mb, n / secs


def workers(n: int, tmp: Path, decide: str, rounds: int) -> None:
    cases = tmp / "w.jsonl"
    write_cases(cases, n, random.Random(4))
    best = {1: float("inf"), 2: float("inf")}
    for _ in range(rounds):
        for w in (1, 2):
            best[w] = min(best[w], timed([decide, "batch", str(cases), "-d", DECISION, "-o",
                                          str(tmp / f"w{w}.jsonl"), "--workers", str(w)]))
    same = (tmp / "w1.jsonl").read_bytes() == (tmp / "w2.jsonl").read_bytes()
    print(f"{n:,} lines: --workers 1 {n / best[1]:,.0f} cases/s, --workers 2 {n / best[2]:,.0f} cases/s, "
          f"ratio {best[1] / best[2]:.2f}× (best of {rounds}; outputs identical: {same}; "
          f"load average {os.getloadavg()[0]:.1f})")


def spark(n: int, tmp: Path, cmd: str) -> None:
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession
    from decide.atone import tables_dir
    from decide.spark import decide_dataframe
    cases = tmp / "s.parquet"
    write_parquet(cases, n, random.Random(5))
    t0 = time.perf_counter()
    split = max(1, cases.stat().st_size // 4)  # four splits (by row group) of the one file: both cores busy
    s = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
         .config("spark.sql.shuffle.partitions", "2").config("spark.sql.files.maxPartitionBytes", str(split))
         .getOrCreate())
    s.sparkContext.setLogLevel("ERROR")
    tables = tables_dir()
    warm = decide_dataframe(s.read.parquet(str(cases)).limit(1000).repartition(2), DECISION, tables=tables)
    warm.write.mode("overwrite").parquet(str(tmp / "warm"))
    start_up = time.perf_counter() - t0
    t0 = time.perf_counter()
    df = s.read.parquet(str(cases))
    decide_dataframe(df, DECISION, tables=tables).write.mode("overwrite").parquet(str(tmp / "out"))
    secs = time.perf_counter() - t0
    s.stop()
    w2 = timed([cmd, "batch", str(cases), "-d", DECISION, "--format", "parquet", "-o", str(tmp / "w2.parquet"),
                "--workers", "2"])
    print(f"{n:,} cases, Parquet in and out: Spark local[2] {n / secs:,.0f} cases/s after {start_up:.1f} s of "
          f"start-up and warm-up; decide batch --workers 2 {n / w2:,.0f} cases/s (whole run); "
          f"Spark takes {secs / w2:.2f}× as long per case (load average {os.getloadavg()[0]:.1f})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, nargs="*", default=None)
    ap.add_argument("--workers", type=int, default=None, metavar="N", help="--workers 2 against 1 on N lines")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--spark", type=int, default=None, metavar="N", help="Spark local[2] on N cases")
    args = ap.parse_args()
    decide = decide_cmd()
    with tempfile.TemporaryDirectory() as d:
        if args.workers:
            workers(args.workers, Path(d), decide, args.rounds)
        if args.spark:
            spark(args.spark, Path(d), decide)
        if args.lines is not None or not (args.workers or args.spark):
            for n in sorted(args.lines or [100_000, 1_000_000]):  # growing: RUSAGE_CHILDREN keeps the maximum
                peak, rate = memory(n, Path(d), decide)
                print(f"{n:>9,} lines: peak RSS {peak:.1f} MB (max over the runs so far), {rate:,.0f} cases/s")


if __name__ == "__main__":
    main()
