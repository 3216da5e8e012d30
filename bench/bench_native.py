"""Benchmark of the default (native) runtime.  Not a test: run it by hand.

    python bench/bench_native.py            # full run (about a minute)
    python bench/bench_native.py --quick    # fewer iterations

Measures, single thread, through the public API (``book.decide``, which validates
the case and builds the Result):
- an 8-rule, 5-input FIRST table, next to a hand-written Python function of the
  same logic (the ratio is printed);
- the same 8 rules after 200 equality rows on an id column (the 208-rule keyed
  table), next to a hand-written function (a dict on the id, then the 8 rules);
  both hand-written functions also validate the case (unknown fields, exact types,
  allowed values and ranges) and return the fired rule ids, as ``book.decide`` does;
- synthetic tables of 10, 100, 1,000 and 10,000 rules keyed by an equality column
  (plus a range column), and the load+compile time of each workbook.

    python bench/bench_native.py --against /path/to/other/python [--rounds N]

runs this script's ``--rates`` mode (the 8-rule and 208-rule tables and the three
shipped decisions on the shipped examples) under this interpreter and under another
one (e.g. a venv with main's tree installed) alternately, best of each, and prints
the ratios: before/after figures measured in one run.
"""
from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import decide  # noqa: E402
from tests.workbooks import table, write_workbook  # noqa: E402

GLOSSARY = [
    ("category", "text", '"general_goods","books","gift_card","kindle","prepaid_card","e_money","fashion"', "カテゴリ"),
    ("merchant", "text", '"amazon","mercari","qoo10","yodobashi","other"', "加盟店"),
    ("amount_yen", "integer", "[0..10000000]", "金額"),
    ("recurring", "boolean", "", "継続課金"),
    ("months_of_use", "integer", "[0..1200]", "利用月数"),
    ("allowed", "boolean", "", "可否"),
    ("restriction", "text", '"none","cashable","digital_content","recurring_billing","over_limit","new_member"', "制限"),
]
RULES8 = [
    [1, '"gift_card","prepaid_card","e_money"', "-", "-", "-", "-", False, '"cashable"'],
    [2, '"kindle"', '"amazon"', "-", "-", "-", False, '"digital_content"'],
    [3, "-", "-", "-", True, "-", False, '"recurring_billing"'],
    [4, "-", "-", "> 50000", "-", "-", False, '"over_limit"'],
    [5, "-", "-", "> 20000", "-", "< 2", False, '"new_member"'],
    [6, '"books"', '"mercari"', "[0..3000]", "-", "-", True, '"none"'],
    [7, "-", '"other"', "-", "-", "-", True, '"none"'],
    [8, "-", "-", "-", "-", "-", True, '"none"'],
]
COLS8 = ["INPUT category", "INPUT merchant", "INPUT amount_yen", "INPUT recurring", "INPUT months_of_use",
         "OUTPUT allowed", "OUTPUT restriction"]


def hand_written(facts):
    """The same logic as RULES8, by hand (no validation, no fired rules)."""
    c, m, a = facts.get("category"), facts.get("merchant"), facts.get("amount_yen")
    r, mo = facts.get("recurring"), facts.get("months_of_use")
    if c in ("gift_card", "prepaid_card", "e_money"):
        return {"allowed": False, "restriction": "cashable"}
    if c == "kindle" and m == "amazon":
        return {"allowed": False, "restriction": "digital_content"}
    if r is True:
        return {"allowed": False, "restriction": "recurring_billing"}
    if a is not None and a > 50000:
        return {"allowed": False, "restriction": "over_limit"}
    if a is not None and a > 20000 and mo is not None and mo < 2:
        return {"allowed": False, "restriction": "new_member"}
    if c == "books" and m == "mercari" and a is not None and 0 <= a <= 3000:
        return {"allowed": True, "restriction": "none"}
    if m == "other":
        return {"allowed": True, "restriction": "none"}
    return {"allowed": True, "restriction": "none"}


CATS8 = frozenset(["general_goods", "books", "gift_card", "kindle", "prepaid_card", "e_money", "fashion"])
MERCHANTS8 = frozenset(["amazon", "mercari", "qoo10", "yodobashi", "other"])
KNOWN8 = frozenset(g[0] for g in GLOSSARY)
KNOWN208 = KNOWN8 | {"merchant_id"}
CASHABLE = frozenset(["gift_card", "prepaid_card", "e_money"])


def _refuse(field, value):
    raise ValueError(f"{field}: {value!r} is not allowed")


