"""L106 redundant-rule: another rule with the same outputs matches every case this one
matches, and deleting it changes no result."""
from __future__ import annotations

from decide.tools.lint.rule import FindingRule, Policies
from decide.tools.lint.wording import case_text, rid


class RedundantRule(FindingRule):
    code = "L106"
    name = "redundant-rule"
    severity = "warning"
    summary = "redundant rule: another rule with the same outputs covers it"
    # single-hit policies under which two rules may match one case (FIRST, ANY, PRIORITY)
    hit_policies = Policies(lambda p: p.single and p.overlap != "overlap")
    kind = "redundant"
    seeks_decision_case = True

    def message(self, a, x):
        t = a.table
        r, s = x.rules[0], x.others[0]
        return (f"rule {rid(t, r)} is redundant: rule {rid(t, s)} has the same outputs and matches "
                f"every case it matches (e.g. {case_text(t, x.witness)}); deleting rule "
                f"{rid(t, r)} changes no result.")

    def exhibits(self, book, table, x, env, matched):
        return x.rules[0] in matched


RULE = RedundantRule()
