"""Exact static analysis of decision tables: overlaps, gaps, shadowed rows,
redundant rows, columns that never change the outcome.

How it works
------------
Each input column of a table is a *variable*.  Its domain (the Glossary type,
narrowed by the field's allowed values) is cut into a finite partition of *cells*
by every boundary written in the column's tests: for an ordered type the points
``p1 < … < pk`` give the cells ``(-∞,p1) {p1} (p1,p2) … {pk} (pk,+∞)``; a list of
allowed values gives one cell per value; null (an absent field) is a cell of its own.
Every test whose values are constants gives the same answer for every value of a
cell, so a rule is exactly a *box*: one set of cells (a bit mask) per variable, and
a case is a point.  Questions about the table become questions about boxes
(intersection, cover by a union of boxes), answered exactly by splitting.

Field references and expression headers.  A column whose header is an arithmetic
expression over numeric fields that no other column tests (``amount_yen -
available_limit_yen``) is a variable of its own: its partition is over the value of
the expression, and each cell's value is solved back to field values (within their
allowed values) that produce it, so witnesses name real fields.  A numeric column
whose cells compare it with one other field only (``> available_limit_yen``, ``-``)
is the same thing: the difference of the two fields, compared with 0.

Soundness where the analysis cannot be exact.  Other field references, expressions
whose fields other columns also test, cells of an expression no field values reach,
and text-list columns are *approximate*: each rule gets two boxes, ``must`` (cases
where the rule certainly matches) and ``may`` (cases where it might).  A finding
that claims a case exists (overlap) is computed on ``must`` boxes; a finding that
claims no case exists (gap: no rule matches; shadowed: an earlier rule always
matches first) uses ``may`` for the rules that would have to match and ``must`` for
the rules that catch.  So a finding is never a false positive; lint says which
columns it treated approximately.

Every finding carries a witness: a concrete case (field → typed value) that
exhibits it when fed to the engine.  Null: a case where a field is absent.  Gaps and
useless columns are judged over cases where every tested field is present (an
absent field falls through almost every table, which is not news); overlaps and
shadowing consider null too, because they are exact statements about the rules.
"""
from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Iterable, Mapping, Optional

from . import reference as _ref
from .ir import (
    AnyTest, Arith, Book, CompareTest, HitPolicy, InputColumn, Literal, Name, Neg, NotTests,
    NullTest, OrTests, RangeTest, Table, Type,
)
from .values import Version, in_allowed, show

__all__ = ["Finding", "TableAnalysis", "analyze_table", "analyze_book", "table_diff"]

_EMPTY = object()  # "this cell holds no value of the type"
_UNKNOWN = object()  # "this expression is not a constant"

# --------------------------------------------------------------------------- constants


def const_value(e) -> Any:
    """The value of an expression without fields, or _UNKNOWN."""
    if isinstance(e, Literal):
        return e.value
    if isinstance(e, Name):
        return _UNKNOWN
    if isinstance(e, Neg):
        v = const_value(e.operand)
        if v is _UNKNOWN:
            return _UNKNOWN
        return None if v is None else -v
    if isinstance(e, Arith):
        a, b = const_value(e.left), const_value(e.right)
        if a is _UNKNOWN or b is _UNKNOWN:
            return _UNKNOWN
        return _ref.arith(e.op, a, b)
    return _UNKNOWN


def test_is_const(t) -> bool:
    if isinstance(t, (AnyTest, NullTest)):
        return True
    if isinstance(t, CompareTest):
        return const_value(t.value) is not _UNKNOWN
    if isinstance(t, RangeTest):
        return const_value(t.low) is not _UNKNOWN and const_value(t.high) is not _UNKNOWN
    if isinstance(t, (OrTests, NotTests)):
        return all(test_is_const(x) for x in t.tests)
    return False


def test_consts(t, out: list, ordered: list):
    """Collect the constant values of a test; ``ordered`` is set when an order test exists."""
    if isinstance(t, CompareTest):
        v = const_value(t.value)
        if v is not _UNKNOWN and v is not None:
            out.append(v)
            if t.op != "=":
                ordered.append(True)
    elif isinstance(t, RangeTest):
        ordered.append(True)
        for e in (t.low, t.high):
            v = const_value(e)
            if v is not _UNKNOWN and v is not None:
                out.append(v)
    elif isinstance(t, (OrTests, NotTests)):
        for x in t.tests:
            test_consts(x, out, ordered)


def status(t, v) -> Optional[bool] | str:
    """Three-valued result of a test on value ``v`` (FEEL), or "?" when it depends on
    another field.  Delegates to the reference interpreter for the semantics."""
    if isinstance(t, (OrTests, NotTests)):
        parts = [status(x, v) for x in t.tests]
        if any(p is True for p in parts):
            r = True
        elif any(p == "?" for p in parts):
            r = "?"
        elif any(p is None for p in parts):
            r = None
        else:
            r = False
        if isinstance(t, NotTests):
            return r if r in ("?", None) else (not r)
        return r
    if not test_is_const(t):
        return "?"
    return _ref.unary(t, v, {})


# --------------------------------------------------------------------------- representatives
def _is_num(x):
    return isinstance(x, (int, Decimal)) and not isinstance(x, bool)


def _between_int(a, b):
    lo = None if a is None else math.floor(a) + 1
    hi = None if b is None else math.ceil(b) - 1
    if lo is None and hi is None:
        return 0
    if lo is None:
        return hi
    if hi is None:
        return lo
    return lo if lo <= hi else _EMPTY


def _between_num(a, b):
    if a is None and b is None:
        return 0
    if a is None:
        return b - 1
    if b is None:
        return a + 1
    if a + 1 < b:
        return a + 1
    return (Decimal(a) + Decimal(b)) / 2


def _between_date(a, b):
    lo = None if a is None else a.toordinal()
    hi = None if b is None else b.toordinal()
    if lo is None and hi is None:
        return _dt.date(2024, 1, 1)
    r = _between_int(lo, hi)
    if r is _EMPTY or not (1 <= r <= _dt.date.max.toordinal()):
        return _EMPTY
    return _dt.date.fromordinal(r)


def _vtuple(v: Version):
    rel = list(v.release)
    while rel and rel[-1] == 0:
        rel.pop()
    return tuple(rel)


def _between_version(a, b):
    if a is None and b is None:
        return Version("1.0.0")
    if a is None:
        z = Version("0")
        return z if z < b else _EMPTY
    ta = _vtuple(a)
    if b is None:
        first = ta[0] if ta else 0
        return Version(f"{first + 1}.0.0")
    # a nicer candidate first: bump the last part of a
    for cand in (ta[:-1] + (ta[-1] + 1,) if ta else (1,),
                 ta + (1,),
                 ta + (0,) * len(_vtuple(b)) + (1,)):
        v = Version(".".join(str(x) for x in cand) if cand else "0")
        if a < v < b:
            return v
    return _EMPTY


_TEXT_CANDIDATES = ("other", "x", "zz", "a", "m", "A", "0", "~", "")


def _between_text(a, b, avoid=()):
    for c in _TEXT_CANDIDATES:
        if (a is None or c > a) and (b is None or c < b) and c not in avoid:
            return c
    if a is None:
        return "" if b != "" else _EMPTY
    for suffix in ("a", "0", "\x00"):
        c = a + suffix
        if b is None or c < b:
            return c
    return _EMPTY


