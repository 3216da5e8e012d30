"""IR → durable_rules rulesets (plain dicts), and the encoders that turn a case's
typed values into the integers those rulesets compare.

Why integers.  durable_rules 2.0.28 has no date, decimal or version type, compares
mixed types as strings (``"abc" > 9`` matches, ``true == 1`` matches) and compares
numbers as doubles.  So nothing typed ever reaches durable: every value a table tests
is replaced by its *code*, an integer that orders exactly like the value among the
constants of the cells (``engine.reference`` semantics, Python comparisons):

- the sorted distinct literals tested against a value are ``c0 < c1 < … < cn-1``;
  a value equal to ``ci`` gets the static code ``2i+1``, a value strictly between
  ``ci-1`` and ``ci`` gets ``2i`` (so ``< ci``, ``= ci``, ``[ci..cj)`` are integer tests);
- values compared with each other (``> available_limit_yen``) share one codebook (a
  *group*); values of a group that fall in the same gap are told apart by their rank
  among the case's values: ``code = static * K + rank`` (K = group size + 1).  The
  map is strictly monotone on the values of one case, so field references compare
  exactly too;
- a ``text list`` column gets a presence key and one 0/1 key per text its cells test;
- null is an absent key (durable's ``$nex``); a JSON null is never sent (``$ex``
  matches it).

A cell operator this compiler has no rule for (any new kind of unary test) is
computed in Python like an input expression: its term is the reference's verdict
``x in (test)`` on the column's value (False < True, null absent), so it runs here
with no change to this module.

Each cell compiles to two conditions, *true* and *false*, so that FEEL's three-valued
``not(...)`` and ``or`` are exact: ``not(t)`` is true when every ``t`` is false.
Literal-only cells reduce to one set of integer intervals per key, emitted as
disjoint alternatives (durable fires a rule twice when two alternatives of an
``$or`` match; the runtime also ignores a second firing).

Limits of durable's Rete (rete.c / events.c, measured): an alpha node with 512
children hangs ``post()`` forever; more than 64 alpha nodes pending while one message
is matched fails with error 303; more than 256 rules ending on one alpha node, more
than 128 absence children of one node, 32 and/or markers in one rule, 4,096 rules in
one ruleset and 255 properties in one message are errors.  ``plan_parts`` models the
alpha network of each ruleset and splits a table into several rulesets (parts,
chained in rule order, each ending with a finaliser rule) until every part is within
the limits; what cannot be split (one rule beyond a limit, too many keys) is a
``WorkbookError`` naming the table and the rule.

Large tables keyed by equality tests (a code column of 2,000 merchants) are also
*indexed*: the rules are grouped by the key's code into rulesets of at most
``BUCKET_RULES`` rules, and a fact visits only the ruleset(s) of its own code, then
the rules that do not test the key by equality.  durable still evaluates every test
of every rule it sees; the index only decides which rulesets see the fact (durable's
cost per decision grows with the rules of every ruleset visited).

Hit policies: a policy whose first match wins in an order known before the case
(``Policy.order``: FIRST, and PRIORITY when every output cell is a literal) is
*posted* as events with ``pri`` = firing order, so durable fires only the first
match; every other policy (and indexed tables) is *asserted* as a fact, every match
fires in ``pri`` order, and the table's finaliser applies the policy's ``finalize``
exactly as ``engine.reference`` does (UNIQUE/ANY errors, output order, aggregators).
"""
from __future__ import annotations

import bisect
import json
from dataclasses import dataclass, field
from typing import Any, Optional

from decide.model.errors import Diagnostic, WorkbookError
from decide.model.ir import Aggregator, Book, InTests, Literal, Name, Table, Type
from decide.model.walk import Visitor

# Margins below durable's hard limits.
MAX_CHILDREN = 480  # alpha children of one node (512 hangs)
MAX_NEX_CHILDREN = 120  # absence children of one node (128 is error 107)
MAX_BETAS = 240  # rules ending on one alpha node (256 is error 108)
MAX_STACK = 56  # alpha nodes pending while matching (64 is error 303)
MAX_MARKERS = 30  # $and/$or markers in one rule (32 is error 113)
MAX_RULES = 4000  # rules in one ruleset (4,096)
PART_RULES = MAX_RULES  # rules per part (the tests lower it to exercise chained parts)
MAX_KEYS = 240  # properties of one message (255, sid and id included)
DISCRIMINATOR = "T"  # every rule tests T == 1: no rule is absence-only

