"""The lint rules, one module each (its file named after the rule's symbolic name).

``RULES`` is the one list lint runs, in this order.  To add a rule: write a module
here with one ``TableRule``, ``FindingRule`` or ``BookRule`` instance named ``RULE``
(see ``decide.tools.lint.rule``), and add one line below.  Codes: L101–L119 table
rules, L120–L139 book rules; a code or name is never reused."""
from __future__ import annotations

from decide.tools.lint.rules import (
    approximate_column, conflicting_rules, ignored_sheet, incomplete_analysis, mergeable_rules,
    missing_input_gap, overlapping_rules, redundant_rule, shadowed_rule, uncovered_cases,
    unreachable_rule, unused_field, unused_output, useless_column,
)

RULES = (
    overlapping_rules.RULE,
    conflicting_rules.RULE,
    uncovered_cases.RULE,
    shadowed_rule.RULE,
    unreachable_rule.RULE,
    redundant_rule.RULE,
    mergeable_rules.RULE,
    useless_column.RULE,
    approximate_column.RULE,
    incomplete_analysis.RULE,
    unused_field.RULE,
    unused_output.RULE,
    ignored_sheet.RULE,
    missing_input_gap.RULE,
)