def between(type_: Type, a, b):
    """A value of ``type_`` strictly between a and b (None = unbounded), or _EMPTY."""
    try:
        if type_ is Type.INTEGER:
            return _between_int(a, b)
        if type_ is Type.NUMBER:
            return _between_num(a, b)
        if type_ is Type.DATE:
            return _between_date(a, b)
        if type_ is Type.VERSION:
            return _between_version(a, b)
        if type_ is Type.TEXT:
            return _between_text(a, b)
    except (TypeError, ValueError, ArithmeticError, OverflowError):
        return _EMPTY
    return _EMPTY


def _fits(type_: Type, v) -> bool:
    if type_ is Type.INTEGER:
        return _is_num(v) and v == int(v)
    if type_ is Type.NUMBER:
        return _is_num(v)
    if type_ is Type.DATE:
        return isinstance(v, _dt.date)
    if type_ is Type.VERSION:
        return isinstance(v, Version)
    if type_ is Type.TEXT:
        return isinstance(v, str)
    if type_ is Type.BOOLEAN:
        return isinstance(v, bool)
    return False


def _norm(type_: Type, v):
    if type_ is Type.INTEGER and _is_num(v):
        return int(v)
    return v


# --------------------------------------------------------------------------- cells and variables
@dataclass
class Cell:
    kind: str  # "point", "open", "other", "null", "any"
    rep: Any  # a value in the cell (None for the null cell and "any")
    lo: Any = None
    hi: Any = None

    def label(self) -> str:
        if self.kind == "point":
            return show(self.rep)
        if self.kind == "null":
            return "null (absent)"
        if self.kind == "other":
            return "any other value"
        if self.kind == "any":
            return "any value"
        lo = "" if self.lo is None else show(self.lo)
        hi = "" if self.hi is None else show(self.hi)
        if self.lo is None:
            return f"< {hi}"
        if self.hi is None:
            return f"> {lo}"
        return f"({lo}..{hi})"


class Variable:
    """One tested quantity of a table: a field (possibly tested by several columns)
    or an input expression.  Holds the partition of its domain into cells."""

    def __init__(self, key: str, columns: list[int], col: InputColumn, allowed, tests: list,
                 opaque_reason: str = ""):
        self.key = key
        self.columns = columns  # indices of the table's input columns testing it
        self.col = col
        self.field = col.field
        self.type = col.type
        self.allowed = allowed
        self.notes: list[str] = []
        self.cells: list[Cell] = []
        self.pos: dict = {}
        self.ordered = False
        self._cache: dict = {}
        self.derived = False  # an expression over fields no other column tests
        self.unknown = 0  # cells no case is known to reach (derived variables)
        self.assign: dict[int, dict] = {}  # derived: cell index → field values giving it
        self.rewrite: dict = {}  # test as written → test of this variable (field references)
        self.display = col.header  # how messages name it
        if opaque_reason:
            self.opaque = True
            self.notes.append(opaque_reason)
            self.cells = [Cell("any", None)]
        else:
            self.opaque = False
            self._partition(tests)
        self.cells.append(Cell("null", None))
        n = len(self.cells)
        self.null_bit = 1 << (n - 1)
        self.dom = 0
        for i, c in enumerate(self.cells[:-1]):
            if c.rep is not _EMPTY:
                self.dom |= 1 << i
        self.full = self.dom | self.null_bit
        if any(not test_is_const(t) for t in tests):
            self.notes.append("its tests compare with other fields")

    @property
    def gap_dom(self) -> int:
        """The present values a gap may be claimed in (cells known to be reachable)."""
        return self.dom & ~self.unknown

    def make_derived(self, book: Book, fields: set):
        """Solve, for each cell, field values that give the expression that value."""
        from .reference import eval_expr
        self.derived = True
        for i, c in enumerate(self.cells[:-1]):
            if c.rep is _EMPTY:
                continue
            env = _solve(self.col.expr, c.rep, fields, book)
            if env is None or eval_expr(self.col.expr, env) != c.rep:
                self.unknown |= 1 << i
            else:
                self.assign[i] = env
        self.assign[len(self.cells) - 1] = {}  # every field absent: the expression is null
        if self.unknown:
            self.notes.append(f'some values of its header "{self.col.header}" could not be produced '
                              "from the fields' allowed values")

    # -- partition
    def _partition(self, tests):
        t = self.type
        consts, ordered = [], []
        for x in tests:
            test_consts(x, consts, ordered)
        consts = [_norm(t, v) for v in consts if _fits(t, v) or (t is Type.INTEGER and _is_num(v))]
        if isinstance(self.allowed, tuple):
            vals = []
            for v in self.allowed:
                if v not in vals:
                    vals.append(v)
            self.cells = [Cell("point", v) for v in vals]
            self.pos = {v: i for i, v in enumerate(vals)}
            return
        if t is Type.TEXT_LIST:  # only - and null tests reach here
            self.cells = [Cell("other", ())]
            return
        if t is Type.BOOLEAN:
            self.cells = [Cell("point", True), Cell("point", False)]
            self.pos = {True: 0, False: 1}
            return
        if t is Type.TEXT and not ordered and not isinstance(self.allowed, RangeTest):
            vals = []
            for v in consts:
                if v not in vals:
                    vals.append(v)
            self.cells = [Cell("point", v) for v in vals]
            self.pos = {v: i for i, v in enumerate(vals)}
            other = _between_text(None, None, avoid=set(vals))
            k = 1
            while other in self.pos:
                other = f"other_{k}"
                k += 1
            self.cells.append(Cell("other", other))
            return
        # ordered intervals
        self.ordered = True
        pts = set(consts)
        if isinstance(self.allowed, RangeTest):
            for e in (self.allowed.low, self.allowed.high):
                v = const_value(e)
                if v is not _UNKNOWN and v is not None and (_fits(t, v) or _is_num(v)):
                    pts.add(_norm(t, v) if _fits(t, _norm(t, v)) else v)
        try:
            pts = sorted(pts)
        except TypeError:
            pts = sorted(pts, key=repr)
        cells = []
        prev = None
        for p in pts:
            cells.append(Cell("open", between(t, prev, p), prev, p))
            rep = _norm(t, p) if _fits(t, p) else _EMPTY
            self.pos[p] = len(cells)
            cells.append(Cell("point", rep))
            prev = p
        cells.append(Cell("open", between(t, prev, None), prev, None))
        if isinstance(self.allowed, RangeTest):
            for c in cells:
                if c.rep is not _EMPTY and not in_allowed(c.rep, self.allowed):
                    c.rep = _EMPTY
        self.cells = cells

    # -- masks
    def masks(self, test) -> tuple[int, int]:
        """(must, may): the cells where the test certainly / possibly matches."""
        key = test
        try:
            hit = self._cache.get(key)
        except TypeError:
            key, hit = None, None
        if hit is not None:
            return hit
        test = self.rewrite.get(test, test)
        if self.opaque:
            r = (self.full, self.full) if isinstance(test, AnyTest) else (0, self.full)
        else:
            if self.ordered:
                t, u, n = self._omask(test)
            else:
                t, u, n = self._scan(test)
            s = status(test, None)
            nb = self.null_bit
            r = ((t & ~self.unknown) | (nb if s is True else 0), t | u | (nb if s in (True, "?") else 0))
        if key is not None:
            self._cache[key] = r
        return r

    def _scan(self, test):
        t = u = n = 0
        for i, c in enumerate(self.cells[:-1]):
            if c.rep is _EMPTY:
                continue
            s = status(test, c.rep)
            if s is True:
                t |= 1 << i
            elif s == "?":
                u |= 1 << i
            elif s is None:
                n |= 1 << i
        return t, u, n

    def _below(self, i):  # cells strictly before index i
        return ((1 << i) - 1) & self.dom

    def _upto(self, i):
        return ((1 << (i + 1)) - 1) & self.dom

    def _omask(self, test):
        dom = self.dom
        if isinstance(test, AnyTest):
            return dom, 0, 0
        if isinstance(test, NullTest):
            return 0, 0, 0
        if isinstance(test, (OrTests, NotTests)):
            t = u = n = 0
            for x in test.tests:
                a, b, c = self._omask(x)
                t |= a
                u |= b
                n |= c
            u &= ~t
            n &= ~(t | u)
            if isinstance(test, NotTests):
                return dom & ~(t | u | n), u, n
            return t, u, n
        if not test_is_const(test):
            return 0, dom, 0
        if isinstance(test, CompareTest):
            v = const_value(test.value)
            i = self._index(v)
            if i is None:
                return self._scan(test)
            if test.op == "=":
                return (1 << i) & dom, 0, 0
            if test.op == "<":
                return self._below(i), 0, 0
            if test.op == "<=":
                return self._upto(i), 0, 0
            if test.op == ">":
                return dom & ~self._upto(i), 0, 0
            if test.op == ">=":
                return dom & ~self._below(i), 0, 0
            return self._scan(test)
        if isinstance(test, RangeTest):
            lo, hi = const_value(test.low), const_value(test.high)
            i, j = self._index(lo), self._index(hi)
            if i is None or j is None:
                return self._scan(test)
            m = (self._upto(j) if test.high_closed else self._below(j))
            m &= ~(self._below(i) if test.low_closed else self._upto(i))
            return m & dom, 0, 0
        return self._scan(test)

    def _index(self, v):
        if v is None or v is _UNKNOWN:
            return None
        try:
            return self.pos.get(v)
        except TypeError:
            return None

    # -- description
    def describe(self, mask: int) -> str:
        """The set of values a mask stands for, as an analyst would write it."""
        if mask & self.full == self.full:
            return "any value"
        if mask & self.dom == self.dom and not mask & self.null_bit:
            return "any value (not null)"
        parts = []
        m = mask & self.dom
        if self.ordered:
            i, n = 0, len(self.cells) - 1
            while i < n:
                if not (m >> i) & 1 or self.cells[i].rep is _EMPTY:
                    i += 1
                    continue
                j = i
                while j + 1 < n and ((m >> (j + 1)) & 1 or self.cells[j + 1].rep is _EMPTY):
                    j += 1
                while self.cells[j].rep is _EMPTY:
                    j -= 1
                parts.append(self._run(i, j))
                i = j + 1
        else:
            parts = [self.cells[i].label() for i in range(len(self.cells) - 1) if (m >> i) & 1]
        text = ", ".join(parts)
        if mask & self.null_bit:
            text = f"{text} or absent" if text else "absent"
        return text or "no value"

    def runs(self, mask: int) -> int:
        """How many separate intervals the present values of a mask make."""
        m = mask & self.dom
        count, inside = 0, False
        for i in range(len(self.cells) - 1):
            if self.cells[i].rep is _EMPTY:
                continue
            bit = (m >> i) & 1
            if bit and not inside:
                count += 1
            inside = bool(bit)
        return count

    def _run(self, i, j):
        ci, cj = self.cells[i], self.cells[j]
        if i == j and ci.kind == "point":
            return show(ci.rep)
        lo = ci.lo if ci.kind == "open" else ci.rep
        lo_closed = ci.kind == "point"
        hi = cj.hi if cj.kind == "open" else cj.rep
        hi_closed = cj.kind == "point"
        if lo is None and hi is None:
            return "any value"
        if lo is None:
            return f"{'<=' if hi_closed else '<'} {show(hi)}"
        if hi is None:
            return f"{'>=' if lo_closed else '>'} {show(lo)}"
        return f"{'[' if lo_closed else '('}{show(lo)}..{show(hi)}{']' if hi_closed else ')'}"

    def pick(self, mask: int) -> int:
        """A cell index in mask, preferring a present value."""
        m = mask & self.dom
        if m:
            return (m & -m).bit_length() - 1
        if mask & self.null_bit:
            return len(self.cells) - 1
        raise ValueError("empty mask")


