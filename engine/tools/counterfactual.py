"""The exact search behind ``decide why``: the fewest changes to a case's facts that
make a decision give wanted outputs.

The space.  Each fact the Glossary marks changeable, and that some table of the
decision tests, is a *variable*; its domain is cut into the cells of the exact
analysis (``decide.tools.analysis.partition``) by every boundary any table of the
decision writes for it (a test comparing it with another field contributes that
field's value in the case).  Two values in one cell are treated alike by every
test, so the decision gives the same outputs for any two cases whose variables lie
in the same cells: the cells are the only choices there are.  A direction ("up",
"down") keeps only the cells on that side of the case's value.  Facts that reach
the tables only through the decision's code (``derive``, e.g. a typed name) are a
variable whose cells are candidate values (the case's value tidied, and the values
the Tests sheets give it), one per distinct result of the code.

The search.  A depth-first walk through the decision's tables in evaluation order
over *boxes* (a set of cells per variable): at each table, a rule whose match
depends on which cell a variable is in splits the box in two; once every rule of
the table either matches the whole box or none of it, the table's outputs are
known and the walk goes on to the next table with them.  A box's cost is the
number of variables whose cells exclude the case's own value (each must change);
branches costlier than the best answer found are cut (branch and bound), and the
needs of ``preimage`` (what every field must be for the want to hold) cut the
rest.  Each box that reaches the end with the wanted outputs is made concrete (the
case's value where the box allows it, else the value nearest to it) and confirmed
by re-deciding it with the reference interpreter.  The walk stops after
``budget`` steps and says so.

Exactness.  The answer is exact (no option with fewer changes exists) when every
test on a variable compares it with constants or with facts that do not change;
a test relating two changing facts, or an output computed from a changing fact, is
decided on representative values, and facts fed to code are searched among
candidates: the answer notes each such place.
"""
from __future__ import annotations

import re
import unicodedata
from collections import ChainMap
from dataclasses import dataclass, field
from typing import Any, Optional

from decide.model.errors import CaseError, EvaluationError
from decide.model.ir import (
    AnyTest, Arith, Book, CompareTest, InputColumn, Literal, Name, Neg, NotTests, OrTests, Plan,
    RangeTest, Table, Type,
)
from decide.compile.resolve import referenced_fields
from decide.model.values import in_allowed, show
from decide.runtime.facts import apply_derive
from decide.runtime.reference import eval_expr, run_tables, table_result, unary
from decide.tools.analysis.partition import Variable
from decide.tools.analysis.solve import invert
from decide.tools.analysis.values import EMPTY, is_num, between
from decide.tools.preimage import Need, cell_of, memo

DIRECTIONS = ("yes", "no", "up", "down")
DEFAULT_BUDGET = 50_000


# --------------------------------------------------------------------------- the space
@dataclass
class Var:
    """One changeable fact: its cells, the case's cell, the cells it may move to."""

    field: str
    direction: str
    labels: list[str]  # each cell as an analyst would write it
    values: list  # a representative value per cell (candidates: the value itself)
    orig: int  # the cell of the case's value
    orig_value: Any
    permitted: int  # cells it may be in (its own included)
    partition: Optional[Variable] = None  # the analysis variable (None for candidates)
    derived: Optional[list[dict]] = None  # candidates: the facts the code derives, per cell
    type: Optional[Type] = None

    def cells(self, mask: int):
        m = mask
        while m:
            low = m & -m
            yield low.bit_length() - 1
            m ^= low

    def describe(self, mask: int) -> str:
        if self.partition is not None:
            return self.partition.describe(mask)
        return ", ".join(show(self.values[i]) for i in self.cells(mask))

    def exact_cell(self, i: int) -> bool:
        """Does one value stand for the whole cell (a point, null, a candidate)?"""
        if self.partition is None:
            return True
        return self.partition.cells[i].kind in ("point", "null")

    def nearest(self, i: int):
        """The value of cell i nearest to the case's value."""
        if self.partition is None or i == self.orig:
            return self.values[i] if i != self.orig else self.orig_value
        c = self.partition.cells[i]
        o = self.orig_value
        if c.kind != "open" or o is None:
            return c.rep
        t = self.type
        try:
            above = c.lo is not None and o <= c.lo
            below = c.hi is not None and o >= c.hi
        except TypeError:
            return c.rep
        if t is Type.INTEGER:
            cand = int(c.lo) + 1 if above else int(c.hi) - 1 if below else c.rep
            if isinstance(cand, int) and (c.lo is None or cand > c.lo) and (c.hi is None or cand < c.hi):
                return cand
            return c.rep
        if t is Type.NUMBER:
            cand = c.lo + 1 if above else c.hi - 1 if below else c.rep
            if (c.lo is None or cand > c.lo) and (c.hi is None or cand < c.hi):
                return cand
            return between(t, c.lo, c.hi)
        if t is Type.DATE:
            import datetime as _dt
            cand = c.lo + _dt.timedelta(days=1) if above else c.hi - _dt.timedelta(days=1) if below else c.rep
            if (c.lo is None or cand > c.lo) and (c.hi is None or cand < c.hi):
                return cand
        return c.rep

    def distance(self, i: int, value) -> tuple:
        """How far a change to ``value`` in cell i goes: (cells crossed, relative size)."""
        cells = abs(i - self.orig) if self.partition is not None and self.partition.ordered else (
            0 if i == self.orig else 1 + i)
        rel = 0
        o = self.orig_value
        if is_num(o) and is_num(value):
            rel = abs(value - o) / max(abs(o), 1)
        return cells, rel


