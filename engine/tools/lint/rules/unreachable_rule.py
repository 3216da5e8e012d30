"""L105 unreachable-rule: a rule no case can match (a cell no allowed value satisfies)."""
from __future__ import annotations

from decide.tools.lint.rule import FindingRule
from decide.tools.lint.wording import rid


class UnreachableRule(FindingRule):
    code = "L105"
    name = "unreachable-rule"
    severity = "warning"
    summary = "a rule no case can match"
    kind = "never"

    def message(self, a, x):
        return (f"rule {rid(a.table, x.rules[0])} can never match: no allowed value satisfies one "
                "of its cells. Check its conditions against the Glossary's allowed values.")


RULE = UnreachableRule()
