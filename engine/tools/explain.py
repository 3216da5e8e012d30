"""Explanations in the analyst's terms, for ``decide CASE --explain``: which rules
fired, on which cells and values (``explain``), and why each other rule did not
(``why_not``, ``why_not_lines``).

Why-not: for every table of the decision, every rule that did not fire (under FIRST,
only the rules before the one that fired: the later ones were never tried) gets its
first failing cell: the column, the cell, its test as written and the value it was
compared with (and the values of the fields the test refers to).  A rule whose cells
all match but did not fire lost on the hit policy (PRIORITY), and says so.

    from decide.tools.explain import explain, why_not_lines
    lines = explain(book.ir, name, facts, result) + why_not_lines(book.ir, name, facts)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from decide.compile.resolve import referenced_fields
from decide.model.ir import AnyTest, Book, Loc, Policy, Table
from decide.model.values import show, to_json
from decide.runtime.facts import apply_derive, normalise
from decide.runtime.reference import eval_expr, evaluate_env, run_tables, unary


# --------------------------------------------------------------------------- what fired
def label(book: Book, field: str) -> str:
    f = book.fields.get(field)
    return f"{f.label} ({field})" if f and f.label and f.label != field else field


def _env(book: Book, name: str, facts: Mapping[str, Any], result) -> dict:
    plan = book.decisions[name]
    env = apply_derive(book, plan, normalise(book, plan, facts))
    return evaluate_env(book, name, env)  # outputs of every table, for the columns that test them


def explain(book: Book, name: str, facts: Mapping[str, Any], result) -> list[str]:
    """Lines of text: the outputs, then each fired rule with the cells that matched."""
    env = _env(book, name, facts, result)
    lines = [f"Decision {name}"]
    for f, v in result.outputs.items():
        lines.append(f"  {label(book, f)} = {show(tuple(v) if isinstance(v, list) else v) if v != [] else '[]'}")
    if not result.fired:
        lines.append("No rule fired.")
    for fr in result.fired:
        t = book.tables[fr.table]
        rule = t.rules[fr.index]
        lines.append(f"Rule {rule.id} of {t.name} fired ({fr.workbook} › {fr.sheet} › row {fr.row}):")
        conds = []
        for col, e in zip(t.inputs, rule.inputs):
            if isinstance(e.test, AnyTest):
                continue
            value = eval_expr(col.expr, env)
            what = label(book, col.field) if col.field else col.header
            conds.append(f"    {what} is {show(value)}, which matches {e.text} [{e.loc.cell}]")
        lines.extend(conds or ["    (no conditions: it always applies)"])
        outs = ", ".join(f"{label(book, c.field)} = {o.text or 'null'}" for c, o in zip(t.outputs, rule.outputs))
        lines.append(f"    → {outs}")
        for note_head, note in zip(t.annotations, rule.annotations):
            if note:
                lines.append(f"    {note_head}: {note}")
    return lines


# --------------------------------------------------------------------------- why the others did not
@dataclass
class CellFailure:
    column: str  # the column header (field or label as written)
    field: Optional[str]
    cell: Loc
    test: str  # the cell's text
    value: Any  # the value compared (None = absent)
    result: Optional[bool]  # False, or None (null: the test is undefined for this value)
    refs: dict = field(default_factory=dict)  # fields the test refers to → their values
    index: int = 0  # the input column's position in the table


@dataclass
class RuleTrace:
    table: str
    rule: str  # rule id
    index: int
    row: Loc
    fired: bool
    failure: Optional[CellFailure] = None  # the first failing cell (None when all matched)
    note: str = ""  # why a rule whose cells all match did not fire


@dataclass
class TableTrace:
    table: str
    loc: Loc
    hit_policy: Policy
    fired: list[str]
    rules: list[RuleTrace]


def _env_and_fired(book: Book, name: str, facts: Mapping[str, Any], typed: bool):
    plan = book.decisions[name]
    env = dict(facts) if typed else normalise(book, plan, facts)
    env = apply_derive(book, plan, env)
    env, fired = run_tables(book, plan, env)
    return plan, env, fired


def why_not(book: Book, name: str, facts: Mapping[str, Any], *, typed: bool = False) -> list[TableTrace]:
    """The trace of every table of decision ``name`` on ``facts`` (raw JSON-like facts,
    validated here; ``typed=True`` when they are already typed)."""
    plan, env, fired = _env_and_fired(book, name, facts, typed)
    by_table: dict[str, list[int]] = {}
    for t, i in fired:
        by_table.setdefault(t, []).append(i)
    out = []
    for tname in plan.tables:
        t = book.tables[tname]
        hit = by_table.get(tname, [])
        xs = [eval_expr(col.expr, env) for col in t.inputs]
        rules = []
        shown = t.rules
        if t.hit_policy.positional and hit:  # rules after the winner are never tried: not shown
            order = t.hit_policy.order(book, t, None)
            shown = [t.rules[i] for i in sorted(order[:order.index(hit[0]) + 1])]
        for r in shown:
            rt = RuleTrace(t.name, str(r.id), r.index, r.loc, r.index in hit)
            if not rt.fired:
                rt.failure = _first_failure(t, r, xs, env)
                if rt.failure is None:
                    rt.note = _lost_because(book, t, hit)
            rules.append(rt)
        out.append(TableTrace(t.name, t.loc, t.hit_policy, [str(t.rules[i].id) for i in hit], rules))
    return out


def _first_failure(t: Table, r, xs, env) -> Optional[CellFailure]:
    for k, (col, e, x) in enumerate(zip(t.inputs, r.inputs, xs)):
        if isinstance(e.test, AnyTest):
            continue
        res = unary(e.test, x, env)
        if res is not True:
            refs = {f: env.get(f) for f in sorted(referenced_fields(e.test))}
            return CellFailure(col.header, col.field, e.loc, e.text, x, res, refs, k)
    return None


def _lost_because(book: Book, t: Table, hit: list[int]) -> str:
    winners = ", ".join(str(t.rules[i].id) for i in hit)
    if t.hit_policy.lost:
        return f"all its cells match, but rule {winners} {t.hit_policy.lost}"
    return "all its cells match"


def _column(book: Book, col_header: str, field: Optional[str]) -> str:
    """A column as the analyst knows it: its field's label and name, else its header."""
    return label(book, field) if field and label(book, field) != field else col_header


