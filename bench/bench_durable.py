"""Benchmark of the durable_rules backend.  Not a test: run it by hand.

    python bench/bench_durable.py            # full run (a few minutes)
    python bench/bench_durable.py --quick    # fewer iterations, 30,000-decision RSS run

On the 8-rule, 5-input FIRST table of ``bench_native.py`` (same cases), single thread:
- raw durable_rules: the same eight rules written by hand as a ruleset dict over the
  raw values, ``post`` with a fresh session id, an action that reads the outputs,
  ``delete_state`` (what any correct stateless use of durable must do; the quiet
  Host without the dispatcher thread, a discriminator property on every rule);
- the durable backend's ``run`` (typed facts in; encoding, chaining, sessions,
  outputs and fired rules out): the wrapper whose cost is bounded at +25% over raw;
- the same through the public API (``book.decide``: validation, Result), and the
  default (native) runtime through the public API.
Then RSS growth over 300,000 decisions on the durable backend (public API), and
the 2,000-rule equality table.
"""
from __future__ import annotations

import argparse
import gc
import itertools
import random
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import decide  # noqa: E402
from decide.runtime.facts import normalise  # noqa: E402
from tests.workbooks import table, write_workbook  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_native import COLS8, GLOSSARY, RULES8, cases8, hand_written, rate  # noqa: E402


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 1e6


