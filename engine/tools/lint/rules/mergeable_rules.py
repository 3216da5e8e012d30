"""L107 mergeable-rules: two rules with the same outputs that differ in one column only
and can be written as one rule."""
from __future__ import annotations

from decide.tools.lint.rule import SINGLE, FindingRule
from decide.tools.lint.wording import rid


class MergeableRules(FindingRule):
    code = "L107"
    name = "mergeable-rules"
    severity = "info"
    summary = "two rules with the same outputs that can be merged into one"
    hit_policies = SINGLE
    kind = "mergeable"

    def message(self, a, x):
        t = a.table
        b, first = x.rules[0], x.others[0]
        col = t.inputs[x.column]
        cell = {"any value": "-", "any value (not null)": "not(null)"}.get(x.region, x.region)
        return (f"rules {rid(t, first)} and {rid(t, b)} have the same outputs and differ only in "
                f'column "{col.header}": they can be one rule with {cell} in that column.')


RULE = MergeableRules()
