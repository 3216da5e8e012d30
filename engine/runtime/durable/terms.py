"""A table's cells as terms over integer-coded keys: each cell compiles to a *true*
and a *false* condition (FEEL's three-valued tests), literal values and field
references sharing codebooks (groups)."""
from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any, Optional

from decide.model.ir import Aggregator, Book, InTests, Literal, Name, Table, Type
from decide.model.walk import Visitor
from decide.runtime.durable.conditions import FALSE, INF, TRUE, Unsupported, cond_and, cond_not, cond_or, fnv1a
from decide.runtime.durable.rulejson import DISCRIMINATOR

# --------------------------------------------------------------------------- terms
@dataclass
class Term:
    """A value that a table's rules test: an input column's expression or a
    non-literal operand of a test (``> available_limit_yen``)."""

    key: str
    expr: Any
    name: Optional[str]  # the field, when expr is a plain field
    listy: bool = False  # a text list: presence key + one 0/1 key per tested text
    members: dict = field(default_factory=dict)  # text → key (listy)
    group: int = -1
    # A field produced by a C# table holds a count even when declared otherwise: a
    # value of another type than the cells' is sent as mix_key = 1 (not null, equal
    # to nothing, ordered with nothing), as the reference's comparisons say.
    mix_key: Optional[str] = None


@dataclass
class Group:
    terms: list  # Term
    consts: list = field(default_factory=list)  # sorted distinct literals
    index: dict = field(default_factory=dict)  # literal → static code
    K: int = 1

    def static(self, v) -> int:
        c = self.index.get(v)
        if c is not None:
            return c
        i = bisect.bisect_left(self.consts, v)
        if i < len(self.consts) and self.consts[i] == v:
            return 2 * i + 1
        return 2 * i

    def const_code(self, v) -> int:
        return self.static(v) * self.K


@dataclass
class TableCode:
    """A table compiled for durable: its terms, groups and one condition per rule."""

    table: Table
    terms: list  # Term, in key order
    groups: list  # Group
    conds: list  # per rule: condition tuple (FALSE: never matches)
    keys: int  # properties of the table's fact (besides sid and T)


def _literal(e):
    return isinstance(e, Literal)


def _expr_key(e):
    return repr(e)


class _TableCompiler:
    def __init__(self, t: Table, counted=frozenset()):
        self.t = t
        self.counted = counted
        self.terms: list[Term] = []
        self.by_expr: dict = {}
        self.parent: dict = {}  # union-find over term index
        self.consts: dict = {}  # term index → set of literals

    # ---- terms and groups
    def term(self, expr, listy=False) -> int:
        k = _expr_key(expr)
        if k not in self.by_expr:
            i = len(self.terms)
            self.by_expr[k] = i
            name = expr.name if isinstance(expr, Name) else None
            self.terms.append(Term(f"k{i}", expr, name, listy,
                                   mix_key=f"k{i}x" if name in self.counted else None))
            self.parent[i] = i
            self.consts[i] = set()
        i = self.by_expr[k]
        if listy:
            self.terms[i].listy = True
        return i

    def find(self, i):
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, i, j):
        a, b = self.find(i), self.find(j)
        if a != b:
            self.parent[b] = a

    def scan(self, test, i):
        """First pass: collect literals per term and field-reference links."""
        _Scan(self).visit(test, i)

    def scan_operand(self, e, i):
        if _literal(e):
            if e.value is not None:
                if self.terms[i].listy:
                    if not isinstance(e.value, str):
                        raise Unsupported("a text list column tested against a non-text value")
                    mem = self.terms[i].members
                    mem.setdefault(e.value, f"{self.terms[i].key}_{len(mem)}")
                else:
                    self.consts[i].add(e.value)
            return
        if self.terms[i].listy:
            raise Unsupported("a text list column tested against a field")
        j = self.term(e)
        self.union(i, j)

    # ---- cells → (true, false) conditions
    def tf(self, test, i):
        return _Conditions(self).visit(test, i)

    def computed(self, test, i) -> int:
        """The term of a test this compiler has no rule for: its verdict on the column's
        value (False < True; null is an absent key), computed in Python by the reference
        (``x in (test)``) when the fact is built, as for an input expression."""
        return self.term(InTests(self.terms[i].expr, test))

    def compare(self, op, operand, i):
        term = self.terms[i]
        k = term.key
        if op == "!=":  # not a unary-test operator, but the reference defines it
            if not _literal(operand) or term.listy:
                raise Unsupported("a != test against a field or a text list")
            if operand.value is None:
                return ("ex", k), ("nex", k)
            t, f = self.compare("=", operand, i)
            return cond_or([("nex", k), ("in", k, cond_not(t[2]))]), t
        if op not in ("=", "<", "<=", ">", ">="):
            raise Unsupported(f"the operator {op}")
        if term.listy:
            if op != "=":  # reference: ordering a tuple against a text is null
                return FALSE, FALSE
            if operand.value is None:
                return FALSE, TRUE
            m = term.members[operand.value]
            return ("in", m, ((1, 2),)), cond_or([("nex", k), ("in", m, ((0, 1),))])
        if _literal(operand):
            v = operand.value
            if v is None:  # = null is false, < null is null
                return (FALSE, TRUE) if op == "=" else (FALSE, FALSE)
            g = self.groups[self.find(i)]
            c = g.const_code(v)
            s = {"=": ((c, c + 1),), "<": ((-INF, c),), "<=": ((-INF, c + 1),),
                 ">": ((c + 1, INF),), ">=": ((c, INF),)}[op]
            true = ("in", k, s)
            false = ("in", k, cond_not(s))
            if op == "=":
                false = cond_or([("nex", k), false])
            return true, false
        j = self.by_expr[_expr_key(operand)]
        k2 = self.terms[j].key
        both = [("ex", k), ("ex", k2)]
        true = cond_and(both + [("cmp", op, k, k2)])
        neg = {"=": "!=", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}[op]
        false = cond_and(both + [("cmp", neg, k, k2)])
        if op == "=":
            false = cond_or([("nex", k), ("nex", k2), false])
        return true, false

    def compile(self) -> TableCode:
        t = self.t
        cols = [self.term(c.expr, listy=(c.type is Type.TEXT_LIST)) for c in t.inputs]
        for r in t.rules:
            for j, e in enumerate(r.inputs):
                self.scan(e.test, cols[j])
        roots: dict = {}
        for i in range(len(self.terms)):
            roots.setdefault(self.find(i), []).append(i)
        self.groups = {}
        for root, members in roots.items():
            consts = set()
            for i in members:
                consts |= self.consts[i]
            try:
                ordered = sorted(consts)
            except TypeError:
                raise Unsupported("values of different types are compared with each other") from None
            g = Group([self.terms[i] for i in members], ordered,
                      {v: 2 * n + 1 for n, v in enumerate(ordered)},
                      len(members) + 1 if len(members) > 1 else 1)
            self.groups[root] = g
        group_list = list(self.groups.values())
        for n, g in enumerate(group_list):
            for term in g.terms:
                term.group = n
        conds = []
        for r in t.rules:
            conds.append(cond_and([self.tf(e.test, cols[j])[0] for j, e in enumerate(r.inputs)]))
        keys = sum(1 + len(x.members) + (x.mix_key is not None) for x in self.terms)
        names = [DISCRIMINATOR, "sid", "id", "$s"]
        for x in self.terms:
            names += [x.key, *x.members.values()] + ([x.mix_key] if x.mix_key else [])
        if len({fnv1a(n) for n in names}) != len(names):  # durable knows properties by hash only
            raise Unsupported("two of its generated property names collide in durable_rules' hash")
        return TableCode(t, self.terms, group_list, conds, keys)


