"""Table shapes of any size, built as IR (no workbook: 100,000 rows are over the
reader's limits), for tests/test_large_tables.py, tests/test_index_*.py and
bench/bench_shapes.py.

Every table has inputs x, y (integers), z (text) as its shape needs, and two
outputs: ``level`` (high, mid, low: what PRIORITY ranks) and ``out`` (the rule's
name).  A shape comes in two forms: *overlapping*, for the policies where the first
rule in an order wins (FIRST, PRIORITY), with the overlaps that make those policies
useful (nested thresholds, a catch-all); and *disjoint*, for UNIQUE, ANY, COLLECT,
RULE ORDER and OUTPUT ORDER, where a case matches a bounded number of rules (a
COLLECT table whose cases match half of its 100,000 rules returns 50,000 values,
whatever the index): ranges become bands, a catch-all stays (not under UNIQUE and
ANY), and columns that overlap only by being wildcards get a separating key."""
from __future__ import annotations

import random

from decide.model.ir import (
    AnyTest, Book, CompareTest, Field, HitPolicy, InputColumn, InputEntry, Literal, Loc, Name, NotTests,
    NullTest, OrTests, OutputColumn, OutputEntry, RangeTest, Rule, Table, Type,
)

from decide.runtime import reference

from .strategies import make_book

LOC = Loc("shapes.xlsx", "T", "A1")
LEVELS = ("high", "mid", "low")
FIELDS = {
    "x": Field("x", Type.INTEGER, None, "x", "", LOC),
    "y": Field("y", Type.INTEGER, None, "y", "", LOC),
    "z": Field("z", Type.TEXT, None, "z", "", LOC),
    "level": Field("level", Type.TEXT, LEVELS, "level", "", LOC),
    "out": Field("out", Type.TEXT, None, "out", "", LOC),
}
POLICIES = ("FIRST", "PRIORITY", "UNIQUE", "ANY", "COLLECT", "RULE_ORDER", "OUTPUT_ORDER")
RANDOM_POLICIES = POLICIES
ANY = AnyTest()


def eq(v):
    return CompareTest("=", Literal(v))


def op(o, v):
    return CompareTest(o, Literal(v))


def band(a, b, lo=True, hi=False):
    return RangeTest(Literal(a), Literal(b), lo, hi)


def table(columns, rows, policy) -> Table:
    """columns: input fields; rows: (tests per column, level, out)."""
    p = HitPolicy[policy]
    icols = tuple(InputColumn(c, Name(c), FIELDS[c].type, c, LOC) for c in columns)
    ocols = tuple(OutputColumn(f, f, Type.TEXT, LOC, FIELDS[f].allowed) for f in ("level", "out"))
    rules = []
    for i, (tests, level, out) in enumerate(rows):
        rules.append(Rule(str(i + 1), i, i + 3, tuple(InputEntry(t, "", LOC) for t in tests),
                          (OutputEntry(Literal(level), "", LOC), OutputEntry(Literal(out), "", LOC)), (), LOC))
    return Table("T", p, None, "", icols, ocols, (), tuple(rules), LOC)


def book_of(t: Table) -> Book:
    return make_book(dict(FIELDS), [t])


def _level(i):
    return LEVELS[(i * 7) % 3]


def _rows(tests, catch_all, ncols):
    rows = [(ts, _level(i), f"r{i}") for i, ts in enumerate(tests)]
    if catch_all:
        rows.append(((ANY,) * ncols, "low", "none"))
    return rows


# --------------------------------------------------------------------------- the shapes
# Each: (n, overlapping) → (columns, rows); and a case generator (rng, n) → facts.
def equality(n, overlapping):
    return ["z"], _rows([(eq(f"k{i}"),) for i in range(n)], True, 1)


def equality_case(rng, n):
    return {"z": f"k{rng.randrange(n + n // 10 + 1)}"}


def bands(n, overlapping):
    return ["x"], _rows([(band(10 * i, 10 * i + 10),) for i in range(n)], True, 1)


