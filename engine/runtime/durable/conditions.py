"""Conditions over integer codes: interval sets per key, and the and/or algebra
that keeps them disjoint (see ``compile`` for why every value is an integer)."""
from __future__ import annotations



INF = float("inf")


class Unsupported(Exception):
    """A cell this compiler cannot express in durable (the message says which)."""


# --------------------------------------------------------------------------- integer sets
def normal_form(ivs):
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
    return normal_form(out)


def cond_not(x):
    out, lo = [], -INF
    for a, b in x:
        if lo < a:
            out.append((lo, a))
        lo = b
    if lo < INF:
        out.append((lo, INF))
    return normal_form(out)


ALL = ((-INF, INF),)


# --------------------------------------------------------------------------- conditions
# A condition is a tuple:  ("T",) true  ("F",) false  ("ex", key)  ("nex", key)
# ("in", key, intervals)  ("cmp", op, key, key2)  ("and", items)  ("or", items)
TRUE, FALSE = ("T",), ("F",)


def cond_and(items):
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


def cond_or(items):
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
            sets[c[1]] = normal_form(sets.get(c[1], ()) + c[2])
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
