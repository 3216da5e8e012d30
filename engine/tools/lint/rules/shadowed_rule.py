"""L104 shadowed-rule: under FIRST or PRIORITY, a rule that can match but never fires,
because the rules before it (or of higher priority) already match every such case."""
from __future__ import annotations

from decide.model.ir import HitPolicy
from decide.tools.lint.rule import FindingRule
from decide.tools.lint.wording import case_text, rid, rules_phrase, verb


class ShadowedRule(FindingRule):
    code = "L104"
    name = "shadowed-rule"
    severity = "warning"
    summary = "shadowed rule: under FIRST/PRIORITY it can never be the one that fires"
    hit_policies = frozenset({HitPolicy.FIRST, HitPolicy.PRIORITY})
    kind = "shadowed"
    seeks_decision_case = True

    def message(self, a, x):
        t = a.table
        r = x.rules[0]
        one = len(x.others) == 1
        if t.hit_policy is HitPolicy.FIRST:
            why = "comes before it" if one else "come before it"
        else:
            why = "has an output of higher priority" if one else "have outputs of higher priority"
        fix = "Delete it, or move it up." if t.hit_policy is HitPolicy.FIRST else \
            "Delete it, or change its conditions or outputs."
        return (f"rule {rid(t, r)} can never fire: {rules_phrase(t, x.others)} {why} and already "
                f"{verb(x.others)} every case it matches (e.g. {case_text(t, x.witness)}). {fix}")

    def exhibits(self, book, table, x, env, matched):
        return x.rules[0] in matched


RULE = ShadowedRule()
