"""Conditions → durable_rules' JSON rule language (``$and``/``$or``/``$lt`` …)."""
from __future__ import annotations


from decide.runtime.durable.conditions import INF

DISCRIMINATOR = "T"  # every rule tests T == 1: no rule is absence-only


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


def rule_steps(c) -> list:
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
            out.extend(rule_steps(x))
        return out
    if kind == "or":
        alts = []
        for x in c[1]:
            s = rule_steps(x)
            alts.extend(s[0]["$or"] if len(s) == 1 and "$or" in s[0] else
                        [s[0] if len(s) == 1 else {"$and": s}])
        return [{"$or": alts}]
    raise AssertionError(c)


def rule_condition(c) -> dict:
    """The ``m`` condition of one rule (discriminator first)."""
    return {"$and": [{DISCRIMINATOR: 1}] + rule_steps(c)}