def hand_validated(facts):
    """RULES8 by hand, validating as ``book.decide`` does (unknown fields, exact types,
    allowed values and ranges; null = absent) and returning the fired rule ids."""
    if facts.__class__ is not dict or not KNOWN8.issuperset(facts):
        raise ValueError("not a case of known fields")
    c = facts.get("category")
    if c is not None and (c.__class__ is not str or c not in CATS8):
        _refuse("category", c)
    m = facts.get("merchant")
    if m is not None and (m.__class__ is not str or m not in MERCHANTS8):
        _refuse("merchant", m)
    a = facts.get("amount_yen")
    if a is not None and (a.__class__ is not int or not 0 <= a <= 10000000):
        if a.__class__ is float and a.is_integer() and 0 <= a <= 10000000:
            a = int(a)
        else:
            _refuse("amount_yen", a)
    r = facts.get("recurring")
    if r is not None and r is not True and r is not False:
        _refuse("recurring", r)
    mo = facts.get("months_of_use")
    if mo is not None and (mo.__class__ is not int or not 0 <= mo <= 1200):
        _refuse("months_of_use", mo)
    if c in CASHABLE:
        return {"allowed": False, "restriction": "cashable"}, ("1",)
    if c == "kindle" and m == "amazon":
        return {"allowed": False, "restriction": "digital_content"}, ("2",)
    if r is True:
        return {"allowed": False, "restriction": "recurring_billing"}, ("3",)
    if a is not None and a > 50000:
        return {"allowed": False, "restriction": "over_limit"}, ("4",)
    if a is not None and a > 20000 and mo is not None and mo < 2:
        return {"allowed": False, "restriction": "new_member"}, ("5",)
    if c == "books" and m == "mercari" and a is not None and 0 <= a <= 3000:
        return {"allowed": True, "restriction": "none"}, ("6",)
    if m == "other":
        return {"allowed": True, "restriction": "none"}, ("7",)
    return {"allowed": True, "restriction": "none"}, ("8",)


N_IDS = 200
RESTRICTIONS = ["none", "cashable", "digital_content", "recurring_billing", "over_limit", "new_member"]
ID_ROWS = {f"id{i}": ({"allowed": i % 2 == 0, "restriction": RESTRICTIONS[i % 6]}, (str(i + 1),))
           for i in range(N_IDS)}


def hand_validated208(facts):
    """The 208-rule keyed table by hand: validation, a dict on the id, then the 8 rules."""
    if facts.__class__ is not dict or not KNOWN208.issuperset(facts):
        raise ValueError("not a case of known fields")
    i = facts.get("merchant_id")
    if i is not None and i.__class__ is not str:
        _refuse("merchant_id", i)
    c = facts.get("category")
    if c is not None and (c.__class__ is not str or c not in CATS8):
        _refuse("category", c)
    m = facts.get("merchant")
    if m is not None and (m.__class__ is not str or m not in MERCHANTS8):
        _refuse("merchant", m)
    a = facts.get("amount_yen")
    if a is not None and (a.__class__ is not int or not 0 <= a <= 10000000):
        if a.__class__ is float and a.is_integer() and 0 <= a <= 10000000:
            a = int(a)
        else:
            _refuse("amount_yen", a)
    r = facts.get("recurring")
    if r is not None and r is not True and r is not False:
        _refuse("recurring", r)
    mo = facts.get("months_of_use")
    if mo is not None and (mo.__class__ is not int or not 0 <= mo <= 1200):
        _refuse("months_of_use", mo)
    hit = ID_ROWS.get(i)
    if hit is not None:
        return hit[0].copy(), hit[1]
    if c in CASHABLE:
        return {"allowed": False, "restriction": "cashable"}, ("201",)
    if c == "kindle" and m == "amazon":
        return {"allowed": False, "restriction": "digital_content"}, ("202",)
    if r is True:
        return {"allowed": False, "restriction": "recurring_billing"}, ("203",)
    if a is not None and a > 50000:
        return {"allowed": False, "restriction": "over_limit"}, ("204",)
    if a is not None and a > 20000 and mo is not None and mo < 2:
        return {"allowed": False, "restriction": "new_member"}, ("205",)
    if c == "books" and m == "mercari" and a is not None and 0 <= a <= 3000:
        return {"allowed": True, "restriction": "none"}, ("206",)
    if m == "other":
        return {"allowed": True, "restriction": "none"}, ("207",)
    return {"allowed": True, "restriction": "none"}, ("208",)


