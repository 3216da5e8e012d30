"""Hit policies as objects, and the registry every stage asks about them.

A hit policy says what a decision table returns when several rules match a case.
Each one is a ``Policy``: how it is written in B2 (title and abbreviation, with the
aggregators it takes, e.g. ``C+``), whether it is single-hit (one value per output)
or multi-hit (a list per output, or one aggregated value), ``select`` (which of the
matching rules make the result, and which count as fired; the errors of UNIQUE and
ANY), and what the static checks and the analysis need to know: whether an overlap
is an error, whether gaps matter, in which order the rules are tried when the first
match wins.  ``Policy.finalize`` turns the matching rules into the table's result;
the reference interpreter and the durable backend call it, the native runtime calls
it for any policy it has no specialised code for.

``HitPolicy`` is the registry, used like the Enum it replaces: ``HitPolicy.FIRST``,
``HitPolicy("F")``, ``HitPolicy["RULE_ORDER"]``, ``list(HitPolicy)``.  To add a hit
policy, define it here with ``register(Policy(...))`` (and describe it in
docs/workbook-format.md, and test it); the parser, both runtimes, the durable
backend, lint and the traces follow from its fields.  The native runtime runs its
``finalize`` over the matching rules unless ``native.POLICY_CODE`` gives it
specialised code (the DMN policies have some).

``Aggregator`` is what a COLLECT table does with its outputs (``C+``, ``C<``,
``C>``, ``C#``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Callable, Iterator, Optional

from decide.model.errors import EvaluationError

# The IR imports this module, so it names the IR's classes (Book, Table, Type) only in
# words: ``book`` is a Book, ``t`` a Table, ``type_`` a Type.


# --------------------------------------------------------------------------- aggregators
class Aggregator(Enum):
    SUM = "+"
    MIN = "<"
    MAX = ">"
    COUNT = "#"

    def apply(self, values: list):
        """The aggregate of the matching rules' non-null outputs (nulls are ignored)."""
        if self is Aggregator.COUNT:
            return len(set(values))
        if not values:
            return None
        if self is Aggregator.SUM:
            return sum(values)
        return min(values) if self is Aggregator.MIN else max(values)

    def unfit(self, type_) -> Optional[str]:
        """Why an output of this type cannot be aggregated (``{field}`` and ``{type}``
        to fill in), or None when it can."""
        if self is Aggregator.SUM and not type_.is_numeric:
            return "adds up its outputs, but {field} is {type}: use C# to count, or plain C to collect"
        if self in (Aggregator.MIN, Aggregator.MAX) and not type_.is_ordered:
            return "needs comparable outputs, but {field} is {type}"
        return None


# --------------------------------------------------------------------------- shared pieces
def priority_key(book, t, values: tuple) -> tuple:
    """A rule's rank under PRIORITY / OUTPUT ORDER from its output values: each
    output's position among its field's allowed values (first listed = highest)."""
    key = []
    for col, v in zip(t.outputs, values):
        allowed = book.fields[col.field].allowed
        if isinstance(allowed, tuple) and v in allowed:
            key.append(allowed.index(v))
        else:
            key.append(len(allowed) if isinstance(allowed, tuple) else 0)
    return tuple(key)


def violation(t, matched: list[int], policy: str, what: str) -> EvaluationError:
    """The error of a case that breaks the table's hit policy (names the rules)."""
    rules = [t.rules[i] for i in matched]
    ids = ", ".join(f"{r.id} (row {r.row})" for r in rules)
    return EvaluationError(f"table {t.name} ({t.loc.workbook} › {t.loc.sheet}) is {policy}, but rules "
                           f"{ids} {what}", t.name, [(t.name, r.id, r.loc) for r in rules])


# Select: (book, table, matched rule indices in rule order, outputs_of) → (the rules whose
# outputs make the result, in result order; the rules reported as fired).  outputs_of(i)
# is rule i's output tuple for the case.  A single-hit policy uses the first rule it returns.
Select = Callable[[object, object, list, Callable[[int], tuple]], tuple]
# Order: (book, table, each rule's output tuple when they are all literals, else None) →
# the order in which the rules are tried, the first match winning; None when it depends
# on the case.
Order = Callable[[object, object, Optional[list]], Optional[list]]


