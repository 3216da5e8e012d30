"""Cells and variables: each tested quantity of a table (a field, or an input expression)
with its domain cut into a finite partition of cells by the boundaries its tests write;
the (must, may) cell masks of a test; ``build_variables`` for a table."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional

from decide.compile.resolve import referenced_fields
from decide.model.ir import (
    AnyTest, Book, InputColumn, NullTest, RangeTest, Table, Type,
)
from decide.model.values import in_allowed, show
from decide.model.walk import Visitor
from decide.tools.analysis.constants import UNKNOWN, const_value, status, test_consts, test_is_const
from decide.tools.analysis.solve import derivable, field_reference, solve_field
from decide.tools.analysis.values import EMPTY, between_text, fits, is_num, normal_form, between


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
            if c.rep is not EMPTY:
                self.dom |= 1 << i
        self.full = self.dom | self.null_bit
        varying = [t for t in tests if not test_is_const(t)]
        if any(referenced_fields(t) for t in varying):
            self.notes.append("its tests compare with other fields")
        if any(not referenced_fields(t) for t in varying):
            self.notes.append("some of its tests are of a kind the analysis does not model")

    @property
    def gap_dom(self) -> int:
        """The present values a gap may be claimed in (cells known to be reachable)."""
        return self.dom & ~self.unknown

    def make_derived(self, book: Book, fields: set):
        """Solve, for each cell, field values that give the expression that value."""
        from decide.runtime.reference import eval_expr
        self.derived = True
        for i, c in enumerate(self.cells[:-1]):
            if c.rep is EMPTY:
                continue
            env = solve_field(self.col.expr, c.rep, fields, book)
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
        consts = [normal_form(t, v) for v in consts if fits(t, v) or (t is Type.INTEGER and is_num(v))]
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
            other = between_text(None, None, avoid=set(vals))
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
                if v is not UNKNOWN and v is not None and (fits(t, v) or is_num(v)):
                    pts.add(normal_form(t, v) if fits(t, normal_form(t, v)) else v)
        try:
            pts = sorted(pts)
        except TypeError:
            pts = sorted(pts, key=repr)
        cells = []
        prev = None
        for p in pts:
            cells.append(Cell("open", between(t, prev, p), prev, p))
            rep = normal_form(t, p) if fits(t, p) else EMPTY
            self.pos[p] = len(cells)
            cells.append(Cell("point", rep))
            prev = p
        cells.append(Cell("open", between(t, prev, None), prev, None))
        if isinstance(self.allowed, RangeTest):
            for c in cells:
                if c.rep is not EMPTY and not in_allowed(c.rep, self.allowed):
                    c.rep = EMPTY
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
            if c.rep is EMPTY:
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
        return _OrderedMasks(self).visit(test)

    def _index(self, v):
        if v is None or v is UNKNOWN:
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
                if not (m >> i) & 1 or self.cells[i].rep is EMPTY:
                    i += 1
                    continue
                j = i
                while j + 1 < n and ((m >> (j + 1)) & 1 or self.cells[j + 1].rep is EMPTY):
                    j += 1
                while self.cells[j].rep is EMPTY:
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
            if self.cells[i].rep is EMPTY:
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


class _OrderedMasks(Visitor):
    """(true, unknown, null) cell masks of a test on an ordered variable: interval
    arithmetic on the cells for literal tests, a cell-by-cell scan through the
    reference for any other constant test, everything unknown for the rest."""

    def __init__(self, var: Variable):
        self.var = var

    def AnyTest(self, test):
        return self.var.dom, 0, 0

    def NullTest(self, test):
        return 0, 0, 0

    def OrTests(self, test):
        t = u = n = 0
        for x in test.tests:
            a, b, c = self.visit(x)
            t |= a
            u |= b
            n |= c
        u &= ~t
        n &= ~(t | u)
        return t, u, n

    def NotTests(self, test):
        t, u, n = self.OrTests(test)
        return self.var.dom & ~(t | u | n), u, n

    def CompareTest(self, test):
        var = self.var
        if not test_is_const(test):
            return 0, var.dom, 0
        i = var._index(const_value(test.value))
        if i is None:
            return var._scan(test)
        dom = var.dom
        if test.op == "=":
            return (1 << i) & dom, 0, 0
        if test.op == "<":
            return var._below(i), 0, 0
        if test.op == "<=":
            return var._upto(i), 0, 0
        if test.op == ">":
            return dom & ~var._upto(i), 0, 0
        if test.op == ">=":
            return dom & ~var._below(i), 0, 0
        return var._scan(test)

    def RangeTest(self, test):
        var = self.var
        if not test_is_const(test):
            return 0, var.dom, 0
        i, j = var._index(const_value(test.low)), var._index(const_value(test.high))
        if i is None or j is None:
            return var._scan(test)
        m = (var._upto(j) if test.high_closed else var._below(j))
        m &= ~(var._below(i) if test.low_closed else var._upto(i))
        return m & var.dom, 0, 0

    def __default__(self, test):
        if not test_is_const(test):
            return 0, self.var.dom, 0
        return self.var._scan(test)


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
        ref = field_reference(table, key, idxs, groups, book, tests)
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
            derived = derivable(table, key, col, groups, book)
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