def thresholds(n, overlapping):
    """Nested ``> K``, highest first; disjoint: ``> K`` on top, then ``]K..K']`` bands."""
    if overlapping:
        tests = [(op(">", (n - i) * 10),) for i in range(n)]
    else:
        tests = [(op(">", n * 10),)] + [(band((n - i) * 10, (n - i + 1) * 10, False, True),) for i in range(1, n)]
    return ["x"], _rows(tests, True, 1)


def negated(n, overlapping):
    """``not([a..b])`` on x beside ``< i`` on y; disjoint: beside a key ``y = i``."""
    tests = [(NotTests((band(i * 10, i * 10 + n * 5, True, True),)), op("<", i) if overlapping else eq(i))
             for i in range(n)]
    return ["x", "y"], _rows(tests, True, 2)


def open_ranges(n, overlapping):
    """Two open ranges: ``> K`` descending on x, ``<= i`` ascending on y; disjoint: a
    band on x beside ``<= i`` on y."""
    tests = [((op(">", (n - i) * 10) if overlapping else band(10 * i, 10 * i + 10)), op("<=", i * 2))
             for i in range(n)]
    return ["x", "y"], _rows(tests, True, 2)


def wildcards(n, overlapping):
    """Three columns (``> K`` or a band, a band, a text key), each ``-`` in a third of
    the rules; disjoint: every range a band of its own and every key its own."""
    tests = []
    for i in range(n):
        if overlapping:
            x = op(">", i) if i % 3 else ANY
            y = band(i, i + 50, True, True) if i % 3 != 1 else ANY
            z = eq(f"z{i % 97}") if i % 3 != 2 else ANY
        else:
            x = band(10 * i, 10 * i + 10) if i % 3 else ANY
            y = band(10 * i, 10 * i + 10) if i % 3 != 1 else ANY
            z = eq(f"z{i}") if i % 3 != 2 else ANY
        tests.append((x, y, z))
    return ["x", "y", "z"], _rows(tests, True, 3)


def keys(n, overlapping):
    """Keys on different columns: rule i is keyed on x, y or z (i mod 3), ``-`` on the
    others; disjoint: ``null`` on the others (the case gives one of its three ids)."""
    other = ANY if overlapping else NullTest()
    tests = []
    for i in range(n):
        c = i % 3
        tests.append(tuple((eq(i) if k < 2 else eq(f"k{i}")) if k == c else other for k in range(3)))
    return ["x", "y", "z"], _rows(tests, True, 3)


def keys_case(rng, n):
    c = {"x": rng.randrange(n + 5), "y": rng.randrange(n + 5), "z": f"k{rng.randrange(n + 5)}"}
    keep = rng.choice(["x", "y", "z", None])
    return {k: v for k, v in c.items() if keep is None or k == keep or rng.random() < 0.1}


