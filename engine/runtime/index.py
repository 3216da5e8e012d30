"""Indexes of large decision tables: which rules a case can match, without testing all.

The native runtime (``native.py``) asks ``choose_index`` for a table over
``SMALL_TABLE`` rules and emits the lookup ``emit_lookup`` writes.  Three kinds:

- ``eq``: one column of equality tests, a dict key → candidate rules (wildcards in
  every entry);
- ``range``: one ordered column, a bisect over the sorted literals of its tests to
  an elementary slot (a literal or the gap below it), slot → candidate rules; under
  FIRST a slot's list stops after a rule that surely fires there;
- ``multi``: every indexable column at once (``Multi``), for tables no single column
  selects (negated and open ranges beside another column, several partly-wildcard
  columns, keys on different columns).  Rules are grouped by the columns they
  constrain (their *signature*); in a group, each column maps its slot to the set of
  the group's rules that pass there, kept as sorted runs of rule positions, and the
  groups' sets are intersected by leapfrogging (each column in turn moves to its next
  passing rule at or after the others' candidate, by bisect, until all agree).  The
  first match is found in a few bisects whatever the table's size; under a
  multi-hit policy every match comes out run by run.  The index is exact on its
  columns: a rule whose every test there is a literal test (and no other column
  tests) needs no test of its own.

Each slot of a column is exact: a non-null value in slot ``2k+1`` equals the k-th
sorted literal, in slot ``2k`` lies strictly between the (k-1)-th and the k-th, so
every literal test has one verdict per slot; null has a slot of its own (``-1``).
Every index has a budget (``INDEX_BUDGET`` entries); a table over it falls back to a
flat loop, never to an error.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from typing import Any

from decide.compile.resolve import literal_values, referenced_fields
from decide.model.ir import AnyTest, CompareTest, HitPolicy, Literal, NullTest, OrTests, RangeTest, Table, Type
from decide.model.walk import Visitor
from decide.runtime import reference as ref

INDEX_BUDGET = 2_000_000  # candidate entries an eq/range index may hold
MULTI_BUDGET = 8_000_000  # run boundaries and slot pointers a multi index may hold
MAX_GROUPS = 12  # signatures a multi index keeps apart; rarer ones share a coarser group
RANGE_PENALTY = 1.5  # a bisect costs about as much as testing one or two candidates more than a dict
GOOD_COST = 3  # a single-column index with at most this many candidates per case is kept
INDEXED_TYPES = (Type.NUMBER, Type.INTEGER, Type.DATE, Type.VERSION, Type.TEXT, Type.BOOLEAN)
DENSE_LIMIT = 4_000_000  # integers a direct slot table may span
DENSE_FACTOR = 16  # … and at most this many per point
FORCE: str | None = None  # tests: "multi" builds the multi index whenever it can


# --------------------------------------------------------------------------- single-column
def eq_keys(test):
    """The literal keys an equality-only test matches, or None when it is not one."""
    if isinstance(test, CompareTest) and test.op == "=" and isinstance(test.value, Literal):
        return [test.value.value]
    if isinstance(test, OrTests) and all(isinstance(s, CompareTest) and s.op == "=" and
                                         isinstance(s.value, Literal) for s in test.tests):
        return [s.value.value for s in test.tests]
    return None


def eq_skips(index, rule) -> int | None:
    """The column an equality index already decided for this rule (its test is skipped)."""
    kind, j, _ = index
    return j if kind == "eq" and eq_keys(rule.inputs[j].test) is not None else None


def _eq_index(t: Table, j: int, budget: int = INDEX_BUDGET):
    keys: dict[Any, list[int]] = {}
    wild: list[int] = []
    for r in t.rules:
        ks = eq_keys(r.inputs[j].test)
        if ks is None:
            wild.append(r.index)
        else:
            for key in ks:
                keys.setdefault(key, []).append(r.index)
    if not keys:
        return None
    size = sum(len(v) for v in keys.values()) + len(keys) * len(wild)
    if size > budget:
        return None
    table = {key: tuple(sorted(set(v) | set(wild))) for key, v in keys.items()}
    cost = max(len(wild), sum(len(v) for v in table.values()) / len(table))
    return cost, ("eq", j, (table, tuple(wild)))


class _Slots(Visitor):
    """The elementary slots (2k+1 = point k, 2k = the gap below it) a literal test
    matches, among the ``n`` sorted points at ``pos``, as a list of ranges; exact: a
    non-null value in one of them passes the test, any other fails it.  None: not
    indexable (the test may pass in any slot).  ``null=True``: ``null`` is a test
    that no non-null value passes (else it is not indexable)."""

    def CompareTest(self, test, pos: dict, n: int, null=False):
        if not isinstance(test.value, Literal) or test.value.value is None:
            return None
        k = pos[test.value.value]
        return [{"=": range(2 * k + 1, 2 * k + 2), "<": range(0, 2 * k + 1), "<=": range(0, 2 * k + 2),
                 ">": range(2 * k + 2, 2 * n + 1), ">=": range(2 * k + 1, 2 * n + 1)}[test.op]]

    def RangeTest(self, test, pos: dict, n: int, null=False):
        if not (isinstance(test.low, Literal) and isinstance(test.high, Literal)) \
                or test.low.value is None or test.high.value is None:
            return None
        a, b = pos[test.low.value], pos[test.high.value]
        return [range(2 * a + 1 if test.low_closed else 2 * a + 2, (2 * b + 2) if test.high_closed else 2 * b + 1)]

    def NullTest(self, test, pos: dict, n: int, null=False):
        return [] if null else None

    def OrTests(self, test, pos: dict, n: int, null=False):
        parts = [self.visit(s, pos, n, null) for s in test.tests]
        if any(p is None for p in parts):
            return None
        return _merge([r for p in parts for r in p])

    def NotTests(self, test, pos: dict, n: int, null=False):
        inner = self.OrTests(test, pos, n, null)
        if inner is None:
            return None
        out, at = [], 0
        for r in inner:
            if r.start > at:
                out.append(range(at, r.start))
            at = max(at, r.stop)
        if at < 2 * n + 1:
            out.append(range(at, 2 * n + 1))
        return out

    def __default__(self, test, pos: dict, n: int, null=False):
        return None


def _merge(ranges):
    out: list[range] = []
    for r in sorted((r for r in ranges if len(r)), key=lambda r: r.start):
        if out and r.start <= out[-1].stop:
            out[-1] = range(out[-1].start, max(out[-1].stop, r.stop))
        else:
            out.append(r)
    return out


_slots_of = _Slots().visit


def _range_index(t: Table, j: int, budget: int = INDEX_BUDGET):
    col = t.inputs[j]
    if col.type not in (Type.NUMBER, Type.INTEGER, Type.DATE, Type.VERSION, Type.TEXT):
        return None
    pts: set = set()
    for r in t.rules:
        pts |= literal_values(r.inputs[j].test)
    if not pts:
        return None
    try:
        points = sorted(pts)
    except TypeError:
        return None
    pos = {p: i for i, p in enumerate(points)}
    n = len(points)
    size = 2 * n + 1
    budget = size * GOOD_COST + len(t.rules) if budget < 0 else budget
    slots: list[list[int]] = [[] for _ in range(size)]
    none: list[int] = []
    none_open = True
    # Under FIRST a slot is closed by a rule that surely fires there (its only test is
    # this column's, exact on the slot, or none at all): later rules never run there.
    # nxt[s] = the first open slot at or after s (path-halving union-find).
    first = t.hit_policy is HitPolicy.FIRST
    nxt = list(range(size + 1))

    def find(s):
        while nxt[s] != s:
            nxt[s] = nxt[nxt[s]]
            s = nxt[s]
        return s

    total = 0
    for r in t.rules:
        test = r.inputs[j].test
        s = _slots_of(test, pos, n)
        others_any = all(isinstance(e.test, AnyTest) for i, e in enumerate(r.inputs) if i != j)
        if s is None:
            s = [range(size)]
            if none_open:
                none.append(r.index)
            decisive = first and others_any and isinstance(test, AnyTest)
            none_open = none_open and not decisive
        else:
            if none_open and not isinstance(test, (CompareTest, RangeTest, OrTests)):
                none.append(r.index)  # null tests, not(...): the null case is left to the test itself
            decisive = first and others_any and not isinstance(test, NullTest)
        for rg in s:
            at = find(rg.start)
            while at < rg.stop:
                slots[at].append(r.index)
                total += 1
                if decisive:
                    nxt[at] = at + 1
                at = find(at + 1)
            if total > budget:
                return None
    cost = max(len(none), total / size) + RANGE_PENALTY
    return cost, ("range", j, (tuple(points), tuple(tuple(s) for s in slots), tuple(none)))


def _plain_columns(t: Table) -> list[int]:
    """The columns no rule tests against another field."""
    return [j for j in range(len(t.inputs)) if not any(referenced_fields(r.inputs[j].test) for r in t.rules)]


def _single(t: Table, plain: list[int], good_only: bool):
    """The cheapest index over one input column, or None.  ``good_only``: only one with
    at most GOOD_COST candidates per slot (building it stops as soon as it cannot be)."""
    best = None
    for j in plain:
        if t.inputs[j].type is Type.TEXT_LIST:
            continue
        budget = -1 if good_only else INDEX_BUDGET
        for cand in (_eq_index(t, j, len(t.rules) * (GOOD_COST + 1) if good_only else INDEX_BUDGET),
                     _range_index(t, j, budget)):
            if cand is not None and (best is None or cand[0] < best[0]):
                best = cand
    return best


def choose_index(t: Table, order: list[int] | None = None):
    """The index for table ``t``: ``(kind, column, data)`` or None when none pays off.

    ``order``: the order in which the first matching rule wins, when the table has one
    fixed by its rows (FIRST: the rows; PRIORITY with literal outputs: by priority);
    only a multi index can take an order other than the rows'."""
    positional = order is not None
    ranked = positional and order != sorted(order)  # PRIORITY: only a multi index finds the winner first
    plain = _plain_columns(t)
    if FORCE != "multi" and not ranked:
        single = _single(t, plain, True)
        if single is not None and single[0] <= GOOD_COST:
            return single[1]
    multi = Multi.build(t, order or list(range(len(t.rules))), plain)
    if multi is not None and (FORCE == "multi" or positional or multi.useful()):
        return ("multi", None, multi)
    single = _single(t, plain, False)
    if single is None or single[0] > len(t.rules) / 2:
        return None
    return single[1]


