"""``decide lint``: what is wrong or suspicious in the tables, in the analysts' terms.

``lint(book)`` returns diagnostics (``LintDiagnostic``, codes L100–L199) on top of
the load-time checks.  Each comes from one lint rule, with a stable code and a
symbolic name (``L101 overlapping-rules``), shown together in the text and JSON
outputs.  Each table finding comes from the exact analysis in
``decide.tools.analysis`` and carries a witness case (``LintDiagnostic.witness``), a
case that shows the problem when it is fed to the engine: the values of the table's
own inputs.  For a table fed by other tables, lint also looks for a case of the
table's decision whose upstream results lead there (``LintDiagnostic.decision_case``).
Gaps and useless columns are judged over cases where every tested field is present;
overlaps and shadowing count absent fields (null) too.

Layout
------
``rule``            what a rule declares (``TableRule``, ``FindingRule``, ``BookRule``)
``rules/``          one module per rule; ``rules.RULES``, the tuple lint runs
``run``             ``lint``, ``lint_path``: the analyses, then every rule
``decision_cases``  cases of a decision that lead to a finding in a chained table
``diagnostic``      ``LintDiagnostic``, the order of the report
``wording``         phrases the messages share
``text``            ``format_text``, ``rules_table``

Adding a rule: a new module in ``rules/`` and one line in ``rules.RULES``.

Codes and names are stable (a code or name is never reused).  ``decide lint --rules``
prints the reference, one line per rule of ``RULES``: code, name, severity, the hit
policies of the tables it checks, what it finds.
"""
from __future__ import annotations

from decide.tools.lint.decision_cases import find_decision_cases
from decide.tools.lint.diagnostic import SEVERITY_ORDER, LintDiagnostic, sort_diagnostics
from decide.tools.lint.rule import BookRule, FindingRule, LintRule, TableRule
from decide.tools.lint.run import analyses, book_diagnostics, lint, lint_path, registered, table_diagnostics
from decide.tools.lint.text import format_text, rules_table

__all__ = [
    "lint", "lint_path", "format_text", "rules_table", "LintDiagnostic", "LintRule", "TableRule",
    "FindingRule", "BookRule", "registered", "analyses", "table_diagnostics", "book_diagnostics",
    "find_decision_cases", "sort_diagnostics", "SEVERITY_ORDER",
]
