"""L122 ignored-sheet: a sheet that is not a Glossary, Decision table, Tests or
Invariants sheet (a cover page, notes), which loading skips."""
from __future__ import annotations

from decide.tools.lint.rule import BookRule


class IgnoredSheet(BookRule):
    code = "L122"
    name = "ignored-sheet"
    severity = "info"
    summary = "a sheet that is not a Glossary, Decision table, Tests, Invariants or Settings sheet"

    def detect(self, book):
        return book.ignored_sheets  # the sheets' A1 cells

    def message(self, book, loc):
        return (f'sheet "{loc.sheet}" is ignored: its cell A1 is not Glossary, Decision table, '
                "Tests, Invariants or Settings.")

    def cell(self, book, loc):
        return loc


RULE = IgnoredSheet()