# --------------------------------------------------------------------------- several columns
class Multi:
    """Every indexable column of a table at once (see the module docstring).

    Rule *positions* (0 … n-1) are the rules in the table's winning order (rows, or
    priority); ``first`` and ``every`` return positions, ``order[p]`` the rule."""

    __slots__ = ("columns", "points", "eq_only", "groups", "order", "exact", "size")

    def __init__(self, columns, points, eq_only, groups, order, exact, size):
        self.columns = columns  # table column of each slot in the case's slot tuple
        self.points = points  # its sorted literals
        self.eq_only = eq_only  # its tests are equalities only: a dict finds the slot
        self.groups = groups  # (positions, ((slot number, slot → runs), …)), by first position
        self.order = order
        self.exact = exact  # position → the index decides the rule (no test of its own)
        self.size = size

    def useful(self) -> bool:
        """More than a flat loop: some group constrains a column."""
        return any(cols for _, cols in self.groups)

    # -- queries
    def first(self, s: tuple, lo: int = 0) -> int:
        """The first position at or after ``lo`` whose rule passes every indexed column
        for slots ``s``, or -1."""
        best = -1
        for gl, cols in self.groups:
            if best >= 0 and gl[0] >= best:
                break
            r = bisect_left(gl, lo) if lo else 0
            if r == len(gl):
                continue
            if cols:
                r = leap([tab[s[c]] for c, tab in cols], r)
                if r < 0:
                    continue
            p = gl[r]
            if best < 0 or p < best:
                best = p
        return best

    def every(self, s: tuple) -> list[int]:
        """Every position whose rule passes every indexed column for slots ``s``, sorted."""
        out: list[int] = []
        parts = 0
        for gl, cols in self.groups:
            if not cols:
                out.extend(gl)
                parts += 1
                continue
            rs = [tab[s[c]] for c, tab in cols]
            if len(rs) == 1:
                b = rs[0]
                for a in range(0, len(b), 2):
                    out.extend(gl[b[a]:b[a + 1]])
                parts += 1 if b else 0
                continue
            found = self.group_every(gl, rs)
            out.extend(found)
            parts += bool(found)
        if parts > 1:
            out.sort()
        return out

    @staticmethod
    def group_every(gl: tuple, rs: list) -> list:
        """Every global position of one group whose runs ``rs`` all hold it."""
        out: list = []
        r = 0
        while True:
            r = leap(rs, r)
            if r < 0:
                return out
            end = min(b[bisect_right(b, r)] for b in rs)
            out.extend(gl[r:end])
            r = end

    # -- building
    @classmethod
    def build(cls, t: Table, order: list[int], plain: list[int]):
        cols = [j for j in plain if t.inputs[j].type in INDEXED_TYPES]
        columns, points, eq_only, pos_of = [], [], [], []
        for j in cols:
            pts: set = set()
            for r in t.rules:
                pts |= literal_values(r.inputs[j].test)
            pts.discard(None)
            try:
                ps = sorted(pts)
            except TypeError:
                continue
            columns.append(j)
            points.append(tuple(ps))
            pos_of.append({p: i for i, p in enumerate(ps)})
            eq_only.append(all(_eq_only(r.inputs[j].test) for r in t.rules))
        if not columns:
            return None
        n = len(order)
        # Each rule's slots and null verdict per indexed column; None = not decided here.
        verdicts: list[list] = []
        sigs: dict[tuple, list[int]] = {}
        exact = [True] * n
        for p, i in enumerate(order):
            rule = t.rules[i]
            vs, sig = [], []
            for c, j in enumerate(columns):
                test = rule.inputs[j].test
                if isinstance(test, AnyTest):
                    vs.append(None)
                    continue
                s = _slots_of(test, pos_of[c], len(points[c]), True)
                if s is None:
                    exact[p] = False
                    vs.append(None)
                    continue
                vs.append((s, _null_verdict(test) is True))
                sig.append(c)
            if any(not isinstance(e.test, AnyTest) for j, e in enumerate(rule.inputs) if j not in columns):
                exact[p] = False
            verdicts.append(vs)
            sigs.setdefault(tuple(sig), []).append(p)
        groups = _coarsen(sigs)
        budget = [MULTI_BUDGET]
        built = []
        for sig, members in groups:
            for p in members:
                if any(verdicts[p][c] is not None for c in range(len(columns)) if c not in sig):
                    exact[p] = False  # a test the coarser group does not index: test the rule
            tabs = []
            # the most selective column first: the leapfrog's first moves are then the longest
            sig = sorted(sig, key=lambda c: sum(len(rg) for p in members for rg in verdicts[p][c][0])
                         / (2 * len(points[c]) + 1))
            for c in sig:
                tab = _column_runs([verdicts[p][c] for p in members], 2 * len(points[c]) + 1, budget)
                if tab is None:
                    return None
                tabs.append((c, tab))
            built.append((tuple(members), tuple(tabs)))
        built.sort(key=lambda g: g[0][0])
        return cls(tuple(columns), tuple(points), tuple(eq_only), tuple(built), tuple(order), tuple(exact),
                   MULTI_BUDGET - budget[0])


