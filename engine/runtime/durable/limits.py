"""The limits of durable's Rete, measured (rete.c / events.c), and a model of the
alpha network of one ruleset that tells whether a part stays within them."""
from __future__ import annotations

import json
from typing import Optional

from decide.runtime.durable.conditions import ALL, INF

# Margins below durable's hard limits.
MAX_CHILDREN = 480  # alpha children of one node (512 hangs)
MAX_NEX_CHILDREN = 120  # absence children of one node (128 is error 107)
MAX_BETAS = 240  # rules ending on one alpha node (256 is error 108)
MAX_STACK = 56  # alpha nodes pending while matching (64 is error 303)
MAX_MARKERS = 30  # $and/$or markers in one rule (32 is error 113)
MAX_RULES = 4000  # rules in one ruleset (4,096)
MAX_KEYS = 240  # properties of one message (255, sid and id included)


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


def part_problem(conds, part_rules: int) -> Optional[str]:
    """Why these rule conditions cannot share one durable ruleset, or None."""
    if len(conds) + 1 > MAX_RULES:
        return f"more than {MAX_RULES} rules"
    if len(conds) > part_rules:
        return f"more than {part_rules} rules"
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