class _Scan(Visitor):
    """First pass over a cell: the literals of each term, the terms compared together."""

    def __init__(self, tc: _TableCompiler):
        self.tc = tc

    def AnyTest(self, test, i):
        pass

    NullTest = AnyTest

    def CompareTest(self, test, i):
        self.tc.scan_operand(test.value, i)

    def RangeTest(self, test, i):
        self.tc.scan_operand(test.low, i)
        self.tc.scan_operand(test.high, i)

    def OrTests(self, test, i):
        for s in test.tests:
            self.visit(s, i)

    NotTests = OrTests

    def __default__(self, test, i):
        self.tc.consts[self.tc.computed(test, i)] |= {False, True}


class _Conditions(Visitor):
    """A cell → its (true, false) conditions on the table's keys."""

    def __init__(self, tc: _TableCompiler):
        self.tc = tc

    def AnyTest(self, test, i):
        return TRUE, FALSE

    def NullTest(self, test, i):
        term = self.tc.terms[i]
        k = term.key
        if term.mix_key:
            kx = term.mix_key
            return cond_and([("nex", k), ("nex", kx)]), cond_or([("ex", k), ("ex", kx)])
        return ("nex", k), ("ex", k)

    def OrTests(self, test, i):
        parts = [self.visit(s, i) for s in test.tests]
        return cond_or([p[0] for p in parts]), cond_and([p[1] for p in parts])

    def NotTests(self, test, i):
        parts = [self.visit(s, i) for s in test.tests]
        return cond_and([p[1] for p in parts]), cond_or([p[0] for p in parts])

    def CompareTest(self, test, i):
        return self.tc.compare(test.op, test.value, i)

    def RangeTest(self, test, i):
        lo = self.tc.compare(">=" if test.low_closed else ">", test.low, i)
        hi = self.tc.compare("<=" if test.high_closed else "<", test.high, i)
        return cond_and([lo[0], hi[0]]), cond_or([lo[1], hi[1]])

    def __default__(self, test, i):
        tc = self.tc
        j = tc.computed(test, i)
        term, g = tc.terms[j], tc.groups[tc.find(j)]
        yes, no = g.const_code(True), g.const_code(False)
        return ("in", term.key, ((yes, yes + 1),)), ("in", term.key, ((no, no + 1),))


def compile_table(t: Table, counted=frozenset()) -> TableCode:
    return _TableCompiler(t, counted).compile()


def counted_fields(book: Book) -> frozenset:
    """Fields produced by C# (count) tables."""
    return frozenset(f for t in book.tables.values() if t.aggregator is Aggregator.COUNT
                     for f in t.output_fields)
