"""L108 useless-column: an input column whose value never changes the table's result."""
from __future__ import annotations

from decide.model.values import show
from decide.tools.lint.rule import SINGLE, FindingRule


class UselessColumn(FindingRule):
    code = "L108"
    name = "useless-column"
    severity = "warning"
    summary = "an input column that never changes the outcome"
    hit_policies = SINGLE
    kind = "useless"

    def message(self, a, x):
        col = a.table.inputs[x.column]
        w1, w2 = x.witness, x.witness2 or x.witness
        f = col.field
        v1 = show(w1[f]) if f in w1 else "absent"
        v2 = show(w2[f]) if f in w2 else "absent"
        extra = "" if v1 == v2 else f" (e.g. {col.header} = {v1} and = {v2} give the same result)"
        return (f'column "{col.header}" never changes the outcome: for every case, any value of '
                f"{col.header} gives the same result{extra}. Remove the column, or fix the rules "
                "that should depend on it.")

    def cell(self, a, x):
        return a.table.inputs[x.column].loc


RULE = UselessColumn()
