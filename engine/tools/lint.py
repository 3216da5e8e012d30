"""``decide lint``: what is wrong or suspicious in the tables, in the analysts' terms.

``lint(book)`` returns diagnostics (``engine.errors.Diagnostic``, codes L100–L199)
on top of the load-time checks.  Each table finding comes from the exact analysis in
``engine.analysis`` and carries a witness case (``LintDiagnostic.witness``), a case
that shows the problem when it is fed to the engine: the values of the table's own
inputs.  For a table fed by other tables, lint also looks for a case of the table's
decision whose upstream results lead there (``LintDiagnostic.decision_case``).
Gaps and useless columns are judged over cases where every tested field is present;
overlaps and shadowing count absent fields (null) too.

Codes (stable):

==== ======== ==============================================================
code severity what
==== ======== ==============================================================
L101 error    UNIQUE table: two rules can match the same case
L102 error    ANY table: two rules with different outputs can match the same case
L103 warning  gap: a case no rule matches (U, A, P, F tables)
L104 warning  shadowed rule: under FIRST/PRIORITY it can never be the one that fires
L105 warning  a rule no case can match
L106 warning  redundant rule: another rule with the same outputs covers it
L107 info     two rules with the same outputs that can be merged into one
L108 warning  an input column that never changes the outcome
L109 info     a column analysed approximately (field references, expressions)
L110 info     an analysis given up (too many combinations)
L120 warning  a Glossary field no table, test or decision uses
L121 warning  a table output no decision returns and no table reads
L122 info     a sheet that is not a Glossary, Decision table, Tests or Invariants
==== ======== ==============================================================
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Optional

from decide.tools.analysis import Finding, TableAnalysis, analyze_table
from decide.model.errors import Diagnostic, WorkbookError
from decide.model.ir import Book, HitPolicy, Loc, Table
from decide.model.values import show, to_json

SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}

CODES = {
    "overlap": ("L101", "error"),
    "conflict": ("L102", "error"),
    "gap": ("L103", "warning"),
    "shadowed": ("L104", "warning"),
    "never": ("L105", "warning"),
    "redundant": ("L106", "warning"),
    "mergeable": ("L107", "info"),
    "useless": ("L108", "warning"),
}


@dataclass(frozen=True)
class LintDiagnostic(Diagnostic):
    """A Diagnostic with the evidence: the witness case(s) and the rules involved."""

    witness: Optional[dict] = field(default=None, compare=False)
    witness2: Optional[dict] = field(default=None, compare=False)
    table: str = ""
    rules: tuple = ()
    decision_case: Optional[dict] = field(default=None, compare=False)

    def to_dict(self) -> dict:
        d = super().to_dict()
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


# --------------------------------------------------------------------------- wording
def _rid(t: Table, i: int) -> str:
    return str(t.rules[i].id)


def _rules_phrase(t: Table, idx) -> str:
    idx = list(idx)
    names = [_rid(t, i) for i in idx[:6]]
    more = f" and {len(idx) - 6} more" if len(idx) > 6 else ""
    if len(names) == 1:
        return f"rule {names[0]}"
    return "rules " + ", ".join(names[:-1]) + (" and " if not more else ", ") + names[-1] + more


def _verb(idx) -> str:
    return "matches" if len(list(idx)) == 1 else "match"


def _case_text(t: Table, case: dict) -> str:
    """``category = "kindle", amount_yen = 0`` with the table's own headers."""
    header = {c.field: c.header for c in t.inputs if c.field}
    parts = []
    fields_tested = []
    for c in t.inputs:
        if c.field and c.field not in fields_tested:
            fields_tested.append(c.field)
    for f in fields_tested:
        name = header.get(f, f)
        parts.append(f"{name} = {show(case[f])}" if f in case else f"{name} absent")
    for f in sorted(set(case) - set(fields_tested)):  # fields of expression headers
        parts.append(f"{f} = {show(case[f])}")
    return ", ".join(parts) if parts else "any case"


def _when(region: str) -> str:
    return "every case" if region == "every case" else f"when {region}"