def _substitute(node, env: dict, keep: str):
    """A test or expression with every field but ``keep`` replaced by its value."""
    if isinstance(node, Name):
        return node if node.name == keep or node.name not in env else Literal(env[node.name])
    if isinstance(node, CompareTest):
        return CompareTest(node.op, _substitute(node.value, env, keep))
    if isinstance(node, RangeTest):
        return RangeTest(_substitute(node.low, env, keep), _substitute(node.high, env, keep),
                         node.low_closed, node.high_closed)
    if isinstance(node, OrTests):
        return OrTests(tuple(_substitute(t, env, keep) for t in node.tests))
    if isinstance(node, NotTests):
        return NotTests(tuple(_substitute(t, env, keep) for t in node.tests))
    if isinstance(node, Neg):
        return Neg(_substitute(node.operand, env, keep))
    if isinstance(node, Arith):
        return Arith(node.op, _substitute(node.left, env, keep), _substitute(node.right, env, keep))
    return node


def _values_in(test) -> list:
    """The expressions a test compares with."""
    if isinstance(test, CompareTest):
        return [test.value]
    if isinstance(test, RangeTest):
        return [test.low, test.high]
    if isinstance(test, (OrTests, NotTests)):
        return [e for t in test.tests for e in _values_in(t)]
    return []


def _boundaries(f: str, col: InputColumn, test, env: dict, notes: list) -> list:
    """Tests on ``f`` (as constant tests) that cut its domain where ``test`` on ``col``
    changes its answer, the other facts keeping their values in the case."""
    refs_col = referenced_fields(col.expr)
    refs_test = referenced_fields(test)
    if col.expr == Name(f) and f not in refs_test:
        return [_substitute(test, env, f)]
    out = []
    if f not in refs_col:  # the test compares another column's value with f
        x = eval_expr(col.expr, env)
        for e in _values_in(test):
            if f in referenced_fields(e):
                p = invert(_substitute(e, env, f), x, f, env) if x is not None else None
                if p is None:
                    notes.append(f'a test on "{col.header}" compares it with {f} in a way that cannot be '
                                 f"solved for {f}: it is decided on representative values of {f}")
                else:
                    out.append(CompareTest("<", Literal(p)))
        return out
    for e in _values_in(_substitute(test, env, f)):
        if referenced_fields(e):
            continue
        c = eval_expr(e, {})
        p = invert(_substitute(col.expr, env, f), c, f, env) if c is not None else None
        if p is not None:
            out.append(CompareTest("<", Literal(p)))
    return out


def _permitted(var: Variable, direction: str, orig: int, orig_value) -> int:
    mask = 1 << orig
    for i, c in enumerate(var.cells[:-1]):
        if c.rep is EMPTY or i == orig:
            continue
        if direction in ("up", "down") and orig_value is not None and var.type is not Type.TEXT:
            try:
                if c.kind == "point":
                    side = c.rep > orig_value if direction == "up" else c.rep < orig_value
                elif c.kind == "open":
                    side = (c.lo is not None and c.lo >= orig_value) if direction == "up" else \
                        (c.hi is not None and c.hi <= orig_value)
                else:
                    side = True
            except TypeError:
                side = True
            if not side:
                continue
        mask |= 1 << i
    return mask


