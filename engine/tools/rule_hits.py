"""Which test cases fired which rule: ``rule_hits`` and ``coverage`` (per rule, how
many cases exercised it), shared by ``decide test``'s coverage text and its report."""
from __future__ import annotations

from dataclasses import dataclass

from decide.model.ir import Book, Loc


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