def _message(a: TableAnalysis, x: Finding) -> str:
    t = a.table
    k = x.kind
    if k == "overlap":
        j, i = x.rules[0], x.others[0]
        return (f"rules {_rid(t, i)} and {_rid(t, j)} can both match the same case, but the table is "
                f"UNIQUE (exactly one rule may match): both match {_when(x.region)}, e.g. "
                f"{_case_text(t, x.witness)}. Make the conditions exclusive, or change the hit policy "
                "(FIRST, PRIORITY).")
    if k == "conflict":
        j, i = x.rules[0], x.others[0]
        return (f"rules {_rid(t, i)} and {_rid(t, j)} can both match the same case with different "
                f"outputs, but the table is ANY (matching rules must agree): both match "
                f"{_when(x.region)}, e.g. {_case_text(t, x.witness)}.")
    if k == "gap":
        return (f"no rule matches {_when(x.region)}, e.g. {_case_text(t, x.witness)}: the table "
                f"returns null for such cases. Add a rule for them (or a last rule with - in every "
                "input column).")
    if k == "shadowed":
        r = x.rules[0]
        one = len(x.others) == 1
        if t.hit_policy is HitPolicy.FIRST:
            why = "comes before it" if one else "come before it"
        else:
            why = "has an output of higher priority" if one else "have outputs of higher priority"
        fix = "Delete it, or move it up." if t.hit_policy is HitPolicy.FIRST else \
            "Delete it, or change its conditions or outputs."
        return (f"rule {_rid(t, r)} can never fire: {_rules_phrase(t, x.others)} {why} and already "
                f"{_verb(x.others)} every case it matches (e.g. {_case_text(t, x.witness)}). {fix}")
    if k == "never":
        r = x.rules[0]
        return (f"rule {_rid(t, r)} can never match: no allowed value satisfies one of its cells. "
                "Check its conditions against the Glossary's allowed values.")
    if k == "redundant":
        r, s = x.rules[0], x.others[0]
        return (f"rule {_rid(t, r)} is redundant: rule {_rid(t, s)} has the same outputs and matches "
                f"every case it matches (e.g. {_case_text(t, x.witness)}); deleting rule "
                f"{_rid(t, r)} changes no result.")
    if k == "mergeable":
        b, a = x.rules[0], x.others[0]
        col = t.inputs[x.column]
        cell = {"any value": "-", "any value (not null)": "not(null)"}.get(x.region, x.region)
        return (f"rules {_rid(t, a)} and {_rid(t, b)} have the same outputs and differ only in "
                f'column "{col.header}": they can be one rule with {cell} in that column.')
    if k == "useless":
        col = t.inputs[x.column]
        w1, w2 = x.witness, x.witness2 or x.witness
        f = col.field
        v1 = show(w1[f]) if f in w1 else "absent"
        v2 = show(w2[f]) if f in w2 else "absent"
        extra = "" if v1 == v2 else f" (e.g. {col.header} = {v1} and = {v2} give the same result)"
        return (f'column "{col.header}" never changes the outcome: for every case, any value of '
                f"{col.header} gives the same result{extra}. Remove the column, or fix the rules "
                "that should depend on it.")
    raise AssertionError(k)


def _loc(a: TableAnalysis, x: Finding) -> tuple[Loc, Optional[Loc]]:
    t = a.table
    if x.kind in ("useless", ) and x.column is not None:
        return t.inputs[x.column].loc, None
    if x.kind == "mergeable":
        return t.rules[x.rules[0]].loc, t.rules[x.others[0]].loc
    if x.rules:
        rel = t.rules[x.others[0]].loc if x.others else None
        return t.rules[x.rules[0]].loc, rel
    return t.loc, None


def table_diagnostics(a: TableAnalysis) -> list[LintDiagnostic]:
    t = a.table
    out = []
    for x in a.findings:
        code, sev = CODES[x.kind]
        loc, rel = _loc(a, x)
        rules = tuple(_rid(t, i) for i in x.rules + x.others)
        msg = _message(a, x)
        if x.decision_case is not None:
            import json
            msg += (f" A case of decision {t.name} that gets there: "
                    f"{json.dumps(x.decision_case, ensure_ascii=False, default=str)}.")
        out.append(LintDiagnostic(code, sev, loc, msg, rel, witness=x.witness,
                                  witness2=x.witness2, table=t.name, rules=rules,
                                  decision_case=x.decision_case))
    for col_index, note in a.notes:
        col = t.inputs[col_index]
        out.append(LintDiagnostic(
            "L109", "info", col.loc,
            f'column "{col.header}" is checked approximately because {note}: lint reports only '
            "what holds for every value of the fields involved, so it may miss an overlap or gap "
            "there.", table=t.name))
    for what in dict.fromkeys(a.skipped):
        out.append(LintDiagnostic("L110", "info", t.loc,
                                  f"lint did not finish one check of table {t.name}: {what}.",
                                  table=t.name))
    return out


# --------------------------------------------------------------------------- book-level checks
def _used_fields(book: Book) -> set[str]:
    from decide.compile.graph import table_reads
    from decide.compile.resolve import referenced_fields
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


def book_diagnostics(book: Book) -> list[LintDiagnostic]:
    from decide.compile.graph import table_reads
    out = []
    used = _used_fields(book)
    for name, f in book.fields.items():
        if name not in used:
            out.append(LintDiagnostic(
                "L120", "warning", f.loc,
                f'field "{name}" ({f.label}) is declared in the Glossary but no table, test or '
                "decision uses it: delete it, or use it.") if f.label != name else LintDiagnostic(
                "L120", "warning", f.loc,
                f'field "{name}" is declared in the Glossary but no table, test or decision uses '
                "it: delete it, or use it."))
    if book.services:
        returned = set()
        for s in book.services.values():
            returned |= set(s.outputs)
        read = set()
        for t in book.tables.values():
            read |= table_reads(t)
        for s in book.services.values():
            read |= set(s.derived)
        for t in book.tables.values():
            for col in t.outputs:
                if col.field not in returned and col.field not in read:
                    out.append(LintDiagnostic(
                        "L121", "warning", col.loc,
                        f'output "{col.header}" of table {t.name} is not returned by any decision '
                        f"({', '.join(sorted(book.services))}) and no table reads it: nobody sees "
                        "its value.", table=t.name))
    for loc in book.ignored_sheets:
        out.append(LintDiagnostic(
            "L122", "info", loc,
            f'sheet "{loc.sheet}" is ignored: its cell A1 is not Glossary, Decision table, Tests '
            "or Invariants."))
    return out


