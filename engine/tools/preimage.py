"""What every field must be for a decision to give wanted outputs: necessary
conditions, found by walking the want back through the chained tables.

``necessary(book, tables, want)`` starts from the wanted values of some computed
fields and goes through the tables in reverse order.  For a table with a wanted
(or already constrained) output, the exact analysis (``decide.tools.analysis``)
gives each rule as a box of cells; the cases where the table can give an allowed
output are the boxes of the rules that give one, minus the boxes of the rules that
would fire before them (FIRST, PRIORITY, UNIQUE), plus the cases no rule matches
when null is allowed.  Projected on each input column, this is a set of cells the
column's field must lie in: a *need* on that field, which constrains the table that
computes it in turn.

The needs are sound, never exact: a case that gives the wanted outputs satisfies
every need (so a fact that cannot change and breaks a need proves the want
impossible, and a changeable fact whose value breaks a need must change), but not
every case that satisfies them gives the want.  The search in ``counterfactual``
decides exactly; the needs only prune it.  Where a table is too irregular to
regress cheaply (aggregators, computed outputs, many overlapping rules) it adds no
need, which keeps them sound.

Each need carries where it comes from, so that an impossible want can name the
rule that blocks it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional

from decide.model.ir import AnyTest, Book, HitPolicy, Literal, Name, Table
from decide.runtime.reference import output_value
from decide.tools.analysis.boxes import minus
from decide.tools.analysis.partition import Variable, build_variables
from decide.tools.analysis.rules import rule_order, rule_boxes
from decide.tools.analysis.values import EMPTY

MAX_PIECES = 256  # boxes a table's region may split into before the need is dropped
_BOOKS: list[tuple] = []  # (book, memo) for the last few books analysed


def memo(book: Book) -> dict:
    """A dictionary of analyses that depend only on ``book`` (its tables are frozen)."""
    for b, m in _BOOKS:
        if b is book:
            return m
    m: dict = {}
    _BOOKS.append((book, m))
    del _BOOKS[:-4]
    return m


def table_boxes(book: Book, table: Table):
    """The analysis of one table: (variables, must boxes, may boxes), computed once."""
    m = memo(book).setdefault("boxes", {})
    hit = m.get(table.name)
    if hit is None or hit[0] is not table:
        variables = build_variables(table, book)
        must, may = rule_boxes(table, variables)
        hit = m[table.name] = (table, variables, must, may)
    return hit[1:]


def cell_of(var: Variable, v) -> Optional[int]:
    """The index of the cell of ``var`` holding value ``v`` (None: outside its cells)."""
    cells = var.cells
    if v is None:
        return len(cells) - 1
    for i, c in enumerate(cells[:-1]):
        if c.kind == "point" and c.rep is not EMPTY and isinstance(c.rep, bool) == isinstance(v, bool):
            try:
                if c.rep == v:
                    return i
            except TypeError:
                pass
    for i, c in enumerate(cells[:-1]):
        if c.kind == "open":
            try:
                if (c.lo is None or c.lo < v) and (c.hi is None or v < c.hi):
                    return i
            except TypeError:
                return None
        elif c.kind in ("other", "any"):
            return i
    return None


@dataclass
class Need:
    """A field's value must satisfy ``test`` (value → bool) for the want to hold."""

    field: str
    test: Callable[[Any], bool]
    table: Optional[str]  # the table whose rules ask it (None: the want itself)
    blame: Callable[[Any], tuple]  # value breaking it → (rule index or None, reason)
    want_list: Optional[tuple] = None  # for a wanted list: the list

    def holds(self, value) -> bool:
        return self.test(value)


def want_equal(value, want, unordered: bool = False) -> bool:
    if isinstance(want, tuple):
        if not isinstance(value, (tuple, list)):
            return False
        value = tuple(value)
        if unordered:
            return sorted(map(repr, value)) == sorted(map(repr, want))
        return value == want
    return value == want and type(value) is type(want) if isinstance(want, bool) else value == want


