"""L110 incomplete-analysis: a check of a table given up (too many combinations)."""
from __future__ import annotations

from decide.tools.lint.rule import TableRule


class IncompleteAnalysis(TableRule):
    code = "L110"
    name = "incomplete-analysis"
    severity = "info"
    summary = "an analysis given up (too many combinations)"

    def detect(self, a):
        return list(dict.fromkeys(a.skipped))

    def message(self, a, what):
        return f"lint did not finish one check of table {a.table.name}: {what}."

    def cell(self, a, what):
        return a.table.loc


RULE = IncompleteAnalysis()