INF = float("inf")


class Unsupported(Exception):
    """A cell this compiler cannot express in durable (the message says which)."""


# --------------------------------------------------------------------------- integer sets
def _norm(ivs):
    """Sorted, merged half-open integer intervals [a, b)."""
    ivs = sorted((a, b) for a, b in ivs if a < b)
    out = []
    for a, b in ivs:
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return tuple(out)


def _inter(x, y):
    out = []
    for a, b in x:
        for c, d in y:
            lo, hi = max(a, c), min(b, d)
            if lo < hi:
                out.append((lo, hi))
    return _norm(out)


def _compl(x):
    out, lo = [], -INF
    for a, b in x:
        if lo < a:
            out.append((lo, a))
        lo = b
    if lo < INF:
        out.append((lo, INF))
    return _norm(out)


ALL = ((-INF, INF),)


# --------------------------------------------------------------------------- conditions
# A condition is a tuple:  ("T",) true  ("F",) false  ("ex", key)  ("nex", key)
# ("in", key, intervals)  ("cmp", op, key, key2)  ("and", items)  ("or", items)
TRUE, FALSE = ("T",), ("F",)


def _and(items):
    flat = []
    for c in items:
        if c == FALSE:
            return FALSE
        if c == TRUE:
            continue
        flat.extend(c[1] if c[0] == "and" else [c])
    # intersect interval sets on the same key; ex is implied by in
    sets, rest = {}, []
    for c in flat:
        if c[0] == "in":
            sets[c[1]] = _inter(sets[c[1]], c[2]) if c[1] in sets else c[2]
        elif c[0] == "ex":
            sets[c[1]] = sets.get(c[1], ALL)
        else:
            rest.append(c)
    out = []
    for k, s in sets.items():
        if not s:
            return FALSE
        if ("nex", k) in rest:
            return FALSE
        out.append(("in", k, s) if s != ALL else ("ex", k))
    out.extend(dict.fromkeys(rest))
    if not out:
        return TRUE
    return out[0] if len(out) == 1 else ("and", tuple(out))


def _or(items):
    flat = []
    for c in items:
        if c == TRUE:
            return TRUE
        if c == FALSE:
            continue
        flat.extend(c[1] if c[0] == "or" else [c])
    sets, rest = {}, []
    for c in flat:
        if c[0] == "in":
            sets[c[1]] = _norm(sets.get(c[1], ()) + c[2])
        elif c[0] == "ex":
            sets[c[1]] = ALL
        else:
            rest.append(c)
    out = []
    for k, s in sets.items():
        if ("nex", k) in rest and s == ALL:
            return TRUE
        out.append(("in", k, s) if s != ALL else ("ex", k))
    out.extend(dict.fromkeys(rest))
    if not out:
        return FALSE
    return out[0] if len(out) == 1 else ("or", tuple(out))