def raw_durable():
    """RULES8 as a hand-written durable_rules ruleset; returns decide(case) -> outputs."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from durable import engine as de

    class Host(de.Host):
        def _run(self):
            pass

    host = Host()
    out = {}

    def setter(allowed, restriction):
        def act(c):
            out["allowed"] = allowed
            out["restriction"] = restriction
        return act

    T = {"T": 1}
    rules = {
        "r1": {"all": [{"m": {"$and": [T, {"$or": [{"category": "gift_card"}, {"category": "prepaid_card"},
                                                     {"category": "e_money"}]}]}}],
               "pri": 1, "run": setter(False, "cashable")},
        "r2": {"all": [{"m": {"$and": [T, {"category": "kindle"}, {"merchant": "amazon"}]}}],
               "pri": 2, "run": setter(False, "digital_content")},
        "r3": {"all": [{"m": {"$and": [T, {"recurring": True}]}}], "pri": 3, "run": setter(False, "recurring_billing")},
        "r4": {"all": [{"m": {"$and": [T, {"$gt": {"amount_yen": 50000}}]}}], "pri": 4, "run": setter(False, "over_limit")},
        "r5": {"all": [{"m": {"$and": [T, {"$gt": {"amount_yen": 20000}}, {"$lt": {"months_of_use": 2}}]}}],
               "pri": 5, "run": setter(False, "new_member")},
        "r6": {"all": [{"m": {"$and": [T, {"category": "books"}, {"merchant": "mercari"},
                                       {"$gte": {"amount_yen": 0}}, {"$lte": {"amount_yen": 3000}}]}}],
               "pri": 6, "run": setter(True, "none")},
        "r7": {"all": [{"m": {"$and": [T, {"merchant": "other"}]}}], "pri": 7, "run": setter(True, "none")},
        "r8": {"all": [{"m": T}], "pri": 8, "run": setter(True, "none")},
    }
    host.register_rulesets({"raw8": rules})
    sids = itertools.count()

    def decide(case):
        sid = str(next(sids))
        m = dict(case, sid=sid, T=1)
        try:
            host.post("raw8", m)
        finally:
            host.delete_state("raw8", sid)
        return dict(out)
    return decide


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--rss-decisions", type=int, default=None)
    args = ap.parse_args()
    secs = 0.5 if args.quick else 2.0
    n_rss = args.rss_decisions or (30_000 if args.quick else 300_000)
    rng = random.Random(7)
    tmp = Path(tempfile.mkdtemp())
    write_workbook(tmp / "b8" / "purchase.xlsx", glossary=GLOSSARY, tables=[table("Purchase", "FIRST", COLS8, RULES8)])
    t0 = time.perf_counter()
    dbook = decide.load(tmp / "b8", engine="durable", services=[])
    load = time.perf_counter() - t0
    nbook = decide.load(tmp / "b8", services=[])
    from decide.runtime.durable.backend import DurableBackend
    backend = DurableBackend(dbook.ir)  # the same backend book.decide uses, called directly
    plan = dbook.ir.decisions["Purchase"]
    cases = cases8(1000, rng)
    typed = [normalise(dbook.ir, plan, c) for c in cases]
    raw = raw_durable()
    for c, tc in zip(cases, typed):  # the same answers everywhere
        want = hand_written(c)
        assert raw(c) == want, c
        assert backend.run("Purchase", tc)[0] == want, c
        assert dbook.decide("Purchase", c).outputs == want == nbook.decide("Purchase", c).outputs, c

    run = backend.run
    ddecide, ndecide = dbook.decide, nbook.decide
    contenders = {
        "raw durable_rules (hand-written ruleset)": (raw, cases),
        "durable backend run() (typed facts)": (lambda tc: run("Purchase", tc), typed),
        "durable backend via book.decide": (lambda c: ddecide("Purchase", c), cases),
        "default (native) runtime via book.decide": (lambda c: ndecide("Purchase", c), cases),
    }
    # Interleaved rounds, best of each: a busy machine slows every contender alike.
    best = dict.fromkeys(contenders, 0.0)
    for _ in range(args.rounds):
        for name, (fn, cs) in contenders.items():
            best[name] = max(best[name], rate(fn, cs, secs / 2))
    raw_rate = best["raw durable_rules (hand-written ruleset)"]
    print(f"python {sys.version.split()[0]}; 8-rule 5-input FIRST table; load+compile (durable) {load * 1000:.0f} ms")
    for name, r in best.items():
        print(f"  {name:<45} {r:>10,.0f} decisions/s   ({raw_rate / r - 1:+.0%} time vs raw)")
    overhead = raw_rate / best["durable backend run() (typed facts)"] - 1
    print(f"wrapper overhead over raw durable_rules: {overhead:+.1%} (budget +25%)")

    # RSS over many decisions, public API
    for c in cases * 5:
        ddecide("Purchase", c)
    gc.collect()
    r0 = rss_mb()
    t0 = time.perf_counter()
    n = 0
    while n < n_rss:
        for c in cases:
            ddecide("Purchase", c)
        n += len(cases)
    el = time.perf_counter() - t0
    gc.collect()
    r1 = rss_mb()
    print(f"RSS over {n:,} durable decisions: {r0:.1f} MB -> {r1:.1f} MB ({r1 - r0:+.2f} MB), "
          f"{n / el:,.0f} decisions/s")

    # the shipped workbooks: chained decisions (one ruleset visit per table)
    import json
    root = Path(__file__).resolve().parents[1]
    from decide.runtime.durable import backend as durable_backend
    shipped_d = decide.load(root / "tables", engine="durable")
    shared_rules, durable_backend.SHARED_RULES = durable_backend.SHARED_RULES, 0
    shipped_sep = decide.load(root / "tables", engine="durable")  # one ruleset per table, as before
    durable_backend.SHARED_RULES = shared_rules
    shipped_n = decide.load(root / "tables")
    by_decision: dict = {}
    for f in sorted((root / "examples").glob("*.json")):
        case = json.loads(f.read_text())
        name = case.pop("decision", None)
        if name in shipped_n.decisions:
            by_decision.setdefault(name, []).append(case)
    for name, cs in by_decision.items():
        for c in cs:  # warm up (derive hooks load dictionaries) and check
            assert shipped_d.decide(name, c) == shipped_n.decide(name, c)
            assert shipped_sep.decide(name, c) == shipped_n.decide(name, c)
        rd = rs = 0.0
        for _ in range(3):  # alternate: the machine is shared and noisy
            rd = max(rd, rate(lambda c: shipped_d.decide(name, c), cs, secs / 4))
            rs = max(rs, rate(lambda c: shipped_sep.decide(name, c), cs, secs / 4))
        rn = rate(lambda c: shipped_n.decide(name, c), cs, secs / 2)
        print(f"shipped {name} ({len(shipped_n.decisions[name].tables)} chained tables): durable {rd:,.0f}/s "
              f"(small tables share one ruleset; one ruleset per table: {rs:,.0f}/s, x{rd / rs:.2f}), "
              f"native {rn:,.0f}/s")

    # 2,000-rule equality table
    rules = [[i + 1, f'"m{i}"', f'"r{i % 5}"'] for i in range(2000)] + [[2001, "-", '"default"']]
    write_workbook(tmp / "eq" / "routing.xlsx", glossary=[("merchant_code", "text", "", "加盟店コード"),
                                                          ("route", "text", "", "経路")],
                   tables=[table("Routing", "FIRST", ["INPUT merchant_code", "OUTPUT route"], rules)])
    t0 = time.perf_counter()
    big = decide.load(tmp / "eq", engine="durable", services=[])
    load = time.perf_counter() - t0
    from decide.runtime.durable.compile import compile_for_durable
    ct = compile_for_durable(big.ir, big.ir.tables["Routing"])
    parts = len(ct.parts)
    cs = [{"merchant_code": f"m{rng.randrange(2200)}"} for _ in range(1000)]
    bn = decide.load(tmp / "eq", services=[])
    assert all(big.decide("Routing", c).outputs == bn.decide("Routing", c).outputs for c in cs)
    r = rate(lambda c: big.decide("Routing", c), cs, secs)
    print(f"2,000-rule equality table: {parts} rulesets, indexed by code (durable hangs at 512 tests on one node), "
          f"{r:,.0f} decisions/s, load+compile {load:.1f} s")


if __name__ == "__main__":
    main()
