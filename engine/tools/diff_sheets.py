"""The edits ``decide diff`` lists besides the tables': Glossary fields, Tests cases
and Invariants properties added, removed or changed, each with its place and what
changed (old → new).  A list of allowed values is compared item by item (``+"quo_card"``),
never printed whole."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from decide.model.ir import Book, Field, Literal, Loc, RangeTest
from decide.model.values import show


@dataclass
class SheetEdit:
    kind: str  # "glossary" | "tests" | "invariants"
    subject: str  # the field, the case id or the property id ("" for a whole sheet)
    decision: str  # the Tests or Invariants sheet's decision ("" for the Glossary)
    status: str  # "added" | "removed" | "changed"
    loc: Loc  # where it is (in the new workbooks, or the old ones when removed)
    changes: list[str] = field(default_factory=list)

    @property
    def noun(self) -> str:
        return {"glossary": "field", "tests": "case", "invariants": "invariant"}[self.kind]

    @property
    def row(self) -> str:
        """``row 36`` for a case or property, the cell for a field, "" for a sheet."""
        cell = self.loc.cell
        if not self.subject or not cell:
            return ""
        return cell if self.kind == "glossary" else f"row {cell.lstrip('ABCDEFGHIJKLMNOPQRSTUVWXYZ')}"

    def describe(self) -> str:
        """One line: what, where, and what changed."""
        sheet = f"{self.loc.workbook} › {self.loc.sheet}"
        if not self.subject:
            what = f"{sheet} ({self.decision}): sheet {self.status}"
        else:
            what = f"{sheet} › {self.row}: {self.noun} {self.subject} {self.status}"
        return f"{what}: {'; '.join(self.changes)}" if self.changes else what

    def to_dict(self) -> dict:
        key = {"glossary": "field", "tests": "case", "invariants": "property"}[self.kind]
        d = {key: self.subject or None, "status": self.status, "where": str(self.loc), "changes": self.changes}
        if self.kind != "glossary":
            d["decision"] = self.decision
        return d


# --------------------------------------------------------------------------- values
def _value(v) -> str:
    if isinstance(v, tuple):
        return "[]" if not v else ", ".join(show(x) for x in v)
    return show(v)


def _bound(e) -> str:
    return show(e.value) if isinstance(e, Literal) else str(e)


def allowed_text(a) -> str:
    if a is None:
        return "(any)"
    if isinstance(a, RangeTest):
        return f"{'[' if a.low_closed else '('}{_bound(a.low)}..{_bound(a.high)}{']' if a.high_closed else ')'}"
    return ", ".join(show(v) for v in a)


def allowed_change(old, new) -> Optional[str]:
    """What changed in a field's allowed values, item by item for two lists."""
    if old == new:
        return None
    if isinstance(old, tuple) and isinstance(new, tuple):
        plus = [show(v) for v in new if v not in old]
        minus = [show(v) for v in old if v not in new]
        if plus or minus:
            return "allowed values " + " ".join([f"+{v}" for v in plus] + [f"-{v}" for v in minus])
        return f"allowed values reordered (the priority order): {allowed_text(new)}"
    return f"allowed values {allowed_text(old)} → {allowed_text(new)}"


# --------------------------------------------------------------------------- Glossary
def _field_changes(a: Field, b: Field) -> list[str]:
    out = []
    if a.type != b.type:
        out.append(f"type {a.type.value} → {b.type.value}")
    c = allowed_change(a.allowed, b.allowed)
    if c:
        out.append(c)
    if a.label != b.label:
        out.append(f"label {a.label or '(empty)'} → {b.label or '(empty)'}")
    if a.description != b.description:
        out.append("description changed")
    if a.changeable != b.changeable:
        out.append(f"changeable {a.changeable or 'no'} → {b.changeable or 'no'}")
    return out


def compare_glossary(old: Book, new: Book) -> list[SheetEdit]:
    out = []
    for name, f in new.fields.items():
        if name not in old.fields:
            out.append(SheetEdit("glossary", name, "", "added", f.loc,
                                 [f"{f.type.value}" + (f", allowed values {allowed_text(f.allowed)}"
                                                       if f.allowed is not None else "")]))
        else:
            ch = _field_changes(old.fields[name], f)
            if ch:
                out.append(SheetEdit("glossary", name, "", "changed", f.loc, ch))
    for name, f in old.fields.items():
        if name not in new.fields:
            out.append(SheetEdit("glossary", name, "", "removed", f.loc))
    return out