def fnv1a(name: str) -> int:
    """durable_rules' property-name hash (32-bit FNV-1a over the UTF-8 bytes)."""
    h = 0x811C9DC5
    for b in name.encode():
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h


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
            return _or([("nex", k), ("in", k, _compl(t[2]))]), t
        if op not in ("=", "<", "<=", ">", ">="):
            raise Unsupported(f"the operator {op}")
        if term.listy:
            if op != "=":  # reference: ordering a tuple against a text is null
                return FALSE, FALSE
            if operand.value is None:
                return FALSE, TRUE
            m = term.members[operand.value]
            return ("in", m, ((1, 2),)), _or([("nex", k), ("in", m, ((0, 1),))])
        if _literal(operand):
            v = operand.value
            if v is None:  # = null is false, < null is null
                return (FALSE, TRUE) if op == "=" else (FALSE, FALSE)
            g = self.groups[self.find(i)]
            c = g.const_code(v)
            s = {"=": ((c, c + 1),), "<": ((-INF, c),), "<=": ((-INF, c + 1),),
                 ">": ((c + 1, INF),), ">=": ((c, INF),)}[op]
            true = ("in", k, s)
            false = ("in", k, _compl(s))
            if op == "=":
                false = _or([("nex", k), false])
            return true, false
        j = self.by_expr[_expr_key(operand)]
        k2 = self.terms[j].key
        both = [("ex", k), ("ex", k2)]
        true = _and(both + [("cmp", op, k, k2)])
        neg = {"=": "!=", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}[op]
        false = _and(both + [("cmp", neg, k, k2)])
        if op == "=":
            false = _or([("nex", k), ("nex", k2), false])
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
            conds.append(_and([self.tf(e.test, cols[j])[0] for j, e in enumerate(r.inputs)]))
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
            return _and([("nex", k), ("nex", kx)]), _or([("ex", k), ("ex", kx)])
        return ("nex", k), ("ex", k)

    def OrTests(self, test, i):
        parts = [self.visit(s, i) for s in test.tests]
        return _or([p[0] for p in parts]), _and([p[1] for p in parts])

    def NotTests(self, test, i):
        parts = [self.visit(s, i) for s in test.tests]
        return _and([p[1] for p in parts]), _or([p[0] for p in parts])

    def CompareTest(self, test, i):
        return self.tc.compare(test.op, test.value, i)

    def RangeTest(self, test, i):
        lo = self.tc.compare(">=" if test.low_closed else ">", test.low, i)
        hi = self.tc.compare("<=" if test.high_closed else "<", test.high, i)
        return _and([lo[0], hi[0]]), _or([lo[1], hi[1]])

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


# --------------------------------------------------------------------------- durable JSON
def _interval(k, a, b):
    if a == -INF and b == INF:
        return [{"$ex": {k: 1}}]
    if b == a + 1:
        return [{k: int(a)}]
    if a == -INF:
        return [{"$lt": {k: int(b)}}]
    if b == INF:
        return [{"$gte": {k: int(a)}}]
    return [{"$gte": {k: int(a)}}, {"$lt": {k: int(b)}}]


_OPS = {"=": "$eq", "!=": "$neq", "<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte"}


def _steps(c) -> list:
    """A condition → the list of tests of one ``$and`` (durable's alpha chain)."""
    kind = c[0]
    if kind == "T":
        return []
    if kind == "ex":
        return [{"$ex": {c[1]: 1}}]
    if kind == "nex":
        return [{"$nex": {c[1]: 1}}]
    if kind == "in":
        alts = [_interval(c[1], a, b) for a, b in c[2]]
        if len(alts) == 1:
            return alts[0]
        return [{"$or": [a[0] if len(a) == 1 else {"$and": a} for a in alts]}]
    if kind == "cmp":
        _, op, k, k2 = c
        if op == "=":
            return [{k: {"$m": k2}}]
        return [{_OPS[op]: {k: {"$m": k2}}}]
    if kind == "and":
        out = []
        for x in c[1]:
            out.extend(_steps(x))
        return out
    if kind == "or":
        alts = []
        for x in c[1]:
            s = _steps(x)
            alts.extend(s[0]["$or"] if len(s) == 1 and "$or" in s[0] else
                        [s[0] if len(s) == 1 else {"$and": s}])
        return [{"$or": alts}]
    raise AssertionError(c)


def rule_condition(c) -> dict:
    """The ``m`` condition of one rule (discriminator first)."""
    return {"$and": [{DISCRIMINATOR: 1}] + _steps(c)}


# --------------------------------------------------------------------------- the limits
def _markers(x) -> int:
    if isinstance(x, dict):
        n = 0
        for k, v in x.items():
            if k in ("$and", "$or"):
                n += 2 + sum(_markers(i) for i in v)
        return n
    return 0


def _atom_span(test):
    """(key, [a, b)) for a literal alpha test, or (key, None) when it may always match."""
    if len(test) != 1:
        return None, None
    (op, body), = test.items()
    if op in ("$ex", "$nex"):
        (k, _), = body.items()
        return k, ALL[0]
    if not op.startswith("$"):
        if isinstance(body, dict):
            return op, None
        return op, (body, body + 1)
    if not isinstance(body, dict) or len(body) != 1:
        return None, None
    (k, v), = body.items()
    if isinstance(v, dict):
        return k, None
    return k, {"$lt": (-INF, v), "$lte": (-INF, v + 1), "$gt": (v + 1, INF), "$gte": (v, INF),
               "$eq": (v, v + 1)}.get(op)


