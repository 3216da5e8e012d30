"""The intermediate representation: frozen dataclasses, nothing else.

Every stage after parsing works on these objects: the checks (``checks.py``), the
reference interpreter (``reference.py``), the native compiler (``native.py``), the
durable_rules compiler and the lint analysis.  Nothing here evaluates anything.

Values inside the IR are already typed Python values (see ``values.py``):
text ``str``, number ``decimal.Decimal`` or ``int``, integer ``int``, boolean
``bool``, date ``datetime.date``, version ``values.Version``, text list
``tuple[str, ...]``; null is ``None``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Callable, Mapping, Optional, Union


# Where things were written (Loc) and the hit policies live in their own modules
# (errors.py uses Loc; hitpolicy.py uses errors.py); their names stay importable here.
from decide.model.loc import Loc  # noqa: F401
from decide.model.hitpolicy import Aggregator, HitPolicy, Policy  # noqa: F401


# --------------------------------------------------------------------------- types
class Type(Enum):
    TEXT = "text"
    NUMBER = "number"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    DATE = "date"
    VERSION = "version"
    TEXT_LIST = "text list"

    @property
    def is_numeric(self) -> bool:
        return self in (Type.NUMBER, Type.INTEGER)

    @property
    def is_ordered(self) -> bool:
        """Types whose values compare with < and > (text compares too, as in FEEL)."""
        return self in (Type.NUMBER, Type.INTEGER, Type.DATE, Type.VERSION, Type.TEXT)

    @property
    def item(self) -> "Type":
        """The type of one element (text list → text, scalars → themselves)."""
        return Type.TEXT if self is Type.TEXT_LIST else self


# --------------------------------------------------------------------------- S-FEEL expressions
@dataclass(frozen=True)
class Literal:
    value: Any  # a typed value, or None for null


@dataclass(frozen=True)
class Name:
    """A bare identifier: a field reference, or (in a column that allows it) one of
    the column's allowed text values written without quotes.  ``resolve.py`` decides."""

    name: str


@dataclass(frozen=True)
class Neg:
    operand: "Expr"


@dataclass(frozen=True)
class Arith:
    op: str  # '+', '-', '*', '/', '**'
    left: "Expr"
    right: "Expr"


@dataclass(frozen=True)
class Compare:
    op: str  # '=', '!=', '<', '<=', '>', '>='
    left: "Expr"
    right: "Expr"


@dataclass(frozen=True)
class Between:
    """``x between a and b`` (FEEL); inclusive both ends."""

    value: "Expr"
    low: "Expr"
    high: "Expr"


@dataclass(frozen=True)
class InTests:
    """``x in (unary tests)`` (FEEL); used by invariants."""

    value: "Expr"
    tests: "UnaryTest"


@dataclass(frozen=True)
class And:
    items: tuple["Expr", ...]


@dataclass(frozen=True)
class Or:
    items: tuple["Expr", ...]


@dataclass(frozen=True)
class Not:
    operand: "Expr"


@dataclass(frozen=True)
class ListExpr:
    items: tuple["Expr", ...]


@dataclass(frozen=True)
class Call:
    """A built-in function: ``list contains``, ``count``, ``date`` with a non-literal
    argument, ``is null`` …  (``date("2020-02-03")`` with a literal becomes a Literal)."""

    func: str
    args: tuple["Expr", ...]


Expr = Union[Literal, Name, Neg, Arith, Compare, Between, InTests, And, Or, Not, ListExpr, Call]


# --------------------------------------------------------------------------- unary tests
@dataclass(frozen=True)
class AnyTest:
    """``-`` or an empty cell: matches anything, null included."""


@dataclass(frozen=True)
class NullTest:
    """``null``: matches when the input is null."""


@dataclass(frozen=True)
class CompareTest:
    """``"a"``, ``3000``, ``< 3000``, ``>= field``: op is '=', '<', '<=', '>', '>='."""

    op: str
    value: Expr


@dataclass(frozen=True)
class RangeTest:
    """``[low..high]`` with open or closed ends."""

    low: Expr
    high: Expr
    low_closed: bool
    high_closed: bool


@dataclass(frozen=True)
class OrTests:
    """``a, b, c``: matches when any test matches."""

    tests: tuple["UnaryTest", ...]


@dataclass(frozen=True)
class NotTests:
    """``not(a, b)``: matches when none of the tests matches (FEEL three-valued)."""

    tests: tuple["UnaryTest", ...]


UnaryTest = Union[AnyTest, NullTest, CompareTest, RangeTest, OrTests, NotTests]


# --------------------------------------------------------------------------- glossary
@dataclass(frozen=True)
class Field:
    name: str
    type: Type
    # Ordered allowed values (a tuple of typed values, first = highest priority), a
    # RangeTest of literals, or None when any value of the type is allowed.
    allowed: Optional[Union[tuple, RangeTest]]
    label: str
    description: str
    loc: Loc
    # The Glossary's "Changeable" column: may a member change this fact to reach
    # another outcome?  "yes", "up" (may only increase), "down" (may only decrease),
    # "no"; None when the column is blank or absent (= "no").
    changeable: Optional[str] = None