def leap(rs, r: int) -> int:
    """The first position at or after ``r`` inside a run of every run list, or -1."""
    c = len(rs)
    if c == 1:
        b = rs[0]
        k = bisect_right(b, r)
        if k & 1:
            return r
        return b[k] if k < len(b) else -1
    k = agree = 0
    while agree < c:
        b = rs[k]
        q = bisect_right(b, r)
        if q & 1:
            agree += 1
        elif q == len(b):
            return -1
        else:
            r = b[q]
            agree = 1
        k += 1
        if k == c:
            k = 0
    return r


class _NullVerdict(Visitor):
    """The reference's verdict on a literal test for null (FEEL: ``=`` is false,
    an ordering is null, ``-`` and ``null`` are true)."""

    def AnyTest(self, t):
        return True

    NullTest = AnyTest

    def CompareTest(self, t):
        return False if t.op == "=" else None

    def RangeTest(self, t):
        return None

    def OrTests(self, t):
        return ref.or3(self.visit(s) for s in t.tests)

    def NotTests(self, t):
        return ref.not3(self.OrTests(t))

    def __default__(self, t):
        return None


_null_verdict = _NullVerdict().visit


class _EqOnly(Visitor):
    def CompareTest(self, t):
        return t.op == "="

    def OrTests(self, t):
        return all(self.visit(s) for s in t.tests)

    NotTests = OrTests

    def RangeTest(self, t):
        return False

    def __default__(self, t):
        return True