# --------------------------------------------------------------------------- a hit policy
@dataclass(frozen=True, eq=False)
class Policy:
    """One hit policy.  Contract for ``select`` under a single-hit policy: when exactly
    one rule matches, the result is that rule's outputs (backends short-cut it)."""

    title: str  # as written in B2 and shown: "FIRST", "RULE ORDER"
    abbreviation: str  # "F", "R"
    single: bool  # one value per output (null when no rule matches) vs. one list per output
    select: Select
    aggregators: tuple[Aggregator, ...] = ()  # the aggregators it takes (C+ …), multi-hit only
    # static checks and analysis
    overlap: Optional[str] = None  # what two rules matching one case are: "overlap" (an error),
    #   "conflict" (an error when their outputs differ), or None (allowed)
    gaps: Optional[bool] = None  # whether a case no rule matches is worth a finding (default: single)
    order: Optional[Order] = None  # set when the first match in an order wins (FIRST, PRIORITY)
    ranked: bool = False  # ranks rules by their outputs' allowed values (needs allowed lists)
    unordered: bool = False  # its lists' order means nothing: Tests compare them as sets
    # words
    lost: str = ""  # why a matching rule did not fire: "comes first" (rule X comes first)
    # lint's shadowed-rule message (policies with an order): why the earlier rule(s) win,
    # for one and for several, and the fix
    shadow: tuple[str, str, str] = ("wins over it", "win over it",
                                    "Delete it, or change its conditions or outputs.")

    def __post_init__(self):
        if self.gaps is None:
            object.__setattr__(self, "gaps", self.single)

    # Enum compatibility: HitPolicy.RULE_ORDER.name == "RULE_ORDER", .value == "R"
    @property
    def name(self) -> str:
        return re.sub(r"\W+", "_", self.title.upper())

    @property
    def value(self) -> str:
        return self.abbreviation

    @property
    def positional(self) -> bool:
        """The first matching rule in a fixed order of the rows wins (FIRST)."""
        return self.order is not None and not self.ranked

    def spellings(self) -> dict[str, tuple["Policy", Optional[Aggregator]]]:
        """Every way to write it in B2 (upper case, single spaces)."""
        out = {self.abbreviation: (self, None), self.title: (self, None)}
        for agg in self.aggregators:
            out[self.abbreviation + agg.value] = (self, agg)
            out[f"{self.title} {agg.name}"] = (self, agg)
        return out

    def finalize(self, book, t, matched: list[int], outputs_of) -> tuple[dict, list[int]]:
        """The table's outputs (field → value; a list per field under a multi-hit policy
        without aggregator) and fired rules, from the rules that match (rule order)."""
        fields = t.output_fields
        if self.single:
            if not matched:
                return {f: None for f in fields}, []
            rows, fired = self.select(book, t, matched, outputs_of)
            return dict(zip(fields, outputs_of(rows[0]))), fired
        rows, fired = self.select(book, t, matched, outputs_of)
        rows = [outputs_of(i) for i in rows]
        agg = t.aggregator
        out = {}
        for k, f in enumerate(fields):
            if agg is None:  # one entry per matched rule, null included (DMN)
                out[f] = [r[k] for r in rows]
            else:
                out[f] = agg.apply([r[k] for r in rows if r[k] is not None])
        return out, fired

    def __repr__(self) -> str:
        return f"<HitPolicy.{self.name}: {self.abbreviation!r}>"

    def __reduce__(self):  # copies and pickles are the registered object
        return (_registered, (self.name,))


