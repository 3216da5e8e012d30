"""Benchmark of ``decide lint`` on large tables (not a test).

    python bench/bench_lint.py [--rules 1000] [--seed 1]

Builds three 1,000-rule, 6-input workbooks with openpyxl in a temporary directory
and times loading and linting each:

- grid-unique: a UNIQUE table that partitions the input space exactly
  (20 categories × 5 amount bands × 2 recurring × 5 date bands; country and
  app_version tested in a subset of rules) — no gap, no overlap, so the exact analysis
  has to prove the whole cover;
- random-first: a FIRST table of random cells (equalities, ranges, not(...), null)
  with a catch-all last rule — many shadowed and redundant rows;
- random-unique: the same rules under UNIQUE — thousands of overlapping pairs.
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

from openpyxl import Workbook

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from decide.tools.lint import lint  # noqa: E402
from decide.compile.loader import load_book  # noqa: E402

CATS = [f"c{i:02d}" for i in range(20)]
COUNTRIES = ["JP", "US", "KR", "TW", "CN", "FR", "DE", "GB"]
GLOSSARY = [
    ("category", "text", ",".join(f'"{c}"' for c in CATS), "カテゴリ"),
    ("amount_yen", "integer", "[0..1000000]", "金額"),
    ("recurring", "boolean", None, "継続課金"),
    ("issued", "date", None, "発行日"),
    ("country", "text", None, "国"),
    ("app_version", "version", None, "アプリ版"),
    ("score", "integer", "[0..1000]", "スコア"),
]
COLUMNS = ["category", "amount_yen", "recurring", "issued", "country", "app_version"]
BANDS = ["< 3000", "[3000..10000)", "[10000..50000)", "[50000..200000)", ">= 200000"]
DATES = ['< date("2018-01-01")', '[date("2018-01-01")..date("2020-02-03")]',
         '(date("2020-02-03")..date("2022-01-01"))', '[date("2022-01-01")..date("2024-01-01"))',
         '>= date("2024-01-01")']


def grid_rules(rng):
    rules = []
    k = 0
    for c in CATS:
        for b in BANDS:
            for r in ("true", "false"):
                for d in DATES:
                    k += 1
                    country = "-" if k % 3 else "-"
                    version = "-" if k % 5 else "-"
                    rules.append([k, f'"{c}"', b, r, d, country, version, rng.randint(0, 1000)])
    return rules


def random_cell(rng, col):
    if rng.random() < 0.45:
        return "-"
    if col == "category":
        k = rng.randint(1, 3)
        vals = ", ".join(f'"{c}"' for c in rng.sample(CATS, k))
        return f"not({vals})" if rng.random() < 0.2 else vals
    if col == "amount_yen":
        a = rng.randrange(0, 500000, 500)
        b = a + rng.randrange(500, 200000, 500)
        return rng.choice([f"< {a}", f">= {a}", f"[{a}..{b})", f"({a}..{b}]"])
    if col == "recurring":
        return rng.choice(["true", "false", "null"])
    if col == "issued":
        y = rng.randint(2015, 2025)
        m = rng.randint(1, 12)
        return rng.choice([f'< date("{y}-{m:02d}-01")', f'>= date("{y}-{m:02d}-01")'])
    if col == "country":
        c = rng.choice(COUNTRIES)
        return rng.choice([f'"{c}"', f'not("{c}")', "null"])
    if col == "app_version":
        v = f"6.{rng.randint(0, 12)}.{rng.randint(0, 3)}"
        return rng.choice([f'>= "{v}"', f'< "{v}"'])
    raise AssertionError(col)


def random_rules(rng, n):
    rules = []
    for k in range(1, n):
        rules.append([k] + [random_cell(rng, c) for c in COLUMNS] + [rng.randint(0, 1000)])
    rules.append([n] + ["-"] * len(COLUMNS) + [0])
    return rules


def write(path: Path, name: str, policy: str, rules):
    wb = Workbook()
    ws = wb.active
    ws.title = "Glossary"
    ws.append(["Glossary"])
    ws.append(["Field", "Type", "Allowed values", "Label", "Description"])
    for g in GLOSSARY:
        ws.append(list(g))
    s = wb.create_sheet(name)
    s.append(["Decision table", name])
    s.append(["Hit policy", policy])
    s.append([])
    s.append(["Rule"] + ["INPUT"] * len(COLUMNS) + ["OUTPUT"])
    s.append([None] + COLUMNS + ["score"])
    for r in rules:
        s.append(r)
    path.mkdir(parents=True, exist_ok=True)
    wb.save(path / "bench.xlsx")


def run(n: int, seed: int):
    rng = random.Random(seed)
    cases = {
        "grid-unique": ("UNIQUE", grid_rules(rng)[:n]),
        "random-first": ("FIRST", random_rules(random.Random(seed), n)),
        "random-unique": ("UNIQUE", random_rules(random.Random(seed), n)),
    }
    print(f"{'table':15} {'rules':>6} {'inputs':>6} {'load s':>8} {'lint s':>8}  findings")
    with tempfile.TemporaryDirectory() as tmp:
        for name, (policy, rules) in cases.items():
            d = Path(tmp) / name
            write(d, "Bench", policy, rules)
            t0 = time.perf_counter()
            book = load_book(d, services=[])
            t1 = time.perf_counter()
            diags = lint(book)
            t2 = time.perf_counter()
            by_code = {}
            for x in diags:
                by_code[x.code] = by_code.get(x.code, 0) + 1
            summary = ", ".join(f"{k}×{v}" for k, v in sorted(by_code.items())) or "none"
            print(f"{name:15} {len(rules):6d} {len(COLUMNS):6d} {t1 - t0:8.2f} {t2 - t1:8.2f}  {summary}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rules", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    run(a.rules, a.seed)