class _Node:
    __slots__ = ("children", "nex", "betas")

    def __init__(self):
        self.children = {}  # json → node (hash set children)
        self.nex = {}  # json → node (absence / forward children)
        self.betas = 0


def _chain(node, tests):
    """Add a sequence of tests below ``node`` as durable does; return the last node."""
    for t in tests:
        if "$or" in t:  # alternatives under node, all leading to one new forward node
            fwd = _Node()
            for alt in t["$or"]:
                end = _chain(node, [alt])
                end.nex[f"fwd{id(fwd)}"] = fwd
            node = fwd
        elif "$and" in t:
            node = _chain(node, t["$and"])
        else:
            s = json.dumps(t, sort_keys=True)
            table = node.nex if "$nex" in t else node.children
            if s not in table:
                table[s] = _Node()
            node = table[s]
    return node


def _model(conds) -> _Node:
    """durable's alpha network for a list of rule conditions (after the discriminator)."""
    root = _Node()
    for steps in conds:
        _chain(root, steps).betas += 1
    root.betas += 1  # the finaliser
    return root


def _overlap(node) -> int:
    """How many children of ``node`` may match one message at once (an upper bound)."""
    spans: dict = {}
    n = len(node.nex)
    for s in node.children:
        k, span = _atom_span(json.loads(s))
        if span is None:
            n += 1
        else:
            spans.setdefault(k, []).append(span)
    for k, lst in spans.items():
        events = sorted([(a, 1) for a, b in lst] + [(b, -1) for a, b in lst], key=lambda e: (e[0], e[1]))
        cur = best = 0
        for _, d in events:
            cur += d
            best = max(best, cur)
        n += best
    return n


def part_problem(conds) -> Optional[str]:
    """Why these rule conditions cannot share one durable ruleset, or None."""
    if len(conds) + 1 > MAX_RULES:
        return f"more than {MAX_RULES} rules"
    if len(conds) > PART_RULES:
        return f"more than {PART_RULES} rules"
    for steps in conds:
        if _markers({"$and": steps}) + 2 > MAX_MARKERS:
            return "too many alternatives ($or) in one rule"
    root = _model(conds)
    memo = {}

    def walk(node, depth=0):
        if id(node) in memo:
            return memo[id(node)]
        if len(node.children) > MAX_CHILDREN:
            raise _Limit(f"{len(node.children)} different tests at one point of the rule network")
        if len(node.nex) > MAX_NEX_CHILDREN:
            raise _Limit(f"{len(node.nex)} absence tests at one point of the rule network")
        if node.betas > MAX_BETAS:
            raise _Limit(f"{node.betas} rules with the same tests")
        below = [walk(c, depth + 1) for c in list(node.children.values()) + list(node.nex.values())]
        b = _overlap(node) + (max(below) if below else 0)
        memo[id(node)] = b
        return b

    try:
        if walk(root) > MAX_STACK:
            return "too many tests that may match at once"
    except _Limit as e:
        return str(e)
    except RecursionError:
        return "rules too deep"
    return None


class _Limit(Exception):
    pass


# --------------------------------------------------------------------------- parts
@dataclass
class Part:
    """One durable ruleset: a contiguous run (in firing order) of a table's rules."""

    rules: list  # rule indexes, in pri order
    conds: list  # durable "m" condition per rule


@dataclass
class CompiledTable:
    code: TableCode
    mode: str  # "post" (first match wins) or "assert" (every match fires)
    order: list  # rule indexes in firing order (matching rules only)
    parts: list  # Part
    # A large table keyed by equality tests is indexed: the fact visits only the
    # parts whose rules test its key's code (``buckets``), then ``wild`` (the rules
    # that do not test the key with an equality).  None: every part, in order.
    index_key: Optional[str] = None
    buckets: dict = field(default_factory=dict)  # code → part indexes
    wild: tuple = ()


def static_order(book: Book, t: Table):
    """The order in which the table's hit policy tries its rules when the first match
    wins and that order is known before the case (FIRST; PRIORITY when every output
    cell is a literal), else None."""
    if t.hit_policy.order is None:
        return None
    from decide.runtime.reference import rule_outputs
    literal = all(isinstance(o.expr, Literal) for r in t.rules for o in r.outputs)
    outputs = [rule_outputs(t, r.index, {}) for r in t.rules] if literal else None
    return t.hit_policy.order(book, t, outputs)


