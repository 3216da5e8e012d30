"""Box algebra: a box is one cell mask per variable.  Meet, subset, difference, whether a
set of boxes covers a box (``uncovered``, within a ``Budget`` of steps), and ``BoxIndex``
(which rules' boxes touch a box or contain a point)."""
from __future__ import annotations

from typing import Iterable, Optional


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


def bits_of(x: int):
    while x:
        low = x & -x
        yield low.bit_length() - 1
        x ^= low


def meet(a: tuple, b: tuple) -> Optional[tuple]:
    out = tuple(x & y for x, y in zip(a, b))
    return out if all(out) else None


def subset(a: tuple, b: tuple) -> bool:
    return all(not (x & ~y) for x, y in zip(a, b))


def minus(a: tuple, b: tuple) -> list[tuple]:
    """a \\ b as disjoint boxes."""
    if meet(a, b) is None:
        return [a] if all(a) else []
    out = []
    inside = a
    for j in range(len(a)):
        piece = inside[j] & ~b[j]
        if piece:
            out.append(inside[:j] + (piece,) + inside[j + 1:])
            inside = inside[:j] + (inside[j] & b[j],) + inside[j + 1:]
    return out
