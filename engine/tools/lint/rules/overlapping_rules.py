"""L101 overlapping-rules: in a UNIQUE table, two rules can match the same case."""
from __future__ import annotations

from decide.tools.lint.rule import FindingRule, Policies
from decide.tools.lint.wording import case_text, rid, when


class OverlappingRules(FindingRule):
    code = "L101"
    name = "overlapping-rules"
    severity = "error"
    summary = "UNIQUE table: two rules can match the same case"
    hit_policies = Policies(lambda p: p.overlap == "overlap")  # UNIQUE: any overlap is an error
    kind = "overlap"
    seeks_decision_case = True

    def message(self, a, x):
        t = a.table
        j, i = x.rules[0], x.others[0]
        return (f"rules {rid(t, i)} and {rid(t, j)} can both match the same case, but the table is "
                f"UNIQUE (exactly one rule may match): both match {when(x.region)}, e.g. "
                f"{case_text(t, x.witness)}. Make the conditions exclusive, or change the hit policy "
                "(FIRST, PRIORITY).")

    def exhibits(self, book, table, x, env, matched):
        return x.rules[0] in matched and x.others[0] in matched


RULE = OverlappingRules()