def _possible(book: Book, table: Table, r, k: int):
    """The values rule r can give output column k: a tuple, or None (unknown)."""
    col = table.outputs[k]
    e = r.outputs[k].expr
    if isinstance(e, Literal):
        return (output_value(col, e.value),)
    if isinstance(e, Name):
        f = book.fields.get(e.name)
        if f is not None and isinstance(f.allowed, tuple):
            return tuple(f.allowed) + (None,)
    return None


def _rule_ok(book, table, r, tests: dict) -> Optional[bool]:
    """Can rule r's outputs satisfy every need on the table's outputs?  None: unknown."""
    unknown = False
    for k, col in enumerate(table.outputs):
        needs = tests.get(col.field)
        if not needs:
            continue
        vals = _possible(book, table, r, k)
        if vals is None:
            unknown = True
            continue
        if not any(all(n.holds(v) for n in needs) for v in vals):
            return False
    return None if unknown else True


def _describe_outputs(table: Table, r) -> str:
    return ", ".join(f"{c.field} = {o.text or 'null'}" for c, o in zip(table.outputs, r.outputs))


def _single_hit_region(book, table, variables, must, may, needs_here):
    n = len(table.rules)
    ok = [_rule_ok(book, table, r, needs_here) for r in table.rules]
    good = [i for i in range(n) if ok[i] is not False]
    null_ok = all(all(nd.holds(None) for nd in needs_here.get(c.field, ())) for c in table.outputs)
    hp = table.hit_policy
    order = rule_order(book, table) if hp in (HitPolicy.FIRST, HitPolicy.PRIORITY) else list(range(n))
    boxes: list[tuple] = []
    provenance = []  # (good rule, rules excluded before it)
    for r in good:
        if hp in (HitPolicy.FIRST, HitPolicy.PRIORITY) and order is not None:
            before = order[:order.index(r)]
        elif hp is HitPolicy.UNIQUE:
            before = [q for q in range(n) if q != r]
        else:
            before = []
        pieces = [may[r]]
        for q in before:
            pieces = [p for piece in pieces for p in minus(piece, must[q])]
            if len(pieces) > MAX_PIECES:
                return None
        boxes += pieces
        provenance.append((r, before))
    if null_ok:
        universe = tuple(v.full for v in variables)
        pieces = [universe]
        for q in range(n):
            pieces = [p for piece in pieces for p in minus(piece, must[q])]
            if len(pieces) > MAX_PIECES:
                return None
        boxes += pieces
        provenance.append((None, list(range(n))))
    return boxes, provenance


def _multi_hit_region(book, table, variables, must, needs_here):
    """RULE ORDER / COLLECT / OUTPUT ORDER without aggregator: a rule whose every
    possible output is absent from the wanted list must not match."""
    if table.aggregator is not None:
        return None
    box = [v.full for v in variables]
    provenance = []
    for ri, r in enumerate(table.rules):
        bad = False
        for k, col in enumerate(table.outputs):
            for nd in needs_here.get(col.field, ()):
                want = nd.want_list
                if want is None:
                    continue
                vals = _possible(book, table, r, k)
                if vals is not None and not any(v in want for v in vals):
                    bad = True
        if not bad:
            continue
        restricted = [j for j, m in enumerate(must[ri]) if m != variables[j].full]
        if len(restricted) == 1:  # "must not match" is one column's complement
            j = restricted[0]
            box[j] &= ~must[ri][j]
            provenance.append((None, [ri]))
    return [tuple(box)], provenance


def _cells_text(table: Table, var: Variable, rule) -> str:
    return ", ".join(f"{table.inputs[i].header} {rule.inputs[i].text} [{rule.inputs[i].loc.cell}]"
                     for i in var.columns if not isinstance(rule.inputs[i].test, AnyTest))


