"""The compile cache (decide.compile.cache): a load the cache answers gives exactly what a
fresh compile gives; anything that changes the workbooks, the services, the limits or the
engine misses; the cache can be deleted, damaged, turned off or shared by processes
loading at once without changing any answer."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from openpyxl import load_workbook

import decide
from decide.compile import cache, loader
from decide.model.errors import CaseError, WorkbookError
from decide.tools.lint import lint
from tests.workbooks import table, write_workbook

ROOT = Path(__file__).resolve().parents[1]
TABLES = ROOT / "tables"
EXAMPLES = sorted((ROOT / "examples").glob("*.json"))
BAD_CASES = [  # case errors must read the same from a cached book
    ("purchase_restriction", {"category": "no_such_category", "amount_yen": 1}),
    ("purchase_restriction", {"category": "books", "amount_yen": "lots"}),
    ("card_eligibility", {"kyc_status": "approved", "late_payment_count": 2}),
    ("decline_diagnosis", {"entered_name": "TARO YAMADA", "registered_name_kana": "yamada"}),
]


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    d = tmp_path / "cache"
    monkeypatch.setenv("DECIDE_CACHE_DIR", str(d))
    monkeypatch.delenv("DECIDE_CACHE", raising=False)
    return d


@pytest.fixture
def tables(tmp_path):
    d = tmp_path / "tables"
    shutil.copytree(TABLES, d, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return d


def entries(cache_dir: Path) -> list[Path]:
    return sorted((cache_dir / cache.SUBDIR).glob("*.pickle"))


def answers(book) -> list:
    """Every shipped example and a few bad cases decided: outputs, fired rules and version,
    or the case error's message and field."""
    out = []
    for p in EXAMPLES:
        facts = json.loads(p.read_text(encoding="utf-8"))
        out.append(_answer(book, facts.pop("decision"), facts))
    out.extend(_answer(book, name, facts) for name, facts in BAD_CASES)
    return out


def _answer(book, name, facts):
    try:
        return book.decide(name, facts).to_dict()
    except CaseError as e:
        return ["CaseError", str(e), e.field]


def no_build(monkeypatch):
    """From here on a load that the cache does not answer fails the test."""
    def fail(*a, **k):
        raise AssertionError("the workbooks were parsed: the cache did not answer")
    monkeypatch.setattr(loader, "build_book", fail)


def test_a_hit_gives_the_same_book_decisions_errors_lint_and_version(tables, cache_dir, monkeypatch):
    monkeypatch.setenv("DECIDE_CACHE", "0")
    fresh = decide.load(tables)
    monkeypatch.delenv("DECIDE_CACHE")
    assert entries(cache_dir) == []
    first = decide.load(tables)  # a miss: compiles and stores
    assert len(entries(cache_dir)) == 1
    no_build(monkeypatch)
    hit = decide.load(tables)
    assert hit.version == first.version == fresh.version
    assert hit.ir == fresh.ir
    assert answers(hit) == answers(fresh)
    assert [(d.code, str(d)) for d in lint(hit.ir, decision_cases=0)] == \
           [(d.code, str(d)) for d in lint(fresh.ir, decision_cases=0)]
    for name in ("purchase_restriction", "decline_diagnosis"):
        assert hit.source(name) == fresh.source(name)


def test_editing_one_cell_misses_and_the_edit_is_seen(tables, cache_dir, monkeypatch):
    before = decide.load(tables)
    facts = {"merchant": "amazon", "category": "general_goods", "amount_yen": 3980, "recurring": False}
    message = before.decide("purchase_restriction", facts).outputs["message"]
    path = tables / "purchase_restriction.xlsx"
    wb = load_workbook(path)
    cell = next(c for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value == f'"{message}"')
    cell.value = '"edited"'
    wb.save(path)
    after = decide.load(tables)
    assert after.decide("purchase_restriction", facts).outputs["message"] == "edited"
    assert after.version != before.version
    assert len(entries(cache_dir)) == 2
    no_build(monkeypatch)
    assert decide.load(tables).decide("purchase_restriction", facts).outputs["message"] == "edited"


def test_deleting_the_cache_directory_is_safe(tables, cache_dir):
    first = decide.load(tables)
    expected = answers(first)
    shutil.rmtree(cache_dir)
    again = decide.load(tables)
    assert answers(again) == expected and again.version == first.version
    assert len(entries(cache_dir)) == 1
    for p in entries(cache_dir):  # entry by entry too
        p.unlink()
    assert answers(decide.load(tables)) == expected


