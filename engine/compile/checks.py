"""Cross-sheet checks: an ordered tuple of pure passes over the draft book.

Each pass takes the ``Draft`` and returns diagnostics; none changes anything.  Cell-level
problems (syntax, types, allowed values) are found while building, in ``build.py``."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from decide.model.errors import Diagnostic, did_you_mean
from decide.compile.graph import dependencies, find_cycles, producers, table_reads, upstream, topo_order
from decide.model.ir import DecisionService, Field, InvariantSuite, Loc, Table, TestSuite, Type
from decide.compile.resolve import referenced_fields
from decide.model.asof import AS_OF


@dataclass
class Draft:
    fields: Mapping[str, Field]
    tables: list[Table]
    tests: list[TestSuite]
    invariants: list[InvariantSuite]
    services: Mapping[str, DecisionService]
    broken: bool = False  # some sheet failed to build: skip errors that would only follow from it


def check_table_names(d: Draft) -> list[Diagnostic]:
    out, seen = [], {}
    for t in d.tables:
        if t.name in seen:
            out.append(Diagnostic("E130", "error", t.loc, f'the table name "{t.name}" is used twice '
                                  f"(also at {seen[t.name]}): table names are unique across workbooks",
                                  seen[t.name]))
        else:
            seen[t.name] = t.loc
        if t.name in d.services:
            out.append(Diagnostic("E130", "error", t.loc, f'the table name "{t.name}" is also the name '
                                  "of a decision service: rename the table"))
    return out


def check_producers(d: Draft) -> list[Diagnostic]:
    out, seen = [], {}
    for t in d.tables:
        for col in t.outputs:
            if col.field in seen and seen[col.field][0] != t.name:
                other = seen[col.field]
                out.append(Diagnostic(
                    "E150", "error", col.loc,
                    f'field "{col.field}" is an output of table {t.name} and also of table {other[0]} '
                    f"({other[1]}): each field is produced by one table", other[1]))
            else:
                seen.setdefault(col.field, (t.name, col.loc))
    return out


def check_cycles(d: Draft) -> list[Diagnostic]:
    tables = {t.name: t for t in d.tables}
    out = []
    for comp in find_cycles(dependencies(tables)):
        first = tables[comp[0]]
        chain = " → ".join(comp + [comp[0]])
        others = ", ".join(str(tables[n].loc) for n in comp[1:]) or str(first.loc)
        out.append(Diagnostic("E151", "error", first.loc,
                              f"tables depend on each other in a cycle: {chain} (also {others}); "
                              "a table cannot use, directly or through others, its own outputs",
                              tables[comp[-1]].loc))
    return out


def check_services(d: Draft) -> list[Diagnostic]:
    out = []
    tables = {t.name: t for t in d.tables}
    prod = producers(d.tables)
    deps = dependencies(tables)
    order = topo_order(deps)
    for s in d.services.values():
        loc = Loc("", f"decision {s.name}")
        for f in (*s.inputs, *s.outputs, *s.derived):
            if f not in d.fields:
                out.append(Diagnostic("E180", "error", loc, f'decision {s.name} names the field "{f}", '
                                      f"which no Glossary declares{did_you_mean(f, d.fields)}"))
        if d.broken:  # a table that failed to build would produce these: its own errors say why
            continue
        missing = [f for f in s.outputs if f in d.fields and f not in prod]
        for f in missing:
            out.append(Diagnostic("E181", "error", loc, f'decision {s.name} returns "{f}", but no '
                                  "table has it as an OUTPUT"))
        names = upstream({prod[f].name for f in s.outputs if f in prod}, deps, order)
        known = set(s.inputs) | set(s.derived) | {f for n in names for f in tables[n].output_fields} | {AS_OF}
        for n in names:
            for f in sorted(table_reads(tables[n]) - known):
                out.append(Diagnostic("E182", "error", tables[n].loc,
                                      f'table {n} reads "{f}", which decision {s.name} neither takes '
                                      "as an input nor computes: add it to the decision's inputs"))
    return out


def _resolved_suites(suites, targets, code: str, out: list):
    """Each suite with what its target accepts and returns; an unknown target is ``code``."""
    for suite in suites:
        if suite.target not in targets:
            out.append(Diagnostic(code, "error", suite.loc, f'"{suite.target}" is not a decision or '
                                  f"table{_choices(suite.target, targets)}"))
            continue
        yield suite, *targets[suite.target]


def check_tests(d: Draft) -> list[Diagnostic]:
    out = []
    for suite, accepts, returns in _resolved_suites(d.tests, _targets(d), "E160", out):
        said = set()  # (field, kind) already reported at its column's header
        for f, kind, loc in suite.headers:
            wrong = _wrong_column(suite.target, f, kind, accepts, returns)
            if wrong:
                out.append(Diagnostic("E161", "error", loc, wrong))
                said.add((f, kind))
        for case in suite.cases:  # suites built without headers
            for kind, values in (("input", case.inputs), ("expect", case.expected)):
                for f in values:
                    wrong = (f, kind) not in said and _wrong_column(suite.target, f, kind, accepts, returns)
                    if wrong:
                        out.append(Diagnostic("E161", "error", case.cells[f], wrong))
    return out


def _wrong_column(target: str, f: str, kind: str, accepts, returns) -> str | None:
    """Why a Tests column cannot be an INPUT (EXPECT) of ``target``, or None."""
    if kind == "input" and f not in accepts:
        fix = ": mark the column EXPECT" if f in returns else ""
        return f'{target} does not take "{f}" as an input{fix}'
    if kind == "expect" and f not in returns:
        fix = ": mark the column INPUT" if f in accepts else ""
        return f'{target} does not return "{f}"{fix}'
    return None


def check_invariants(d: Draft) -> list[Diagnostic]:
    out = []
    for suite, accepts, returns in _resolved_suites(d.invariants, _targets(d), "E170", out):
        for p in suite.properties:
            for part, cell in ((p.when, "B"), (p.then, "C")):
                if part is None:
                    continue
                for f in sorted(referenced_fields(part) - set(accepts) - set(returns)):
                    out.append(Diagnostic("E171", "error", p.loc.at(cell + p.loc.cell[1:]),
                                          f'{suite.target} neither takes nor returns "{f}"'))
    return out


def _choices(word: str, targets) -> str:
    return did_you_mean(word, targets) or ("; decisions and tables: " + ", ".join(sorted(targets))
                                           if targets else "; there are no tables")


def _targets(d: Draft) -> dict[str, tuple[set, set]]:
    tables = {t.name: t for t in d.tables}
    out = {}
    deps = dependencies(tables)
    order = topo_order(deps)
    cyclic = bool(find_cycles(deps))
    for t in d.tables:
        names = upstream([t.name], deps, order) if not cyclic else [t.name]
        produced = {f for n in names for f in tables[n].output_fields}
        reads = set().union(*(table_reads(tables[n]) for n in names)) - produced
        out[t.name] = (reads | {AS_OF}, set(t.output_fields))  # every decision is made as of a date
    for s in d.services.values():
        out[s.name] = (set(s.inputs) | {AS_OF}, set(s.outputs))
    return out


def check_list_inputs(d: Draft) -> list[Diagnostic]:
    """A COLLECT/RULE ORDER/OUTPUT ORDER output is a list; only a text list can be tested downstream."""
    from decide.model.ir import Aggregator
    listy = {c.field: t for t in d.tables if not t.hit_policy.single and t.aggregator is None
             for c in t.outputs if c.type is not Type.TEXT_LIST}
    counts = {c.field: t for t in d.tables if t.aggregator is Aggregator.COUNT
              for c in t.outputs if not c.type.is_numeric}
    out = []
    for t in d.tables:
        for col in t.inputs:
            for f in sorted(referenced_fields(col.expr) & set(listy)):
                out.append(Diagnostic("E152", "error", col.loc,
                                      f'"{f}" is a list (table {listy[f].name} collects it) but is declared '
                                      f"{d.fields[f].type.value}: declare it as text list, or give "
                                      f"{listy[f].name} an aggregator (C+, C<, C>, C#)", listy[f].loc))
            for f in sorted(referenced_fields(col.expr) & set(counts)):
                out.append(Diagnostic("E152", "error", col.loc,
                                      f'"{f}" is a count (table {counts[f].name} is C#) but is declared '
                                      f"{d.fields[f].type.value}: declare it as integer to test it here",
                                      counts[f].loc))
    return out


CHECKS = (
    check_table_names,
    check_producers,
    check_cycles,
    check_list_inputs,
    check_services,
    check_tests,
    check_invariants,
)


def run_checks(d: Draft) -> list[Diagnostic]:
    out = []
    for check in CHECKS:
        out.extend(check(d))
    return out