def _tests_by_field(book: Book) -> dict:
    """field → [(table, input column, test)] for every non-empty cell that reads it."""
    m = memo(book)
    if "tests_by_field" not in m:
        index: dict = {}
        for t in book.tables.values():
            for i, col in enumerate(t.inputs):
                for r in t.rules:
                    test = r.inputs[i].test
                    if isinstance(test, AnyTest):
                        continue
                    for f in referenced_fields(col.expr) | referenced_fields(test):
                        index.setdefault(f, []).append((t.name, col, test))
        m["tests_by_field"] = index
    return m["tests_by_field"]


def _output_points(book: Book, tables: list[Table], f: str, env: dict, want: dict) -> list:
    """Boundaries for a fact that outputs are computed from: the values for which an
    output becomes a wanted value or a constant a later test compares it with."""
    index = _tests_by_field(book)
    out = []
    for t in tables:
        for r in t.rules:
            for col, o in zip(t.outputs, r.outputs):
                if f not in referenced_fields(o.expr):
                    continue
                targets = [want[col.field]] if col.field in want and not isinstance(want[col.field], tuple) else []
                for _, c2, test in index.get(col.field, ()):
                    if c2.expr == Name(col.field):
                        targets += [eval_expr(e, {}) for e in _values_in(test) if not referenced_fields(e)]
                for x in targets:
                    p = invert(_substitute(o.expr, env, f), x, f, env) if is_num(x) else None
                    if p is not None:
                        out.append(CompareTest("<", Literal(p)))
    return out


def field_var(book: Book, tables: list[Table], f: str, direction: str, env: dict, notes: list,
              want: Optional[dict] = None) -> Optional[Var]:
    """The variable of fact ``f`` over the decision's tables, or None when no table reads it."""
    fl = book.fields[f]
    if fl.type is Type.TEXT_LIST:
        notes.append(f"{f} is a text list; lists are not changed")
        return None
    tests, col0 = [], None
    index = _tests_by_field(book)
    names = {t.name for t in tables}
    for tname, col, test in index.get(f, ()):
        if tname in names:
            col0 = col0 or col
            tests.extend(_boundaries(f, col, test, env, notes))
    from_outputs = _output_points(book, tables, f, env, want or {})
    tests += from_outputs
    if col0 is None and not any(f in referenced_fields(o.expr) for t in tables for r in t.rules
                                for o in r.outputs):
        return None
    col = InputColumn(f, Name(f), fl.type, f, col0.loc if col0 is not None else fl.loc)
    var = Variable(f, [], col, fl.allowed, tests)
    orig_value = env.get(f)
    orig = cell_of(var, orig_value)
    if orig is None:
        notes.append(f"the value of {f} lies outside its cells; it is not changed")
        return None
    permitted = _permitted(var, direction, orig, orig_value)
    values = [c.rep if c.kind != "null" else None for c in var.cells]
    labels = [c.label() for c in var.cells]
    return Var(f, direction, labels, values, orig, orig_value, permitted, partition=var, type=fl.type)


def _tidy(text: str) -> str:
    """A typed text in plain upper-case ASCII words separated by single spaces."""
    t = unicodedata.normalize("NFKC", text).upper()
    return re.sub(r"[^A-Z0-9]+", " ", t).strip()


def candidate_var(book: Book, plan: Plan, f: str, direction: str, typed: dict,
                  sources: list[str]) -> Optional[Var]:
    """A fact only the decision's code reads: candidate values, one per distinct result."""
    orig_value = typed.get(f)
    cands = [orig_value]
    if isinstance(orig_value, str):
        cands += [_tidy(orig_value)]
    others = [s for s in sources if s != f]
    for suite in book.tests:
        if suite.target != plan.name:
            continue
        for case in suite.cases:
            if f in case.inputs and all(case.inputs.get(s) == typed.get(s) for s in others):
                cands.append(case.inputs[f])
    fl = book.fields[f]
    seen, values, derived = set(), [], []
    for v in cands:
        if v is None or (fl.allowed is not None and not in_allowed(v, fl.allowed)):
            if v is not orig_value:
                continue
        facts = dict(typed)
        if v is None:
            facts.pop(f, None)
        else:
            facts[f] = v
        try:
            env = apply_derive(book, plan, facts)
        except CaseError:
            continue
        key = tuple(repr(env.get(d)) for d in plan.derived)
        if key in seen:
            continue
        seen.add(key)
        values.append(v)
        derived.append({d: env.get(d) for d in plan.derived})
    if len(values) < 2 or values[0] is not orig_value:
        return None
    n = len(values)
    permitted = (1 << n) - 1
    return Var(f, direction, [show(v) for v in values], values, 0, orig_value, permitted,
               derived=derived, type=fl.type)