# --------------------------------------------------------------------------- boxes
def _refine(full: int, masks: Iterable[int]) -> list[int]:
    atoms = [full]
    for m in masks:
        nxt = []
        for a in atoms:
            x = a & m
            if x and x != a:
                nxt.append(x)
                nxt.append(a & ~m)
            else:
                nxt.append(a)
        atoms = nxt
    return atoms


class Budget(Exception):
    """The analysis of one question took too many steps; it gives up (soundly)."""


def uncovered(box: tuple, cands: Iterable[int], boxes: list, budget: list | None = None):
    """A sub-box of ``box`` that no box in ``cands`` touches, or None when they cover it."""
    cols = [j for j in range(len(box))]
    return _uncovered(box, list(cands), boxes, cols, budget if budget is not None else [2_000_000])


def _uncovered(box, cands, boxes, cols, budget):
    budget[0] -= 1 + len(cands)
    if budget[0] < 0:
        raise Budget()
    live = []
    for r in cands:
        b = boxes[r]
        for j in cols:
            if not b[j] & box[j]:
                break
        else:
            live.append(r)
    if not live:
        return box
    for r in live:
        b = boxes[r]
        for j in cols:
            if box[j] & ~b[j]:
                break
        else:
            return None
    best = None
    for j in cols:
        ms = {boxes[r][j] & box[j] for r in live}
        if len(ms) == 1 and box[j] in ms:
            continue
        atoms = _refine(box[j], ms)
        if best is None or len(atoms) < len(best[1]):
            best = (j, atoms)
            if len(atoms) == 2:
                break
    j, atoms = best
    rest = [c for c in cols if c != j]
    for a in atoms:
        sub = [r for r in live if boxes[r][j] & a]
        nb = box[:j] + (a,) + box[j + 1:]
        res = _uncovered(nb, sub, boxes, rest, budget)
        if res is not None:
            return res
    return None


