"""Test coverage of the rules, and the ``decide test --report results.xlsx`` workbook.

``after_tests(rulebook, outcomes, report=None)`` is what ``decide test`` calls after
running the Tests sheets (``decide.tools.testing.run_tests``): it returns the text that
lists the rules no Tests case exercises, and writes the report when asked.

The report workbook itself is written by ``decide.tools.report``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from decide.model.ir import Book, Loc

PASS_FILL = "C6EFCE"  # Excel's "good" green
FAIL_FILL = "FFC7CE"  # Excel's "bad" red
NONE_FILL = "FFEB9C"  # Excel's "neutral" amber
HEAD_FILL = "DDEBF7"


@dataclass
class RuleCoverage:
    table: str
    rule: str
    index: int
    loc: Loc
    hits: int
    cases: list  # ids of the cases that fired it (first few)


def rule_hits(book: Book, outcomes) -> dict[tuple[str, int], list[str]]:
    """(table, rule index) → ids of the test cases that fired it."""
    hits: dict[tuple[str, int], list[str]] = {(t.name, r.index): [] for t in book.tables.values()
                                              for r in t.rules}
    for o in outcomes:
        seen = set()
        for f in o.fired:
            key = (f.table, f.index)
            if key in hits and key not in seen:
                hits[key].append(o.case.id)
                seen.add(key)
    return hits


def coverage(book: Book, outcomes) -> list[RuleCoverage]:
    hits = rule_hits(book, outcomes)
    out = []
    for t in book.tables.values():
        for r in t.rules:
            ids = hits[(t.name, r.index)]
            out.append(RuleCoverage(t.name, str(r.id), r.index, r.loc, len(ids), ids[:5]))
    return out


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


def write_report(rulebook, outcomes, path: str | os.PathLike) -> Path:
    """Write the results workbook (``decide.tools.report``); returns its path."""
    from decide.tools.report import write_report as write
    return write(rulebook, outcomes, path)
