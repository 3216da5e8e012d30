"""L104 shadowed-rule: under FIRST or PRIORITY, a rule that can match but never fires,
because the rules before it (or of higher priority) already match every such case."""
from __future__ import annotations

from decide.tools.lint.rule import FindingRule, Policies
from decide.tools.lint.wording import case_text, rid, rules_phrase, verb


class ShadowedRule(FindingRule):
    code = "L104"
    name = "shadowed-rule"
    severity = "warning"
    summary = "shadowed rule: under FIRST/PRIORITY it can never be the one that fires"
    hit_policies = Policies(lambda p: p.order is not None)  # the first match in an order wins
    kind = "shadowed"
    seeks_decision_case = True

    def message(self, a, x):
        t = a.table
        r = x.rules[0]
        why_one, why_many, fix = t.hit_policy.shadow  # the policy's words
        why = why_one if len(x.others) == 1 else why_many
        return (f"rule {rid(t, r)} can never fire: {rules_phrase(t, x.others)} {why} and already "
                f"{verb(x.others)} every case it matches (e.g. {case_text(t, x.witness)}). {fix}")

    def exhibits(self, book, table, x, env, matched):
        return x.rules[0] in matched


RULE = ShadowedRule()
