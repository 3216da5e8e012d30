"""The dependency graph of tables (through field names) and decision plans."""
from __future__ import annotations

from typing import Iterable, Mapping

from decide.model.asof import AS_OF
from decide.model.ir import DecisionService, Plan, Table
from decide.compile.resolve import referenced_fields


def table_reads(t: Table) -> set[str]:
    """Every field a table reads: input columns, field references in cells, output expressions.
    Computed once per table (tables are immutable)."""
    cached = t.__dict__.get("_reads")
    if cached is None:
        cached = frozenset(_table_reads(t))
        object.__setattr__(t, "_reads", cached)
    return set(cached)


def _table_reads(t: Table) -> set[str]:
    out: set[str] = set()
    for col in t.inputs:
        out |= referenced_fields(col.expr)
    for r in t.rules:
        for e in r.inputs:
            out |= referenced_fields(e.test)
        for o in r.outputs:
            out |= referenced_fields(o.expr)
    return out


def producers(tables: Iterable[Table]) -> dict[str, Table]:
    prod: dict[str, Table] = {}
    for t in tables:
        for f in t.output_fields:
            prod.setdefault(f, t)
    return prod


def dependencies(tables: Mapping[str, Table]) -> dict[str, set[str]]:
    prod = producers(tables.values())
    return {name: {prod[f].name for f in table_reads(t) if f in prod and prod[f].name != name}
            | ({name} if any(prod.get(f) is t for f in table_reads(t)) else set())
            for name, t in tables.items()}


def find_cycles(deps: Mapping[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one table, or a self-loop (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(deps.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in deps.get(v, ()):
                out.append(sorted(comp))

    for v in sorted(deps):
        if v not in index:
            visit(v)
    return out


def topo_order(deps: Mapping[str, set[str]]) -> list[str]:
    """Tables in dependency order (stable: by name among equals).  Assumes no cycle."""
    order, done = [], set()

    def visit(v):
        if v in done:
            return
        done.add(v)
        for w in sorted(deps.get(v, ())):
            if w != v:
                visit(w)
        order.append(v)

    for v in sorted(deps):
        visit(v)
    return order


def upstream(names: Iterable[str], deps: Mapping[str, set[str]], order: list[str]) -> list[str]:
    need: set[str] = set()
    todo = list(names)
    while todo:
        n = todo.pop()
        if n in need:
            continue
        need.add(n)
        todo.extend(deps.get(n, ()))
    return [t for t in order if t in need]


def table_plan(t: Table, tables: Mapping[str, Table], deps, order) -> Plan:
    names = upstream([t.name], deps, order)
    produced = {f for n in names for f in tables[n].output_fields}
    reads = set().union(*(table_reads(tables[n]) for n in names)) - produced
    return Plan(t.name, "table", tuple(sorted(reads)), (), tuple(names), t.output_fields)


def service_plan(s: DecisionService, tables: Mapping[str, Table], deps, order) -> Plan:
    prod = producers(tables.values())
    roots = sorted({prod[f].name for f in s.outputs if f in prod})
    names = upstream(roots, deps, order)
    dated = AS_OF not in s.inputs and any(AS_OF in table_reads(tables[n]) for n in names)
    inputs = tuple(sorted((*s.inputs, AS_OF))) if dated else tuple(s.inputs)  # the engine supplies it
    return Plan(s.name, "service", inputs, tuple(s.derived), tuple(names),
                tuple(s.outputs), s.derive)
