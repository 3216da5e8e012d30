"""Explanations in the analyst's terms: which rules fired, on which cells and values."""
from __future__ import annotations

from typing import Any, Mapping

from decide.runtime.facts import apply_derive, normalise
from decide.model.ir import AnyTest, Book
from decide.runtime.reference import eval_expr
from decide.model.values import show


def label(book: Book, field: str) -> str:
    f = book.fields.get(field)
    return f"{f.label} ({field})" if f and f.label and f.label != field else field


def _env(book: Book, name: str, facts: Mapping[str, Any], result) -> dict:
    plan = book.decisions[name]
    env = apply_derive(book, plan, normalise(book, plan, facts))
    # outputs of every table in the plan, for the columns that test them
    from decide.runtime.reference import evaluate_env
    return evaluate_env(book, name, env)


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
