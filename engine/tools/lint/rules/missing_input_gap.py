"""L123 missing-input-gap: a gap that only a missing (null) input reaches — no rule
matches when that input is absent (tables that return one result).  Lower than L103: an
input that is always given never gets there, but an absent one silently gives null.
Only the inputs the case gives are asked about: a field another table computes is never
missing unless that table has a gap, which L103 reports there; and only tables without
an L103 gap (one cause, one finding: the catch-all rule L103 asks for covers both)."""
from __future__ import annotations

from dataclasses import dataclass

from decide.model.ir import Table
from decide.tools.analysis import analyze_table
from decide.tools.analysis.boxes import Budget, uncovered
from decide.tools.analysis.rules import describe_box, witness_case
from decide.tools.lint.rule import BookRule
from decide.tools.lint.wording import case_text


@dataclass(frozen=True)
class MissingGap:
    table: Table
    column: int  # the input column whose missing value leads there
    region: str
    witness: dict


class MissingInputGap(BookRule):
    code = "L123"
    name = "missing-input-gap"
    severity = "info"
    summary = "gap reached only when an input is missing (null): no rule matches (U, A, P, F tables)"

    def detect(self, book):
        computed = {c.field for t in book.tables.values() for c in t.outputs}
        out = []
        for t in book.tables.values():
            if t.hit_policy.gaps and t.rules and any(c.field and c.field not in computed for c in t.inputs):
                out.extend(self._gaps(analyze_table(t, book), computed))
        return out

    def _gaps(self, a, computed):
        """For each input the case gives, a case where it is missing (the inputs before it
        present, so each gap is found once) and no rule may match."""
        out = []
        variables = a.variables
        if any(v.opaque or v.derived for v in variables) or any(x.kind == "gap" for x in a.findings):
            return out  # a table with a gap already has L103: the catch-all it needs covers this too
        present = [v.gap_dom for v in variables]
        if not all(present):
            return out
        budget = [500_000]
        for k, v in enumerate(variables):
            if v.field is None or v.field in computed:
                continue
            univ = tuple(present[:k]) + (v.null_bit,) + tuple(p | w.null_bit for p, w in
                                                               zip(present[k + 1:], variables[k + 1:]))
            try:
                g = uncovered(univ, range(len(a.may)), a.may, budget)
            except Budget:
                return out
            if g is not None:
                out.append(MissingGap(a.table, v.columns[0], describe_box(variables, g, a.table),
                                      witness_case(variables, g)))
        return out

    def message(self, book, x):
        col = x.table.inputs[x.column]
        return (f'no rule matches when "{col.header}" is missing (null), e.g. '
                f"{case_text(x.table, x.witness)}: the table returns null. If it can be missing, add a "
                f"rule for it (null in that column), or write - (anything, missing too) where a rule "
                f"should take it.")

    def cell(self, book, x):
        return x.table.inputs[x.column].loc

    def evidence(self, book, x):
        return {"table": x.table.name, "witness": x.witness}


RULE = MissingInputGap()
