"""Large tables of every shape (tests/shapes.py: equality key, bands, nested
thresholds, negated and open ranges, partly-wildcard columns, keys on different
columns, a mix) compile and decide as the reference interpreter does under every
hit policy: a few thousand rules here, 100,000 under ``-m slow``; code too large for
Python's compiler is a WorkbookError naming the table (issue 9)."""
from __future__ import annotations

import random

import pytest

import decide
from decide.model.errors import WorkbookError
from decide.runtime import native, reference

from .shapes import POLICIES, SHAPES, book_of, shape_cases, shape_table, outcome, reference_outcome
from .workbooks import table, write_workbook

N = 2_000
MAIN_POLICIES = ("FIRST", "PRIORITY", "UNIQUE", "COLLECT")
GLOSSARY = [("x", "integer", "", "x"), ("y", "integer", "", "y"), ("z", "text", "", "z"),
            ("out", "text", "", "out")]


def check_shape(shape, policy, n, k):
    book = book_of(shape_table(shape, n, policy))
    fn = native.compile_book(book)["T"]
    fired = set()
    for case in shape_cases(shape, n, random.Random(f"{shape}{policy}{n}"), k):
        got = outcome(fn, case)
        assert got == reference_outcome(book, case), case
        if got[0] == "ok":
            fired.update(i for _, i in got[2])
    return fired


@pytest.mark.parametrize("policy", MAIN_POLICIES)
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_large_table_agrees_with_reference(shape, policy):
    fired = check_shape(shape, policy, N, 40)
    assert len(fired) > 3  # the cases reach many rules, not only the catch-all


@pytest.mark.slow
@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_large_table_agrees_with_reference_every_policy(shape, policy):
    check_shape(shape, policy, 5_000, 60)


@pytest.mark.slow
@pytest.mark.parametrize("policy", MAIN_POLICIES)
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_100000_rules_of_every_shape_compile_and_decide(shape, policy):
    check_shape(shape, policy, 100_000, 4)


def test_a_workbook_of_partly_wildcard_columns_loads_indexed(tmp_path):
    """The real path (openpyxl, parsing, checks, compiling) to the multi-column index."""
    rows = [[i + 1, f"> {i}" if i % 3 else "-", f"[{i}..{i + 50}]" if i % 3 != 1 else "-",
             f'"z{i % 97}"' if i % 3 != 2 else "-", f'"r{i}"'] for i in range(600)] + [[601, "-", "-", "-", '"none"']]
    write_workbook(tmp_path / "t.xlsx", glossary=GLOSSARY,
                   tables=[table("T", "FIRST", ["INPUT x", "INPUT y", "INPUT z", "OUTPUT out"], rows)])
    book = decide.load(tmp_path, services=[])
    assert "bisect_right" in book.source("T")  # the multi index's search
    rng = random.Random(3)
    for _ in range(200):
        case = {k: v for k, v in (("x", rng.randrange(-5, 700)), ("y", rng.randrange(-5, 700)),
                                  ("z", f"z{rng.randrange(100)}")) if rng.random() > 0.05}
        r = book.decide("T", case)
        outputs, fired = reference.evaluate(book.ir, "T", case)
        assert (r.outputs, [(f.table, f.index) for f in r.fired]) == (outputs, fired), case


def test_code_too_large_for_python_is_a_workbook_error(tmp_path):
    rows = [[i + 1, f"> {(20 - i) * 10}", f'"r{i}"'] for i in range(20)]
    write_workbook(tmp_path / "t.xlsx", glossary=GLOSSARY,
                   tables=[table("Limits", "FIRST", ["INPUT x", "OUTPUT out"], rows)])
    book = decide.load(tmp_path, services=[]).ir
    gen = native._Gen(book, book.decisions["Limits"])
    deep = "(" * 200_000 + "1" + ")" * 200_000
    with pytest.raises(WorkbookError) as e:
        gen.compile_for(book.tables["Limits"], deep, "<deep>", "eval")
    assert e.value.diagnostics[0].code == "E904"
    assert "table Limits" in str(e.value) and "t.xlsx" in str(e.value)


@pytest.mark.parametrize("seed", range(3))
def test_first_range_index_agrees_with_reference(tmp_path, seed):
    """One indexed column under FIRST, rules that close slots (thresholds, ranges,
    not(...), a mid-table catch-all) mixed with ones that do not (a second column)."""
    rng = random.Random(seed)
    rules = []
    for i in range(400):
        a, b = sorted(rng.sample(range(60), 2))
        x = rng.choice([f"> {a}", f"< {a}", f">= {a}", f"<= {a}", a, f"[{a}..{b}]", f"]{a}..{b}[",
                        f"not([{a}..{b}])", f"not({a}, {b})", f"{a}, {b}", "null", "-"])
        y = "-" if rng.random() < 0.8 else f"> {rng.randrange(10)}"
        if rng.random() < 0.003:
            x = y = "-"
        rules.append([i + 1, x, y, f'"r{i}"'])
    write_workbook(tmp_path / "t.xlsx", glossary=GLOSSARY,
                   tables=[table("T", "FIRST", ["INPUT x", "INPUT y", "OUTPUT out"], rules)])
    book = decide.load(tmp_path, services=[])
    assert "bisect_left" in book.source("T")  # indexed
    for x in [None] + list(range(-1, 62)):
        for y in (None, 0, 5, 11):
            case = {k: v for k, v in (("x", x), ("y", y)) if v is not None}
            r = book.decide("T", case)
            outputs, fired = reference.evaluate(book.ir, "T", case)
            assert (r.outputs, [(f.table, f.index) for f in r.fired]) == (outputs, fired), case
