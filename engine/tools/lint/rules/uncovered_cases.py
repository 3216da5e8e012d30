"""L103 uncovered-cases: a gap, cases no rule matches (tables that return one result)."""
from __future__ import annotations

from decide.tools.lint.rule import FindingRule, Policies
from decide.tools.lint.wording import case_text, when


class UncoveredCases(FindingRule):
    code = "L103"
    name = "uncovered-cases"
    severity = "warning"
    summary = "gap: a case no rule matches (U, A, P, F tables)"
    hit_policies = Policies(lambda p: p.gaps)  # single-hit: no match is a null result
    kind = "gap"
    seeks_decision_case = True

    def message(self, a, x):
        return (f"no rule matches {when(x.region)}, e.g. {case_text(a.table, x.witness)}: the table "
                f"returns null for such cases. Add a rule for them (or a last rule with - in every "
                "input column).")

    def exhibits(self, book, table, x, env, matched):
        return not matched


RULE = UncoveredCases()