def plan_parts(steps_by_rule: list, order: list) -> list:
    """Split rules (in firing order) into parts durable can run; raise _PartError."""
    conds = [steps_by_rule[i] for i in order]
    problem = part_problem(conds)
    if problem is None:
        return [order]
    if len(order) == 1:
        raise _PartError(order[0], problem)
    mid = len(order) // 2
    return plan_parts(steps_by_rule, order[:mid]) + plan_parts(steps_by_rule, order[mid:])


class _PartError(Exception):
    def __init__(self, rule, problem):
        self.rule, self.problem = rule, problem


INDEX_MIN_RULES = 48  # a table with more rules than this may be indexed
BUCKET_RULES = 24  # rules per indexed part


def _points(cond, key):
    """The codes ``key`` must equal for ``cond`` to hold, or None when not a finite set."""
    items = cond[1] if cond[0] == "and" else (cond,)
    for c in items:
        if c[0] == "in" and c[1] == key and all(b == a + 1 for a, b in c[2]):
            return [int(a) for a, _ in c[2]]
    return None


def _choose_key(code: TableCode, order):
    """The column key that most rules test with equality, when indexing pays."""
    if len(order) <= INDEX_MIN_RULES:
        return None
    best, best_n = None, 0
    for term in code.terms:
        if term.listy:
            continue
        n = sum(1 for i in order if _points(code.conds[i], term.key) is not None)
        if n > best_n:
            best, best_n = term.key, n
    return best if best_n >= max(INDEX_MIN_RULES, len(order) // 2) else None


def compile_for_durable(book: Book, t: Table) -> CompiledTable:
    """Raise WorkbookError (naming the table) when a limit cannot be compiled around."""

    def fail(msg, loc=None):
        raise WorkbookError([Diagnostic("E901", "error", loc or t.loc,
                                        f"table {t.name} cannot run on the durable_rules engine: {msg}")])

    try:
        code = compile_table(t, counted_fields(book))
    except Unsupported as e:
        fail(str(e))
    if code.keys + 3 > MAX_KEYS:
        fail(f"it tests {code.keys} values; durable_rules matches at most {MAX_KEYS} per message "
             "(split the table)")
    mode, order = "assert", list(range(len(t.rules)))
    first_wins = static_order(book, t)
    if first_wins is not None:
        mode, order = "post", first_wins
    order = [i for i in order if code.conds[i] != FALSE]
    steps = {i: _steps(code.conds[i]) for i in order}
    key = _choose_key(code, order)

    def split(rules):
        try:
            return plan_parts(steps, rules) if rules else []
        except _PartError as e:
            fail(f"rule {t.rules[e.rule].id}: {e.problem}", t.rules[e.rule].loc)

    def make(groups):
        return [Part(g, [{"$and": [{DISCRIMINATOR: 1}] + steps[i]} for i in g]) for g in groups]

    if key is None:
        parts = make(split(order)) or [Part([], [])]
        return CompiledTable(code, mode, order, parts)
    # indexed: every match fires (assert), the hit policy picks among them
    by_code: dict = {}
    wild = []
    for i in order:
        pts = _points(code.conds[i], key)
        if pts is None:
            wild.append(i)
        else:
            for p in pts:
                by_code.setdefault(p, []).append(i)
    parts, buckets = [], {}
    pending_codes, pending = [], []

    def flush():
        if pending:
            rules = sorted(set(pending))
            first = len(parts)
            parts.extend(make(split(rules)))
            for c in pending_codes:
                buckets[c] = tuple(range(first, len(parts)))
            pending_codes.clear()
            pending.clear()

    for c in sorted(by_code):
        if pending and len(pending) + len(by_code[c]) > BUCKET_RULES:
            flush()
        pending_codes.append(c)
        pending.extend(by_code[c])
    flush()
    first = len(parts)
    parts.extend(make(split(wild)) or [Part([], [])])
    return CompiledTable(code, "assert", order, parts, key, buckets, tuple(range(first, len(parts))))
