"""Test coverage of the rules, and the ``decide test --report results.xlsx`` workbook.

``after_tests(rulebook, outcomes, report=None)`` is what ``decide test`` calls after
running the Tests sheets (``decide.tools.testing.run_tests``): it returns the text that
lists the rules no Tests case exercises, and writes the report when asked.

The report workbook itself is written by ``decide.tools.report``.
"""
from __future__ import annotations

from typing import Optional

from decide.model.ir import Book
# the report's colours, write_report and the hits are used from here too
from decide.tools.report import FAIL_FILL, HEAD_FILL, NONE_FILL, PASS_FILL, write_report  # noqa: F401
from decide.tools.rule_hits import RuleCoverage, coverage, rule_hits  # noqa: F401


def uncovered_text(book: Book, outcomes) -> str:
    cov = coverage(book, outcomes)
    missing = [c for c in cov if c.hits == 0]
    total = len(cov)
    lines = []
    if missing:
        lines.append(f"Rules no test case exercises ({len(missing)} of {total}):")
        for c in missing:
            lines.append(f"  {c.table} rule {c.rule} ({c.loc.workbook} › {c.loc.sheet} › row "
                         f"{c.loc.cell[1:]})")
    else:
        lines.append(f"Every rule is exercised by at least one test case ({total} rules).")
    return "\n".join(lines)


def after_tests(rulebook, outcomes, report: Optional[str] = None) -> str:
    """Called by ``decide test``: the coverage text, and the report when asked."""
    text = uncovered_text(rulebook.ir, outcomes)
    if report:
        path = write_report(rulebook, outcomes, report)
        text += f"\nReport written to {path}"
    return text