def mixes(n, overlapping):
    """A key on z (50 values), a band on x, an open ``>= K`` on y or ``-``; overlapping:
    a rule with the key alone (``-`` on x and y) every 500 rules, and the catch-all."""
    tests = []
    for i in range(n):
        z = eq(f"z{i % 50}")
        if overlapping and i % 500 == 499:
            tests.append((ANY, ANY, z))
            continue
        tests.append((band(10 * (i // 50), 10 * (i // 50) + 10), op(">=", i % 7) if i % 2 else ANY, z))
    return ["x", "y", "z"], _rows(tests, True, 3)


def mixes_case(rng, n):
    c = {"x": rng.randrange(-5, n // 5 + 10), "y": rng.randrange(-2, 9), "z": f"z{rng.randrange(55)}"}
    return {k: v for k, v in c.items() if rng.random() >= 0.05}


def wide_case(rng, n):
    c = {"x": rng.randrange(-5, n * 12), "y": rng.randrange(-5, n + 60), "z": f"z{rng.randrange(100)}"}
    return {k: v for k, v in c.items() if rng.random() >= 0.05}


def wildcards_case(rng, n):
    """Half wide, half aimed at a disjoint rule's bands and key."""
    if rng.random() < 0.5:
        return wide_case(rng, n)
    i = rng.randrange(n)
    c = {"x": 10 * i + rng.randrange(10), "y": 10 * i + rng.randrange(10), "z": f"z{i}"}
    return {k: v for k, v in c.items() if rng.random() >= 0.2}


SHAPES = {
    "equality": (equality, equality_case),
    "bands": (bands, wide_case),
    "thresholds": (thresholds, wide_case),
    "negated": (negated, wide_case),
    "open ranges": (open_ranges, wide_case),
    "wildcards": (wildcards, wildcards_case),
    "keys": (keys, keys_case),
    "mixes": (mixes, mixes_case),
}


def shape_table(shape: str, n: int, policy: str) -> Table:
    make = SHAPES[shape][0]
    overlapping = policy in ("FIRST", "PRIORITY")
    columns, rows = make(n, overlapping)
    if policy in ("UNIQUE", "ANY"):
        rows = rows[:-1]  # the catch-all overlaps every rule
    return table(columns, rows, policy)


def shape_cases(shape: str, n: int, rng: random.Random, k: int) -> list[dict]:
    return [SHAPES[shape][1](rng, n) for _ in range(k)]


# --------------------------------------------------------------------------- random tables
def _random_test(rng, col):
    if col == "z":
        vals = [f"z{k}" for k in range(10)]
        r = rng.random()
        if r < 0.4:
            return ANY
        if r < 0.7:
            return eq(rng.choice(vals))
        if r < 0.8:
            return OrTests(tuple(eq(v) for v in rng.sample(vals, 2)))
        if r < 0.9:
            return NotTests((eq(rng.choice(vals)),))
        return rng.choice([NullTest(), op("<", rng.choice(vals)), band("z2", "z6")])
    a, b = sorted(rng.sample(range(60), 2))
    r = rng.random()
    if r < 0.35:
        return ANY
    return rng.choice([
        op(">", a), op("<", a), op(">=", a), op("<=", a), eq(a), band(a, b, rng.random() < .5, rng.random() < .5),
        NotTests((band(a, b, True, True),)), NotTests((eq(a), eq(b))), OrTests((eq(a), eq(b))),
        OrTests((NullTest(), op(">", a))), NotTests((NullTest(),)), NullTest(),
    ])


def random_table(n: int, policy: str, rng: random.Random) -> Table:
    """n rules over x, y, z of random literal tests (wildcards in about a third of the
    cells; now and then a test against another field); a catch-all somewhere."""
    rows = []
    for i in range(n):
        tests = [_random_test(rng, c) for c in ("x", "y", "z")]
        if rng.random() < 0.01:
            tests[0] = CompareTest(">=", Name("y"))
        if rng.random() < 0.002:
            tests = [ANY, ANY, ANY]
        rows.append((tuple(tests), rng.choice(LEVELS), f"r{rng.randrange(8)}"))
    return table(["x", "y", "z"], rows, policy)


def random_case(rng, n=0):
    c = {"x": rng.randrange(-2, 62), "y": rng.randrange(-2, 62), "z": f"z{rng.randrange(12)}"}
    return {k: v for k, v in c.items() if rng.random() >= 0.1}


# --------------------------------------------------------------------------- outcomes
def outcome(fn, case):
    """A compiled decision's outcome on a case: outputs and fired rules, or the error."""
    try:
        r = fn(dict(case))
        return "ok", r.outputs, [(f.table, f.index) for f in r.fired]
    except Exception as e:  # noqa: BLE001 - compared with the reference's
        return "error", type(e).__name__, sorted(getattr(e, "rules", None) or [])


def reference_outcome(book, case):
    """The reference's outcome of table T on a case, in the same form."""
    try:
        outputs, fired = reference.evaluate(book, "T", case)
        return "ok", outputs, fired
    except Exception as e:  # noqa: BLE001
        return "error", type(e).__name__, sorted(getattr(e, "rules", None) or [])
