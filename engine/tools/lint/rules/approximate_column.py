"""L109 approximate-column: a column the analysis treats approximately (field
references, expressions), where lint may miss an overlap or a gap."""
from __future__ import annotations

from decide.tools.lint.rule import TableRule


class ApproximateColumn(TableRule):
    code = "L109"
    name = "approximate-column"
    severity = "info"
    summary = "a column analysed approximately (field references, expressions)"

    def detect(self, a):
        return a.notes  # (input column index, why)

    def message(self, a, hit):
        col_index, note = hit
        return (f'column "{a.table.inputs[col_index].header}" is checked approximately because '
                f"{note}: lint reports only what holds for every value of the fields involved, so "
                "it may miss an overlap or gap there.")

    def cell(self, a, hit):
        return a.table.inputs[hit[0]].loc


RULE = ApproximateColumn()
