"""What would change this decision: the fewest fact changes that give wanted outputs.

    from decide.tools.why import counterfactuals
    answer = counterfactuals(book, "card_eligibility", facts, want={"card_status": "issuable"})
    answer.to_dict()   # {"decision", "want", "now", "options": [{"changes", "fires"}], "impossible", …}
    answer_lines(book, answer)   # the same in the analyst's and the member's words

Only facts the Glossary marks changeable ("Changeable" column: yes, up, down) take
part; ``changeable={field: direction}`` overrides the Glossary.  Options are the
minimal sets of changes (fewest facts changed; each found by the exact search of
``counterfactual`` and confirmed by re-deciding the case with the reference
interpreter), ranked by the number of facts changed, then by how far the values
move.  Each change gives a concrete value that works and the range of values that
work with the option's other changes.  When no change of the changeable facts gives
the want, the answer says so and names the rule that blocks it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from decide.model.errors import CaseError, did_you_mean
from decide.model.ir import Book, HitPolicy, Table, Type
from decide.model.values import show, to_json
from decide.model.asof import AS_OF, Dates, time_zone
from decide.runtime.facts import apply_derive, coerce_field, field_name, normalise
from decide.runtime.reference import run_tables
from decide.tools.counterfactual import (
    DEFAULT_BUDGET, DIRECTIONS, Search, Var, candidate_var, confirm, field_var, table_reads, upstream,
)
from decide.tools.explain import label
from decide.tools.preimage import necessary, want_equal

MAX_OPTIONS = 10


@dataclass
class Change:
    field: str
    old: Any
    new: Any
    range: Optional[str]  # the values that work with the option's other changes, as a test

    def to_dict(self) -> dict:
        return {"field": self.field, "from": to_json(self.old), "to": to_json(self.new), "range": self.range}


@dataclass
class Option:
    changes: list[Change]
    fires: list[dict]  # rules that would fire and do not fire now
    outputs: dict

    def to_dict(self) -> dict:
        return {"changes": [c.to_dict() for c in self.changes], "fires": self.fires,
                "outputs": {k: to_json(v) for k, v in self.outputs.items()}}


@dataclass
class Answer:
    decision: str
    want: dict  # field → typed value
    now: dict  # the decision's outputs for the case as it is
    options: list[Option] = field(default_factory=list)
    impossible: Optional[dict] = None  # {"reason", "rule"}
    complete: bool = True  # False when the search budget ran out
    notes: list[str] = field(default_factory=list)
    changeable: dict = field(default_factory=dict)  # field → direction, the facts that took part

    def to_dict(self) -> dict:
        return {"decision": self.decision,
                "want": {k: to_json(v) for k, v in self.want.items()},
                "now": {k: to_json(v) for k, v in self.now.items()},
                "options": [o.to_dict() for o in self.options],
                "impossible": self.impossible,
                "complete": self.complete,
                "changeable": dict(self.changeable),
                "notes": list(dict.fromkeys(self.notes))}


# --------------------------------------------------------------------------- helpers
def _rule_ref(book: Book, table: str, index: int) -> dict:
    t = book.tables[table]
    r = t.rules[index]
    return {"table": t.name, "rule": r.id, "workbook": t.loc.workbook, "sheet": t.loc.sheet, "row": r.row,
            "annotations": {h: a for h, a in zip(t.annotations, r.annotations) if a}}


def _computed(book: Book, plan) -> dict[str, Table]:
    return {f: book.tables[t] for t in plan.tables for f in book.tables[t].output_fields}


def parse_want(book: Book, name: str, want: Mapping[str, Any]) -> dict:
    """The wanted values, typed; CaseError for a field the decision does not compute
    or a value its Glossary does not allow."""
    plan = book.decisions[name]
    computed = _computed(book, plan)
    if not want:
        raise CaseError("say what is wanted, e.g. card_status=issuable")
    out = {}
    for f, raw in want.items():
        if f not in computed:
            raise CaseError(f'decision {name} does not compute "{f}"{did_you_mean(str(f), computed)}; '
                            "it computes: " + ", ".join(plan.outputs), f)
        fl = book.fields[f]
        if fl.type is Type.TEXT_LIST:
            items = [raw] if isinstance(raw, str) else list(raw) if isinstance(raw, (list, tuple)) else None
            if items is None or not all(isinstance(x, str) or x is None for x in items):
                raise CaseError(f"{field_name(fl)} is a list of texts: want a list such as "
                                f'["a", "b"] (or one text)', f, raw)
            allowed = fl.allowed if isinstance(fl.allowed, tuple) else None
            bad = [x for x in items if allowed is not None and x is not None and x not in allowed]
            if bad:
                raise CaseError(f'{field_name(fl)}: "{bad[0]}" is not allowed; allowed values: '
                                + ", ".join(show(a) for a in allowed), f, raw)
            out[f] = tuple(items)
        else:
            out[f] = coerce_field(fl, raw)
    return out


def _directions(book: Book, plan, changeable) -> dict[str, str]:
    if changeable is None:
        dirs = {f: (book.fields[f].changeable or "no") for f in plan.inputs}
    else:
        items = changeable.items() if isinstance(changeable, Mapping) else ((f, "yes") for f in changeable)
        dirs = {f: "no" for f in plan.inputs}
        for f, d in items:
            if d not in DIRECTIONS:
                raise ValueError(f'changeable: "{d}" for {f} is not one of {", ".join(DIRECTIONS)}')
            if f in dirs:
                dirs[f] = d
    return {f: d for f, d in dirs.items() if d != "no"}


def _tested(tables: list[Table]) -> set:
    out = set()
    for t in tables:
        out |= table_reads(t)
    return out


# --------------------------------------------------------------------------- the answer
def counterfactuals(book, name: str, facts: Mapping[str, Any], want: Mapping[str, Any], *,
                    changeable=None, budget: int = DEFAULT_BUDGET, limit: int = MAX_OPTIONS,
                    as_of=None) -> Answer:
    """The minimal sets of changes to ``facts`` that make decision ``name`` give ``want``,
    as of the date ``as_of`` (as in ``Rulebook.decide``: else the case's, else today).

    ``book`` is a Rulebook or its IR (``Book``).  Raises CaseError for an unknown
    decision, a bad case or a bad want."""
    ir: Book = getattr(book, "ir", book)
    plan = ir.decisions.get(name)
    if plan is None:
        raise CaseError(f'unknown decision "{name}"{did_you_mean(str(name), ir.decisions)}; decisions: '
                        + ", ".join(sorted(ir.decisions)))
    if AS_OF in plan.inputs:  # the date is a fact of the decision, never one to change
        facts, _ = Dates(time_zone(ir.time_zone), frozenset([name])).supply(name, facts, as_of)
    typed = normalise(ir, plan, facts)
    wanted_values = parse_want(ir, name, want)
    computed = _computed(ir, plan)
    unordered = {f for f in wanted_values if computed[f].hit_policy is HitPolicy.COLLECT
                 and computed[f].aggregator is None}

    def wanted(env) -> bool:
        return all(want_equal(env.get(f), w, f in unordered) for f, w in wanted_values.items())

    base = apply_derive(ir, plan, dict(typed))
    env_now, fired_now = run_tables(ir, plan, dict(base))
    now = {f: env_now.get(f) for f in plan.outputs}
    dirs = _directions(ir, plan, changeable)
    answer = Answer(name, wanted_values, now, changeable=dirs)
    if wanted(env_now):
        answer.options = [Option([], [], now)]
        answer.notes.append("the case already gives the wanted outputs: nothing needs to change")
        return answer

    tables = upstream(ir, plan, set(wanted_values))
    needs, dead = necessary(ir, tables, wanted_values, unordered)
    if dead:
        table, reason = dead[0]
        fired = [i for t, i in fired_now if t == table]
        answer.impossible = {"reason": reason, "rule": _rule_ref(ir, table, fired[0]) if fired else None}
        return answer

    tested = _tested(tables)
    variables: list[Var] = []
    for f in plan.inputs:
        d = dirs.get(f)
        if d is None or f not in tested:
            continue
        v = field_var(ir, tables, f, d, base, answer.notes, wanted_values)
        if v is not None:
            variables.append(v)
    derived_free = False
    code_note = None
    if plan.derived:
        sources = [f for f in plan.inputs if f not in tested]
        for f in sources:
            if f in dirs:
                v = candidate_var(ir, plan, f, dirs[f], typed, sources)
                if v is None:
                    continue
                if derived_free:
                    answer.notes.append(f"{f} is changed only together with the first fact the "
                                        "decision's code reads")
                    continue
                variables.append(v)
                derived_free = True
                code_note = (f, f"{f} reaches the tables only through the decision's code: its values "
                                f"were searched among {len(v.values)} candidates (the case's value "
                                "tidied, and the values the Tests sheets give it)")

    # a fact that cannot change and breaks a need: impossible, and the need says why
    fixed = [f for f in plan.inputs if f not in {v.field for v in variables}]
    if not derived_free:
        fixed += list(plan.derived)
    order = {t.name: i for i, t in enumerate(tables)}
    broken = sorted(((order.get(nd.table, -1), f, nd) for f in fixed for nd in needs.get(f, ())
                     if not nd.holds(base.get(f))), key=lambda x: (x[0], x[1]))
    if broken:
        _, f, nd = broken[0]
        answer.impossible = _blocked(ir, plan, nd, f, base.get(f), "it cannot change")
        return answer

    search = Search(ir, plan, tables, variables, base, typed, wanted_values, needs, wanted, budget=budget)
    search.run()
    answer.complete = not search.cut
    if search.approx_used:
        answer.notes.append("some tests relate two changing facts, or outputs are computed from them: "
                            "they were decided on representative values, so fewer changes may exist")
    if search.leaves:
        answer.options = _options(ir, plan, search, typed, fired_now, wanted, limit, answer.notes)
        if code_note and any(c.field == code_note[0] for o in answer.options for c in o.changes):
            answer.notes.append(code_note[1])
        if search.cut:
            answer.notes.append(f"the search stopped after {search.budget} steps: fewer changes may exist")
        return answer
    if search.cut:
        answer.notes.append(f"the search stopped after {search.budget} steps without finding an option")
        return answer
    answer.impossible = _exhausted(ir, plan, search, needs, computed, wanted_values, env_now, fired_now)
    if code_note:
        answer.notes.append(code_note[1])
    return answer


def _blocked(ir: Book, plan, nd, f: str, value, why: str) -> dict:
    fl = ir.fields[f]
    rule_index, reason = nd.blame(value)
    text = f"{field_name(fl)} is {'absent' if value is None else show(value)} and {why}: {reason}"
    rule = _rule_ref(ir, nd.table, rule_index) if nd.table and rule_index is not None else None
    return {"reason": text, "rule": rule}


def _exhausted(ir, plan, search: Search, needs, computed, want, env_now, fired_now) -> dict:
    # a changeable fact whose every allowed value breaks a need
    for v, mask in zip(search.vars, search.start or ()):
        if mask:
            continue
        for nd in needs.get(v.field, ()):
            if not nd.holds(v.orig_value):
                how = {"up": "it may only go up", "down": "it may only go down"}.get(v.direction, "no value helps")
                return _blocked(ir, plan, nd, v.field, v.orig_value, how)
    f = next(f for f, w in want.items() if not want_equal(env_now.get(f), w))
    table = computed[f]
    fired = [i for t, i in fired_now if t == table.name]
    facts = ", ".join(v.field for v in search.vars) or "none"
    reason = (f"no change of the changeable facts ({facts}) makes {table.name} give {f} = {show(want[f])}; "
              f"it gives {show(env_now.get(f))}")
    return {"reason": reason, "rule": _rule_ref(ir, table.name, fired[0]) if fired else None}


def _options(ir: Book, plan, search: Search, typed: dict, fired_now, wanted, limit: int, notes) -> list[Option]:
    by_set: dict[frozenset, list] = {}
    for leaf in search.leaves:
        by_set.setdefault(frozenset(leaf.values), []).append(leaf)
    vars_by_field = {v.field: v for v in search.vars}

    def dist(values: dict, cells: dict):
        d = [vars_by_field[f].distance(cells[f], v) for f, v in values.items()]
        return (sum(x[0] for x in d), sum(x[1] for x in d))

    ranked = sorted(by_set.items(), key=lambda kv: (len(kv[0]), min(dist(l.values, l.cells) for l in kv[1]),
                                                     sorted(kv[0])))
    if len(ranked) > limit:
        notes.append(f"{len(ranked)} options; the first {limit} are shown")
    fired_before = set(fired_now)
    out = []
    for fields, leaves in ranked[:limit]:
        leaf = min(leaves, key=lambda l: dist(l.values, l.cells))
        values, cells = dict(leaf.values), dict(leaf.cells)
        ranges = {}
        for f in sorted(fields, key=lambda f: plan.inputs.index(f)):
            v = vars_by_field[f]
            works = 0
            for i in v.cells(v.permitted):
                if i == v.orig:
                    continue
                trial = dict(values)
                trial[f] = v.nearest(i)
                res = _try(ir, plan, typed, trial)
                if res is not None and wanted(res[0]):
                    works |= 1 << i
            if works:
                best = min(v.cells(works), key=lambda i: v.distance(i, v.nearest(i)))
                values[f], cells[f] = v.nearest(best), best
            ranges[f] = works
        res = _try(ir, plan, typed, values)
        if res is None or not wanted(res[0]):  # the ranges' best values do not work together
            values, cells = dict(leaf.values), dict(leaf.cells)
            res = _try(ir, plan, typed, values)
        env, fired = res
        changes = []
        for f in sorted(fields, key=lambda f: plan.inputs.index(f)):
            v = vars_by_field[f]
            works = ranges.get(f, 0) | (1 << cells[f])
            single = not (works & (works - 1)) and v.exact_cell(cells[f])
            changes.append(Change(f, v.orig_value, values[f], None if single else v.describe(works)))
        fires = [_rule_ref(ir, t, i) for t, i in fired if (t, i) not in fired_before]
        out.append(Option(changes, fires, {f: env.get(f) for f in plan.outputs}))
    return out


def _try(ir, plan, typed: dict, changes: dict):
    facts = dict(typed)
    for f, v in changes.items():
        if v is None:
            facts.pop(f, None)
        else:
            facts[f] = v
    return confirm(ir, plan, facts)


# --------------------------------------------------------------------------- words
def _show(v) -> str:
    if isinstance(v, (list, tuple)):
        return ", ".join(show(x) for x in v) if v else "[]"
    return show(v)


def answer_lines(book, answer: Answer) -> list[str]:
    """The answer in the analyst's and the member's words: labels, values as written
    in the workbooks, and the annotations of the rules that would fire."""
    ir: Book = getattr(book, "ir", book)
    want = ", ".join(f"{label(ir, f)} = {_show(v)}" for f, v in answer.want.items())
    lines = [f"Decision {answer.decision}: what would give {want}"]
    now = {f: answer.now.get(f) for f in answer.want if f in answer.now}
    if now:
        lines.append("  now: " + "; ".join(f"{label(ir, f)} = {_show(v)}" for f, v in now.items()))
    if answer.impossible:
        lines.append("Impossible: " + answer.impossible["reason"])
        r = answer.impossible.get("rule")
        if r:
            lines.append(f"  blocked by rule {r['rule']} of {r['table']} ({r['workbook']} › {r['sheet']} › row {r['row']})")
            lines += [f"    {h}: {a}" for h, a in r.get("annotations", {}).items()]
    for n, opt in enumerate(answer.options, 1):
        if not opt.changes:
            lines.append("Already so: nothing needs to change.")
            continue
        k = len(opt.changes)
        lines.append(f"Option {n}: change {k} fact{'s' if k != 1 else ''}")
        for c in opt.changes:
            rng = f"   (works for {c.range})" if c.range else ""
            lines.append(f"  {label(ir, c.field)}: {_show(c.old)} → {_show(c.new)}{rng}")
        if opt.fires:
            lines.append("  then these rules fire:")
        for r in opt.fires:
            lines.append(f"    rule {r['rule']} of {r['table']} ({r['workbook']} › {r['sheet']} › row {r['row']})")
            lines += [f"      {h}: {a}" for h, a in r.get("annotations", {}).items()]
    if not answer.options and not answer.impossible:
        lines.append("No option found.")
    for note in dict.fromkeys(answer.notes):
        lines.append(f"note: {note}")
    return lines


__all__ = ["counterfactuals", "answer_lines", "parse_want", "Answer", "Option", "Change"]
