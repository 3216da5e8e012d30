"""Diagnostics and the three exceptions the engine raises.

Every problem found in a workbook is a ``Diagnostic`` with a stable code; loading
collects all of them and raises one ``WorkbookError`` listing every error at once.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Iterable, Optional, Sequence

from decide.model.loc import Loc


@dataclass(frozen=True)
class Diagnostic:
    code: str  # stable, e.g. "E201"
    severity: str  # "error" | "warning" | "info"
    loc: Loc
    message: str
    related: Optional[Loc] = None  # the other place, for errors about two places

    @property
    def workbook(self) -> str:
        return self.loc.workbook

    @property
    def sheet(self) -> str:
        return self.loc.sheet

    @property
    def cell(self) -> str:
        return self.loc.cell

    def __str__(self) -> str:
        where = str(self.loc)
        return f"{where}: {self.message}" if where else self.message

    def to_dict(self) -> dict:
        d = {
            "code": self.code,
            "severity": self.severity,
            "workbook": self.loc.workbook,
            "sheet": self.loc.sheet,
            "cell": self.loc.cell,
            "message": self.message,
        }
        if self.related is not None:
            d["related"] = str(self.related)
        return d


class DecideError(Exception):
    """Base class of the engine's errors."""


class WorkbookError(DecideError):
    """The workbooks could not be loaded; ``diagnostics`` lists every problem."""

    def __init__(self, diagnostics: Sequence[Diagnostic]):
        self.diagnostics = list(diagnostics)
        errors = [d for d in self.diagnostics if d.severity == "error"]
        n = len(errors)
        head = f"{n} error{'s' if n != 1 else ''} in the workbooks"
        super().__init__(head + ":\n" + "\n".join(f"  {d}" for d in errors))

    def to_dict(self) -> dict:
        return {"error": "workbook", "diagnostics": [d.to_dict() for d in self.diagnostics]}


class CaseError(DecideError):
    """The facts of a case are not acceptable (unknown field, wrong type, value
    outside the allowed values, unknown decision)."""

    def __init__(self, message: str, field: Optional[str] = None, value=None):
        self.field = field
        self.value = value
        super().__init__(message)

    def to_dict(self) -> dict:
        d = {"error": "case", "message": str(self)}
        if self.field is not None:
            d["field"] = self.field
        return d


class EvaluationError(DecideError):
    """A table's hit policy was violated by a case (two rules under UNIQUE, rules
    that disagree under ANY).  ``rules`` names them as (table, rule id, Loc)."""

    def __init__(self, message: str, table: str, rules: Sequence[tuple]):
        self.table = table
        self.rules = list(rules)
        super().__init__(message)

    def to_dict(self) -> dict:
        return {
            "error": "evaluation",
            "message": str(self),
            "table": self.table,
            "rules": [{"rule": r[1], "where": str(r[2])} for r in self.rules],
        }


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean "x"?)`` or an empty string."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""