# --------------------------------------------------------------------------- entry points
def analyses(book: Book, **kw) -> dict[str, TableAnalysis]:
    return {name: analyze_table(t, book, **kw) for name, t in book.tables.items()}


def lint(book: Book, *, decision_cases: int = 300, **kw) -> list[Diagnostic]:
    """Every lint diagnostic of a loaded book, most severe first, then by place.
    ``decision_cases``: how many generated cases to try, per table fed by other tables,
    to find a case of the table's decision that shows each finding (0: do not)."""
    out: list[Diagnostic] = []
    found = analyses(book, **kw)
    if decision_cases:
        find_decision_cases(book, found, decision_cases)
    for a in found.values():
        out.extend(table_diagnostics(a))
    out.extend(book_diagnostics(book))
    return sort_diagnostics(out)


def _exhibits(book: Book, t: Table, x: Finding, env: dict) -> bool:
    from decide.model.errors import EvaluationError
    from decide.runtime.reference import eval_table, matching_rules
    m = matching_rules(t, env)
    if x.kind == "gap":
        return not m
    if x.kind == "overlap":
        return x.rules[0] in m and x.others[0] in m
    if x.kind == "conflict":
        try:
            eval_table(book, t, env)
        except EvaluationError:
            return x.rules[0] in m and x.others[0] in m
        return False
    if x.kind in ("shadowed", "redundant", "mergeable"):
        return x.rules[0] in m
    return False


def find_decision_cases(book: Book, found: dict, tries: int = 300, per_table: int = 10) -> None:
    """For tables fed by other tables, look for cases of the table's decision (generated
    from the Glossary, the boundaries and the Tests sheets) whose upstream results show
    each finding; attach the first found to the finding."""
    from dataclasses import replace
    from decide.model.errors import CaseError, EvaluationError
    from decide.runtime.facts import apply_derive, normalise
    from decide.tools.diff import generate_cases
    from decide.runtime.reference import run_tables
    for name, a in found.items():
        plan = book.decisions.get(name)
        todo = [x for x in a.findings if x.kind in ("gap", "overlap", "conflict", "shadowed",
                                                     "redundant")][:per_table]
        if plan is None or len(plan.tables) < 2 or not todo:
            continue
        upstream = replace(plan, tables=tuple(n for n in plan.tables if n != name))
        cases = generate_cases([book], name, tries, seed=0)
        cases.sort(key=lambda c: -len(c))  # cases that give every field first
        for raw in cases:
            try:
                env = run_tables(book, upstream, apply_derive(book, plan, normalise(book, plan, raw)))[0]
            except (CaseError, EvaluationError, ValueError, TypeError):
                continue
            for x in todo:
                if x.decision_case is None and _exhibits(book, a.table, x, env):
                    x.decision_case = raw
            if all(x.decision_case is not None for x in todo):
                break


def sort_diagnostics(ds):
    def key(d):
        return (SEVERITY_ORDER.get(d.severity, 3), d.loc.workbook, d.loc.sheet, _cell_key(d.loc.cell),
                d.code)
    return sorted(ds, key=key)


def _cell_key(cell: str):
    import re
    m = re.match(r"([A-Z]+)(\d+)$", cell or "")
    if m:
        return (int(m.group(2)), len(m.group(1)), m.group(1))
    m = re.match(r"row (\d+)$", cell or "")
    if m:
        return (int(m.group(1)), 0, "")
    return (0, 0, cell or "")


def lint_path(path: str | os.PathLike, services=None) -> tuple[Optional[Book], list[Diagnostic]]:
    """Load a directory (or one workbook) and lint it.  When the workbooks do not load,
    the load-time diagnostics are returned (and no book)."""
    from decide.compile.loader import load_book
    try:
        book = load_book(path, services)
    except WorkbookError as e:
        return None, sort_diagnostics(e.diagnostics)
    return book, lint(book)


def format_text(diags, *, color: bool = False) -> str:
    lines = []
    for d in diags:
        lines.append(f"{d.severity.upper():7} {d.code}  {d.loc}")
        lines.append(f"        {d.message}")
    n_err = sum(d.severity == "error" for d in diags)
    n_warn = sum(d.severity == "warning" for d in diags)
    n_info = len(diags) - n_err - n_warn
    lines.append(f"{n_err} error(s), {n_warn} warning(s), {n_info} note(s)")
    return "\n".join(lines)
