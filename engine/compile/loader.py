"""Directory of workbooks (+ decision services) → a checked ``ir.Book``.

source (reader: each workbook's bytes read once) → the compile cache, keyed by those
bytes (cache) → on a miss: parse and type every cell (build) → cross-sheet checks
(checks) → plans (graph), stored in the cache.  All errors are collected and raised
together as one WorkbookError (and never cached)."""
from __future__ import annotations

import gc
import os
from contextlib import contextmanager
from importlib.metadata import entry_points
from typing import Iterable

from decide.compile import cache
from decide.compile.source import Source, read_source
from decide.model.errors import WorkbookError
from decide.model.ir import Book, DecisionService


def discover_services() -> list[DecisionService]:
    """Decision services that installed applications declare under the entry-point
    group ``decide.services`` (each a list of DecisionService)."""
    found = []
    for ep in entry_points(group="decide.services"):
        try:
            found.extend(ep.load())
        except Exception:  # an application that fails to import does not break the engine
            continue
    return found


def _applicable(s: DecisionService, fields) -> bool:
    """A service applies to a directory whose Glossary declares all of its outputs
    (so an application's services never leak into an unrelated set of tables)."""
    return all(f in fields for f in s.outputs)


def load_workbooks(path: str | os.PathLike, services: Iterable[DecisionService] | None = None
                   ) -> tuple[Book, dict[str, bytes]]:
    """The checked Book of the workbooks under ``path`` and the bytes it was built from
    ({name relative to ``path``: bytes}), through the compile cache (``cache``)."""
    src = read_source(path)
    if services is None:
        services = discover_services()
    services = list(services)
    key = cache.key(src.files, services, src.limits) if src.complete and cache.enabled() else None
    with collector_paused():
        book = cache.get(key)
        if book is None:
            book = build_book(src, services)
            cache.put(key, book)
    return book, src.files


@contextmanager
def collector_paused():
    """Python's cycle collector paused while a Book is built or unpickled (or compiled by
    a runtime): a load makes hundreds of thousands of objects that live on (and few
    cycles), and each collection would walk all of them again; paused, building a
    10,000-rule Book takes about 40 % less time, compiling it half (bench/bench_load.py).
    Its state is restored after (re-enabled only if it was on)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def load_book(path: str | os.PathLike, services: Iterable[DecisionService] | None = None) -> Book:
    return load_workbooks(path, services)[0]


def build_book(src: Source, services: Iterable[DecisionService]) -> Book:
    """Parse, type and check the workbooks read (no cache)."""
    # openpyxl, the parser and the checks: imported only when the cache does not answer
    from decide.compile.build import (
        Collector, build_glossary, build_invariants, build_table, build_tests, unrecognised_sheet,
    )
    from decide.compile.checks import Draft, run_checks
    from decide.compile.graph import dependencies, service_plan, table_plan, topo_order
    from decide.compile.reader import parse_source
    from decide.compile.settings import build_settings, with_as_of
    sheets, diags = parse_source(src)
    c = Collector()
    c.items.extend(diags)
    fields = build_glossary([s for s in sheets if s.kind == "glossary"], c)
    if c.glossary_broken:  # every other sheet names its fields: one error, not one per field
        raise WorkbookError(c.items)
    fields = with_as_of(fields, c)
    settings = build_settings([s for s in sheets if s.kind == "settings"], c)
    tables, tests, invariants, ignored = [], [], [], []
    for sh in sheets:
        if sh.kind == "table":
            t = build_table(sh, fields, c)
            if t is not None:
                tables.append(t)
        elif sh.kind == "tests":
            s = build_tests(sh, fields, c)
            if s is not None:
                tests.append(s)
        elif sh.kind == "invariants":
            s = build_invariants(sh, fields, c)
            if s is not None:
                invariants.append(s)
        elif sh.kind == "other" and not unrecognised_sheet(sh, c):
            ignored.append(sh.loc())
    svc = {s.name: s for s in services if _applicable(s, fields)}
    broken = any(d.severity == "error" for d in c.items)
    draft = Draft(fields, tables, tests, invariants, svc, broken)
    c.items.extend(run_checks(draft))
    if any(d.severity == "error" for d in c.items):
        raise WorkbookError(c.items)
    by_name = {t.name: t for t in tables}
    deps = dependencies(by_name)
    order = topo_order(deps)
    ordered = {n: by_name[n] for n in order}
    plans = {}
    for t in ordered.values():
        plans[t.name] = table_plan(t, ordered, deps, order)
    for s in svc.values():
        plans[s.name] = service_plan(s, ordered, deps, order)
    return Book(fields, ordered, tuple(tests), tuple(invariants), svc, plans, tuple(ignored),
                settings["time_zone"])
