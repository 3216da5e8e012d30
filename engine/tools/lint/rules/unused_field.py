"""L120 unused-field: a Glossary field no table, test, invariant or decision uses."""
from __future__ import annotations

from decide.compile.graph import table_reads
from decide.compile.resolve import referenced_fields
from decide.model.asof import AS_OF
from decide.model.ir import Book
from decide.tools.lint.rule import BookRule


def used_fields(book: Book) -> set[str]:
    used = set()
    for t in book.tables.values():
        used |= table_reads(t)
        used |= set(t.output_fields)
    for s in book.services.values():
        used |= set(s.inputs) | set(s.outputs) | set(s.derived)
    for suite in book.tests:
        for c in suite.cases:
            used |= set(c.inputs) | set(c.expected)
    for inv in book.invariants:
        for p in inv.properties:
            if p.when is not None:
                used |= referenced_fields(p.when)
            used |= referenced_fields(p.then)
    return used


class UnusedField(BookRule):
    code = "L120"
    name = "unused-field"
    severity = "warning"
    summary = "a Glossary field no table, test or decision uses"

    def detect(self, book):
        used = used_fields(book)
        # the reserved as_of is declared by the engine itself unless a Glossary does (loc set)
        return [(name, f) for name, f in book.fields.items()
                if name not in used and not (name == AS_OF and not f.loc.workbook)]

    def message(self, book, hit):
        name, f = hit
        label = f" ({f.label})" if f.label != name else ""
        return (f'field "{name}"{label} is declared in the Glossary but no table, test or '
                "decision uses it: delete it, or use it.")

    def cell(self, book, hit):
        return hit[1].loc


RULE = UnusedField()