def describe_failure(book: Book, c: CellFailure) -> str:
    what = _column(book, c.column, c.field)
    if c.value is None:
        val = f"{what} is absent (null)"
    else:
        val = f"{what} is {show(c.value)}"
    refs = ""
    if c.refs:
        refs = " (" + ", ".join(f"{k} = {show(v)}" for k, v in c.refs.items()) + ")"
    if c.result is None:
        why = f"so {c.test}{refs} cannot be decided (null) and does not match"
    else:
        why = f"which does not match {c.test}{refs}"
    return f"{val}, {why} [{c.cell.cell}]"


def why_not_lines(book: Book, name: str, facts: Mapping[str, Any], *, typed: bool = False) -> list[str]:
    """The trace as lines of text, for ``decide CASE --explain``."""
    lines = ["Why the other rules did not fire:"]
    for tt in why_not(book, name, facts, typed=typed):
        missed = [r for r in tt.rules if not r.fired]
        if not missed:
            continue
        lines.append(f"  {tt.table} ({tt.loc.workbook} › {tt.loc.sheet}, {tt.hit_policy.title}):")
        for r in missed:
            head = f"    rule {r.rule} (row {r.row.cell[1:]})"
            if r.failure is not None:
                lines.append(f"{head}: {describe_failure(book, r.failure)}")
            else:
                lines.append(f"{head}: {r.note}")
    if len(lines) == 1:
        lines.append("  (every rule that was tried fired)")
    return lines


def to_dict(traces: list[TableTrace]) -> list[dict]:
    out = []
    for tt in traces:
        out.append({
            "table": tt.table, "fired": tt.fired,
            "not_fired": [
                {"rule": r.rule, "row": r.row.cell[1:],
                 **({"cell": r.failure.cell.cell, "column": r.failure.column, "test": r.failure.test,
                     "value": to_json(r.failure.value),
                     "result": r.failure.result,
                     **({"refs": {k: to_json(v) for k, v in r.failure.refs.items()}}
                        if r.failure.refs else {})}
                    if r.failure else {"note": r.note})}
                for r in tt.rules if not r.fired]})
    return out