# --------------------------------------------------------------------------- the walk
@dataclass
class Leaf:
    cost: int
    box: tuple
    values: dict  # field → its new value (only the changed ones)
    cells: dict  # field → cell index
    outputs: dict
    fired: list
    approx: bool


class Budget(Exception):
    pass


@dataclass
class Search:
    book: Book
    plan: Plan
    tables: list[Table]  # the tables the want depends on, in evaluation order
    vars: list[Var]
    env: dict  # the case's facts after the code ran (the base of every branch)
    typed: dict  # the case's validated facts
    want: dict
    needs: dict  # field → [Need]
    wanted: callable  # outputs env → bool
    budget: int = DEFAULT_BUDGET
    steps: int = 0
    best: int = 10 ** 9
    leaves: list = field(default_factory=list)
    cut: bool = False
    approx_used: bool = False
    start: tuple = ()  # each variable's cells once the needs are applied

    def __post_init__(self):
        self.ctrl: dict[str, int] = {}
        for k, v in enumerate(self.vars):
            if v.derived is not None:
                for d in v.derived[0]:
                    self.ctrl.setdefault(d, k)
            else:
                self.ctrl[v.field] = k
        self._cache: dict = {}
        self._entries = {t.name: self._prepare(t) for t in self.tables}

    def _prepare(self, t: Table):
        rules = []
        for r in t.rules:
            entries = []
            for i, (col, e) in enumerate(zip(t.inputs, r.inputs)):
                if isinstance(e.test, AnyTest):
                    continue
                refs = referenced_fields(col.expr) | referenced_fields(e.test)
                ks = sorted({self.ctrl[f] for f in refs if f in self.ctrl})
                rest = tuple(sorted(f for f in refs if f not in self.ctrl))
                entries.append((i, col, e.test, ks, rest))
            rules.append(entries)
        outs = set()
        for r in t.rules:
            for o in r.outputs:
                outs |= referenced_fields(o.expr)
        out_vars = sorted({self.ctrl[f] for f in outs if f in self.ctrl})
        return rules, out_vars

    # -- cost
    def cost(self, box) -> int:
        return sum(1 for v, m in zip(self.vars, box) if not (m >> v.orig) & 1)

    def overlay(self, k: int, i: int) -> dict:
        v = self.vars[k]
        if v.derived is not None:
            d = dict(v.derived[i])
            d[v.field] = v.values[i]
            return d
        return {v.field: v.values[i]}

    # -- one input cell over a box
    def _entry(self, t: Table, ri: int, entry, box, env):
        """True / False over the whole box, or (k, mask where it holds) to split on."""
        i, col, test, ks, rest = entry
        if not ks:
            return unary(test, eval_expr(col.expr, env), env) is True
        if len(ks) == 1:
            k = ks[0]
            key = (t.name, ri, i, tuple(env.get(f) for f in rest))
            true = 0
            for c in self.vars[k].cells(box[k]):
                ck = key + (c,)
                hit = self._cache.get(ck)
                if hit is None:
                    e2 = ChainMap(self.overlay(k, c), env)
                    hit = unary(test, eval_expr(col.expr, e2), e2) is True
                    self._cache[ck] = hit
                if hit:
                    true |= 1 << c
            if true == box[k]:
                return True
            if not true:
                return False
            return k, true
        wide = [k for k in ks if box[k] & (box[k] - 1)]
        if wide:  # several changing facts in one test: one cell each, then decide
            k = wide[0]
            low = box[k] & -box[k]
            return k, low
        over = {}
        for k in ks:
            c = box[k].bit_length() - 1
            over.update(self.overlay(k, c))
            if not self.vars[k].exact_cell(c):
                self.approx_used = True
        e2 = ChainMap(over, env)
        return unary(test, eval_expr(col.expr, e2), e2) is True

    def _children(self, box, k, true):
        m = box[k]
        parts = [m & true, m & ~true]
        v = self.vars[k]
        parts.sort(key=lambda p: 0 if (p >> v.orig) & 1 else 1)
        for p in parts:
            if p:
                yield box[:k] + (p,) + box[k + 1:]

    def _chosen(self, box) -> dict:
        """The concrete cell per variable: the case's own where the box allows it,
        else the one nearest to it."""
        out = {}
        for k, (v, m) in enumerate(zip(self.vars, box)):
            if (m >> v.orig) & 1:
                out[k] = v.orig
            else:
                out[k] = min(v.cells(m), key=lambda i: v.distance(i, v.nearest(i)))
        return out

    def run(self):
        box = tuple(v.permitted for v in self.vars)
        for k, v in enumerate(self.vars):
            mask = 0
            for i in v.cells(box[k]):
                over = self.overlay(k, i)
                if all(nd.holds(val) for f, val in over.items() for nd in self.needs.get(f, ())):
                    mask |= 1 << i
            box = box[:k] + (mask,) + box[k + 1:]
        self.start = box
        if not all(box):
            return
        try:
            self._walk(0, box, self.env)
        except Budget:
            self.cut = True

    def _walk(self, ti: int, box: tuple, env: dict):
        self.steps += 1
        if self.steps > self.budget:
            raise Budget()
        cost = self.cost(box)
        if cost > self.best:
            return
        if ti == len(self.tables):
            return self._leaf(cost, box, env)
        t = self.tables[ti]
        rules, out_vars = self._entries[t.name]
        matched = []
        first = t.hit_policy.name == "FIRST"
        for ri, entries in enumerate(rules):
            split = None
            status = True
            for entry in entries:
                s = self._entry(t, ri, entry, box, env)
                if s is False:
                    status = False
                    break
                if s is not True and split is None:
                    split = s
            if status is False:
                continue
            if split is not None:
                k, true = split
                for child in self._children(box, k, true):
                    self._walk(ti, child, env)
                return
            matched.append(ri)
            if first:
                break
        out_env = env
        if out_vars:  # outputs computed from changing facts: one cell each, then compute
            for k in out_vars:
                if box[k] & (box[k] - 1):
                    for child in self._children(box, k, box[k] & -box[k]):
                        self._walk(ti, child, env)
                    return
            over = {}
            for k in out_vars:
                c = box[k].bit_length() - 1
                over.update(self.overlay(k, c))
                if not self.vars[k].exact_cell(c):
                    self.approx_used = True
            out_env = ChainMap(over, env)
        try:
            outs, _ = table_result(self.book, t, matched, out_env)
        except EvaluationError:
            return
        env2 = dict(env)
        for f, v in outs.items():
            v = tuple(v) if isinstance(v, list) else v
            if not all(nd.holds(v) for nd in self.needs.get(f, ())):
                return
            env2[f] = v
        self._walk(ti + 1, box, env2)

    def _leaf(self, cost: int, box: tuple, env: dict):
        if not self.wanted(env):
            return
        chosen = self._chosen(box)
        facts = dict(self.typed)
        changed, cells = {}, {}
        for k, v in enumerate(self.vars):
            c = chosen[k]
            cells[v.field] = c
            if c == v.orig:
                continue
            value = v.nearest(c)
            changed[v.field] = value
            if value is None:
                facts.pop(v.field, None)
            else:
                facts[v.field] = value
        confirmed = confirm(self.book, self.plan, facts)
        if confirmed is None or not self.wanted(confirmed[0]):
            return
        if cost < self.best:
            self.best = cost
            self.leaves = []
        self.leaves.append(Leaf(cost, box, changed, cells, confirmed[0], confirmed[1], self.approx_used))


