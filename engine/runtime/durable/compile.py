"""IR → durable_rules rulesets (plain dicts), and the encoders that turn a case's
typed values into the integers those rulesets compare.

Why integers.  durable_rules 2.0.28 has no date, decimal or version type, compares
mixed types as strings (``"abc" > 9`` matches, ``true == 1`` matches) and compares
numbers as doubles.  So nothing typed ever reaches durable: every value a table tests
is replaced by its *code*, an integer that orders exactly like the value among the
constants of the cells (``decide.runtime.reference`` semantics, Python comparisons):

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
exactly as ``decide.runtime.reference`` does (UNIQUE/ANY errors, output order, aggregators).

The modules, in the order a table goes through them: ``conditions`` (interval sets
and the and/or algebra over integer codes), ``terms`` (cells → true/false conditions
per rule, codebooks), ``limits`` (durable's limits and the alpha-network model),
``rulejson`` (conditions → durable's JSON rules) and this one (parts, the index and
``compile_for_durable``); ``backend`` runs them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from decide.model.errors import Diagnostic, WorkbookError
from decide.model.ir import Book, Literal, Table
from decide.runtime.durable.conditions import FALSE, Unsupported
from decide.runtime.durable.limits import MAX_KEYS, MAX_RULES, part_problem
from decide.runtime.durable.rulejson import DISCRIMINATOR, rule_steps
from decide.runtime.durable.terms import TableCode, compile_table, counted_fields

PART_RULES = MAX_RULES  # rules per part (the tests lower it to exercise chained parts)


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
    problem = part_problem(conds, PART_RULES)
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
    steps = {i: rule_steps(code.conds[i]) for i in order}
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
