"""The durable_rules backend beyond the differential suite: durable's limits (large
equality columns, many overlapping comparisons, too many values, too many
alternatives), sessions, threads, the shipped workbooks, and what happens where
durable_rules cannot be imported."""
from __future__ import annotations

import faulthandler
import json
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

pytest.importorskip("durable.engine")

import decide  # noqa: E402
from decide.runtime import reference  # noqa: E402
from decide.runtime.durable.compile import compile_for_durable  # noqa: E402
from decide.runtime.durable.backend import DurableBackend  # noqa: E402
from decide.model.errors import EvaluationError, WorkbookError  # noqa: E402
from decide.model.ir import (  # noqa: E402
    AnyTest, CompareTest, HitPolicy, InputColumn, InputEntry, Literal, Loc, Name, OrTests,
    OutputColumn, OutputEntry, RangeTest, Rule, Table, Type,
)

from .strategies import field, make_book  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
LOC = Loc("big.xlsx", "Big", "B1")


@pytest.fixture(autouse=True)
def watchdog():
    """durable_rules hangs inside C on some rule sets: never let a test hang."""
    faulthandler.dump_traceback_later(300, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


def one_table(name, policy, in_fields, out_field, rows, agg=None):
    """rows: (tests per input column, output value)."""
    fields = {f.name: f for f in in_fields + [out_field]}
    rules = tuple(Rule(str(i + 1), i, i + 6, tuple(InputEntry(t, "", LOC) for t in tests),
                       (OutputEntry(Literal(out), "", LOC),), (), LOC.at(f"A{i + 6}"))
                  for i, (tests, out) in enumerate(rows))
    t = Table(name, policy, agg, "", tuple(InputColumn(f.name, Name(f.name), f.type, f.name, LOC) for f in in_fields),
              (OutputColumn(out_field.name, out_field.name, out_field.type, LOC),), (), rules, LOC)
    return make_book(fields, [t])


def agrees(book, backend, name, cases):
    for case in cases:
        try:
            expected = reference.evaluate(book, name, case)
        except EvaluationError as e:
            with pytest.raises(EvaluationError) as got:
                backend.run(name, dict(case))
            assert got.value.table == e.table
            continue
        assert backend.run(name, dict(case)) == (expected[0], list(expected[1])), case


# --------------------------------------------------------------------------- limits
def test_2000_rule_equality_table_decides_without_hanging():
    code, out = field("code", Type.INTEGER), field("label", Type.TEXT)
    rows = [([CompareTest("=", Literal(i * 7))], f"L{i}") for i in range(2000)]
    book = one_table("Codes", HitPolicy.UNIQUE, [code], out, rows)
    ct = compile_for_durable(book, book.tables["Codes"])
    assert len(ct.parts) >= 5  # 512 children of one node hang durable: split
    backend = DurableBackend(book)
    cases = [{"code": i * 7} for i in (0, 1, 499, 500, 511, 512, 1024, 1999)] + \
            [{"code": 3}, {"code": -7}, {"code": 2000 * 7}, {}]
    agrees(book, backend, "Codes", cases)
    assert backend.run("Codes", {"code": 1999 * 7}) == ({"label": "L1999"}, [("Codes", 1999)])


def test_2000_rule_text_equality_first_table():
    sku, out = field("sku", Type.TEXT), field("price", Type.INTEGER)
    rows = [([CompareTest("=", Literal(f"sku-{i:04d}"))], i) for i in range(2000)] + [([AnyTest()], -1)]
    book = one_table("Prices", HitPolicy.FIRST, [sku], out, rows)
    backend = DurableBackend(book)
    agrees(book, backend, "Prices", [{"sku": f"sku-{i:04d}"} for i in (0, 7, 511, 1500, 1999)] +
           [{"sku": "zzz"}, {}])


def test_many_overlapping_comparisons_are_split_not_error_303():
    """A value satisfying hundreds of `<` tests at once overflows durable's matching
    stack (error 303); the compiler splits the table until it cannot."""
    amount, out = field("amount", Type.INTEGER), field("band", Type.INTEGER)
    rows = [([CompareTest("<", Literal(i))], i) for i in range(600)]
    book = one_table("Bands", HitPolicy.COLLECT, [amount], out, rows)
    backend = DurableBackend(book)
    agrees(book, backend, "Bands", [{"amount": v} for v in (-1, 0, 1, 300, 599, 600)] + [{}])


def test_table_testing_too_many_values_is_a_load_error_naming_it():
    ins = [field(f"f{i}", Type.INTEGER) for i in range(260)]
    out = field("o", Type.INTEGER)
    rows = [([CompareTest(">", Literal(1))] * 260, 1)]
    book = one_table("TooWide", HitPolicy.FIRST, ins, out, rows)
    with pytest.raises(WorkbookError) as e:
        DurableBackend(book)
    assert "TooWide" in str(e.value) and "at most" in str(e.value)
    assert e.value.diagnostics[0].workbook == "big.xlsx"


def test_rule_with_too_many_alternatives_is_a_load_error_naming_table_and_rule():
    ins = [field(f"f{i}", Type.INTEGER) for i in range(16)]
    out = field("o", Type.INTEGER)
    alts = OrTests((CompareTest("=", Literal(1)), CompareTest("=", Literal(3))))
    book = one_table("ManyOr", HitPolicy.FIRST, ins, out, [([alts] * 16, 1)])
    with pytest.raises(WorkbookError) as e:
        DurableBackend(book)
    msg = str(e.value)
    assert "ManyOr" in msg and "rule 1" in msg


def test_native_keeps_working_when_durable_refuses_a_table(tmp_path):
    """Only engine="durable" is affected by durable's limits."""
    ins = [field(f"f{i}", Type.INTEGER) for i in range(260)]
    book = one_table("TooWide", HitPolicy.FIRST, ins, field("o", Type.INTEGER),
                     [([CompareTest(">", Literal(1))] * 260, 1)])
    from decide.runtime import native
    fns = native.compile_book(book)
    assert fns["TooWide"]({f"f{i}": 2 for i in range(260)}).outputs == {"o": 1}


# --------------------------------------------------------------------------- sessions
def test_sessions_are_deleted_even_after_errors():
    x, out = field("x", Type.INTEGER), field("o", Type.INTEGER)
    rows = [([RangeTest(Literal(0), Literal(10), True, True)], 1), ([CompareTest(">=", Literal(5))], 2)]
    book = one_table("U", HitPolicy.UNIQUE, [x], out, rows)
    backend = DurableBackend(book)
    for i in range(3000):  # > 1,024 live sessions would be a MemoryError
        with pytest.raises(EvaluationError):
            backend.run("U", {"x": 7})
        assert backend.run("U", {"x": 1}) == ({"o": 1}, [("U", 0)])
    for name in backend._stages["U"].names:  # no session is left behind
        with pytest.raises(Exception, match="error code: 309"):  # sid not found
            backend._host.get_state(name, "7")


def test_two_backends_of_one_book_coexist():
    x, out = field("x", Type.INTEGER), field("o", Type.INTEGER)
    book = one_table("T", HitPolicy.FIRST, [x], out, [([CompareTest("<", Literal(3))], 1)])
    a, b = DurableBackend(book), DurableBackend(book)
    assert a.run("T", {"x": 1}) == b.run("T", {"x": 1}) == ({"o": 1}, [("T", 0)])


# --------------------------------------------------------------------------- shipped workbooks
def test_shipped_tables_and_tests_sheets_pass_on_durable():
    from decide.tools.testing import run_tests
    book = decide.load(ROOT / "tables", engine="durable")
    outcomes = run_tests(book)
    failed = [o.describe() for o in outcomes if not o.passed]
    assert outcomes and not failed, failed


def test_shipped_tables_agree_with_native_on_the_tests_sheets():
    dur = decide.load(ROOT / "tables", engine="durable")
    nat = decide.load(ROOT / "tables")
    n = 0
    for suite in nat.ir.tests:
        for case in suite.cases:
            raw = {k: (list(v) if isinstance(v, tuple) else v) for k, v in case.inputs.items()}
            try:
                expected = nat.decide(suite.target, raw)
            except EvaluationError:
                with pytest.raises(EvaluationError):
                    dur.decide(suite.target, raw)
                continue
            assert dur.decide(suite.target, raw) == expected
            n += 1
    assert n > 0


def test_small_tables_of_a_decision_share_one_ruleset():
    """Each shipped decision's small tables live in one durable ruleset (one session
    per decision instead of one per table), and decide exactly as one ruleset per
    table does."""
    from decide.runtime.durable import backend as durable_backend
    dur = decide.load(ROOT / "tables", engine="durable")
    backend = dur._state[2]
    for name in ("card_eligibility", "decline_diagnosis"):
        tables = dur.ir.decisions[name].tables
        rulesets = {r for t in tables for r in backend._stages[t].names}
        assert len(rulesets) < len(tables) / 2, (name, rulesets)
    old, durable_backend.SHARED_RULES = durable_backend.SHARED_RULES, 0
    try:
        separate = decide.load(ROOT / "tables", engine="durable")
    finally:
        durable_backend.SHARED_RULES = old
    sep = separate._state[2]
    assert len(sep._names) == len(dur.ir.tables) > len(backend._names)
    for f in sorted((ROOT / "examples").glob("*.json")):
        case = json.loads(f.read_text())
        name = case.pop("decision")
        assert dur.decide(name, case) == separate.decide(name, case), f.name


# --------------------------------------------------------------------------- threads
THREAD_SCRIPT = textwrap.dedent("""
    import json, random, sys, threading
    sys.path.insert(0, {root!r})
    import decide
    n = int(sys.argv[1])
    book = decide.load({tables!r}, engine="durable")
    names = [d for d in book.decisions]
    rng = random.Random(7)
    work = []
    for i in range(n):
        name = names[i % len(names)]
        info = book.decisions[name]
        case = {{}}
        for f in info.inputs:
            fld = book.ir.fields[f]
            allowed = fld.allowed if isinstance(fld.allowed, tuple) else None
            if allowed and rng.random() < 0.8:
                v = rng.choice(allowed)
                case[f] = list(v) if isinstance(v, tuple) else (str(v) if fld.type.value == "version" else
                          (v.isoformat() if fld.type.value == "date" else v))
            elif fld.type.value in ("integer", "number") and rng.random() < 0.7:
                case[f] = rng.choice([0, 1, 2, 3, 5, 10, 100, 3000, 50000, 100000])
            elif fld.type.value == "boolean" and rng.random() < 0.7:
                case[f] = rng.random() < 0.5
        work.append((name, case))
    def decide(name, case):
        try:
            return json.dumps(book.decide(name, case).to_dict(), sort_keys=True, default=str)
        except Exception as e:
            return type(e).__name__ + ": " + str(e)
    seq = [decide(*w) for w in work]
    results = [None] * 8
    def worker(k):
        results[k] = [decide(*w) for w in work]
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads: t.start()
    for t in threads: t.join()
    ok = sum(r == seq for r in results)
    print(json.dumps({{"equal": ok, "distinct_outcomes": len(set(seq))}}))
""")


def run_threads(tmp_path, n):
    script = tmp_path / "threads.py"
    script.write_text(THREAD_SCRIPT.format(root=str(ROOT), tables=str(ROOT / "tables")))
    p = subprocess.run([sys.executable, str(script), str(n)], capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, (p.returncode, p.stderr[-2000:])  # a segfault is -11
    return json.loads(p.stdout.strip().splitlines()[-1])


def test_8_threads_agree_with_sequential_quick(tmp_path):
    r = run_threads(tmp_path, 500)
    assert r["equal"] == 8 and r["distinct_outcomes"] > 5


@pytest.mark.slow
def test_8_threads_x_5000_decisions_10_runs_out_of_10(tmp_path):
    for run in range(10):
        r = run_threads(tmp_path, 5000)
        assert r["equal"] == 8, run


def test_threads_in_process_share_one_backend():
    x, out = field("x", Type.INTEGER), field("o", Type.INTEGER)
    rows = [([CompareTest("<", Literal(i))], i) for i in range(0, 40, 3)]
    book = one_table("T", HitPolicy.RULE_ORDER, [x], out, rows)
    backend = DurableBackend(book)
    seq = [backend.run("T", {"x": i % 45}) for i in range(2000)]
    res = [None] * 8

    def worker(k):
        res[k] = [backend.run("T", {"x": i % 45}) for i in range(2000)]
    ts = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert all(r == seq for r in res)


# --------------------------------------------------------------------------- no durable_rules
def test_without_durable_rules_native_works_and_durable_fails_in_one_line(tmp_path):
    script = tmp_path / "nodurable.py"
    script.write_text(textwrap.dedent(f"""
        import sys
        sys.modules["durable"] = None  # as where it cannot be imported (Python 3.13)
        sys.path.insert(0, {str(ROOT)!r})
        import decide
        book = decide.load({str(ROOT / "tables")!r})
        print("native ok", len(book.decisions))
        try:
            decide.load({str(ROOT / "tables")!r}, engine="durable")
        except RuntimeError as e:
            print("durable:", e)
    """))
    p = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    lines = p.stdout.strip().splitlines()
    assert lines[0].startswith("native ok"), p.stderr
    assert lines[1].startswith('durable: engine="durable" needs durable_rules') and len(lines) == 2
    assert "default engine works" in lines[1]


def test_cli_engine_durable(tmp_path):
    p = subprocess.run([sys.executable, "-m", "decide.app.cli", "test", str(ROOT / "tables"), "--engine", "durable"],
                       capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "0 failed" in p.stdout


def test_table_needing_too_many_rulesets_is_a_load_error_naming_it():
    """5,000 overlapping `<` rules split into more rulesets than a decision may chain."""
    x, out = field("x", Type.INTEGER), field("o", Type.INTEGER)
    rows = [([CompareTest("<", Literal(i))], i) for i in range(5000)]
    book = one_table("Staircase", HitPolicy.COLLECT, [x], out, rows)
    with pytest.raises(WorkbookError) as e:
        DurableBackend(book)
    assert "Staircase" in str(e.value) and "rulesets" in str(e.value)


def test_close_frees_the_rulesets_and_refuses_further_decisions():
    x, out = field("x", Type.INTEGER), field("o", Type.INTEGER)
    book = one_table("T", HitPolicy.FIRST, [x], out, [([CompareTest("<", Literal(3))], 1)])
    backend = DurableBackend(book)
    assert backend.run("T", {"x": 1}) == ({"o": 1}, [("T", 0)])
    backend.close()
    with pytest.raises(RuntimeError, match="closed"):
        backend.run("T", {"x": 1})


def test_reloads_free_the_old_rulesets():
    """durable cannot replace a ruleset; each reload registers new ones.  The old
    backend's rulesets are deleted when it is collected (≈ 2.2 MB per reload of the
    shipped workbooks otherwise)."""
    import gc

    def rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * 4096 / 1e6
    book = decide.load(ROOT / "tables", engine="durable")
    for _ in range(3):
        book.reload()
    gc.collect()
    r0 = rss()
    for _ in range(30):
        book.reload()
    gc.collect()
    assert rss() - r0 < 20  # ≈ 66 MB if the rulesets stayed
    assert book.decide("purchase_restriction", {"merchant": "amazon", "category": "gift_card",
                                                "amount_yen": 5000, "recurring": False}).outputs


# --------------------------------------------------------------------------- big random tables
def big_random_table(seed):
    """100–2,500 rules × 1–8 integer columns of random cells (equalities, comparisons,
    intervals, lists, not(...), null) over small or large domains."""
    import random
    rng = random.Random(seed)
    ncols, nrules = rng.randint(1, 8), rng.choice([100, 300, 600, 1200, 2500])
    dom = list(range(rng.choice([5, 50, 700, 3000])))
    policy = rng.choice([HitPolicy.FIRST, HitPolicy.PRIORITY, HitPolicy.COLLECT, HitPolicy.RULE_ORDER,
                         HitPolicy.OUTPUT_ORDER])
    ins = [field(f"c{j}", Type.INTEGER) for j in range(ncols)]
    ranked = policy in (HitPolicy.PRIORITY, HitPolicy.OUTPUT_ORDER)
    out = field("o", Type.TEXT, ("high", "mid", "low")) if ranked else field("o", Type.INTEGER)

    def cell():
        k = rng.random()
        if k < 0.35:
            return AnyTest()
        if k < 0.6:
            return CompareTest("=", Literal(rng.choice(dom)))
        if k < 0.75:
            return CompareTest(rng.choice(["<", "<=", ">", ">="]), Literal(rng.choice(dom)))
        if k < 0.85:
            a, b = sorted(rng.sample(dom, 2))
            return RangeTest(Literal(a), Literal(b), rng.random() < .5, rng.random() < .5)
        if k < 0.9:
            from decide.model.ir import NullTest
            return NullTest()
        if k < 0.95:
            return OrTests(tuple(CompareTest("=", Literal(rng.choice(dom))) for _ in range(rng.randint(2, 4))))
        from decide.model.ir import NotTests
        return NotTests((CompareTest("=", Literal(rng.choice(dom))),))
    rows = [([cell() for _ in range(ncols)], rng.choice(out.allowed) if ranked else i) for i in range(nrules)]
    book = one_table("Big", policy, ins, out, rows)
    cases = [{f"c{j}": rng.choice(dom + [-1, len(dom)]) for j in range(ncols) if rng.random() < 0.9}
             for _ in range(150)]
    return book, cases


@pytest.mark.parametrize("seed", [3, 11])
def test_big_random_tables_never_hang_and_agree(seed):
    book, cases = big_random_table(seed)
    agrees(book, DurableBackend(book), "Big", cases)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(100, 140))
def test_big_random_tables_never_hang_and_agree_slow(seed):
    book, cases = big_random_table(seed)
    agrees(book, DurableBackend(book), "Big", cases)
