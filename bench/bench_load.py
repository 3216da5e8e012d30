"""Benchmark of loading workbooks and of cold start.  Not a test: run it by hand.

    python bench/bench_load.py                    # everything (a few minutes)
    python bench/bench_load.py --only rules       # µs per rule: ours against openpyxl's
    python bench/bench_load.py --only startup     # `decide CASE.json` against `python -c pass`
    python bench/bench_load.py --only first       # first decline_diagnosis decision against the rest

rules: generated workbooks of --rules rules (keyed: bench_native's table, a merchant code and
an amount range; wide: five inputs of random cells) and the shipped tables.  Each round
times, in this process, (a) openpyxl alone: each workbook opened as the reader opens it
and every sheet streamed through openpyxl's own sheet parser (``WorkSheetParser``), the
one pass the reader makes; (b) the Book: the bytes read and (a) plus our reading, parsing,
typing and checking (``build_book``, no cache); (c) ``decide.load`` with the cache off:
(b) plus the native runtime's compile and the version; (d) ``decide.load`` answered by
the compile cache.  Ours per rule = ((b) − (a)) / rules, and ((c) − (a)) / rules with the
runtime's compile.  CPU time of this process; rounds interleaved, the least of each kept.

startup: wall time of whole processes (the installed ``decide`` script), alternated run by
run, median of --runs (after two warm-up runs each, which also write the byte code and the
cache entry); the compile cache in a fresh directory.

first: in fresh processes, the shipped tables loaded, then decline_diagnosis decided on
the shipped decline examples, each with a registered name never seen before (so every
decision romanises a new name): the first decision against the median of the next 200;
purchase_restriction's first decision beside it (what any first call costs).
"""
from __future__ import annotations

import argparse
import io
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.workbooks import table, write_workbook  # noqa: E402

CATS = ["general_goods", "books", "gift_card", "kindle", "prepaid_card", "e_money", "fashion"]


def keyed(path: Path, n: int, seed: int = 1) -> Path:
    """bench_native.py's table: ``n`` rules keyed by a merchant code with an amount range each."""
    rules = [[i + 1, f'"m{i}"', f"[{(i % 7) * 1000}..{(i % 7) * 1000 + 50000}]", f'"r{i % 5}"'] for i in range(n)]
    rules.append([n + 1, "-", "-", '"default"'])
    write_workbook(path, glossary=[
        ("merchant_code", "text", "", "加盟店コード"),
        ("amount_yen", "integer", "", "金額"),
        ("route", "text", "", "経路"),
    ], tables=[table("Routing", "FIRST", ["INPUT merchant_code", "INPUT amount_yen", "OUTPUT route"], rules)])
    return path


def wide(path: Path, n: int, seed: int = 1) -> Path:
    """One FIRST table of ``n`` rules (plus a catch-all) over five inputs, random cells."""
    rng = random.Random(seed)
    rules = []
    for i in range(n):
        lo = rng.randrange(0, 90_000)
        rules.append([i + 1, f'"m{i}"', f"[{lo}..{lo + rng.randrange(1, 50_000)}]",
                      rng.choice([True, False, "-"]), f"> {rng.randrange(0, 24)}",
                      '"' + '","'.join(rng.sample(CATS, 2)) + '"', f'"r{i % 9}"', rng.randrange(0, 100)])
    rules.append([n + 1, "-", "-", "-", "-", "-", '"default"', 0])
    write_workbook(path, glossary=[
        ("merchant_code", "text", "", "加盟店コード"),
        ("amount_yen", "integer", "", "金額"),
        ("recurring", "boolean", "", "継続課金"),
        ("months_of_use", "integer", "", "利用月数"),
        ("category", "text", ",".join(f'"{c}"' for c in CATS), "カテゴリ"),
        ("route", "text", "", "経路"),
        ("score", "integer", "", "点数"),
    ], tables=[table("Routing", "FIRST", ["INPUT merchant_code", "INPUT amount_yen", "INPUT recurring",
                                          "INPUT months_of_use", "INPUT category", "OUTPUT route",
                                          "OUTPUT score"], rules)])
    return path