class BoxIndex:
    """Per column, which rules' boxes contain each cell: answers "which rules touch
    this box" and "which rules contain this point" with a few big-integer ANDs."""

    def __init__(self, boxes: list[tuple]):
        self.n = len(boxes)
        self.all = (1 << self.n) - 1
        ncols = len(boxes[0]) if boxes else 0
        self.cell_rules: list[dict] = []
        for k in range(ncols):
            groups: dict[int, int] = {}
            for r, b in enumerate(boxes):
                groups[b[k]] = groups.get(b[k], 0) | (1 << r)
            # a difference array over the cells: each run of a mask toggles its rules
            # on at the run's first cell and off after its last (prefix XOR)
            toggles: dict[int, int] = {}
            top = 0
            for m, rs in groups.items():
                t = m ^ (m << 1)
                top = max(top, t.bit_length())
                while t:
                    low = t & -t
                    i = low.bit_length() - 1
                    toggles[i] = toggles.get(i, 0) ^ rs
                    t ^= low
            cr: dict[int, int] = {}
            acc = 0
            for i in range(top):
                x = toggles.get(i)
                if x:
                    acc ^= x
                if acc:
                    cr[i] = acc
            self.cell_rules.append(cr)
        self.cache: list[dict] = [dict() for _ in range(ncols)]

    def col(self, k: int, m: int) -> int:
        cache = self.cache[k]
        acc = cache.get(m)
        if acc is None:
            acc = 0
            cr = self.cell_rules[k]
            mm = m
            while mm:
                low = mm & -mm
                acc |= cr.get(low.bit_length() - 1, 0)
                mm ^= low
            if len(cache) < 100_000:
                cache[m] = acc
        return acc

    def touching(self, box: tuple) -> int:
        acc = self.all
        for k, m in enumerate(box):
            acc &= self.col(k, m)
            if not acc:
                break
        return acc

    def at(self, point: tuple) -> int:
        acc = self.all
        for k, i in enumerate(point):
            acc &= self.cell_rules[k].get(i, 0)
            if not acc:
                break
        return acc


def _bits(x: int):
    while x:
        low = x & -x
        yield low.bit_length() - 1
        x ^= low


def _meet(a: tuple, b: tuple) -> Optional[tuple]:
    out = tuple(x & y for x, y in zip(a, b))
    return out if all(out) else None


def _subset(a: tuple, b: tuple) -> bool:
    return all(not (x & ~y) for x, y in zip(a, b))


# --------------------------------------------------------------------------- findings
@dataclass
class Finding:
    kind: str  # overlap | conflict | gap | never | shadowed | redundant | mergeable | useless
    table: str
    rules: tuple[int, ...] = ()  # rule indices; the subject first
    others: tuple[int, ...] = ()  # the rules that explain it (cover, overlap partner…)
    column: Optional[int] = None  # input column index (useless)
    witness: dict = field(default_factory=dict)  # field → typed value (absent = null)
    witness2: Optional[dict] = None  # a second case (useless column: same outcome)
    region: str = ""  # the set of cases, described per column
    detail: str = ""
    # for a table fed by other tables: a case of the table's decision (raw facts) whose
    # upstream results put the table in the witness's situation, when one was found
    decision_case: Optional[dict] = None


@dataclass
class TableAnalysis:
    table: Table
    variables: list[Variable]
    must: list[tuple]
    may: list[tuple]
    findings: list[Finding]
    notes: list[tuple[int, str]]  # (input column index, note) for approximate columns
    skipped: list[str]  # analyses given up (budget), for the report


def _keys(table: Table) -> list:
    return [tuple(o.expr for o in r.outputs) for r in table.rules]


def _outputs_const(table: Table) -> bool:
    return all(isinstance(o.expr, Literal) for r in table.rules for o in r.outputs)


def _order(book: Optional[Book], table: Table) -> Optional[list[int]]:
    """The order in which a single-hit table picks its rule (None when it depends on the
    case, e.g. PRIORITY with computed outputs)."""
    n = len(table.rules)
    hp = table.hit_policy
    if hp is HitPolicy.PRIORITY:
        if book is None or not _outputs_const(table):
            return None
        def key(i):
            vals = tuple(o.expr.value for o in table.rules[i].outputs)
            return (_ref.priority_key(book, table, vals), i)
        return sorted(range(n), key=key)
    return list(range(n))


def _allowed(book: Optional[Book], col: InputColumn):
    if book is None or col.field is None:
        return None
    f = book.fields.get(col.field)
    return f.allowed if f is not None else None


def build_variables(table: Table, book: Optional[Book] = None, extra_tests: Mapping | None = None):
    """The variables of a table: input columns grouped by field (or by expression).
    ``extra_tests`` (key → tests) adds boundaries, e.g. from another version of the table."""
    groups: dict[str, list[int]] = {}
    for i, col in enumerate(table.inputs):
        key = col.field if col.field is not None else "expr:" + col.header
        groups.setdefault(key, []).append(i)
    variables = []
    for key, idxs in groups.items():
        col = table.inputs[idxs[0]]
        tests = [r.inputs[i].test for r in table.rules for i in idxs]
        if extra_tests and key in extra_tests:
            tests = tests + list(extra_tests[key])
        reason = ""
        derived = None
        ref = _field_reference(table, key, idxs, groups, book, tests)
        if ref is not None:
            other, rewrite, expr, type_ = ref
            dcol = InputColumn(col.header, expr, type_, None, col.loc)
            v = Variable(key, idxs, dcol, None, [rewrite.get(t, t) for t in tests])
            v.rewrite = rewrite
            v.display = f"{col.header} - {other}"
            v.make_derived(book, {col.field, other})
            variables.append(v)
            continue
        if col.field is None:
            derived = _derivable(table, key, col, groups, book)
            if derived is None:
                reason = (f'its header "{col.header}" is an expression whose fields other columns '
                          "also test")
        elif col.type is Type.TEXT_LIST and any(not isinstance(t, (AnyTest, NullTest)) for t in tests):
            reason = "it is a text list"
        v = Variable(key, idxs, col, _allowed(book, col), tests, reason)
        if derived:
            v.make_derived(book, derived)
        variables.append(v)
    return variables


def _field_reference(table: Table, key: str, idxs, groups, book, tests):
    """A numeric column whose cells compare it with one other numeric field only
    (``> available_limit_yen``, ``-``) is the difference of the two compared with 0,
    when neither field is tested elsewhere: (other field, test rewrite, expression, type)."""
    from .ir import Arith
    from .resolve import referenced_fields
    col = table.inputs[idxs[0]]
    if book is None or col.field is None or not col.type.is_numeric:
        return None
    other = None
    for t in tests:
        if isinstance(t, AnyTest):
            continue
        if not (isinstance(t, CompareTest) and isinstance(t.value, Name)):
            return None
        if other not in (None, t.value.name):
            return None
        other = t.value.name
    if other is None or other == col.field or other in groups:
        return None
    fo = book.fields.get(other)
    if fo is None or not fo.type.is_numeric:
        return None
    elsewhere: set = set()
    for k2, idxs2 in groups.items():
        if k2 == key:
            continue
        for i in idxs2:
            elsewhere |= referenced_fields(table.inputs[i].expr)
            for r in table.rules:
                elsewhere |= referenced_fields(r.inputs[i].test)
    if {col.field, other} & elsewhere:
        return None
    rewrite = {t: CompareTest(t.op, Literal(0)) for t in tests if isinstance(t, CompareTest)}
    type_ = Type.INTEGER if col.type is Type.INTEGER and fo.type is Type.INTEGER else Type.NUMBER
    return other, rewrite, Arith("-", Name(col.field), Name(other)), type_


