"""``LintDiagnostic``: a diagnostic with its rule's symbolic name and the evidence
(witness cases, the rules involved); the order lint lists them in."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional

from decide.model.errors import Diagnostic
from decide.model.values import to_json

SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


@dataclass(frozen=True)
class LintDiagnostic(Diagnostic):
    """A Diagnostic with the evidence: the witness case(s) and the rules involved.
    ``name`` is the symbolic name of the lint rule (``overlapping-rules``)."""

    witness: Optional[dict] = field(default=None, compare=False)
    witness2: Optional[dict] = field(default=None, compare=False)
    table: str = ""
    rules: tuple = ()
    decision_case: Optional[dict] = field(default=None, compare=False)
    name: str = ""

    def to_dict(self) -> dict:
        d = {}
        for k, v in super().to_dict().items():
            d[k] = v
            if k == "code" and self.name:
                d["name"] = self.name
        if self.table:
            d["table"] = self.table
        if self.rules:
            d["rules"] = list(self.rules)
        if self.witness is not None:
            d["witness"] = {k: to_json(v) for k, v in self.witness.items()}
        if self.witness2 is not None:
            d["witness2"] = {k: to_json(v) for k, v in self.witness2.items()}
        if self.decision_case is not None:
            d["decision_case"] = {"decision": self.table, "facts": self.decision_case}
        return d


def sort_diagnostics(ds):
    """Most severe first, then by workbook, sheet, cell (row first) and code."""
    def key(d):
        return (SEVERITY_ORDER.get(d.severity, 3), d.loc.workbook, d.loc.sheet, _cell_key(d.loc.cell),
                d.code)
    return sorted(ds, key=key)


def _cell_key(cell: str):
    m = re.match(r"([A-Z]+)(\d+)$", cell or "")
    if m:
        return (int(m.group(2)), len(m.group(1)), m.group(1))
    m = re.match(r"row (\d+)$", cell or "")
    if m:
        return (int(m.group(1)), 0, "")
    return (0, 0, cell or "")