# --------------------------------------------------------------------------- Tests
def _by_id(items) -> dict:
    """id → item; a repeated id is told apart by its occurrence (``id#2``)."""
    out, seen = {}, {}
    for it in items:
        seen[it.id] = seen.get(it.id, 0) + 1
        out[it.id if seen[it.id] == 1 else f"{it.id}#{seen[it.id]}"] = it
    return out


def _suites(book: Book, kind: str) -> dict:
    suites = book.tests if kind == "tests" else book.invariants
    return {(s.loc.workbook, s.loc.sheet): s for s in suites}


def _case_changes(a, b) -> list[str]:
    out = []
    for label, va, vb in (("", a.inputs, b.inputs), ("expect ", a.expected, b.expected)):
        for f in dict.fromkeys([*va, *vb]):
            x, y = va.get(f, _ABSENT), vb.get(f, _ABSENT)
            if x == y:
                continue
            cell = b.cells.get(f) or a.cells.get(f)
            where = f" [{cell.cell}]" if cell else ""
            out.append(f"{label}{f}{where}: {_shown(x)} → {_shown(y)}")
    return out


class _Absent:
    pass


_ABSENT = _Absent()


def _shown(v) -> str:
    return "(empty)" if v is _ABSENT else _value(v)


def _suite_edits(kind: str, old: Book, new: Book, items, changes) -> list[SheetEdit]:
    out = []
    so, sn = _suites(old, kind), _suites(new, kind)
    noun = "cases" if kind == "tests" else "properties"
    for key, s in sn.items():
        if key not in so:
            out.append(SheetEdit(kind, "", s.target, "added", s.loc, [f"{len(items(s))} {noun}"]))
            continue
        a = so[key]
        if a.target != s.target:
            out.append(SheetEdit(kind, "", s.target, "changed", s.loc, [f"decision {a.target} → {s.target}"]))
        io, in_ = _by_id(items(a)), _by_id(items(s))
        # an id that left a row another id took was renamed there
        gone = {it.loc.cell: k for k, it in io.items() if k not in in_}
        renamed = {k: gone.pop(it.loc.cell) for k, it in in_.items() if k not in io and it.loc.cell in gone}
        for k, it in in_.items():
            if k in renamed:
                was = io[renamed[k]]
                out.append(SheetEdit(kind, k, s.target, "changed", it.loc,
                                     [f"id {renamed[k]} → {k}", *changes(was, it)]))
            elif k not in io:
                out.append(SheetEdit(kind, k, s.target, "added", it.loc))
            else:
                ch = changes(io[k], it)
                if ch:
                    out.append(SheetEdit(kind, k, s.target, "changed", it.loc, ch))
        for k, it in io.items():
            if k not in in_ and k not in renamed.values():
                out.append(SheetEdit(kind, k, s.target, "removed", it.loc))
    for key, s in so.items():
        if key not in sn:
            out.append(SheetEdit(kind, "", s.target, "removed", s.loc, [f"{len(items(s))} {noun}"]))
    return out


def compare_tests(old: Book, new: Book) -> list[SheetEdit]:
    return _suite_edits("tests", old, new, lambda s: s.cases, _case_changes)


# --------------------------------------------------------------------------- Invariants
def _property_changes(a, b) -> list[str]:
    out = []
    if a.when_text.strip() != b.when_text.strip():
        out.append(f"WHEN {a.when_text or '(always)'} → {b.when_text or '(always)'}")
    if a.then_text.strip() != b.then_text.strip():
        out.append(f"THEN {a.then_text} → {b.then_text}")
    return out


def compare_invariants(old: Book, new: Book) -> list[SheetEdit]:
    return _suite_edits("invariants", old, new, lambda s: s.properties, _property_changes)


def compare_sheets(old: Book, new: Book) -> list[SheetEdit]:
    """Every Glossary, Tests and Invariants edit, in that order."""
    return compare_glossary(old, new) + compare_tests(old, new) + compare_invariants(old, new)