def _derivable(table: Table, key: str, col: InputColumn, groups, book) -> Optional[set]:
    """The fields of an expression header when the column can be analysed as a free
    variable: numeric fields that no other column and no cell tests."""
    from .resolve import referenced_fields
    if book is None or col.type not in (Type.NUMBER, Type.INTEGER):
        return None
    fields = referenced_fields(col.expr)
    if not fields or any(f not in book.fields or not book.fields[f].type.is_numeric for f in fields):
        return None
    others: set = set()
    for k2, idxs in groups.items():
        if k2 != key:
            for i in idxs:
                others |= referenced_fields(table.inputs[i].expr)
    for r in table.rules:
        for e in r.inputs:
            others |= referenced_fields(e.test)
    return None if fields & others else fields


def _invert(e, target, f: str, env: dict):
    """The value of field f for which expression e equals target (others fixed), or None."""
    from .reference import eval_expr
    from .resolve import referenced_fields
    if target is None:
        return None
    if isinstance(e, Name):
        return target if e.name == f else None
    if isinstance(e, Neg):
        return _invert(e.operand, -target, f, env)
    if not isinstance(e, Arith):
        return None
    lf, rf = f in referenced_fields(e.left), f in referenced_fields(e.right)
    try:
        if lf and not rf:
            r = eval_expr(e.right, env)
            if not _is_num(r):
                return None
            t = {"+": lambda: target - r, "-": lambda: target + r,
                 "*": lambda: None if r == 0 else Decimal(target) / Decimal(r),
                 "/": lambda: target * r}.get(e.op, lambda: None)()
            return _invert(e.left, t, f, env)
        if rf and not lf:
            left = eval_expr(e.left, env)
            if not _is_num(left):
                return None
            t = {"+": lambda: target - left, "-": lambda: left - target,
                 "*": lambda: None if left == 0 else Decimal(target) / Decimal(left),
                 "/": lambda: None if target == 0 else Decimal(left) / Decimal(target)}.get(
                e.op, lambda: None)()
            return _invert(e.right, t, f, env)
    except (ArithmeticError, TypeError):
        return None
    return None


def _solve(expr, target, fields: set, book: Book) -> Optional[dict]:
    """Field values (within their allowed values) for which expr == target, or None."""
    import itertools
    from .reference import eval_expr
    names = sorted(fields)

    def candidates(fname):
        fl = book.fields[fname]
        vals = [0, 1]
        if isinstance(fl.allowed, RangeTest):
            vals = [const_value(fl.allowed.low), const_value(fl.allowed.high)] + vals
        elif isinstance(fl.allowed, tuple):
            vals = list(fl.allowed)[:4]
        out = []
        for v in vals:
            if v is not _UNKNOWN and v is not None and in_allowed(v, fl.allowed) and v not in out:
                out.append(_norm(fl.type, v) if fl.type is Type.INTEGER else v)
        return out

    for f in names:
        others = [g for g in names if g != f]
        pools = [candidates(g) for g in others]
        for combo in itertools.islice(itertools.product(*pools), 64):
            env = dict(zip(others, combo))
            v = _invert(expr, target, f, env)
            if v is None:
                continue
            fl = book.fields[f]
            if fl.type is Type.INTEGER:
                if not _is_num(v) or v != int(v):
                    continue
                v = int(v)
            if not in_allowed(v, fl.allowed):
                continue
            env[f] = v
            try:
                if eval_expr(expr, env) == target:
                    return env
            except (ArithmeticError, TypeError):
                continue
    return None


def rule_boxes(table: Table, variables: list[Variable]):
    must, may = [], []
    for r in table.rules:
        bm, bp = [], []
        for v in variables:
            m, p = v.full, v.full
            for i in v.columns:
                a, b = v.masks(r.inputs[i].test)
                m &= a
                p &= b
            bm.append(m)
            bp.append(p)
        must.append(tuple(bm))
        may.append(tuple(bp))
    return must, may


def witness_case(variables: list[Variable], box: tuple) -> dict:
    case = {}
    for v, m in zip(variables, box):
        if v.derived:
            i = v.pick(m & ~v.unknown or m)
            case.update({k: x for k, x in v.assign.get(i, {}).items() if x is not None})
            continue
        if v.opaque or v.field is None:
            continue
        c = v.cells[v.pick(m)]
        if c.kind != "null" and c.rep is not None:
            case[v.field] = c.rep
    return case


def describe_box(variables: list[Variable], box: tuple, table: Table) -> str:
    parts = []
    for v, m in zip(variables, box):
        if v.opaque:
            continue
        if m & v.full == v.full or (m & v.dom == v.dom):
            continue
        parts.append(f"{v.display} is {v.describe(m)}")
    return " and ".join(parts) if parts else "every case"


