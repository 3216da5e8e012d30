"""What deciding a case returns: the ``Result`` and the ``FiredRule``\\s in it."""
from __future__ import annotations

from typing import NamedTuple

from decide.model.values import to_json


class FiredRule(NamedTuple):
    table: str
    rule: str
    workbook: str
    sheet: str
    row: int
    index: int

    def to_dict(self) -> dict:
        return {"table": self.table, "rule": self.rule, "workbook": self.workbook,
                "sheet": self.sheet, "row": self.row}


class Result:
    """The outcome of one decision: ``outputs`` (field → value), ``fired``
    (the rules that fired, with their workbook, sheet and row) and ``version``, the
    rule-set version that decided it (``Rulebook.version``; set by ``Rulebook.decide``,
    one string shared by every result of the same version; None outside a Rulebook) and
    ``as_of``, the ``datetime.date`` it was decided as of (set by ``Rulebook.decide``)."""

    __slots__ = ("decision", "outputs", "fired", "version", "as_of")

    def __init__(self, decision: str, outputs: dict, fired: tuple, version: str | None = None,
                 as_of=None):
        self.decision = decision
        self.outputs = outputs
        self.fired = fired
        self.version = version
        self.as_of = as_of

    def to_dict(self) -> dict:
        """The result as JSON-shaped data: dates as ISO text, versions as text, lists;
        numbers stay exact (``int`` or ``Decimal``, never ``float``), so
        ``decide.app.casejson.dumps`` writes them digit for digit."""
        out = {"decision": self.decision}
        if self.version is not None:
            out["version"] = self.version
        if self.as_of is not None:
            out["as_of"] = self.as_of.isoformat()
        out.update({"outputs": {k: to_json(v) for k, v in self.outputs.items()},
                "fired": [f.to_dict() for f in self.fired]})
        return out

    def __repr__(self) -> str:
        return f"Result({self.decision!r}, outputs={self.outputs!r}, fired={len(self.fired)} rules)"

    def __eq__(self, other) -> bool:
        return isinstance(other, Result) and (self.decision, self.outputs, self.fired) == \
            (other.decision, other.outputs, other.fired)
