"""A table's rules as boxes (``rule_boxes``), their outcomes and the order a single-hit
table tries them, and from a box back to a concrete case (``witness_case``) and to words
(``describe_box``)."""
from __future__ import annotations

from typing import Optional

from decide.model.ir import Book, Literal, Table
from decide.tools.analysis.partition import Variable


def rule_keys(table: Table) -> list:
    return [tuple(o.expr for o in r.outputs) for r in table.rules]


def outputs_const(table: Table) -> bool:
    return all(isinstance(o.expr, Literal) for r in table.rules for o in r.outputs)


def rule_order(book: Optional[Book], table: Table) -> Optional[list[int]]:
    """The order in which a table whose first match wins (FIRST, PRIORITY) tries its
    rules; None for other policies, or when it depends on the case (e.g. PRIORITY with
    computed outputs)."""
    hp = table.hit_policy
    if hp.order is None:
        return None
    outputs = [tuple(o.expr.value for o in r.outputs) for r in table.rules] if outputs_const(table) else None
    return hp.order(book, table, outputs)


def rule_boxes(table: Table, variables: list[Variable]):
    must, may = [], []
    for r in table.rules:
        bm, bp = [], []
        for v in variables:
            m, p = v.full, v.full
            for i in v.columns:
                a, b = v.masks(r.inputs[i].test)
                m &= a
                p &= b
            bm.append(m)
            bp.append(p)
        must.append(tuple(bm))
        may.append(tuple(bp))
    return must, may


def witness_case(variables: list[Variable], box: tuple) -> dict:
    case = {}
    for v, m in zip(variables, box):
        if v.derived:
            i = v.pick(m & ~v.unknown or m)
            case.update({k: x for k, x in v.assign.get(i, {}).items() if x is not None})
            continue
        if v.opaque or v.field is None:
            continue
        c = v.cells[v.pick(m)]
        if c.kind != "null" and c.rep is not None:
            case[v.field] = c.rep
    return case


def describe_box(variables: list[Variable], box: tuple, table: Table) -> str:
    parts = []
    for v, m in zip(variables, box):
        if v.opaque:
            continue
        if m & v.full == v.full or (m & v.dom == v.dom):
            continue
        parts.append(f"{v.display} is {v.describe(m)}")
    return " and ".join(parts) if parts else "every case"