_eq_only = _EqOnly().visit


def _coarsen(sigs: dict[tuple, list[int]]) -> list[tuple[tuple, list[int]]]:
    """At most MAX_GROUPS groups: the rarest signatures join one group constrained on
    the columns they all share (their other tests are tested per rule)."""
    items = sorted(sigs.items(), key=lambda kv: -len(kv[1]))
    if len(items) <= MAX_GROUPS:
        return items
    keep, rest = items[:MAX_GROUPS - 1], items[MAX_GROUPS - 1:]
    common = set(rest[0][0]).intersection(*(set(s) for s, _ in rest[1:]))
    members = sorted(p for _, ps in rest for p in ps)
    return keep + [(tuple(sorted(common)), members)]


def _column_runs(verdicts: list, size: int, budget: list):
    """slot → the sorted runs (start, end, start, end …) of the members that pass
    there, for slots 0 … size-1 and null (last, read as slot -1)."""
    enter: dict[int, list[int]] = {}
    leave: dict[int, list[int]] = {}
    null: list[int] = []
    for m, v in enumerate(verdicts):
        ranges, passes_null = v
        for rg in ranges:
            enter.setdefault(rg.start, []).append(m)
            leave.setdefault(rg.stop, []).append(m)
        if passes_null:
            null.append(m)
    b: list[int] = []
    snap: tuple = ()
    out = []
    cost = size
    for s in range(size):
        changed = False
        for m in leave.get(s, ()):
            _remove(b, m)
            changed = True
        for m in enter.get(s, ()):
            _add(b, m)
            changed = True
        if changed:
            snap = tuple(b)
            cost += len(snap)
            if cost > budget[0]:
                return None
        out.append(snap)
    nb: list[int] = []
    for m in null:
        _add(nb, m)
    out.append(tuple(nb))
    budget[0] -= cost + len(nb)
    return tuple(out)