# ----------------------------------------------------------------------------- µs per rule
def openpyxl_only(directory: Path) -> None:
    """openpyxl's share of a load: each workbook opened (manifest, shared strings, workbook,
    styles) and each sheet streamed through openpyxl's WorkSheetParser, rows discarded."""
    from openpyxl.worksheet._reader import WorkSheetParser

    from decide.compile.reader import _open
    from decide.compile.source import read_source
    from decide.compile.xlsxguard import open_bytes
    src = read_source(directory)
    for _, data in src.entries:
        zf = open_bytes(data, src.limits)
        try:
            wb, strings, parts = _open(zf)
            for _, part in parts:
                with zf.open(part) as f:
                    parser = WorkSheetParser(f, strings, data_only=True, epoch=wb.epoch,
                                             date_formats=wb._date_formats,
                                             timedelta_formats=wb._timedelta_formats)
                    for _ in parser.parse():
                        pass
        finally:
            zf.close()


def timed(fn) -> float:
    """CPU time of this process (other jobs on the machine barely move it)."""
    t = time.process_time()
    fn()
    return time.process_time() - t


def bench_rules(n_rules: int, rounds: int, shapes: list[str]) -> list[dict]:
    import decide
    from decide.app.shipped import shipped_tables
    from decide.compile import cache
    from decide.compile.loader import build_book, collector_paused, discover_services
    from decide.compile.source import read_source

    tmp = Path(tempfile.mkdtemp(prefix="decide-bench-load-"))
    os.environ["DECIDE_CACHE_DIR"] = str(tmp / "cache")
    sets = {}
    if "keyed" in shapes:
        sets[f"keyed: {n_rules:,} rules × 2 inputs (bench_native's)"] = keyed(tmp / "k" / "t.xlsx", n_rules).parent
    if "wide" in shapes:
        sets[f"wide: {n_rules:,} rules × 5 inputs, random cells"] = wide(tmp / "w" / "t.xlsx", n_rules).parent
    if "shipped" in shapes:
        sets["the shipped tables (3 workbooks)"] = Path(shipped_tables())
    services = discover_services()
    rows = []
    try:
        for label, d in sets.items():
            os.environ.pop("DECIDE_CACHE", None)
            book = decide.load(d)  # also writes the cache entry
            rules = sum(len(t.rules) for t in book.ir.tables.values())
            times = {k: [] for k in ("openpyxl", "book", "load", "hit")}
            for _ in range(rounds):
                times["openpyxl"].append(timed(lambda: openpyxl_only(d)))
                os.environ["DECIDE_CACHE"] = "0"
                with collector_paused():  # as the loader builds it
                    times["book"].append(timed(lambda: build_book(read_source(d), services)))
                times["load"].append(timed(lambda: decide.load(d)))
                os.environ.pop("DECIDE_CACHE")
                times["hit"].append(timed(lambda: decide.load(d)))
            med = {k: min(v) for k, v in times.items()}
            entry = next(cache.directory().glob("*.pickle"), None)
            rows.append({"set": label, "rules": rules, **med, "entry_bytes": entry.stat().st_size if entry else 0})
            cache.clear()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return rows


# ----------------------------------------------------------------------------- start-up
def _env(cache_dir: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "DECIDE_CACHE")}
    env["DECIDE_CACHE_DIR"] = str(cache_dir)
    env.update(extra)
    return env


