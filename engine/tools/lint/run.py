"""Running the lint rules: ``lint(book)``, ``lint_path(path)``."""
from __future__ import annotations

import os
from typing import Optional, Sequence

from decide.model.errors import Diagnostic, WorkbookError
from decide.model.ir import Book
from decide.tools.analysis import TableAnalysis, analyze_table
from decide.tools.lint.decision_cases import find_decision_cases
from decide.tools.lint.diagnostic import LintDiagnostic, sort_diagnostics
from decide.tools.lint.rule import BookRule, LintRule, TableRule


def registered() -> tuple[LintRule, ...]:
    """The rules lint runs: ``decide.tools.lint.rules.RULES``, read at each call."""
    from decide.tools.lint import rules
    return rules.RULES


def analyses(book: Book, **kw) -> dict[str, TableAnalysis]:
    return {name: analyze_table(t, book, **kw) for name, t in book.tables.items()}


def table_diagnostics(a: TableAnalysis, rules: Optional[Sequence[LintRule]] = None) -> list[LintDiagnostic]:
    """The diagnostics of one analysed table, by every table rule that applies to it."""
    out = []
    for r in registered() if rules is None else rules:
        if isinstance(r, TableRule) and r.applies_to(a.table):
            out.extend(r.diagnostics(a))
    return out


def book_diagnostics(book: Book, rules: Optional[Sequence[LintRule]] = None) -> list[LintDiagnostic]:
    """The diagnostics of the book-level rules (fields, outputs, sheets)."""
    out = []
    for r in registered() if rules is None else rules:
        if isinstance(r, BookRule):
            out.extend(r.diagnostics(book))
    return out


def lint(book: Book, *, decision_cases: int = 300, rules: Optional[Sequence[LintRule]] = None,
         **kw) -> list[Diagnostic]:
    """Every lint diagnostic of a loaded book, most severe first, then by place.
    ``decision_cases``: how many generated cases to try, per table fed by other tables,
    to find a case of the table's decision that shows each finding (0: do not).
    ``rules``: the rules to run (default: the registered ``RULES``)."""
    rules = registered() if rules is None else tuple(rules)
    out: list[Diagnostic] = []
    found = analyses(book, **kw)
    if decision_cases:
        find_decision_cases(book, found, decision_cases, rules=rules)
    for a in found.values():
        out.extend(table_diagnostics(a, rules))
    out.extend(book_diagnostics(book, rules))
    return sort_diagnostics(out)


def lint_path(path: str | os.PathLike, services=None) -> tuple[Optional[Book], list[Diagnostic]]:
    """Load a directory (or one workbook) and lint it.  When the workbooks do not load,
    the load-time diagnostics are returned (and no book)."""
    from decide.compile.loader import load_book
    try:
        book = load_book(path, services)
    except WorkbookError as e:
        return None, sort_diagnostics(e.diagnostics)
    return book, lint(book)
