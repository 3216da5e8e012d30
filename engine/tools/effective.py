"""What changes on a day: the rules whose ``as_of`` (適用日) cell matches the day but not
the day before (they take effect) or the day before but not the day (they have ended).
``decide diff TABLES --as-of DAY`` lists them above the cases decided differently."""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

from decide.model.asof import AS_OF
from decide.model.ir import Book, Loc
from decide.runtime.reference import unary


@dataclass(frozen=True)
class DatedRule:
    table: str
    rule: str
    change: str  # "takes effect" | "ends"
    cell: str  # the as_of cell as written
    loc: Loc  # the as_of cell

    def describe(self, day: _dt.date) -> str:
        when = f"from {day.isoformat()}" if self.change == "takes effect" else \
            f"after {(day - _dt.timedelta(days=1)).isoformat()}"
        verb = "applies" if self.change == "takes effect" else "no longer applies"
        return f"{self.table} rule {self.rule} {verb} {when} ({self.cell} [{self.loc.cell}])"

    def to_dict(self) -> dict:
        return {"table": self.table, "rule": self.rule, "change": self.change, "cell": self.cell,
                "where": str(self.loc)}


def changes_on(book: Book, day: _dt.date) -> list[DatedRule]:
    """The rules of ``book`` that take effect on ``day`` or end the day before, in table
    order.  Only a plain ``as_of`` column is looked at; a test that also names another
    field (``>= start_date``) depends on the case, and is left out."""
    before = day - _dt.timedelta(days=1)
    out = []
    for t in book.tables.values():
        cols = [i for i, c in enumerate(t.inputs) if c.field == AS_OF]
        for r in t.rules:
            cells = [r.inputs[i] for i in cols]  # a rule may say "from" and "until" in two columns
            verdicts = [(unary(e.test, before, {}) is True, unary(e.test, day, {}) is True) for e in cells]
            was, now = all(v[0] for v in verdicts), all(v[1] for v in verdicts)
            if cells and was != now:
                e = next(e for e, (a, b) in zip(cells, verdicts) if a != b)
                out.append(DatedRule(t.name, r.id, "takes effect" if now else "ends", e.text, e.loc))
    return out


class DecidedAsOf:
    """A Rulebook that decides every case as of one date (``decide diff --as-of``)."""

    def __init__(self, book, day: _dt.date):
        self._book, self.day = book, day

    @property
    def ir(self) -> Book:
        return self._book.ir

    def decide(self, name: str, facts, **options):
        return self._book.decide(name, facts, **{**options, "as_of": self.day})
