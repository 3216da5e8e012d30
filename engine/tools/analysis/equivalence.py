"""Where two single-hit rule lists decide differently (``first_differ``), and whether a
column never changes a table's outcome (``useless_columns``)."""
from __future__ import annotations

from typing import Optional

from decide.model.ir import Literal
from decide.tools.analysis.boxes import Budget, BoxIndex, meet, subset
from decide.tools.analysis.rules import witness_case


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
    da = ra is None or subset(box, ba[ra])
    db = rb is None or subset(box, bb[rb])
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


def useless_columns(table, variables, must, may, keys, order, k, budget) -> Optional[tuple]:
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
                m = meet(ob[r], univ)
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
    from decide.compile.resolve import referenced_fields
    out = set()
    for r in table.rules:
        for i in var.columns:
            out |= referenced_fields(r.inputs[i].test)
    out |= referenced_fields(var.col.expr) - ({var.field} if var.field else set())
    return out
