"""L102 conflicting-rules: in an ANY table, two rules with different outputs can match
the same case."""
from __future__ import annotations

from decide.model.errors import EvaluationError
from decide.runtime.reference import eval_table
from decide.tools.lint.rule import FindingRule, Policies
from decide.tools.lint.wording import case_text, rid, when


class ConflictingRules(FindingRule):
    code = "L102"
    name = "conflicting-rules"
    severity = "error"
    summary = "ANY table: two rules with different outputs can match the same case"
    hit_policies = Policies(lambda p: p.overlap == "conflict")  # ANY: overlaps must agree
    kind = "conflict"
    seeks_decision_case = True

    def message(self, a, x):
        t = a.table
        j, i = x.rules[0], x.others[0]
        return (f"rules {rid(t, i)} and {rid(t, j)} can both match the same case with different "
                f"outputs, but the table is ANY (matching rules must agree): both match "
                f"{when(x.region)}, e.g. {case_text(t, x.witness)}.")

    def exhibits(self, book, table, x, env, matched):
        try:
            eval_table(book, table, env)
        except EvaluationError:
            return x.rules[0] in matched and x.others[0] in matched
        return False


RULE = ConflictingRules()