def analyze_table(table: Table, book: Optional[Book] = None, *, max_pairs: int = 200,
                  budget: int = 3_000_000) -> TableAnalysis:
    variables = build_variables(table, book)
    must, may = rule_boxes(table, variables)
    notes = []
    for v in variables:
        for note in v.notes:
            notes.append((v.columns[0], note))
    res = TableAnalysis(table, variables, must, may, [], notes, [])
    n = len(table.rules)
    if n == 0:
        if table.hit_policy.single:
            univ = tuple(v.gap_dom if not v.opaque else v.full for v in variables)
            if all(univ):
                res.findings.append(Finding("gap", table.name, (), witness=witness_case(variables, univ),
                                            region="every case"))
        return res
    hp = table.hit_policy
    keys = _keys(table)
    f = res.findings
    univ = tuple(v.gap_dom if not v.opaque else v.full for v in variables)
    exact = all(not v.opaque and not v.notes for v in variables)

    # rules that can never match any case
    never = set()
    for i in range(n):
        if not all(may[i]):
            never.add(i)
            f.append(Finding("never", table.name, (i,), witness={}))

    # overlaps (UNIQUE; ANY with different outputs)
    if hp in (HitPolicy.UNIQUE, HitPolicy.ANY):
        count = 0
        for i, j in overlapping_pairs(must):
            if hp is HitPolicy.ANY and keys[i] == keys[j]:
                continue
            box = _meet(must[i], must[j])
            w = witness_case(variables, box)
            if hp is HitPolicy.ANY and not _outputs_differ(table, i, j, w):
                continue
            count += 1
            if count > max_pairs:
                res.skipped.append(f"more than {max_pairs} overlapping pairs; the first are listed")
                break
            f.append(Finding("overlap" if hp is HitPolicy.UNIQUE else "conflict", table.name,
                             (j, i), (i,), witness=w, region=describe_box(variables, box, table)))

    # gaps
    if hp.single and all(univ):
        bud = [budget]
        try:
            gap_boxes = []
            boxes = list(may)
            for _ in range(5):
                g = uncovered(univ, range(len(boxes)), boxes, bud)
                if g is None:
                    break
                gap_boxes.append(g)
                boxes.append(g)
            for g in gap_boxes:
                f.append(Finding("gap", table.name, (), witness=witness_case(variables, g),
                                 region=describe_box(variables, g, table)))
        except Budget:
            res.skipped.append("gap analysis (too many combinations)")

    # shadowed rows (FIRST, PRIORITY): the rule never decides the outcome
    order = _order(book, table) if hp in (HitPolicy.FIRST, HitPolicy.PRIORITY) else None
    shadowed = set()
    idx_must = BoxIndex(must)
    idx_may = BoxIndex(may)
    if order is not None:
        bud = [budget]
        before = 0
        for r in order:
            if r in never:
                before |= 1 << r
                continue
            touch = idx_must.touching(may[r]) & before
            before |= 1 << r
            if not touch:
                continue
            earlier = [s for s in order if (touch >> s) & 1]
            try:
                g = uncovered(may[r], earlier, must, bud)
            except Budget:
                res.skipped.append(f"shadowing of rule {table.rules[r].id}")
                continue
            if g is None:
                shadowed.add(r)
                cover = _minimal_cover(may[r], earlier, must)
                box = must[r] if all(must[r]) else may[r]
                w = witness_case(variables, box)
                f.append(Finding("shadowed", table.name, (r,), tuple(cover), witness=w))

    # redundant rows: same outputs, covered by another rule that would take over
    if hp in (HitPolicy.FIRST, HitPolicy.ANY, HitPolicy.PRIORITY):
        for r in range(n):
            if r in never or r in shadowed or not all(must[r]):
                continue
            touch_r = idx_may.touching(may[r])
            for s in _bits(idx_must.touching(may[r])):
                if s == r or keys[s] != keys[r] or not _subset(may[r], must[s]):
                    continue
                if hp is HitPolicy.FIRST:
                    if s < r or s in shadowed:
                        continue  # that is shadowing
                    between = touch_r & ((1 << s) - 1) & ~((1 << (r + 1)) - 1)
                    if any(keys[t] != keys[r] for t in _bits(between)):
                        continue
                if hp is HitPolicy.PRIORITY and not _outputs_const(table):
                    continue
                if hp is not HitPolicy.FIRST and s > r and _subset(may[s], must[r]):
                    continue  # identical rows: report the later one only
                f.append(Finding("redundant", table.name, (r,), (s,),
                                 witness=witness_case(variables, must[r])))
                break

    # mergeable pairs: same outputs, boxes differ in exactly one column
    if hp in (HitPolicy.FIRST, HitPolicy.ANY, HitPolicy.PRIORITY, HitPolicy.UNIQUE) and exact:
        reported = set()
        done = {x.rules[0] for x in f if x.kind in ("redundant", "shadowed", "never")}
        by_key: dict = {}
        for r in range(n):
            if r not in done:
                by_key.setdefault(keys[r], []).append(r)
        for group in by_key.values():
            if len(group) < 2 or len(group) > 400:
                continue
            for a_i, a in enumerate(group):
                for b in group[a_i + 1:]:
                    if a in reported or b in reported:
                        continue
                    diff = [k for k in range(len(variables)) if must[a][k] != must[b][k]]
                    if len(diff) != 1:
                        continue
                    if hp is HitPolicy.FIRST:
                        between = idx_may.touching(may[b]) & ((1 << b) - 1) & ~((1 << (a + 1)) - 1)
                        if any(keys[t] != keys[a] for t in _bits(between)):
                            continue
                    reported.add(a)
                    reported.add(b)
                    k = diff[0]
                    v = variables[k]
                    merged = must[a][k] | must[b][k]
                    if v.ordered and v.runs(merged) > 1:
                        continue  # the union is not one interval: not simpler
                    f.append(Finding("mergeable", table.name, (b,), (a,), column=v.columns[0],
                                     witness=witness_case(variables, must[b]),
                                     region=v.describe(merged)))

    # columns that never change the outcome
    ordr = order if hp in (HitPolicy.FIRST, HitPolicy.PRIORITY) else list(range(n))
    if hp.single and ordr is not None and not any(x.kind in ("overlap", "conflict") for x in f):
        for k, v in enumerate(variables):
            try:
                u = _useless(table, variables, must, may, keys, ordr, k, budget)
            except Budget:
                res.skipped.append(f"whether column {table.inputs[v.columns[0]].header} matters")
                continue
            if u is not None:
                w1, w2 = u
                f.append(Finding("useless", table.name, (), column=v.columns[0], witness=w1,
                                 witness2=w2))
    return res


def _outputs_differ(table: Table, i: int, j: int, case: dict) -> bool:
    try:
        a = _ref.rule_outputs(table, i, case)
        b = _ref.rule_outputs(table, j, case)
    except Exception:
        return False
    return a != b


def _minimal_cover(box, cands, boxes) -> list[int]:
    """A small subset of ``cands`` that still covers ``box`` (greedy, exact check)."""
    cover = list(cands)
    if len(cover) > 24:
        return cover
    for r in list(cover):
        trial = [x for x in cover if x != r]
        if trial and uncovered(box, trial, boxes, [200_000]) is None:
            cover = trial
    return cover


def overlapping_pairs(boxes: list[tuple]):
    """Every (i, j), i < j, whose boxes intersect; via per-column indexes."""
    n = len(boxes)
    if n < 2:
        return
    ncols = len(boxes[0])
    if ncols == 0:
        for j in range(n):
            for i in range(j):
                yield i, j
        return
    col_hits = []  # per column: mask → bitset of rules intersecting it
    for k in range(ncols):
        groups: dict[int, int] = {}
        for r in range(n):
            groups[boxes[r][k]] = groups.get(boxes[r][k], 0) | (1 << r)
        ms = list(groups)
        # cell → rules containing it
        maxbit = max(ms).bit_length() if ms else 0
        cell_rules = [0] * maxbit
        for m, rs in groups.items():
            mm = m
            while mm:
                low = mm & -mm
                cell_rules[low.bit_length() - 1] |= rs
                mm ^= low
        hits = {}
        for m in ms:
            acc = 0
            if bin(m).count("1") <= len(ms):
                mm = m
                while mm:
                    low = mm & -mm
                    acc |= cell_rules[low.bit_length() - 1]
                    mm ^= low
            else:
                for m2, rs in groups.items():
                    if m & m2:
                        acc |= rs
            hits[m] = acc
        col_hits.append(hits)
    for j in range(n):
        acc = (1 << j) - 1
        for k in range(ncols):
            acc &= col_hits[k][boxes[j][k]]
            if not acc:
                break
        while acc:
            low = acc & -acc
            yield low.bit_length() - 1, j
            acc ^= low


# --------------------------------------------------------------------------- equivalence
def first_differ(vars_n: int, boxes_a: list, keys_a: list, order_a: list,
                 boxes_b: list, keys_b: list, order_b: list, universe: tuple,
                 budget: list) -> Optional[tuple]:
    """A sub-box of ``universe`` where the single-hit tables A and B (rules as boxes,
    picked in ``order``) give different outcomes, or None when they agree everywhere.
    ``keys`` are the rules' outcomes; no rule matching is the outcome None."""
    A = [r for r in order_a]
    B = [r for r in order_b]
    ia = BoxIndex(boxes_a)
    ib = ia if boxes_b is boxes_a else BoxIndex(boxes_b)
    return _differ(universe, A, B, boxes_a, keys_a, boxes_b, keys_b, budget, ia, ib)


