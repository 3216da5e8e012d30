"""Memory and speed of ``decide batch`` and ``decide.spark`` on large inputs.  Not a test.

    python bench/bench_batch.py                      # memory: 100,000 and 1,000,000 lines, one worker
    python bench/bench_batch.py --lines 20000        # one smaller run
    python bench/bench_batch.py --workers 1000000    # --workers 2 against 1 on 1,000,000 lines
    python bench/bench_batch.py --spark 1000000      # Spark local[2] against --workers 2 (Parquet both)
    python bench/bench_batch.py --plain 300000       # against a plain json-in/json-out script

Writes purchase cases to a temporary file and runs the installed ``decide batch`` on
it in a child process: its peak RSS and rate (a streaming batch keeps the same peak
whatever the input length); the ratio of --workers 2 to one worker (rounds
interleaved, best of each); Spark's rate on the same cases once its session and
Python workers have started (a warm-up job first), next to ``decide batch --workers 2``;
``decide batch`` against a plain script with the same output (``--plain``: json.loads with
Decimal parsing, a hand-written function of purchase_restriction, json.dumps), rounds
interleaved, best of each, the two outputs compared byte for byte; CPU time of the child
process (user + system), whole run and after start-up (less a 1-line run's time).
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


def cpu_timed(args: list[str]) -> float:
    """The child's CPU time (user + system): steadier than the wall clock on a shared machine."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    timed(args)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


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


PLAIN = r'''"""A plain JSON Lines script: json.loads (Decimal), a hand-written purchase_restriction, json.dumps."""
import json
import sys
from decimal import Decimal

VERSION = %(version)r
RULES = %(rules)r  # (table, rule id) -> the fired rule as JSON data
MESSAGES = %(messages)r  # restriction -> (allowed, message, rule id of RestrictionMessage)
CASHABLE = frozenset(("gift_card", "prepaid_card", "e_money", "cashable_high_value"))
DIGITAL = frozenset(("kindle", "audible", "digital_code", "online_ticket"))


def purchase_restriction(facts):
    category, recurring = facts.get("category"), facts.get("recurring")
    cashable, digital = category in CASHABLE, category in DIGITAL
    fired = [RULES["CashableCategories", "1" if cashable else "2"],
             RULES["DigitalContentCategories", "1" if digital else "2"]]
    if category == "subscription":
        billing, rule = True, "1"
    elif recurring is True:
        billing, rule = True, "2"
    else:
        billing, rule = False, "3"
    fired.append(RULES["RecurringBilling", rule])
    restriction, rule = ("cashable", "1") if cashable else ("digital_content", "2") if digital else \
        ("recurring_billing", "3") if billing else ("none", "4")
    fired.append(RULES["PurchaseRestriction", rule])
    allowed, message, rule = MESSAGES[restriction]
    fired.append(RULES["RestrictionMessage", rule])
    return {"decision": "purchase_restriction", "version": VERSION,
            "outputs": {"allowed": allowed, "restriction": restriction, "message": message}, "fired": fired}


with open(sys.argv[1], "rb") as cases, open(sys.argv[2], "wb") as out:
    for n, line in enumerate(cases, 1):
        row = purchase_restriction(json.loads(line, parse_float=Decimal))
        row["line"] = n
        out.write(json.dumps(row, ensure_ascii=False).encode("utf-8") + b"\n")
'''


def plain_script(path: Path) -> None:
    """Write the plain script, its constants taken from the shipped tables."""
    import decide
    from decide.atone import tables_dir
    from decide.runtime.native import fired_rules
    book = decide.load(tables_dir())
    rules = {(f.table, f.rule): f.to_dict() for t in book.ir.decisions[DECISION].tables
             for f in fired_rules(book.ir, book.ir.tables[t])}
    messages = {}
    for c in ({"category": "books"}, {"category": "gift_card"}, {"category": "kindle"}, {"category": "subscription"}):
        r = book.decide(DECISION, c)
        messages[r.outputs["restriction"]] = (r.outputs["allowed"], r.outputs["message"], r.fired[-1].rule)
    path.write_text(PLAIN % {"version": book.version, "rules": rules, "messages": messages})


def plain(n: int, tmp: Path, decide: str, rounds: int) -> None:
    cases, one, script = tmp / "p.jsonl", tmp / "one.jsonl", tmp / "plain.py"
    write_cases(cases, n, random.Random(6))
    write_cases(one, 1, random.Random(6))
    plain_script(script)
    runs = {"decide batch": lambda src, out: [decide, "batch", str(src), "-d", DECISION, "-o", str(out)],
            "plain script": lambda src, out: [sys.executable, str(script), str(src), str(out)]}
    best = {k: float("inf") for k in runs}
    start = {k: float("inf") for k in runs}
    for _ in range(rounds):
        for name, cmd in runs.items():
            start[name] = min(start[name], cpu_timed(cmd(one, tmp / "one.out")))
            best[name] = min(best[name], cpu_timed(cmd(cases, tmp / f"{name[0]}.out")))
    same = (tmp / "d.out").read_bytes() == (tmp / "p.out").read_bytes()
    for name in runs:
        print(f"{name:<13} {n / best[name]:>9,.0f} lines/s whole run ({best[name]:.2f} s CPU), "
              f"{(n - 1) / (best[name] - start[name]):>9,.0f} lines/s after start-up ({start[name]:.2f} s for 1 line)")
    d, p = "decide batch", "plain script"
    print(f"decide batch / plain script: {best[p] / best[d]:.2f} whole run, "
          f"{(best[p] - start[p]) / (best[d] - start[d]):.2f} after start-up "
          f"(best of {rounds}, {n:,} lines; outputs identical: {same}; load average {os.getloadavg()[0]:.1f})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, nargs="*", default=None)
    ap.add_argument("--workers", type=int, default=None, metavar="N", help="--workers 2 against 1 on N lines")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--spark", type=int, default=None, metavar="N", help="Spark local[2] on N cases")
    ap.add_argument("--plain", type=int, default=None, metavar="N", help="against a plain script on N lines")
    args = ap.parse_args()
    decide = decide_cmd()
    with tempfile.TemporaryDirectory() as d:
        if args.workers:
            workers(args.workers, Path(d), decide, args.rounds)
        if args.spark:
            spark(args.spark, Path(d), decide)
        if args.plain:
            plain(args.plain, Path(d), decide, args.rounds)
        if args.lines is not None or not (args.workers or args.spark or args.plain):
            for n in sorted(args.lines or [100_000, 1_000_000]):  # growing: RUSAGE_CHILDREN keeps the maximum
                peak, rate = memory(n, Path(d), decide)
                print(f"{n:>9,} lines: peak RSS {peak:.1f} MB (max over the runs so far), {rate:,.0f} cases/s")


if __name__ == "__main__":
    main()
