"""Where something was written: workbook, sheet, cell (used by the IR and by every
message)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Loc:
    """Where something was written: workbook file name, sheet, cell (``C9``) or row."""

    workbook: str = ""
    sheet: str = ""
    cell: str = ""

    def __str__(self) -> str:
        return " › ".join(p for p in (self.workbook, self.sheet, self.cell) if p)

    def at(self, cell: str) -> "Loc":
        return Loc(self.workbook, self.sheet, cell)