def _differ(box, A, B, ba, ka, bb, kb, budget, ia, ib):
    budget[0] -= 1 + len(A) + len(B)
    if budget[0] < 0:
        raise Budget()
    ta = ia.touching(box)
    tb = ta if ib is ia else ib.touching(box)
    A = [r for r in A if (ta >> r) & 1]
    B = [r for r in B if (tb >> r) & 1]
    ra = A[0] if A else None
    rb = B[0] if B else None
    da = ra is None or _subset(box, ba[ra])
    db = rb is None or _subset(box, bb[rb])
    if da and db:
        oa = None if ra is None else ka[ra]
        ob = None if rb is None else kb[rb]
        return box if oa != ob else None
    if ba is bb and A == B:
        return None
    # split by the first undetermined rule
    splitter = ba[ra] if not da else bb[rb]
    inside = box
    for j in range(len(box)):
        out = inside[j] & ~splitter[j]
        if out:
            piece = inside[:j] + (out,) + inside[j + 1:]
            res = _differ(piece, A, B, ba, ka, bb, kb, budget, ia, ib)
            if res is not None:
                return res
            inside = inside[:j] + (inside[j] & splitter[j],) + inside[j + 1:]
    return _differ(inside, A, B, ba, ka, bb, kb, budget, ia, ib)


