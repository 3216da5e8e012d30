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
- wsgi: the HTTP service's application (``decide.app.http.Service``) called in this
  process by 8 threads, no sockets: CPU time per request without and with the log;
- http: ``decide serve --workers 1`` and ``--workers 2`` under 32 keep-alive clients
  (bench_http's client), without and with ``--decision-log``: requests/s and the
  server's CPU time per request (user + system of all its processes).

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


def _children_cpu() -> float:
    import resource
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def batch(n: int, rounds: int, tmp: Path) -> None:
    """Wall time and CPU time (user + system of the command and its worker processes):
    on a shared machine the CPU time is the steadier measure of the cost."""
    cmd = bench_batch.decide_cmd()
    cases = tmp / "b.jsonl"
    bench_batch.write_cases(cases, n, random.Random(4))
    for w in (1, 2):
        wall = {"no log": float("inf"), "--decision-log": float("inf")}
        cpu = dict(wall)
        for r in range(rounds):
            for k in wall:
                log = tmp / f"b{w}-{r}.log"
                extra = ["--decision-log", str(log)] if k != "no log" else []
                c0 = _children_cpu()
                wall[k] = min(wall[k], bench_batch.timed([cmd, "batch", str(cases), "-d", bench_batch.DECISION,
                                                         "-o", str(tmp / "b.out"), "--workers", str(w), *extra]))
                cpu[k] = min(cpu[k], _children_cpu() - c0)
                if extra:
                    assert sum(1 for _ in open(log, "rb")) == n
                    log.unlink()
        a, b = "no log", "--decision-log"
        print(f"batch --workers {w}, {n:,} lines: no log {n / wall[a]:,.0f} cases/s, {cpu[a] * 1e6 / n:.1f} µs CPU "
              f"a case; --decision-log {n / wall[b]:,.0f} cases/s, {cpu[b] * 1e6 / n:.1f} µs CPU a case: "
              f"{wall[b] / wall[a]:.2f}× the time, {cpu[b] / cpu[a]:.2f}× the CPU; "
              f"load average {os.getloadavg()[0]:.1f}", flush=True)


def wsgi(rounds: int, tmp: Path) -> None:
    import io
    import threading
    from decide.app.http import Service
    from decide.atone import tables_dir
    body = bench_http.BODY
    book = decide.load(tables_dir())
    apps = {"no log": Service(book, metrics=False),
            "DecisionLog": Service(book, metrics=False, decision_log=decide.DecisionLog(tmp / "wsgi.jsonl"))}

    def environ():
        return {"REQUEST_METHOD": "POST", "PATH_INFO": "/decide/purchase_restriction", "HTTP_HOST": "localhost",
                "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body)}

    def run(app, n):
        for _ in range(n):
            app(environ(), lambda status, headers: None)
    best = {}
    for _ in range(rounds):
        for k, app in apps.items():
            threads = [threading.Thread(target=run, args=(app, 1000)) for _ in range(8)]
            t0 = time.process_time()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            best[k] = min(best.get(k, float("inf")), (time.process_time() - t0) / 8000)
    a, b = best["no log"], best["DecisionLog"]
    print(f"wsgi, 8 threads in process: no log {a * 1e6:.1f} µs CPU a request; DecisionLog {b * 1e6:.1f} µs "
          f"(+{(b - a) * 1e6:.1f} µs, {b / a:.2f}× the CPU); load average {os.getloadavg()[0]:.1f}", flush=True)


def _tree_cpu(pid: int) -> float:
    """User + system CPU seconds of a process and its children (the server's workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            with open(f"/proc/{p}/task/{p}/children") as f:
                todo += [int(c) for c in f.read().split()]
        except OSError:
            continue
    return total


def _served_load(args, clients: int, seconds: float) -> dict:
    srv = bench_http.Served(*args)
    try:
        asyncio.run(bench_http._load(srv.port, min(clients, 8), 1.0))  # warm up
        c0 = _tree_cpu(srv.proc.pid)
        res = asyncio.run(bench_http._load(srv.port, clients, seconds))
        res["cpu_us"] = (_tree_cpu(srv.proc.pid) - c0) * 1e6 / max(res["requests"], 1)
        return res
    finally:
        srv.stop()


def http(seconds: float, rounds: int, tmp: Path) -> None:
    """Requests/s and the server's CPU time per request (all its processes)."""
    for w in ("1", "2"):
        best: dict = {}
        cpu: dict = {}
        for r in range(rounds):
            for k in ("no log", "--decision-log"):
                log = tmp / f"h{w}-{r}.log"
                args = ["--workers", w, *(["--decision-log", str(log)] if k != "no log" else [])]
                res = _served_load(args, 32, seconds)
                if k != "no log":
                    lines = sum(1 for _ in open(log, "rb"))
                    assert lines >= res["requests"], (lines, res["requests"])  # + the warm-up's
                    log.unlink()
                if k not in best or res["rps"] > best[k]["rps"]:
                    best[k] = res
                cpu[k] = min(cpu.get(k, float("inf")), res["cpu_us"])
        a, b = best["no log"], best["--decision-log"]
        print(f"http --workers {w}, 32 clients: no log {a['rps']:,.0f} req/s (p99 {a['p99_ms']:.1f} ms, "
              f"{cpu['no log']:.0f} µs server CPU a request); --decision-log {b['rps']:,.0f} req/s (p99 "
              f"{b['p99_ms']:.1f} ms, {cpu['--decision-log']:.0f} µs): {a['rps'] / b['rps']:.2f}× the time, "
              f"{cpu['--decision-log'] / cpu['no log']:.2f}× the CPU; errors {a['errors'] + b['errors']}; "
              f"load average {os.getloadavg()[0]:.1f}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=["api", "batch", "wsgi", "http"])
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
        if a.only in (None, "wsgi"):
            wsgi(a.rounds, Path(d))
        if a.only in (None, "http"):
            http(a.duration, a.rounds, Path(d))


if __name__ == "__main__":
    main()
