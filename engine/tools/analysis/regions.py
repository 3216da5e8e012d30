"""Two versions of a table: the regions of cases where they decide differently
(``table_diff``), each as a ``RegionChange`` with a witness case."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from decide.model.errors import EvaluationError
from decide.model.ir import Book, Table
from decide.tools.analysis.boxes import Budget, BoxIndex, bits_of, meet, minus, subset
from decide.tools.analysis.equivalence import first_differ
from decide.tools.analysis.partition import build_variables
from decide.tools.analysis.rules import rule_order, outputs_const, describe_box, rule_boxes, witness_case


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
    if not (outputs_const(old) and outputs_const(new)):
        return None
    if book_old is None and book_new is None and (old.hit_policy.ranked or new.hit_policy.ranked):
        return None  # ranking by output needs the Glossary's allowed values
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
    if old.hit_policy.order is None or new.hit_policy.order is None:  # not first-match-wins
        return _table_diff_general(old, new, book_old or book_new, book_new or book_old, vo, mo, mn,
                                   univ, limit, budget)
    oo = rule_order(book_old, old)
    on = rule_order(book_new, new)
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
        ro = next((r for r in oo if meet(mo[r], d) is not None), None)
        rn = next((r for r in on if meet(mn[r], d) is not None), None)
        out.append(RegionChange(w, describe_box(vo, d, old), ro, rn))
        extra_o.append(d)
        extra_n.append(d)
    return out


def _outcome_fn(book: Optional[Book], t: Table):
    """The table's result as a function of the rules that match (their indices in
    table order), for tables whose outputs are literals; as the reference decides
    (the policy's ``finalize``; a violation is the outcome "error")."""
    hp = t.hit_policy
    keys = [tuple(o.expr.value for o in r.outputs) for r in t.rules]
    as_set = hp.unordered and t.aggregator is None  # DMN leaves COLLECT's order open

    def outcome(matched):
        try:
            out, _ = hp.finalize(book, t, matched, keys.__getitem__)
        except EvaluationError:
            return ("error",)
        if as_set:
            return {f: sorted(map(repr, v)) for f, v in out.items()}
        return out
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
            for r in bits_of(touch):
                if not subset(box, boxes[r]):
                    inside = box
                    for j in range(len(box)):
                        piece = inside[j] & ~boxes[r][j]
                        if piece:
                            walk(inside[:j] + (piece,) + inside[j + 1:], differ, same, cap)
                            inside = inside[:j] + (inside[j] & boxes[r][j],) + inside[j + 1:]
                    walk(inside, differ, same, cap)
                    return
        a, b = list(bits_of(ta)), list(bits_of(tb))
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
        for piece in minus(mn[j], mo[i]):
            cands.append((piece, f"rule {rid} now also matches", i, j))
        for piece in minus(mo[i], mn[j]):
            cands.append((piece, f"rule {rid} no longer matches", i, j))
    for rid, i in old_ids.items():
        if rid not in new_ids:
            cands.append((mo[i], f"rule {rid} (removed)", i, None))
    out: list[RegionChange] = []
    shown: list[tuple] = []
    try:
        for box, what, i, j in cands:
            if not all(box) or any(subset(box, b) for b in shown):
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
    rest = [x for x in rest if not any(subset(x[0], b) for b in shown)]
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