def confirm(book: Book, plan: Plan, facts: dict):
    """(every fact after the decision ran, fired rules) by the reference interpreter,
    or None when the case is refused or the tables fail on it."""
    try:
        env = apply_derive(book, plan, dict(facts))
        return run_tables(book, plan, dict(env))
    except (CaseError, EvaluationError):
        return None


def table_reads(t: Table) -> set:
    """The fields a table reads: its input expressions, its cells, its output expressions."""
    out = set()
    for i, col in enumerate(t.inputs):
        out |= referenced_fields(col.expr)
        for r in t.rules:
            out |= referenced_fields(r.inputs[i].test)
    for r in t.rules:
        for o in r.outputs:
            out |= referenced_fields(o.expr)
    return out


def upstream(book: Book, plan: Plan, fields: set) -> list[Table]:
    """The plan's tables that the given fields depend on, in evaluation order."""
    needed = set(fields)
    keep = []
    for name in reversed(plan.tables):
        t = book.tables[name]
        if needed & set(t.output_fields):
            keep.append(t)
            needed |= table_reads(t)
    return list(reversed(keep))


__all__ = ["Var", "Search", "Leaf", "Need", "field_var", "candidate_var", "confirm", "upstream", "table_reads",
           "DIRECTIONS", "DEFAULT_BUDGET"]