def _add(b: list[int], m: int) -> None:
    q = bisect_right(b, m)  # even: m lies in a gap
    before = q > 0 and b[q - 1] == m
    after = q < len(b) and b[q] == m + 1
    if before and after:
        del b[q - 1:q + 1]
    elif before:
        b[q - 1] = m + 1
    elif after:
        b[q] = m
    else:
        b[q:q] = [m, m + 1]


def _remove(b: list[int], m: int) -> None:
    q = bisect_right(b, m)  # odd: m lies in the run b[q-1] … b[q]
    start, end = b[q - 1] == m, b[q] == m + 1
    if start and end:
        del b[q - 1:q + 1]
    elif start:
        b[q - 1] = m + 1
    elif end:
        b[q] = m
    else:
        b[q:q] = [m, m + 1]


# --------------------------------------------------------------------------- emitted code
def emit_lookup(gen, index, cols: list[str], k: int, entries: list) -> None:
    """Emit ``cand{k}`` = the candidate entries for this case (eq, range and all)."""
    kind, j, data = index
    x = cols[j] if j is not None else None

    def pick(idx):
        return tuple(entries[i] for i in idx)

    if kind == "all":
        gen.emit(f"cand{k} = {gen.bind(tuple(entries), 'D')}")
    elif kind == "eq":
        table, default = data
        d = gen.bind(pick(default), "D")
        gen.emit(f"cand{k} = {gen.bind({key: pick(v) for key, v in table.items()}, 'I')}.get({x}, {d})")
    else:
        points, slots, none = data
        s = gen.bind(tuple(pick(v) for v in slots), "S")
        gen.emit(f"if {x} is None:")
        gen.emit(f"cand{k} = {gen.bind(pick(none), 'D')}", 2)
        gen.emit("else:")
        _emit_slot(gen, x, points, "j", 2)
        gen.emit(f"cand{k} = {s}[j]", 2)


def _dense(points: tuple):
    """slot of every integer from the first point to the last, when they are few enough
    (a direct table instead of a bisect), else None."""
    if not points or not all(p.__class__ is int for p in points):
        return None
    lo, hi = points[0], points[-1]
    if hi - lo + 1 > min(DENSE_LIMIT, DENSE_FACTOR * len(points) + 1024):
        return None
    out, k = [], 0
    for v in range(lo, hi + 1):
        if v == points[k]:
            out.append(2 * k + 1)
            k += 1
        else:
            out.append(2 * k)
    return tuple(out)


def _emit_slot(gen, x: str, points: tuple, var: str, depth: int) -> None:
    """Emit ``var`` = the slot of non-null ``x`` among ``points``: a direct table for
    integers within a dense span of integer points, else a bisect."""
    p = gen.bind(points, "P")
    dense = _dense(points)
    if dense is not None:
        lo, hi = points[0], points[-1]
        gen.emit(f"if {x}.__class__ is int and {lo} <= {x} <= {hi}:", depth)
        gen.emit(f"{var} = {gen.bind(dense, 'DS')}[{x} - {lo}]", depth + 1)
        gen.emit("else:", depth)
        depth += 1
    gen.emit(f"j = bisect_left({p}, {x})", depth)
    gen.emit(f"{var} = 2 * j + 1 if j < {len(points)} and {p}[j] == {x} else 2 * j", depth)


