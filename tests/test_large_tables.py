"""Large tables of shapes the native runtime cannot index (nested thresholds,
negated ranges, several partly-wildcard columns) load and decide as the reference
interpreter does; code too large for Python's compiler is a WorkbookError naming
the table (issue 9)."""
from __future__ import annotations

import random

import pytest

import decide
from decide.model.errors import WorkbookError
from decide.runtime import native, reference

from .workbooks import table, write_workbook

N = 10_000
GLOSSARY = [("x", "integer", "", "x"), ("y", "integer", "", "y"), ("z", "text", "", "z"),
            ("out", "text", "", "out")]


def thresholds(n):
    """Nested `> K` thresholds, highest first (each rule's interval holds every later one's)."""
    return ["INPUT x", "OUTPUT out"], [[i + 1, f"> {(n - i) * 10}", f'"r{i}"'] for i in range(n)] + [
        [n + 1, "-", '"none"']]


def negated(n):
    return ["INPUT x", "INPUT y", "OUTPUT out"], [
        [i + 1, f"not([{i * 10}..{i * 10 + n * 5}])", f"< {i}", f'"r{i}"'] for i in range(n)] + [
        [n + 1, "-", "-", '"none"']]


def wildcards(n):
    """Three columns, each a wildcard in a third of the rules."""
    return ["INPUT x", "INPUT y", "INPUT z", "OUTPUT out"], [
        [i + 1, f"> {i}" if i % 3 else "-", f"[{i}..{i + 50}]" if i % 3 != 1 else "-",
         f'"z{i % 97}"' if i % 3 != 2 else "-", f'"r{i}"'] for i in range(n)] + [[n + 1, "-", "-", "-", '"none"']]


SHAPES = {"thresholds": thresholds, "negated": negated, "wildcards": wildcards}


def cases(n, rng, k=300):
    out = []
    for _ in range(k):
        c = {"x": rng.randrange(-5, n * 12), "y": rng.randrange(-5, n + 60), "z": f"z{rng.randrange(100)}"}
        for f in list(c):
            if rng.random() < 0.05:
                del c[f]
        out.append(c)
    return out


@pytest.mark.parametrize("policy", ["FIRST", "COLLECT"])
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_large_table_agrees_with_reference(tmp_path, shape, policy):
    n = N if policy == "FIRST" else N // 5
    cols, rules = SHAPES[shape](n)
    write_workbook(tmp_path / "t.xlsx", glossary=GLOSSARY, tables=[table("T", policy, cols, rules)])
    book = decide.load(tmp_path, services=[])
    rng = random.Random(f"{shape}{policy}")
    fired_any = set()
    for case in cases(n, rng):
        r = book.decide("T", case)
        outputs, fired = reference.evaluate(book.ir, "T", case)
        assert r.outputs == outputs, case
        assert [(f.table, f.index) for f in r.fired] == fired, case
        fired_any.update(f.index for f in r.fired)
    assert len(fired_any) > 10  # the cases reach many rules, not only the catch-all


def test_code_too_large_for_python_is_a_workbook_error(tmp_path):
    cols, rules = thresholds(20)
    write_workbook(tmp_path / "t.xlsx", glossary=GLOSSARY, tables=[table("Limits", "FIRST", cols, rules)])
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