# --------------------------------------------------------------------------- the registry
class _Registry:
    """The registered hit policies, used like an Enum (see the module docstring)."""

    def __init__(self):
        self._by_name: dict[str, Policy] = {}

    def __iter__(self) -> Iterator[Policy]:
        return iter(list(self._by_name.values()))

    def __len__(self) -> int:
        return len(self._by_name)

    def __contains__(self, p) -> bool:
        return any(p is q for q in self._by_name.values())

    def __getattr__(self, name: str) -> Policy:
        try:
            return self.__dict__["_by_name"][name]
        except KeyError:
            raise AttributeError(f"no hit policy {name}") from None

    def __getitem__(self, name: str) -> Policy:
        return self._by_name[name]

    def __call__(self, abbreviation: str) -> Policy:
        for p in self._by_name.values():
            if p.abbreviation == abbreviation:
                return p
        raise ValueError(f"{abbreviation!r} is not a hit policy")

    def __repr__(self) -> str:
        return f"HitPolicy({', '.join(self._by_name)})"

    def register(self, p: Policy) -> Policy:
        taken = self.spellings()
        clash = [s for s in p.spellings() if s in taken]
        if p.name in self._by_name or clash:
            raise ValueError(f"hit policy {p.title} clashes with a registered one ({', '.join(clash) or p.name})")
        self._by_name[p.name] = p
        return p

    def unregister(self, p: Policy) -> None:
        if self._by_name.get(p.name) is p:
            del self._by_name[p.name]

    def spellings(self) -> dict[str, tuple[Policy, Optional[Aggregator]]]:
        """Every way to write a hit policy in B2 → (policy, aggregator)."""
        out: dict = {}
        for p in self._by_name.values():
            out.update(p.spellings())
        return out

    def parse(self, text: str) -> Optional[tuple[Policy, Optional[Aggregator]]]:
        """B2 as written (any case, any spacing) → (policy, aggregator), or None."""
        return self.spellings().get(re.sub(r"\s+", " ", text.strip().upper()))

    def listing(self) -> str:
        """The policies for a message: ``UNIQUE (U), …, COLLECT (C, C+, C<, C>, C#), …``."""
        return ", ".join(f"{p.title} ({', '.join([p.abbreviation] + [p.abbreviation + a.value for a in p.aggregators])})"
                         for p in self._by_name.values())


HitPolicy = _Registry()


def _registered(name: str) -> Policy:
    return HitPolicy[name]


register = HitPolicy.register
unregister = HitPolicy.unregister


# --------------------------------------------------------------------------- the DMN policies
def _first(book, t, matched, outputs_of):
    return [matched[0]], [matched[0]]


def _unique(book, t, matched, outputs_of):
    if len(matched) > 1:
        raise violation(t, matched, "UNIQUE", "match this case; exactly one may")
    return matched, matched


def _any(book, t, matched, outputs_of):
    if len(matched) > 1 and len({outputs_of(i) for i in matched}) > 1:
        raise violation(t, matched, "ANY", "match this case with different outputs")
    return matched, matched


def _by_priority(book, t, matched, outputs_of):
    return sorted(matched, key=lambda i: (priority_key(book, t, outputs_of(i)), i))


def _priority(book, t, matched, outputs_of):
    chosen = min(matched, key=lambda i: (priority_key(book, t, outputs_of(i)), i))
    return [chosen], [chosen]


def _all(book, t, matched, outputs_of):
    return matched, matched


def _output_order(book, t, matched, outputs_of):
    ranked = _by_priority(book, t, matched, outputs_of)
    return ranked, ranked


def _rows_in_order(book, t, outputs):
    return list(range(len(t.rules)))


def _priority_order(book, t, outputs):
    if book is None or outputs is None:
        return None
    return sorted(range(len(t.rules)), key=lambda i: (priority_key(book, t, outputs[i]), i))


# in the order the Enum had: UNIQUE, ANY, PRIORITY, FIRST, COLLECT, RULE ORDER, OUTPUT ORDER
register(Policy("UNIQUE", "U", True, _unique, overlap="overlap"))
register(Policy("ANY", "A", True, _any, overlap="conflict"))
register(Policy("PRIORITY", "P", True, _priority, order=_priority_order, ranked=True,
                lost="has an output of higher priority",
                shadow=("has an output of higher priority", "have outputs of higher priority",
                        "Delete it, or change its conditions or outputs.")))
register(Policy("FIRST", "F", True, _first, order=_rows_in_order, lost="comes first",
                shadow=("comes before it", "come before it", "Delete it, or move it up.")))
register(Policy("COLLECT", "C", False, _all, aggregators=tuple(Aggregator), unordered=True))
register(Policy("RULE ORDER", "R", False, _all))
register(Policy("OUTPUT ORDER", "O", False, _output_order, ranked=True))