def _blame_for(table: Table, variables, k, provenance, must, may, multi: bool):
    """value of column k's field that breaks the need → (rule index or None, reason)."""
    var = variables[k]
    good = [r for r, _ in provenance if r is not None]

    def matches_whenever(q, bit) -> bool:
        return bool(must[q][k] & bit) and all(m == variables[j].full for j, m in enumerate(must[q]) if j != k)

    def blame(value):
        c = cell_of(var, value)
        what = f"{var.display} is {var.cells[c].label()}" if c is not None else f"{var.display} has this value"
        bit = 1 << c if c is not None else 0
        if len(good) == 1 and not may[good[0]][k] & bit:
            rule = table.rules[good[0]]
            return good[0], (f"only rule {rule.id} of {table.name} gives {_describe_outputs(table, rule)}, "
                             f"and it needs {_cells_text(table, var, rule)}, but {what}")
        if multi:
            for _, (q,) in provenance:
                if matches_whenever(q, bit):
                    rule = table.rules[q]
                    return q, (f"rule {rule.id} of {table.name} matches whenever {what} and adds "
                               f"{_describe_outputs(table, rule)}, which is not wanted")
        else:
            for q in range(len(table.rules)):
                if q not in good and matches_whenever(q, bit):
                    rule = table.rules[q]
                    cells = _cells_text(table, var, rule)
                    return q, (f"rule {rule.id} of {table.name} matches whenever {what}"
                               f"{f' ({cells})' if cells else ''}, giving {_describe_outputs(table, rule)}")
        return None, f"no rule of {table.name} gives what is wanted while {what}"
    return blame


def necessary(book: Book, tables: list[Table], want: dict,
              unordered: set = frozenset()) -> tuple[dict[str, list[Need]], list[tuple[str, str]]]:
    """(field → the needs it must satisfy for ``want`` (field → typed value) to hold,
    [(table, reason)] for the tables that can give no needed output at all).

    ``tables`` are the decision's tables in evaluation order; ``unordered`` the want
    fields compared as sets (COLLECT lists)."""
    needs: dict[str, list[Need]] = {}
    dead: list[tuple[str, str]] = []
    for f, w in want.items():
        needs.setdefault(f, []).append(Need(
            f, (lambda v, w=w, u=f in unordered: want_equal(v, w, u)), None,
            lambda v: (None, "it is not the wanted value"), w if isinstance(w, tuple) else None))
    for table in reversed(tables):
        here = {c.field: needs[c.field] for c in table.outputs if c.field in needs}
        if not here:
            continue
        variables, must, may = table_boxes(book, table)
        if table.hit_policy.single:
            region = _single_hit_region(book, table, variables, must, may, here)
        else:
            region = _multi_hit_region(book, table, variables, must, here)
        if region is None:
            continue
        boxes, provenance = region
        if not boxes:
            wanted = ", ".join(sorted(here))
            dead.append((table.name, f"no rule of {table.name} can give the {wanted} wanted"))
            continue
        for k, var in enumerate(variables):
            if var.opaque or var.derived or var.field is None:
                continue
            mask = 0
            for b in boxes:
                mask |= b[k]
            if mask & var.full == var.full:
                continue
            needs.setdefault(var.field, []).append(Need(
                var.field, _mask_test(var, mask), table.name,
                _blame_for(table, variables, k, provenance, must, may, not table.hit_policy.single)))
    return needs, dead


def _mask_test(var: Variable, mask: int):
    def test(value):
        c = cell_of(var, value)
        return True if c is None else bool((mask >> c) & 1)
    return test


def fixed_blocker(needs: dict[str, list[Need]], env: dict, fixed: set) -> Optional[tuple]:
    """The first need a fact that cannot change breaks: (field, value, need)."""
    for f in sorted(fixed):
        for nd in needs.get(f, ()):
            v = env.get(f)
            if not nd.holds(v):
                return f, v, nd
    return None


