"""The lint findings an edit brings: those of the new version that the old one had
not (``decide diff --lint``, and always in ``--format markdown``)."""
from __future__ import annotations

import re

from decide.model.ir import Book
from decide.tools.diff import DiffReport
from decide.tools.lint import lint


def new_lint_findings(old: Book, new: Book) -> list:
    """The lint findings of ``new`` that ``old`` has not (the same code, table or sheet
    and message, cell addresses aside: a finding that only moved is not new)."""
    def key(d):
        return (d.code, d.loc.workbook, getattr(d, "table", "") or d.loc.sheet,
                re.sub(r"\b[A-Z]{1,3}\d+\b|\brow \d+", "", d.message))

    before: dict = {}
    for d in lint(old):
        before[key(d)] = before.get(key(d), 0) + 1
    out = []
    for d in lint(new):
        if before.get(key(d), 0):
            before[key(d)] -= 1
        else:
            out.append(d)
    return out


def add_new_lint(rep: DiffReport) -> DiffReport:
    """Fill ``rep.lint_new`` from the two versions ``diff`` loaded."""
    rep.lint_new = new_lint_findings(*rep.books)
    return rep
