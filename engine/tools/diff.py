"""``decide diff OLD NEW``: what an edit of the workbooks changes, before release.

Per table: rules added, removed or moved, and every changed cell (old text → new
text, with its place); for single-hit tables whose columns did not change, the exact
regions of cases where the table now decides differently (``analysis.table_diff``),
each with an example.  The Glossary, Tests and Invariants edits (``diff_sheets``).
Per decision: the cases whose outputs change, old → new —
cases from a corpus (``--cases corpus.jsonl``, one JSON object of facts per line,
with an optional ``"decision"`` key) or generated (``--generate N``: N cases per
affected decision, drawn from the Glossary with the boundary values of both versions,
plus the examples of the exact regions).  On request, the lint findings the new
version has and the old one had not (``diff_lint``).  As text here, as Markdown in
``diff_markdown``.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Iterable, Optional

from decide.tools.analysis import RegionChange, table_diff
from decide.tools.diff_sheets import SheetEdit, compare_sheets
from decide.model.asof import AS_OF
from decide.model.errors import CaseError, EvaluationError
from decide.model.ir import Book, Field, Loc, RangeTest, Table, Type
from decide.model.values import Version, show, to_json


@dataclass
class CellChange:
    rule: str
    column: str
    old: str
    new: str
    loc: Loc  # where it is in the new workbook


@dataclass
class TableChange:
    table: str
    status: str  # "changed" | "added" | "removed"
    loc: Loc
    notes: list[str] = field(default_factory=list)  # hit policy, columns, order
    added: list[tuple[str, Loc]] = field(default_factory=list)
    removed: list[tuple[str, Loc]] = field(default_factory=list)
    cells: list[CellChange] = field(default_factory=list)
    regions: Optional[list[RegionChange]] = None


@dataclass
class CaseChange:
    decision: str
    source: str  # "line 4" or "generated #17"
    case: dict  # the facts as given (JSON-ready)
    old: Any  # outputs dict, or {"error": message}
    new: Any
    fields: list[str]  # the output fields that differ
    now: str = ""  # what decides it now: "decided by T rule 3 (…)", "refused" (see ``now_deciding``)


@dataclass
class DiffReport:
    tables: list[TableChange]
    cases: dict[str, list[CaseChange]]  # decision → changed cases
    evaluated: dict[str, int]  # decision → cases evaluated
    sheets: list[SheetEdit] = field(default_factory=list)  # Glossary, Tests, Invariants edits
    lint_new: Optional[list] = None  # lint findings only the new version has (None: not run,
    # see diff_lint.add_new_lint)
    books: tuple = field(default=(), repr=False, compare=False)  # (old, new) as loaded
    as_of: tuple = ()  # (old date, new date) every case was decided as of; () = each case's own / today
    on_the_day: list = field(default_factory=list)  # effective.DatedRule: rules starting/ending on it

    @property
    def changed(self) -> bool:
        return bool(self.tables) or bool(self.sheets) or any(self.cases.values()) or bool(self.on_the_day)

    def edits(self, kind: str) -> list[SheetEdit]:
        return [e for e in self.sheets if e.kind == kind]

    def to_dict(self) -> dict:
        return {
            "tables": [{
                "table": t.table, "status": t.status, "where": str(t.loc), "notes": t.notes,
                "rules_added": [r for r, _ in t.added], "rules_removed": [r for r, _ in t.removed],
                "cells": [{"rule": c.rule, "column": c.column, "old": c.old, "new": c.new,
                           "cell": str(c.loc)} for c in t.cells],
                "regions": None if t.regions is None else [
                    {"where": r.region, "rule_change": r.what,
                     "example": {k: to_json(v) for k, v in r.witness.items()}}
                    for r in t.regions]}
                for t in self.tables],
            "decisions": {d: {"evaluated": self.evaluated.get(d, 0), "changed": [
                {"source": c.source, "case": c.case, "old": _jsonable(c.old), "new": _jsonable(c.new),
                 "fields": c.fields, "now": c.now} for c in cs]} for d, cs in self.cases.items()},
            # present only when there is something to say (or lint was asked for)
            **{kind: [e.to_dict() for e in self.edits(kind)]
               for kind in ("glossary", "tests", "invariants") if self.edits(kind)},
            **({} if self.lint_new is None else {"lint_new": [d.to_dict() for d in self.lint_new]}),
            **({"as_of": {"old": self.as_of[0].isoformat(), "new": self.as_of[1].isoformat()},
                "on_the_day": [r.to_dict() for r in self.on_the_day]} if self.as_of else {}),
        }


def _jsonable(v):
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    return to_json(v)


# --------------------------------------------------------------------------- tables
def _col_key(c) -> str:
    return c.field if getattr(c, "field", None) else c.header


def compare_tables(old: Book, new: Book) -> list[TableChange]:
    out = []
    for name, t in new.tables.items():
        if name not in old.tables:
            out.append(TableChange(name, "added", t.loc))
    for name, t in old.tables.items():
        if name not in new.tables:
            out.append(TableChange(name, "removed", t.loc))
            continue
        n = new.tables[name]
        ch = TableChange(name, "changed", n.loc)
        if (t.hit_policy, t.aggregator) != (n.hit_policy, n.aggregator):
            ch.notes.append(f"hit policy {_policy(t)} → {_policy(n)}")
        ik_o = [_col_key(c) for c in t.inputs]
        ik_n = [_col_key(c) for c in n.inputs]
        ok_o = [c.field for c in t.outputs]
        ok_n = [c.field for c in n.outputs]
        for k in ik_n:
            if k not in ik_o:
                ch.notes.append(f"input column {k} added")
        for k in ik_o:
            if k not in ik_n:
                ch.notes.append(f"input column {k} removed")
        for k in ok_n:
            if k not in ok_o:
                ch.notes.append(f"output column {k} added")
        for k in ok_o:
            if k not in ok_n:
                ch.notes.append(f"output column {k} removed")
        ro = {str(r.id): r for r in t.rules}
        rn = {str(r.id): r for r in n.rules}
        for rid, r in rn.items():
            if rid not in ro:
                ch.added.append((rid, r.loc))
        for rid, r in ro.items():
            if rid not in rn:
                ch.removed.append((rid, r.loc))
        common_o = [rid for rid in ro if rid in rn]
        common_n = [rid for rid in rn if rid in ro]
        if common_o != common_n:
            ch.notes.append("rules reordered: " + ", ".join(common_n))
        for rid in common_n:
            a, b = ro[rid], rn[rid]
            for cols_o, cols_n, ents_o, ents_n, keyf in (
                    (t.inputs, n.inputs, a.inputs, b.inputs, _col_key),
                    (t.outputs, n.outputs, a.outputs, b.outputs, lambda c: c.field)):
                old_by = {keyf(c): e for c, e in zip(cols_o, ents_o)}
                for c, e in zip(cols_n, ents_n):
                    k = keyf(c)
                    if k in old_by and old_by[k].text.strip() != e.text.strip():
                        ch.cells.append(CellChange(rid, c.header, old_by[k].text, e.text, e.loc))
        if ch.notes or ch.added or ch.removed or ch.cells:
            try:
                ch.regions = table_diff(t, n, old, new)
            except Exception:  # the exact comparison is a bonus; never fail the diff on it
                ch.regions = None
            out.append(ch)
    return out


def _policy(t: Table) -> str:
    return t.hit_policy.name.replace("_", " ") + (t.aggregator.value if t.aggregator else "")


# --------------------------------------------------------------------------- cases
def case_of(obj: dict) -> tuple[Optional[str], dict]:
    """(decision or None, facts) of one corpus line: a JSON object of facts with an
    optional ``"decision"`` key, or a decision log line (``"decision"`` and a
    ``"facts"`` object; its other keys — outputs, version, time … — are ignored)."""
    if isinstance(obj.get("facts"), dict) and isinstance(obj.get("decision"), str):
        return obj["decision"], dict(obj["facts"])
    obj = dict(obj)
    return obj.pop("decision", None), obj


def read_corpus(path: str | os.PathLike) -> Iterable[tuple[str, Optional[str], dict]]:
    """(source, decision or None, facts) for every line of a JSONL file (a corpus of
    cases or a decision log), numbers with a fraction as Decimal, like a case file."""
    with open(path, encoding="utf-8") as fh:
        for i, line in enumerate(fh, 1):
            line = line.strip()
            if not line:
                continue
            try:
                obj = json.loads(line, parse_float=Decimal)
            except ValueError as e:
                raise ValueError(f"{path}: line {i} is not valid JSON ({e})") from None
            if not isinstance(obj, dict):
                raise ValueError(f"{path}: line {i} is not a JSON object of facts")
            d, facts = case_of(obj)
            yield f"line {i}", d, facts


def _raw(v):
    """A typed value as a raw case value (what a JSON case file would hold)."""
    if isinstance(v, Version):
        return v.text
    if isinstance(v, _dt.date):
        return v.isoformat()
    if isinstance(v, tuple):
        return list(v)
    return v


def _field_pool(f: Field, bounds: list, rng: random.Random):
    from decide.tools.verify import fits, neighbours
    pool = []
    for b in bounds:
        for x in neighbours(f.type, b):
            if f.type is Type.INTEGER and isinstance(x, Decimal) and x == int(x):
                x = int(x)
            if fits(f, x) and x not in pool:
                pool.append(x)
    if isinstance(f.allowed, tuple):
        pool.extend(v for v in f.allowed if v not in pool)
    return pool


def _random_value(f: Field, rng: random.Random):
    t = f.type
    if isinstance(f.allowed, tuple):
        return rng.choice(f.allowed) if t is not Type.TEXT_LIST else tuple(
            rng.sample(list(f.allowed), rng.randint(0, min(3, len(f.allowed)))))
    if t is Type.BOOLEAN:
        return rng.random() < 0.5
    if t in (Type.INTEGER, Type.NUMBER):
        lo, hi = 0, 100000
        if isinstance(f.allowed, RangeTest):
            lo, hi = int(f.allowed.low.value), int(f.allowed.high.value)
        v = rng.randint(lo, hi)
        return v if t is Type.INTEGER else Decimal(v)
    if t is Type.DATE:
        return _dt.date(2000, 1, 1) + _dt.timedelta(days=rng.randint(0, 365 * 40))
    if t is Type.VERSION:
        return Version(f"{rng.randint(0, 20)}.{rng.randint(0, 20)}.{rng.randint(0, 5)}")
    if t is Type.TEXT_LIST:
        return ()
    return rng.choice(["x", "abc", "JP", "other"])


def generate_cases(books: list[Book], decision: str, n: int, seed: int = 0) -> list[dict]:
    """N raw cases for a decision, biased to the boundaries of every given version."""
    from decide.tools.verify import test_values, boundaries
    rng = random.Random(f"{seed}:{decision}")
    fields = []
    for b in books:
        if decision in b.decisions:
            for f in b.decisions[decision].inputs:
                if f not in fields and all(f in bb.fields for bb in books):
                    fields.append(f)
    bounds: dict[str, list] = {}
    examples: dict[str, list] = {}
    for b in books:
        for k, v in boundaries(b).items():
            bounds.setdefault(k, []).extend(v)
        for k, v in test_values(b).items():
            examples.setdefault(k, []).extend(v)
    pools = {}
    for name in fields:
        f = books[-1].fields[name]
        from decide.tools.verify import fits
        pools[name] = _field_pool(f, bounds.get(name, []), rng) + [
            v for v in examples.get(name, []) if fits(f, v)]
    # the Tests sheets' cases of the decision, to mutate a field or two of
    bases = []
    for b in books:
        for s in b.tests:
            if s.target == decision:
                for c in s.cases:
                    if set(c.inputs) <= set(fields) and dict(c.inputs) not in bases:
                        bases.append(dict(c.inputs))
    own = {name: _field_pool(books[-1].fields[name], bounds.get(name, []), rng) for name in fields}
    cases = []
    for k in range(n):
        if bases and k % 2:
            case = {name: _raw(v) for name, v in rng.choice(bases).items()}
            for name in rng.sample(fields, min(len(fields), rng.randint(1, 2))):
                pool = own[name] or pools[name]
                v = rng.choice(pool) if pool and rng.random() < 0.8 else _random_value(
                    books[-1].fields[name], rng)
                case[name] = _raw(v)
            cases.append(case)
            continue
        case = {}
        for name in fields:
            f = books[-1].fields[name]
            r = rng.random()
            if r < 0.1:
                continue
            if r < 0.6 and pools[name]:
                v = rng.choice(pools[name])
            else:
                v = _random_value(f, rng)
            case[name] = _raw(v)
        cases.append(case)
    return cases


def decide_case(rulebook, decision: str, facts: dict, **options) -> tuple[dict, tuple]:
    """(outputs, or {"error": message} when the case is refused; the rules that fired)."""
    try:
        r = rulebook.decide(decision, facts, **options)
        return dict(r.outputs), r.fired
    except (CaseError, EvaluationError) as e:
        return {"error": str(e)}, ()
    except KeyError as e:
        return {"error": f"unknown field {e}"}, ()


def _differ(a, b) -> list[str]:
    keys = list(dict.fromkeys(list(a) + list(b)))
    return [k for k in keys if a.get(k) != b.get(k)]


def compare_case(book: Book, decision: str, source: str, facts: dict, old: dict, old_fired, new: dict,
                 new_fired) -> Optional[CaseChange]:
    """The CaseChange of a case whose outputs ``old`` and ``new`` differ (None when
    they do not), labelled with what decides it now in ``book`` (the new version).
    ``old_fired``: (table, rule id) pairs; ``new_fired``: the FiredRules of ``new``."""
    fields = _differ(old, new)
    if not fields:
        return None
    return CaseChange(decision, source, facts, old, new, fields,
                      now_deciding(book, decision, fields, old_fired, new, new_fired))


def now_deciding(book: Book, decision: str, fields, old_fired, new: dict, new_fired) -> str:
    """What decides a changed case now, the key its case is grouped by: the rules of
    the tables that give the changed outputs that fire now and did not before (else
    those that fire), e.g. ``decided by TrackRecordSpend rule 2 (card_eligibility.xlsx ›
    5 実績-金額, row 8)``; ``refused`` when the case is refused now; ``no rule of T fires``."""
    if "error" in new:
        return "refused"
    plan = book.decisions.get(decision)
    tables = list(plan.tables) if plan else []
    producers = [t for t in tables if t in book.tables
                 and {c.field for c in book.tables[t].outputs} & set(fields)] or tables
    before = {(str(t), str(r)) for t, r in old_fired}
    mine = [f for f in new_fired if f.table in producers]
    chosen = [f for f in mine if (f.table, str(f.rule)) not in before] or mine
    if not chosen:
        return f"no rule of {', '.join(producers)} fires" if producers else "no rule fires"
    return "decided by " + "; ".join(f"{f.table} rule {f.rule} ({f.workbook} › {f.sheet}, row {f.row})"
                                     for f in chosen)


def diff(old_path, new_path, *, cases: Optional[str] = None, generate: Optional[int] = None,
         decision: Optional[str] = None, seed: int = 0, as_of: Optional[_dt.date] = None,
         old_as_of: Optional[_dt.date] = None) -> DiffReport:
    """``as_of``: decide every case as of this date (both sides, unless ``old_as_of``
    gives the old side's; ``decide diff TABLES --as-of DAY`` compares the day before
    with the day, on the same tables)."""
    from decide.runtime.rulebook import load
    old_rb, new_rb = load(old_path), load(new_path)
    old_as_of, on_the_day = old_as_of or as_of, []
    if as_of is not None:  # every case decided as of the date asked for (a case's own replaced)
        from decide.tools.effective import DecidedAsOf, changes_on
        old_rb, new_rb = DecidedAsOf(old_rb, old_as_of), DecidedAsOf(new_rb, as_of)
        if old_as_of != as_of:  # what the day itself changes
            on_the_day = changes_on(new_rb.ir, as_of)
    old, new = old_rb.ir, new_rb.ir
    tables = compare_tables(old, new)
    changed_tables = {t.table for t in tables} | {r.table for r in on_the_day}
    out: dict[str, list[CaseChange]] = {}
    evaluated: dict[str, int] = {}

    def check(d, source, facts):
        if d not in old.decisions or d not in new.decisions:
            return
        evaluated[d] = evaluated.get(d, 0) + 1
        (a, a_fired), (b, b_fired) = decide_case(old_rb, d, facts), decide_case(new_rb, d, facts)
        change = compare_case(new, d, source, facts, a, [(f.table, f.rule) for f in a_fired], b, b_fired)
        if change:
            out.setdefault(d, []).append(change)

    if cases:
        for source, d, facts in read_corpus(cases):
            targets = [d or decision] if (d or decision) else _decisions_taking(new, facts)
            for name in targets:
                check(name, source, facts)
    if generate:
        if decision:
            names = [decision]
        else:
            affected = [d for d, p in new.decisions.items()
                        if d in old.decisions and (set(p.tables) | set(old.decisions[d].tables)) & changed_tables]
            # the decision services an application calls, and the changed tables themselves
            names = [d for d in affected if new.decisions[d].kind == "service" or d in changed_tables]
        for d in names:
            plan = new.decisions[d]
            extra = []
            for t in tables:
                for r in t.regions or []:
                    if set(r.witness) <= set(plan.inputs):
                        extra.append({k: _raw(v) for k, v in r.witness.items()})
            for k, facts in enumerate(extra + generate_cases([old, new], d, generate, seed)):
                if as_of is not None:
                    facts.pop(AS_OF, None)
                check(d, f"generated #{k + 1}", facts)
    return DiffReport(tables, out, evaluated, compare_sheets(old, new), books=(old, new),
                      as_of=(old_as_of, as_of) if as_of else (), on_the_day=on_the_day)


def _decisions_taking(book: Book, facts: dict) -> list[str]:
    keys = set(facts)
    services = [d for d, p in book.decisions.items() if p.kind == "service" and keys <= set(p.inputs)]
    if services:
        return services
    return [d for d, p in book.decisions.items() if keys <= set(p.inputs)]


# --------------------------------------------------------------------------- text
def _show_out(v) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(show(x) for x in v) + "]"
    return show(v)


def brief_error(message: str) -> str:
    """A case error without the list of allowed values (the Glossary edit shows what
    changed in it; the list is the same on every line)."""
    return message.split("; allowed values: ")[0]


def _change(f: str, a, b) -> str:
    if f == "error":
        if a and not b:
            return f"was refused ({brief_error(a)}), now decided"
        if b and not a:
            return f"now refused: {brief_error(b)}"
        return f"refused: {brief_error(a)} → {brief_error(b)}"
    if isinstance(a, list) and isinstance(b, list):
        plus = [x for x in b if x not in a]
        minus = [x for x in a if x not in b]
        if plus or minus:
            parts = [f"+{show(x)}" for x in plus] + [f"-{show(x)}" for x in minus]
            return f"{f} {' '.join(parts)}"
        return f"{f} reordered {_show_out(a)} → {_show_out(b)}"
    return f"{f} {_show_out(a)} → {_show_out(b)}"


def format_text(rep: DiffReport, *, limit: int = 50) -> str:
    lines = []
    if rep.as_of:
        old_day, day = rep.as_of
        lines.append(f"As of {day.isoformat()}" if old_day == day else
                     f"As of {old_day.isoformat()} → {day.isoformat()}:")
        if old_day != day:
            lines.extend(f"  {r.describe(day)}" for r in rep.on_the_day)
            if not rep.on_the_day:
                lines.append(f"  no rule starts or ends on {day.isoformat()}")
    if not rep.tables:
        lines.append("Tables: no change.")
    else:
        lines.append("Tables:")
    for t in rep.tables:
        if t.status != "changed":
            lines.append(f"  {t.table} ({t.loc.workbook} › {t.loc.sheet}): {t.status}")
            continue
        lines.append(f"  {t.table} ({t.loc.workbook} › {t.loc.sheet}):")
        for n in t.notes:
            lines.append(f"    {n}")
        for rid, loc in t.added:
            lines.append(f"    rule {rid} added [row {loc.cell[1:]}]")
        for rid, loc in t.removed:
            lines.append(f"    rule {rid} removed")
        for c in t.cells:
            lines.append(f"    rule {c.rule}, {c.column} [{c.loc.cell}]: {c.old or '(empty)'} → "
                         f"{c.new or '(empty)'}")
        if t.regions is not None:
            if not t.regions:
                lines.append("    the table decides every case as before")
            for r in t.regions:
                ex = ", ".join(f"{k} = {show(v)}" for k, v in r.witness.items()) or "any case"
                if r.what:
                    lines.append(f"    {r.what} when {r.region}: the result changes (e.g. {ex})")
                else:
                    lines.append(f"    decides differently when {r.region} (e.g. {ex})")
    for kind, title in (("glossary", "Glossary"), ("tests", "Tests"), ("invariants", "Invariants")):
        edits = rep.edits(kind)
        if edits:
            lines.append(f"{title}:")
            lines.extend(f"  {e.describe()}" for e in edits)
    if rep.evaluated:
        lines.append("Decisions:")
        for d, n in rep.evaluated.items():
            cs = rep.cases.get(d, [])
            lines += decision_lines(d, n, len(cs), group_cases(cs), limit=limit)
    if rep.lint_new is not None:
        if rep.lint_new:
            lines.append("New lint findings:")
            for d in rep.lint_new:
                name = getattr(d, "name", "")
                lines.append(f"  {d.severity.upper()} {d.code} {name}  {d.loc}: {d.message}")
        else:
            lines.append("New lint findings: none.")
    return "\n".join(lines)


def group_cases(cases: Iterable[CaseChange]) -> list[tuple[str, int, list[CaseChange]]]:
    """The changed cases of a decision grouped by what decides them now (``now``),
    groups in the order first met: (label, count, cases)."""
    groups: dict[str, list[CaseChange]] = {}
    for c in cases:
        groups.setdefault(c.now, []).append(c)
    return [(label, len(cs), cs) for label, cs in groups.items()]


def decision_lines(decision: str, evaluated: int, changed: int, groups, *, limit: int = 50,
                   noun: str = "case") -> list[str]:
    """The text of one decision's changed cases: the count, then each group (what
    decides its cases now, how many) with its cases, at most ``limit`` cases in all.
    ``groups``: (label, count, cases shown at most) as ``group_cases`` gives them."""
    lines = [f"  {decision}: {changed} of {evaluated} {noun}{'s' if evaluated != 1 else ''} change"]
    budget = limit
    for label, count, cases in groups:
        if label:
            lines.append(f"    now {label}: {count} {noun}{'s' if count != 1 else ''}")
        indent = "      " if label else "    "
        shown = list(cases)[:max(budget, 0)]
        budget -= len(shown)
        lines += [f"{indent}{c.source} {case_facts(c)}: {case_change(c)}" for c in shown]
        if count > len(shown):
            lines.append(f"{indent}… and {count - len(shown)} more")
    return lines


def case_facts(c: CaseChange) -> str:
    return json.dumps(c.case, ensure_ascii=False, default=str)


def case_change(c: CaseChange) -> str:
    """What changed in one case's outputs: ``card_status "issuable" → "recovering"; …``."""
    return "; ".join(_change(f, c.old.get(f), c.new.get(f)) for f in c.fields)