def _useless(table, variables, must, may, keys, order, k, budget) -> Optional[tuple]:
    """If variable k never changes the outcome: two cases differing only in it, with
    the same outcome (and, when possible, different rules firing)."""
    v = variables[k]
    if v.opaque or v.notes or v.derived or any(w.notes or w.opaque for w in variables):
        return None
    # its field must not feed an output expression or another test
    name = v.field
    for r in table.rules:
        for o in r.outputs:
            if not isinstance(o.expr, Literal):
                return None
    for w in variables:
        if w is not v and name in _fields_of_tests(table, w):
            return None
    if any(m != mm for box, boxp in zip(must, may) for m, mm in zip(box, boxp)):
        return None
    dom = v.dom
    if not dom:
        return None
    n = len(must)
    ob = [must[r] for r in order]  # rules renumbered in the order they are tried
    okeys = [keys[r] for r in order]
    idx = BoxIndex(ob)
    sigs: dict[int, int] = {}
    cells = [i for i in range(len(v.cells) - 1) if (dom >> i) & 1]
    for i in cells:
        sigs.setdefault(idx.cell_rules[k].get(i, 0), i)
    reps = list(sigs.values())
    base = reps[0]

    def outcome(point):
        m = idx.at(point)
        return okeys[(m & -m).bit_length() - 1] if m else None

    # quick rejection: a rule's own cases, with column k at each class
    doms = [w.dom for w in variables]
    if len(reps) > 2000:
        raise Budget()
    step = max(1, (n * len(reps)) // 200_000)  # at most ~200,000 evaluations
    for i in range(0, n, step):
        pt = []
        for j, w in enumerate(variables):
            if j == k:
                pt.append(base)
                continue
            m = ob[i][j] & doms[j]
            if not m:
                break
            pt.append((m & -m).bit_length() - 1)
        else:
            o = outcome(tuple(pt))
            for c in reps[1:]:
                pt[k] = c
                if outcome(tuple(pt)) != o:
                    return None
    univ = tuple((w.dom if j != k else (1 << base)) for j, w in enumerate(variables))
    # compare the sub-table at the base cell with the sub-table at each other class
    ba = [tuple(m if j != k else univ[k] for j, m in enumerate(b)) for b in ob]
    other_box = None
    ia = BoxIndex(ba)
    bud = [budget]
    A = [r for r in range(n) if (ob[r][k] >> base) & 1]
    for c in reps[1:]:
        B = [r for r in range(n) if (ob[r][k] >> c) & 1]
        if A != B and _differ(univ, A, B, ba, okeys, ba, okeys, bud, ia, ia) is not None:
            return None
        other_box = c
    # witnesses: a case at the base cell and the same case at another cell
    pt = univ
    if other_box is not None:
        for r in range(n):
            if (ob[r][k] >> base) & 1 and not (ob[r][k] >> other_box) & 1:
                m = _meet(ob[r], univ)
                if m is not None:
                    pt = m
                    break
    w1 = witness_case(variables, pt)
    w2 = dict(w1)
    alt = other_box
    if alt is None:
        alt = next((i for i in cells if i != base), base)
    val = v.cells[alt].rep
    if val is None:
        w2.pop(v.field, None)
    else:
        w2[v.field] = val
    return w1, w2


def _fields_of_tests(table, var) -> set:
    from .resolve import referenced_fields
    out = set()
    for r in table.rules:
        for i in var.columns:
            out |= referenced_fields(r.inputs[i].test)
    out |= referenced_fields(var.col.expr) - ({var.field} if var.field else set())
    return out


# --------------------------------------------------------------------------- whole book
def analyze_book(book: Book, **kw) -> dict[str, TableAnalysis]:
    return {name: analyze_table(t, book, **kw) for name, t in book.tables.items()}


# --------------------------------------------------------------------------- two versions
@dataclass
class RegionChange:
    witness: dict
    region: str
    old_rule: Optional[int]
    new_rule: Optional[int]
    what: str = ""  # which rule's change it is, when it is one rule's ("rule 3 now also matches")


def table_diff(old: Table, new: Table, book_old: Optional[Book] = None,
               book_new: Optional[Book] = None, limit: int = 10,
               budget: int = 2_000_000) -> Optional[list[RegionChange]]:
    """Regions of cases where two versions of a table decide differently (judged on the
    table alone, inputs given directly).  None when the two versions cannot be
    compared exactly (different input columns, approximate columns, computed outputs)."""
    ka = [c.field or c.header for c in old.inputs]
    kb = [c.field or c.header for c in new.inputs]
    if sorted(set(ka)) != sorted(set(kb)) or old.output_fields != new.output_fields:
        return None
    if not (_outputs_const(old) and _outputs_const(new)):
        return None
    # a joint partition: boundaries from both versions
    extra_old: dict = {}
    for i, c in enumerate(new.inputs):
        extra_old.setdefault(c.field if c.field else "expr:" + c.header, []).extend(
            r.inputs[i].test for r in new.rules)
    vo = build_variables(old, book_old or book_new, extra_old)
    extra_new: dict = {}
    for i, c in enumerate(old.inputs):
        extra_new.setdefault(c.field if c.field else "expr:" + c.header, []).extend(
            r.inputs[i].test for r in old.rules)
    vn = build_variables(new, book_new or book_old, extra_new)
    if any(v.opaque or v.notes for v in vo + vn):
        return None
    # align variables of new to old by key
    idx = {v.key: j for j, v in enumerate(vn)}
    if set(idx) != {v.key for v in vo}:
        return None
    mo, _ = rule_boxes(old, vo)
    mn_raw, _ = rule_boxes(new, vn)
    perm = [idx[v.key] for v in vo]
    mn = [tuple(b[p] for p in perm) for b in mn_raw]
    for v, w in zip(vo, [vn[p] for p in perm]):
        if len(v.cells) != len(w.cells):
            return None
    univ = tuple(v.dom | v.null_bit for v in vo)
    fast = (HitPolicy.FIRST, HitPolicy.PRIORITY)
    if not (old.hit_policy in fast and new.hit_policy in fast):
        return _table_diff_general(old, new, book_old or book_new, book_new or book_old, vo, mo, mn,
                                   univ, limit, budget)
    oo = _order(book_old, old)
    on = _order(book_new, new)
    if oo is None or on is None:
        return None
    keys_o = [tuple(o.expr.value for o in r.outputs) for r in old.rules]
    keys_n = [tuple(o.expr.value for o in r.outputs) for r in new.rules]
    out = []
    extra_o, extra_n = list(mo), list(mn)
    bud = [budget]
    # find up to ``limit`` disjoint regions: each found region becomes a rule that
    # matches first in both versions with the same outcome, so the next is new
    marker = ("__seen__",)
    while len(out) < limit:
        try:
            d = first_differ(len(vo), extra_o, keys_o + [marker] * (len(extra_o) - len(keys_o)),
                             list(range(len(mo), len(extra_o))) + oo,
                             extra_n, keys_n + [marker] * (len(extra_n) - len(keys_n)),
                             list(range(len(mn), len(extra_n))) + on, univ, bud)
        except Budget:
            break
        if d is None:
            break
        w = witness_case(vo, d)
        ro = next((r for r in oo if _meet(mo[r], d) is not None), None)
        rn = next((r for r in on if _meet(mn[r], d) is not None), None)
        out.append(RegionChange(w, describe_box(vo, d, old), ro, rn))
        extra_o.append(d)
        extra_n.append(d)
    return out


def _outcome_fn(book: Optional[Book], t: Table):
    """The table's result as a function of the rules that match (their indices in
    table order), for tables whose outputs are literals; as the reference decides."""
    hp = t.hit_policy
    keys = [tuple(o.expr.value for o in r.outputs) for r in t.rules]

    def prio(i):
        return (_ref.priority_key(book, t, keys[i]), i) if book is not None else (i,)

    def outcome(matched):
        if hp.single:
            if not matched:
                return None
            if hp is HitPolicy.UNIQUE and len(matched) > 1:
                return ("error",)
            if hp is HitPolicy.ANY and len({keys[i] for i in matched}) > 1:
                return ("error",)
            if hp is HitPolicy.PRIORITY:
                return keys[min(matched, key=prio)]
            return keys[matched[0]]
        order = sorted(matched, key=prio) if hp is HitPolicy.OUTPUT_ORDER else matched
        rows = [keys[i] for i in order]
        out = []
        for k in range(len(t.outputs)):
            values = [r[k] for r in rows if r[k] is not None]
            agg = t.aggregator
            if agg is None:
                out.append(tuple(sorted(map(repr, values))) if hp is HitPolicy.COLLECT else tuple(values))
            elif agg.value == "#":
                out.append(len(set(values)))
            elif not values:
                out.append(None)
            elif agg.value == "+":
                out.append(sum(values))
            elif agg.value == "<":
                out.append(min(values))
            else:
                out.append(max(values))
        return tuple(out)
    return outcome


def _table_diff_general(old, new, book_old, book_new, vo, mo, mn, univ, limit, budget):
    """table_diff for any hit policy: split the cases until, in each region, every rule
    of both versions either matches all of it or none of it; compare the results.
    Regions are presented, where possible, as what changed in one rule ("rule X now
    also matches when …"), each checked to change the result everywhere in it."""
    fo, fn = _outcome_fn(book_old, old), _outcome_fn(book_new, new)
    io, inn = BoxIndex(mo), BoxIndex(mn)
    bud = [budget]

    def walk(box, differ: list, same: list, cap: int):
        if len(differ) >= cap or (same is not None and same):
            return
        bud[0] -= 1
        if bud[0] < 0:
            raise Budget()
        ta, tb = io.touching(box), inn.touching(box)
        for boxes, touch in ((mo, ta), (mn, tb)):
            for r in _bits(touch):
                if not _subset(box, boxes[r]):
                    inside = box
                    for j in range(len(box)):
                        piece = inside[j] & ~boxes[r][j]
                        if piece:
                            walk(inside[:j] + (piece,) + inside[j + 1:], differ, same, cap)
                            inside = inside[:j] + (inside[j] & boxes[r][j],) + inside[j + 1:]
                    walk(inside, differ, same, cap)
                    return
        a, b = list(_bits(ta)), list(_bits(tb))
        if fo(a) != fn(b):
            differ.append((box, a[0] if a else None, b[0] if b else None))
        elif same is not None:
            same.append(box)

    # candidate regions: what each rule (matched by id) gained, lost, or now gives
    old_ids = {str(r.id): r.index for r in old.rules}
    new_ids = {str(r.id): r.index for r in new.rules}
    cands = []
    for rid, j in new_ids.items():
        i = old_ids.get(rid)
        if i is None:
            cands.append((mn[j], f"rule {rid} (new)", i, j))
            continue
        if tuple(o.text for o in old.rules[i].outputs) != tuple(o.text for o in new.rules[j].outputs):
            cands.append((mn[j], f"rule {rid} gives other outputs", i, j))
        for piece in _minus(mn[j], mo[i]):
            cands.append((piece, f"rule {rid} now also matches", i, j))
        for piece in _minus(mo[i], mn[j]):
            cands.append((piece, f"rule {rid} no longer matches", i, j))
    for rid, i in old_ids.items():
        if rid not in new_ids:
            cands.append((mo[i], f"rule {rid} (removed)", i, None))
    out: list[RegionChange] = []
    shown: list[tuple] = []
    try:
        for box, what, i, j in cands:
            if not all(box) or any(_subset(box, b) for b in shown):
                continue
            differ, same = [], []
            walk(box, differ, same, 10_000)
            if differ and not same:
                shown.append(box)
                out.append(RegionChange(witness_case(vo, box), describe_box(vo, box, old), i, j,
                                        what))
        # anything else (rules reordered, outputs that cancel out): the pieces, merged
        rest: list = []
        walk(univ, rest, None, 300)
    except Budget:
        return out[:limit]
    rest = [x for x in rest if not any(_subset(x[0], b) for b in shown)]
    merged = True
    while merged:
        merged = False
        for a_i in range(len(rest)):
            for b_i in range(a_i + 1, len(rest)):
                bi, bj = rest[a_i][0], rest[b_i][0]
                diff = [k for k in range(len(bi)) if bi[k] != bj[k]]
                if len(diff) == 1:
                    k = diff[0]
                    rest[a_i] = (bi[:k] + (bi[k] | bj[k],) + bi[k + 1:],) + rest[a_i][1:]
                    del rest[b_i]
                    merged = True
                    break
            if merged:
                break
    rest.sort(key=lambda x: -sum(bin(m).count("1") for m in x[0]))
    out += [RegionChange(witness_case(vo, box), describe_box(vo, box, old), ro, rn)
            for box, ro, rn in rest]
    return out[:limit]


def _minus(a: tuple, b: tuple) -> list[tuple]:
    """a \\ b as disjoint boxes."""
    if _meet(a, b) is None:
        return [a] if all(a) else []
    out = []
    inside = a
    for j in range(len(a)):
        piece = inside[j] & ~b[j]
        if piece:
            out.append(inside[:j] + (piece,) + inside[j + 1:])
            inside = inside[:j] + (inside[j] & b[j],) + inside[j + 1:]
    return out