def emit_slots(gen, m: Multi, cols: list[str], k: int) -> str:
    """Emit the case's slot in each column of a multi index; returns the tuple's name."""
    names = []
    for c, j in enumerate(m.columns):
        x, v, pts = cols[j], f"s{k}_{c}", m.points[c]
        names.append(v)
        if m.eq_only[c]:
            d = gen.bind({p: 2 * i + 1 for i, p in enumerate(pts)}, "Q")
            gen.emit(f"{v} = -1 if {x} is None else {d}.get({x}, 0)")
        else:
            gen.emit(f"if {x} is None:")
            gen.emit(f"{v} = -1", 2)
            gen.emit("else:")
            _emit_slot(gen, x, pts, v, 2)
    gen.emit(f"_s{k} = ({', '.join(names)}{',' if len(names) == 1 else ''})")
    return f"_s{k}"


def emit_first(gen, m: Multi, k: int) -> str:
    """Emit the search for the first match (position ``_b{k}``, -1 for none) in the
    decision's own code, one block per group: no call, no loop over the groups."""
    b = f"_b{k}"
    gen.ns.setdefault("bisect_right", bisect_right)
    gen.emit(f"{b} = -1")
    for g, (gl, cols) in enumerate(m.groups):
        guard = f"if {b} < 0 or {gl[0]} < {b}:" if g else None
        depth = 1
        if guard:
            gen.emit(guard)
            depth = 2
        if not cols:
            gen.emit(f"{b} = {gl[0]}", depth)
            continue
        if len(cols) == 1:
            c, tab = cols[0]
            firsts = gen.bind(tuple(gl[r[0]] if r else -1 for r in tab), "FT")
            gen.emit(f"_p = {firsts}[s{k}_{c}]", depth)
            gen.emit(f"if _p >= 0 and ({b} < 0 or _p < {b}): {b} = _p", depth)
            continue
        g_ = gen.bind(gl, "GL")
        found = f"if {b} < 0 or {g_}[_r] < {b}: {b} = {g_}[_r]"
        _emit_leap(gen, k, cols, depth, [found, "break"])
    return b


def _emit_leap(gen, k: int, cols, depth: int, on_match: list[str]) -> None:
    """Emit the leapfrog over a group's columns (runs ``_R0`` …): column 0 moves ``_r``
    into its next run, every other column either holds ``_r`` or moves it and starts
    over; when all hold it, ``on_match`` runs (it ends with ``break`` or moves ``_r``)."""
    rs = [f"_R{i}" for i in range(len(cols))]
    for i, (c, tab) in enumerate(cols):
        gen.emit(f"_R{i} = {gen.bind(tab, 'RT')}[s{k}_{c}]", depth)
    gen.emit(f"if {' and '.join(rs)}:", depth)
    d = depth + 1
    gen.emit(f"_r = max({', '.join(f'{r}[0]' for r in rs)})", d)
    gen.emit("while True:", d)
    for i, r in enumerate(rs):
        gen.emit(f"_q = bisect_right({r}, _r)", d + 1)
        gen.emit("if not _q & 1:", d + 1)
        gen.emit(f"if _q == len({r}): break", d + 2)
        gen.emit(f"_r = {r}[_q]", d + 2)
        if i:
            gen.emit("continue", d + 2)
    for line in on_match:
        gen.emit(line, d + 1)


def emit_every(gen, m: Multi, k: int) -> str:
    """Emit the list of every matching position (sorted), one block per group."""
    out = f"_m{k}"
    gen.ns.setdefault("bisect_right", bisect_right)
    gen.emit(f"{out} = []")
    for gl, cols in m.groups:
        g_ = gen.bind(gl, "GL")
        if not cols:
            gen.emit(f"{out} += {g_}")
            continue
        if len(cols) == 1:
            c, tab = cols[0]
            gen.emit(f"_A = {gen.bind(tab, 'RT')}[s{k}_{c}]")
            gen.emit(f"for _a in range(0, len(_A), 2): {out} += {g_}[_A[_a]:_A[_a + 1]]")
            continue
        ends = ", ".join(f"_R{i}[bisect_right(_R{i}, _r)]" for i in range(len(cols)))
        _emit_leap(gen, k, cols, 1, [f"_end = min({ends})", f"{out} += {g_}[_r:_end]", "_r = _end"])
    if len(m.groups) > 1:
        gen.emit(f"{out}.sort()")
    return out