def bench_startup(runs: int) -> list[dict]:
    exe = Path(sys.executable).parent / "decide"
    tmp = Path(tempfile.mkdtemp(prefix="decide-bench-start-"))
    warm, off = _env(tmp / "cache"), _env(tmp / "cache", DECIDE_CACHE="0")
    cmds = {
        "python -c pass": ([sys.executable, "-c", "pass"], warm),
        "decide --help": ([str(exe), "--help"], warm),
        "decide examples/purchase_clean.json (cache warm)": ([str(exe), "examples/purchase_clean.json"], warm),
        "decide examples/purchase_clean.json (DECIDE_CACHE=0)": ([str(exe), "examples/purchase_clean.json"], off),
        "decide examples/decline_gift_card.json (cache warm)": ([str(exe), "examples/decline_gift_card.json"], warm),
    }
    walls = {k: [] for k in cmds}
    cpus = {k: [] for k in cmds}
    try:
        for k, (argv, env) in cmds.items():  # warm-up: byte code, cache entry
            for _ in range(2):
                subprocess.run(argv, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, check=True)
        for _ in range(runs):
            for k, (argv, env) in cmds.items():
                r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
                t = time.perf_counter()
                subprocess.run(argv, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, check=True)
                walls[k].append(time.perf_counter() - t)
                r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpus[k].append(r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    base = statistics.median(walls["python -c pass"])
    cbase = statistics.median(cpus["python -c pass"])
    return [{"command": k, "wall_ms": statistics.median(v) * 1e3, "cpu_ms": statistics.median(cpus[k]) * 1e3,
             "vs_python": statistics.median(v) / base, "cpu_vs_python": statistics.median(cpus[k]) / cbase}
            for k, v in walls.items()]


# ----------------------------------------------------------------------------- first decision
FIRST = r"""
import json, sys, time
from pathlib import Path
import decide
from decide.app.shipped import shipped_tables
book = decide.load(shipped_tables())
book.warm()  # what decide serve and decide batch do at start
import random
rng = random.Random(int(sys.argv[1]))
KANA = "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワン"
def name():  # a registered name never seen before: every name check romanises afresh
    part = lambda: "".join(rng.choice(KANA) for _ in range(rng.randrange(2, 5)))
    return part() + " " + part()
out = {}
for name_, glob in (("decline_diagnosis", "decline_*.json"), ("purchase_restriction", "purchase_*.json")):
    cases = []
    for p in sorted(Path("examples").glob(glob)):
        f = json.loads(p.read_text(encoding="utf-8")); f.pop("decision", None); cases.append(f)
    if name_ == "decline_diagnosis":
        cases = [dict(cases[i % len(cases)], entered_name="YAMADA TARO", registered_name_kana=name())
                 for i in range(201)]
    times = []
    for i in range(201):
        f = cases[i % len(cases)]
        t = time.perf_counter()
        try:
            book.decide(name_, f)
        except decide.CaseError:
            pass
        times.append(time.perf_counter() - t)
    out[name_] = times
print(json.dumps(out))
"""


def bench_first(processes: int) -> dict:
    """Per decision: the first call's time and the median of the next 200 (medians over
    fresh processes)."""
    tmp = Path(tempfile.mkdtemp(prefix="decide-bench-first-"))
    firsts, rests = {}, {}
    try:
        for seed in range(processes):
            out = subprocess.run([sys.executable, "-c", FIRST, str(seed)], env=_env(tmp / "cache"), cwd=ROOT,
                                 capture_output=True, text=True, check=True).stdout
            for name, times in json.loads(out).items():
                firsts.setdefault(name, []).append(times[0])
                rests.setdefault(name, []).append(statistics.median(times[1:]))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {name: {"first_us": statistics.median(firsts[name]) * 1e6, "rest_us": statistics.median(rests[name]) * 1e6,
                   "worst_first_us": max(firsts[name]) * 1e6} for name in firsts}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", choices=["rules", "startup", "first"])
    ap.add_argument("--rules", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--shapes", default="keyed,wide,shipped", help="of keyed, wide, shipped")
    ap.add_argument("--runs", type=int, default=21)
    ap.add_argument("--processes", type=int, default=7)
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f}, Python {sys.version.split()[0]}")
    if args.only in (None, "rules"):
        print("\n| workbooks | rules | openpyxl | read, parse, type, check (ours) | native compile, version | "
              "µs/rule: openpyxl / ours to the Book / ours in all | cache hit | cache entry |")
        print("|---|---|---|---|---|---|---|---|")
        for r in bench_rules(args.rules, args.rounds, args.shapes.split(",")):
            n = r["rules"]
            ours_book, runtime = r["book"] - r["openpyxl"], r["load"] - r["book"]
            print(f"| {r['set']} | {n:,} | {r['openpyxl'] * 1e3:,.0f} ms | {ours_book * 1e3:,.0f} ms | "
                  f"{runtime * 1e3:,.0f} ms | {r['openpyxl'] / n * 1e6:.0f} / **{ours_book / n * 1e6:.0f}** / "
                  f"{(r['load'] - r['openpyxl']) / n * 1e6:.0f} | {r['hit'] * 1e3:,.1f} ms | "
                  f"{r['entry_bytes'] / 1e6:.2f} MB |")
    if args.only in (None, "startup"):
        print("\n| command | wall (median) | wall vs `python -c pass` | CPU (median) | CPU vs `python -c pass` |")
        print("|---|---|---|---|---|")
        for r in bench_startup(args.runs):
            print(f"| `{r['command']}` | {r['wall_ms']:.0f} ms | **{r['vs_python']:.2f}×** | {r['cpu_ms']:.0f} ms | "
                  f"{r['cpu_vs_python']:.2f}× |")
    if args.only in (None, "first"):
        print(f"\n| decision ({args.processes} fresh processes) | first decision | worst first | "
              "the next 200 (median) |")
        print("|---|---|---|---|")
        for name, r in bench_first(args.processes).items():
            print(f"| {name} | {r['first_us']:.0f} µs | {r['worst_first_us']:.0f} µs | {r['rest_us']:.0f} µs |")


if __name__ == "__main__":
    main()