CORRUPTIONS = {
    "empty": lambda b: b"",
    "truncated": lambda b: b[: len(b) // 2],
    "one byte flipped": lambda b: b[:-100] + bytes([b[-100] ^ 0xFF]) + b[-99:],
    "garbage": lambda b: os.urandom(len(b)),
    "other format": lambda b: b"decide compile cache 999\n" + b[len(cache.MAGIC):],
    "a pickle of something else": lambda b: cache.MAGIC + __import__("hashlib").sha256(p := __import__(
        "pickle").dumps(("x", 1))).digest() + p,
}


@pytest.mark.parametrize("how", sorted(CORRUPTIONS))
def test_a_damaged_entry_is_ignored_and_written_again(tables, cache_dir, how):
    expected = answers(decide.load(tables))
    [entry] = entries(cache_dir)
    good = entry.read_bytes()
    entry.write_bytes(CORRUPTIONS[how](good))
    assert answers(decide.load(tables)) == expected
    assert entry.read_bytes() == good  # rewritten whole


def test_an_entry_under_another_key_is_never_used(tmp_path, cache_dir):
    """Each entry names the key it was stored under: a file copied (or renamed) over
    another key's entry is a miss, not the other workbooks' Book."""
    a, b = tmp_path / "a", tmp_path / "b"
    for d, route in ((a, "A"), (b, "B")):
        write_workbook(d / "t.xlsx", glossary=[("x", "integer", "", "x"), ("route", "text", "", "r")],
                       tables=[table("T", "FIRST", ["INPUT x", "OUTPUT route"], [[1, "-", f'"{route}"']])])
    assert decide.load(a).decide("T", {"x": 1}).outputs == {"route": "A"}
    [entry_a] = entries(cache_dir)
    assert decide.load(b).decide("T", {"x": 1}).outputs == {"route": "B"}
    [entry_b] = [e for e in entries(cache_dir) if e != entry_a]
    shutil.copyfile(entry_a, entry_b)
    assert decide.load(b).decide("T", {"x": 1}).outputs == {"route": "B"}


def test_an_entry_in_a_directory_others_may_write_is_not_read(tables, cache_dir, monkeypatch):
    decide.load(tables)
    os.chmod(cache_dir / cache.SUBDIR, 0o777)
    monkeypatch.setattr(cache, "_USABLE", set())
    calls = []
    real = loader.build_book
    monkeypatch.setattr(loader, "build_book", lambda *a: calls.append(1) or real(*a))
    decide.load(tables)
    assert calls == [1]


def test_the_disabled_cache_writes_nothing(tables, cache_dir, monkeypatch):
    monkeypatch.setenv("DECIDE_CACHE", "0")
    book = decide.load(tables)
    assert answers(book)
    assert not cache_dir.exists()
    env = {**os.environ, "DECIDE_CACHE_DIR": str(cache_dir)}
    env.pop("DECIDE_CACHE")
    case = str(ROOT / "examples" / "purchase_clean.json")
    off = subprocess.run([sys.executable, "-m", "decide", "--no-cache", case, "--tables", str(tables)],
                         env=env, capture_output=True, text=True, timeout=120)
    assert off.returncode == 0, off.stderr
    assert not cache_dir.exists()
    on = subprocess.run([sys.executable, "-m", "decide", case, "--tables", str(tables)],
                        env=env, capture_output=True, text=True, timeout=120)
    assert on.stdout == off.stdout and len(entries(cache_dir)) == 1


def test_a_different_engine_misses(tables, cache_dir, monkeypatch):
    decide.load(tables)
    no_build(monkeypatch)
    decide.load(tables)  # same engine: a hit
    monkeypatch.undo()
    monkeypatch.setenv("DECIDE_CACHE_DIR", str(cache_dir))
    version = cache.engine_version()
    monkeypatch.setattr(cache, "engine_version", lambda: version + ".post1")
    calls = []
    real = loader.build_book
    monkeypatch.setattr(loader, "build_book", lambda *a: calls.append(1) or real(*a))
    decide.load(tables)
    assert calls == [1] and len(entries(cache_dir)) == 2
    monkeypatch.setattr(cache, "engine_version", lambda: version)
    monkeypatch.setattr(cache, "_ENGINE", cache.engine_fingerprint() + "\nmodel/ir.py:1:1")  # a source edited
    decide.load(tables)
    assert calls == [1, 1] and len(entries(cache_dir)) == 3


def test_other_services_or_limits_miss(tables, cache_dir, monkeypatch):
    book = decide.load(tables)
    assert "purchase_restriction" in book.decisions
    with pytest.raises(WorkbookError) as e:  # the same bytes without the decision services:
        decide.load(tables, services=[])  # their Tests sheets name decisions that are not there
    assert "purchase_restriction" in str(e.value)
    monkeypatch.setenv("DECIDE_MAX_ROWS", "5")
    with pytest.raises(WorkbookError) as e:
        decide.load(tables)
    assert {d.code for d in e.value.diagnostics} == {"E104"}


def test_workbook_errors_are_never_cached(tmp_path, cache_dir):
    d = tmp_path / "broken"
    write_workbook(d / "t.xlsx", glossary=[("x", "integer", "", "x"), ("route", "text", "", "r")],
                   tables=[table("T", "FIRST", ["INPUT x", "OUTPUT route"], [[1, "> > 3", '"A"']])])
    errors = []
    for _ in range(2):
        with pytest.raises(WorkbookError) as e:
            decide.load(d)
        errors.append([(x.code, str(x), x.severity) for x in e.value.diagnostics])
    assert errors[0] == errors[1] and errors[0]
    assert entries(cache_dir) == []


LOADER = r"""
import json, sys, time
from pathlib import Path
start = Path(sys.argv[2])
while not start.exists():
    time.sleep(0.005)
import decide
from tests.test_compile_cache import answers
book = decide.load(sys.argv[1])
print(json.dumps([book.version, answers(book)], ensure_ascii=False))
"""


def test_processes_loading_at_once_all_get_the_same_book(tables, cache_dir, tmp_path):
    expected = json.dumps([decide.load(tables, services=None).version, answers(decide.load(tables))],
                          ensure_ascii=False)
    shutil.rmtree(cache_dir)
    go = tmp_path / "go"
    env = {**os.environ, "DECIDE_CACHE_DIR": str(cache_dir), "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", LOADER, str(tables), str(go)], env=env, cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    try:
        time.sleep(0.5)  # all started and waiting
        go.touch()
        outs = [p.communicate(timeout=180) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for (out, err), p in zip(outs, procs):
        assert p.returncode == 0, err
        assert out.strip() == expected
    [entry] = entries(cache_dir)
    assert not list((cache_dir / cache.SUBDIR).glob(".tmp-*"))
    assert cache.get(entry.stem) is not None


WARM_RUN = r"""
import contextlib, io, sys
from decide.app.cli import main
with contextlib.redirect_stdout(io.StringIO()) as out:
    try:
        main(["examples/purchase_clean.json"])
    except SystemExit as e:
        assert not e.code, e.code
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("openpyxl", "numpy")
               or m in ("decide.compile.build", "decide.compile.reader", "decide.app.batch", "decide.app.cli_check"))
print(heavy)
print(out.getvalue())
"""


def test_a_cached_decision_imports_neither_openpyxl_nor_other_commands(cache_dir):
    env = {**os.environ, "DECIDE_CACHE_DIR": str(cache_dir)}
    runs = [subprocess.run([sys.executable, "-c", WARM_RUN], env=env, cwd=ROOT, capture_output=True, text=True,
                           timeout=120) for _ in range(2)]
    for r in runs:
        assert r.returncode == 0, r.stderr
    cold, warm = (r.stdout.split("\n", 1) for r in runs)
    assert "openpyxl" in cold[0]  # the first load parsed the workbooks
    assert warm[0] == "[]"  # the second came from the cache
    assert warm[1] == cold[1] and '"allowed": true' in warm[1]


def test_every_command_of_the_lazy_modules_is_named():
    """decide NAME finds a command of another module without importing every module."""
    import importlib

    import click

    from decide.app import cli
    app = ROOT / "engine" / "app"
    with_commands = {f"decide.app.{f.stem}" for f in app.glob("*.py") if "@click.command" in f.read_text("utf-8")}
    assert with_commands - {"decide.app.cli"} == set(cli.LAZY_MODULES)
    for name in cli.LAZY_MODULES:
        mod = importlib.import_module(name)
        cmds = getattr(mod, "COMMANDS", None) or [c for c in vars(mod).values() if isinstance(c, click.Command)]
        for c in cmds:
            assert cli.LAZY_COMMANDS.get(c.name) == name, c.name


def test_the_least_recently_used_entries_go_first(tmp_path, cache_dir, monkeypatch):
    monkeypatch.setattr(cache, "MAX_ENTRIES", 2)
    dirs = {}
    for route in "ABC":
        d = dirs[route] = tmp_path / route
        write_workbook(d / "t.xlsx", glossary=[("x", "integer", "", "x"), ("route", "text", "", "r")],
                       tables=[table("T", "FIRST", ["INPUT x", "OUTPUT route"], [[1, "-", f'"{route}"']])])
    seen = {}
    for route in "ABA":  # A used again after B: B is the least recently used
        before = set(entries(cache_dir))
        decide.load(dirs[route])
        seen.update({p: route for p in set(entries(cache_dir)) - before})
        time.sleep(0.02)
    decide.load(dirs["C"])
    left = entries(cache_dir)
    assert len(left) == 2 and {seen.get(p) for p in left} == {"A", None}  # A and C's new entry
    assert decide.load(dirs["B"]).decide("T", {"x": 1}).outputs == {"route": "B"}  # compiled again
