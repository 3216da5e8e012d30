"""L121 unused-output: a table output that no decision returns and no table reads."""
from __future__ import annotations

from decide.compile.graph import table_reads
from decide.tools.lint.rule import BookRule


class UnusedOutput(BookRule):
    code = "L121"
    name = "unused-output"
    severity = "warning"
    summary = "a table output no decision returns and no table reads"

    def detect(self, book):
        if not book.services:
            return []
        returned, read = set(), set()
        for s in book.services.values():
            returned |= set(s.outputs)
            read |= set(s.derived)
        for t in book.tables.values():
            read |= table_reads(t)
        return [(t, col) for t in book.tables.values() for col in t.outputs
                if col.field not in returned and col.field not in read]

    def message(self, book, hit):
        t, col = hit
        return (f'output "{col.header}" of table {t.name} is not returned by any decision '
                f"({', '.join(sorted(book.services))}) and no table reads it: nobody sees "
                "its value.")

    def cell(self, book, hit):
        return hit[1].loc

    def evidence(self, book, hit):
        return {"table": hit[0].name}


RULE = UnusedOutput()