def write208(path: Path):
    rules = [[i + 1, f'"id{i}"', "-", "-", "-", "-", "-", i % 2 == 0, f'"{RESTRICTIONS[i % 6]}"']
             for i in range(N_IDS)]
    rules += [[N_IDS + r[0], "-"] + r[1:] for r in RULES8]
    write_workbook(path, glossary=GLOSSARY + [("merchant_id", "text", "", "加盟店ID")],
                   tables=[table("Keyed", "FIRST", ["INPUT merchant_id"] + COLS8, rules)])


def cases208(n, rng):
    cs = cases8(n, rng)
    for c in cs:  # 60 % hit an id row, 20 % miss every id, 20 % give none
        x = rng.random()
        if x < 0.6:
            c["merchant_id"] = f"id{rng.randrange(N_IDS)}"
        elif x < 0.8:
            c["merchant_id"] = f"x{rng.randrange(N_IDS)}"
    return cs


def check(book, name, hand, cases):
    for c in cases:  # same answers, same fired rules
        r = book.decide(name, c)
        outputs, ids = hand(c)
        assert (r.outputs, tuple(f.rule for f in r.fired)) == (outputs, ids), (c, r.outputs, r.fired, ids)


def shipped_cases():
    """The shipped examples, by decision (their "decision" key taken out)."""
    out: dict[str, list] = {}
    for p in sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.json")):
        c = json.loads(p.read_text(encoding="utf-8"))
        out.setdefault(c.pop("decision"), []).append(c)
    return out


def rates(seconds: float) -> dict[str, float]:
    """Decisions/s of the 8-rule and 208-rule tables and the shipped decisions (``--rates``)."""
    import decide.atone
    rng = random.Random(7)
    tmp = Path(tempfile.mkdtemp())
    write_workbook(tmp / "b8" / "purchase.xlsx", glossary=GLOSSARY,
                   tables=[table("Purchase", "FIRST", COLS8, RULES8)])
    write208(tmp / "b208" / "keyed.xlsx")
    b8, b208 = decide.load(tmp / "b8", services=[]), decide.load(tmp / "b208", services=[])
    shipped = decide.load(decide.atone.tables_dir())
    c8, c208 = cases8(1000, rng), cases208(1000, rng)
    out = {"8-rule": rate(lambda c: b8.decide("Purchase", c), c8, seconds),
           "208-rule keyed": rate(lambda c: b208.decide("Keyed", c), c208, seconds)}
    for name, cs in sorted(shipped_cases().items()):
        out[name] = rate(lambda c, name=name: shipped.decide(name, c), cs * 50, seconds)
    return out


def against(other: str, rounds: int, seconds: float):
    """Alternate ``--rates`` runs under this interpreter and ``other``; best of each."""
    me = [sys.executable, __file__, "--rates", "--seconds", str(seconds)]
    them = [other, __file__, "--rates", "--seconds", str(seconds)]
    best: dict[str, dict[str, float]] = {"this": {}, "other": {}}
    for _ in range(rounds):
        for who, cmd in (("other", them), ("this", me)):
            got = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
            for k, v in got.items():
                best[who][k] = max(best[who].get(k, 0.0), v)
    print(f"{'decision':<22} {'other':>12} {'this':>12}  this/other")
    for k in best["this"]:
        print(f"{k:<22} {best['other'][k]:>12,.0f} {best['this'][k]:>12,.0f}  {best['this'][k] / best['other'][k]:.2f}x")


def cases8(n, rng):
    cats = ["general_goods", "books", "gift_card", "kindle", "prepaid_card", "e_money", "fashion"]
    merchants = ["amazon", "mercari", "qoo10", "yodobashi", "other"]
    return [{"category": rng.choice(cats), "merchant": rng.choice(merchants),
             "amount_yen": rng.randrange(0, 80000), "recurring": rng.random() < 0.1,
             "months_of_use": rng.randrange(0, 24)} for _ in range(n)]


def rate(fn, cases, seconds):
    """Calls per second of CPU time (this process's): other jobs on a busy machine
    take wall time, not this process's CPU time."""
    n = 0
    start = time.process_time()
    end = start + seconds
    while True:
        for c in cases:
            fn(c)
        n += len(cases)
        now = time.process_time()
        if now >= end:
            return n / (now - start)