# --------------------------------------------------------------------------- decision tables
@dataclass(frozen=True)
class InputColumn:
    header: str  # what the analyst wrote (field name, label or expression)
    expr: Expr  # Name(field) for a plain field, else an arithmetic expression
    type: Type  # the type of the value the cells test
    field: Optional[str]  # the field name when the header is a plain field, else None
    loc: Loc


@dataclass(frozen=True)
class OutputColumn:
    header: str
    field: str
    type: Type  # the field's declared type
    loc: Loc
    allowed: Optional[Union[tuple, "RangeTest"]] = None  # the field's allowed values


@dataclass(frozen=True)
class InputEntry:
    test: UnaryTest
    text: str  # the cell as written (for messages and explanations)
    loc: Loc


@dataclass(frozen=True)
class OutputEntry:
    expr: Expr  # Literal(None) for an empty cell
    text: str
    loc: Loc


@dataclass(frozen=True)
class Rule:
    id: str  # column A, as text
    index: int  # 0-based position in the table
    row: int  # worksheet row number
    inputs: tuple[InputEntry, ...]
    outputs: tuple[OutputEntry, ...]
    annotations: tuple[str, ...]
    loc: Loc  # the row (cell A<row>)


@dataclass(frozen=True)
class Table:
    name: str
    hit_policy: Policy  # a registered hit policy (HitPolicy.FIRST …)
    aggregator: Optional[Aggregator]
    description: str
    inputs: tuple[InputColumn, ...]
    outputs: tuple[OutputColumn, ...]
    annotations: tuple[str, ...]
    rules: tuple[Rule, ...]
    loc: Loc  # the sheet (cell B1)

    @property
    def output_fields(self) -> tuple[str, ...]:
        return tuple(c.field for c in self.outputs)


# --------------------------------------------------------------------------- tests and invariants
@dataclass(frozen=True)
class TestCase:
    id: str
    inputs: Mapping[str, Any]  # field → typed value (absent fields are not in it)
    expected: Mapping[str, Any]  # field → typed value (None = expect null); unchecked fields absent
    cells: Mapping[str, Loc]  # field → the cell it came from
    loc: Loc  # the row

    __test__ = False  # not a pytest class


@dataclass(frozen=True)
class TestSuite:
    target: str  # a decision service or table name
    description: str
    cases: tuple[TestCase, ...]
    loc: Loc
    # (field, "input" | "expect", the header cell naming it), one per column
    headers: tuple[tuple[str, str, Loc], ...] = ()

    __test__ = False


@dataclass(frozen=True)
class Invariant:
    id: str
    when: Optional[Expr]
    then: Expr
    when_text: str
    then_text: str
    loc: Loc


@dataclass(frozen=True)
class InvariantSuite:
    target: str
    properties: tuple[Invariant, ...]
    loc: Loc


# --------------------------------------------------------------------------- decision services
@dataclass(frozen=True)
class DecisionService:
    """A named decision over the tables, declared in Python by an application
    (e.g. ``decide.atone.services``) and handed to ``decide.load``.

    ``derive`` computes intermediate facts that need code (e.g. romanising a kana
    name); it receives the validated input facts (a dict, field → typed value) and
    returns a dict of extra facts, each a Glossary field.  Everything else is tables:
    the engine evaluates every table upstream of ``outputs`` in dependency order.
    """

    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    derived: tuple[str, ...] = ()  # the fields ``derive`` returns
    derive: Optional[Callable[[dict], dict]] = field(default=None, compare=False)
    description: str = ""
    # what to load before the first decision (a dictionary, a model), so that the first
    # costs what every later one does; run by ``Rulebook.warm()`` (a server or batch at
    # start), not by a one-shot ``decide CASE``, which would pay it for nothing
    warm: Optional[Callable[[], None]] = field(default=None, compare=False)


# --------------------------------------------------------------------------- the whole book
@dataclass(frozen=True)
class Book:
    """Everything loaded from a directory of workbooks, plus the application's
    decision services.  ``decisions`` maps every decision name (service or table)
    to its plan."""

    fields: Mapping[str, Field]
    tables: Mapping[str, Table]  # in dependency order
    tests: tuple[TestSuite, ...]
    invariants: tuple[InvariantSuite, ...]
    services: Mapping[str, DecisionService]
    decisions: Mapping[str, "Plan"]
    ignored_sheets: tuple[Loc, ...] = ()
    time_zone: str = "UTC"  # a Settings sheet's Time zone: today there is the default as-of date


@dataclass(frozen=True)
class Plan:
    """How to evaluate one decision: which inputs it accepts, which tables run in
    which order, which fields it returns."""

    name: str
    kind: str  # "service" or "table"
    inputs: tuple[str, ...]  # fields a case may give (sorted)
    derived: tuple[str, ...]  # fields computed by ``derive``
    tables: tuple[str, ...]  # table names in evaluation order
    outputs: tuple[str, ...]  # fields returned in Result.outputs
    derive: Optional[Callable[[dict], dict]] = field(default=None, compare=False)