def synthetic(path: Path, n_rules: int):
    """n rules keyed by merchant code (equality) with an amount range each."""
    rules = [[i + 1, f'"m{i}"', f"[{(i % 7) * 1000}..{(i % 7) * 1000 + 50000}]", f'"r{i % 5}"'] for i in range(n_rules)]
    rules.append([n_rules + 1, "-", "-", '"default"'])
    write_workbook(path, glossary=[
        ("merchant_code", "text", "", "加盟店コード"),
        ("amount_yen", "integer", "", "金額"),
        ("route", "text", "", "経路"),
    ], tables=[table("Routing", "FIRST", ["INPUT merchant_code", "INPUT amount_yen", "OUTPUT route"], rules)])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--rates", action="store_true", help="print the rates of --against's decisions as JSON")
    ap.add_argument("--seconds", type=float, default=1.0)
    ap.add_argument("--against", metavar="PYTHON", help="another interpreter (another tree) to compare with")
    args = ap.parse_args()
    if args.rates:
        print(json.dumps(rates(args.seconds)))
        return
    if args.against:
        against(args.against, args.rounds, args.seconds)
        return
    secs = 0.5 if args.quick else 2.0
    rng = random.Random(7)
    tmp = Path(tempfile.mkdtemp())
    write_workbook(tmp / "b8" / "purchase.xlsx", glossary=GLOSSARY,
                   tables=[table("Purchase", "FIRST", COLS8, RULES8)])
    t0 = time.perf_counter()
    book = decide.load(tmp / "b8", services=[])
    load8 = time.perf_counter() - t0
    cases = cases8(1000, rng)
    for c in cases:  # same answers
        r = book.decide("Purchase", c)
        assert r.outputs == hand_written(c), (c, r.outputs)
    check(book, "Purchase", hand_validated, cases)
    floats = [dict(c, amount_yen=float(c["amount_yen"])) for c in cases]  # JSON read without Decimal
    check(book, "Purchase", hand_validated, floats)
    write208(tmp / "b208" / "keyed.xlsx")
    book208 = decide.load(tmp / "b208", services=[])
    cs208 = cases208(1000, rng)
    check(book208, "Keyed", hand_validated208, cs208)
    run8, run208 = book.decide, book208.decide
    contenders = {
        "8-rule: book.decide": (lambda c: run8("Purchase", c), cases),
        "8-rule: hand-written, validating": (hand_validated, cases),
        "8-rule: hand-written, bare": (hand_written, cases),
        "8-rule, float amounts: book.decide": (lambda c: run8("Purchase", c), floats),
        "8-rule, float amounts: hand-written, validating": (hand_validated, floats),
        "208-rule keyed: book.decide": (lambda c: run208("Keyed", c), cs208),
        "208-rule keyed: hand-written, validating": (hand_validated208, cs208),
    }
    got = {k: 0.0 for k in contenders}
    for _ in range(args.rounds):  # interleaved, best of each
        for k, (fn, cs) in contenders.items():
            got[k] = max(got[k], rate(fn, cs, secs / 4))
    print(f"python {sys.version.split()[0]}")
    for k, v in got.items():
        print(f"{k:<50} {v:>12,.0f} decisions/s")
    print(f"8-rule 5-input FIRST table: hand-written (validating)/book.decide = "
          f"{got['8-rule: hand-written, validating'] / got['8-rule: book.decide']:.2f}x; "
          f"bare hand-written/book.decide = {got['8-rule: hand-written, bare'] / got['8-rule: book.decide']:.2f}x; "
          f"load+compile {load8 * 1000:.0f} ms")
    print(f"8-rule table, float amounts: hand-written (validating)/book.decide = "
          f"{got['8-rule, float amounts: hand-written, validating'] / got['8-rule, float amounts: book.decide']:.2f}x")
    print(f"208-rule keyed table: hand-written (validating)/book.decide = "
          f"{got['208-rule keyed: hand-written, validating'] / got['208-rule keyed: book.decide']:.2f}x")
    books = {}
    for n in (10, 100, 1000, 10000):
        d = tmp / f"s{n}"
        synthetic(d / "routing.xlsx", n)
        t0 = time.perf_counter()
        b = decide.load(d, services=[])
        load = time.perf_counter() - t0
        cs = [{"merchant_code": f"m{rng.randrange(n + n // 10 + 1)}", "amount_yen": rng.randrange(0, 60000)}
              for _ in range(1000)]
        books[n] = (b.decide, cs, load)
    # Interleaved rounds, best of each: a busy machine slows every table alike.
    best = {n: 0.0 for n in books}
    for _ in range(args.rounds):
        for n, (dec, cs, _) in books.items():
            best[n] = max(best[n], rate(lambda c, dec=dec: dec("Routing", c), cs, secs / 2))
    for n, (_, _, load) in books.items():
        print(f"{n:>6}-rule keyed table: {best[n]:,.0f} decisions/s ({best[10] / best[n]:.2f}x slower than "
              f"10 rules); load+compile {load:.2f} s")

if __name__ == "__main__":
    main()
