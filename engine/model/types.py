"""The Glossary types, one spec each: what a value of the type is in Python, how a
cell literal and a case's raw value become one, and how it is shown and written to JSON.

``TYPES`` maps each ``Type`` to its ``TypeSpec``.  Everything that treats values by
type goes through it: compile-time literals (``decide.compile.resolve.coerce_literal``),
case values (``decide.model.values.coerce``, ``decide.runtime.facts.coerce_field``),
the native validator's fast path (``decide.runtime.native``), ``show`` and ``to_json``.

- text: ``str``                 - number: ``Decimal`` (or ``int``), never ``float``
- integer: ``int``              - boolean: ``bool``
- date: ``datetime.date``       - version: ``Version`` (dotted, compared part by part)
- text list: ``tuple[str, ...]``  - null: ``None``

A new Glossary type: a ``Type`` member in ``decide.model.ir`` (and its ``is_numeric``,
``is_ordered``, ``item``) and a ``TypeSpec`` subclass here, added to ``TYPES``.  Where
its values need a literal form of their own in cells (like ``date("…")``):
``decide.compile.sfeel``.  For the tools: a value between two boundaries
(``decide.tools.analysis.values``) if it is ordered, random values for impact diffs
(``decide.tools.diff._random_value``).
"""
from __future__ import annotations

import datetime as _dt
import re
from decimal import Context, Decimal
from functools import lru_cache
from typing import Any, Callable

from packaging.version import Version as _PkgVersion

from decide.model.ir import RangeTest, Type

_VERSION_RE = re.compile(r"^\d+(\.\d+)*$")


class Version(_PkgVersion):
    """A dotted version (``6.7.0``), compared part by part; ``14`` == ``14.0``."""

    def __init__(self, text: str):
        text = str(text).strip()
        if not _VERSION_RE.match(text):
            raise ValueError(f'"{text}" is not a dotted version such as "6.7.0"')
        super().__init__(text)
        self.text = text
        parts = [int(p) for p in text.split(".")]
        while len(parts) > 1 and parts[-1] == 0:
            parts.pop()
        # what packaging compares for a dotted version: its release without trailing
        # zeros; the native runtime compares these tuples (a C comparison) directly
        self.key = tuple(parts)

    def __reduce__(self):  # packaging's own pickling would drop ``text`` (the compile cache pickles)
        return Version, (self.text,)

    def __repr__(self) -> str:
        return f"Version({self.text!r})"

    def __str__(self) -> str:
        return self.text


def is_version_text(text: str) -> bool:
    return bool(_VERSION_RE.match(str(text).strip()))


@lru_cache(maxsize=4096)
def _version(text: str) -> Version:
    return Version(text)


def to_decimal(x: Any) -> Decimal:
    """A float is read through its shortest repr, so 0.3 stays 0.3."""
    if isinstance(x, float):
        return Decimal(repr(x))
    return Decimal(x)


def parse_date(text: str) -> _dt.date:
    return _dt.date.fromisoformat(text.strip())


class ValueProblem(ValueError):
    """A value does not fit a type; the message says what would."""


# --------------------------------------------------------------------------- the spec
class TypeSpec:
    """One Glossary type.  A subclass sets ``type`` and ``classes`` and implements the
    methods; ``refines`` names the type it narrows (integer narrows number), which is
    never the natural type of a literal.  Null (``None``) is handled by the callers."""

    type: Type
    classes: tuple[type, ...]  # the Python classes of its values
    refines: Type | None = None

    @property
    def name(self) -> str:
        return self.type.value

    def conforms(self, value: Any) -> bool:
        """Is a typed, non-null value a value of this type?"""
        raise NotImplementedError

    def parse_cell(self, value: Any, what: str) -> Any:
        """A literal parsed from a cell → a value of this type, strictly; else
        ValueProblem telling the analyst what to write (``what`` names the column)."""
        raise NotImplementedError

    def parse_case(self, raw: Any) -> Any:
        """A case's raw non-null value (JSON or Python) → a value of this type,
        leniently; else ValueProblem naming what is expected."""
        raise NotImplementedError

    def fast_check(self, v: str, bind: Callable[[Any, str], str]) -> str | None:
        """Python source of an expression true when the raw value in variable ``v`` is
        already in canonical form, i.e. ``parse_case`` would return it unchanged (so
        generated code skips it), or None when every value goes through ``parse_case``.
        ``bind(obj, hint)`` returns the name under which the generated code sees ``obj``."""
        return None

    def show(self, value: Any) -> str:
        """A value as an analyst would write it in a cell."""
        return str(value)

    def to_json(self, value: Any) -> Any:
        """A value as a JSON-ready value (decimals stay Decimal for the encoder)."""
        return value

    def strategy(self, within: RangeTest | None = None):
        """A hypothesis strategy of canonical values (property tests draw cases from it);
        a type that can narrows the draw to ``within`` (a range of literals), the caller
        filters the rest."""
        raise NotImplementedError

    def neighbours(self, value: Any) -> list:
        """``value`` and the values just either side of it (property tests try both
        sides of a boundary); a value of another type is returned alone."""
        return [value]

    def __repr__(self) -> str:
        return f"<type {self.name}>"


class TextSpec(TypeSpec):
    type, classes = Type.TEXT, (str,)

    def conforms(self, value):
        return isinstance(value, str)

    def parse_cell(self, value, what):
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            raise ValueProblem(f"{show(value)} is a boolean but {what} is text: write it in quotes")
        if isinstance(value, (int, Decimal)):
            raise ValueProblem(f"{value} is a number but {what} is text (codes stay text): "
                               f'write it in quotes: "{value}"')
        raise ValueProblem(f"{show(value)} is not a text; {what} is text")

    def parse_case(self, raw):
        if isinstance(raw, str):
            return raw
        raise ValueProblem(f"expected text, got {show_raw(raw)}; codes are text: write it in quotes, "
                           f'e.g. "{raw}"')

    def fast_check(self, v, bind):
        return f"{v}.__class__ is str"

    def show(self, value):
        return f'"{value}"'

    def strategy(self, within=None):
        from hypothesis import strategies as st
        return st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=0x30FF), max_size=12)


class BooleanSpec(TypeSpec):
    type, classes = Type.BOOLEAN, (bool,)

    def conforms(self, value):
        return isinstance(value, bool)

    def parse_cell(self, value, what):
        if isinstance(value, bool):
            return value
        raise ValueProblem(f"{show(value)} is not a boolean; {what} is boolean: write true or false")

    def parse_case(self, raw):
        if isinstance(raw, bool):
            return raw
        raise ValueProblem(f"expected true or false, got {show_raw(raw)}")

    def fast_check(self, v, bind):
        return f"({v} is True or {v} is False)"

    def show(self, value):
        return "true" if value else "false"

    def strategy(self, within=None):
        from hypothesis import strategies as st
        return st.booleans()


MAX_DIGITS = 100  # digits before the decimal point of a number in a case
TOO_BIG = 10 ** MAX_DIGITS


def oversized(raw: Any) -> bool:
    """A number too big to be a fact (nor printable: Python refuses int ↔ str past 4,300
    digits).  Checked before any type's parse_case, whatever the field's type."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        return abs(raw) >= TOO_BIG
    if isinstance(raw, (float, Decimal)):
        d = to_decimal(raw)
        return d.is_finite() and d.adjusted() >= MAX_DIGITS
    return False


def check_size(raw: Any) -> None:
    if oversized(raw):
        raise ValueProblem(f"expected a number of at most {MAX_DIGITS} digits before the point; "
                           f"one with more than {MAX_DIGITS} digits is not accepted in a case")


class _NumericSpec(TypeSpec):
    def parse_cell(self, value, what):
        if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
            raise ValueProblem(f"{show(value)} is not a number; {what} is {self.name}: write a number "
                               "without quotes, e.g. 3000")
        return value


class IntegerSpec(_NumericSpec):
    type, classes, refines = Type.INTEGER, (int,), Type.NUMBER

    def conforms(self, value):
        return isinstance(value, int) and not isinstance(value, bool)

    def parse_cell(self, value, what):
        value = super().parse_cell(value, what)
        if isinstance(value, Decimal):
            if value != value.to_integral_value():
                raise ValueProblem(f"{value} is not a whole number; {what} is integer")
            return int(value)
        return value

    def parse_case(self, raw):
        if isinstance(raw, int) and not isinstance(raw, bool):
            return raw
        if isinstance(raw, (float, Decimal)):
            d = to_decimal(raw)
            if d.is_finite() and d == d.to_integral_value():
                return int(d)
        raise ValueProblem(f"expected a whole number, got {show_raw(raw)}")

    def fast_check(self, v, bind):  # a number too big for a case goes to the parser, which refuses it
        big = bind(TOO_BIG, "TOO_BIG")
        return f"{v}.__class__ is int and -{big} < {v} < {big}"

    def strategy(self, within=None):
        from hypothesis import strategies as st
        lo = hi = None
        if within is not None:
            lo, hi = within.low.value, within.high.value
            lo = lo if within.low_closed else lo + 1
            hi = hi if within.high_closed else hi - 1
        return st.integers(min_value=None if lo is None else int(lo),
                           max_value=None if hi is None else int(hi))

    def neighbours(self, value):
        if not isinstance(value, (int, Decimal)):
            return [value]
        value = int(value)
        return [value - 1, value, value + 1]


_EXACT = Context(prec=200)
_CENT = Decimal("0.01")


class NumberSpec(_NumericSpec):
    type, classes = Type.NUMBER, (int, Decimal)

    def conforms(self, value):
        return isinstance(value, (int, Decimal)) and not isinstance(value, bool)

    def parse_case(self, raw):
        if isinstance(raw, int) and not isinstance(raw, bool):
            return raw
        if isinstance(raw, (float, Decimal)):
            d = to_decimal(raw)
            if d.is_finite():
                return d
        raise ValueProblem(f"expected a number, got {show_raw(raw)}")

    def fast_check(self, v, bind):
        d = bind(Decimal, "Decimal")
        big = bind(TOO_BIG, "TOO_BIG")
        return f"({v}.__class__ is int or ({v}.__class__ is {d} and {v}.is_finite())) and -{big} < {v} < {big}"

    def show(self, value):
        if isinstance(value, Decimal):
            return format(value.normalize(), "f") if value == value.to_integral_value() else str(value)
        return str(value)

    def strategy(self, within=None):
        from hypothesis import strategies as st
        lo = hi = None
        if within is not None:
            lo, hi = within.low.value, within.high.value
        return st.decimals(min_value=lo, max_value=hi, allow_nan=False, allow_infinity=False,
                           places=2)

    def neighbours(self, value):
        if not isinstance(value, (int, Decimal)):
            return [value]
        if isinstance(value, int):
            return [value - 1, _EXACT.subtract(value, _CENT), value, _EXACT.add(value, _CENT), value + 1]
        exact = _EXACT  # wide enough that a step is never rounded away
        return [exact.subtract(value, 1), exact.subtract(value, _CENT), value,
                exact.add(value, _CENT), exact.add(value, 1)]


_CALENDAR_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")


class DateSpec(TypeSpec):
    type, classes = Type.DATE, (_dt.date,)

    def conforms(self, value):
        return isinstance(value, _dt.date) and not isinstance(value, _dt.datetime)

    def parse_cell(self, value, what):
        if isinstance(value, _dt.datetime):
            return value.date()
        if isinstance(value, _dt.date):
            return value
        example = "2020-02-03"
        if isinstance(value, str):
            try:
                return _dt.date.fromisoformat(value)
            except ValueError:
                pass
            m = _CALENDAR_DATE.fullmatch(value.strip())
            if m:  # 2021/4/1, 2021年4月1日: the date it spells, as the engine writes it
                try:
                    example = _dt.date(*(int(g) for g in m.groups())).isoformat()
                except ValueError:
                    pass
        raise ValueProblem(f'{show(value)} is not a date; {what} is date: write date("{example}")')

    def parse_case(self, raw):
        if isinstance(raw, _dt.datetime):
            return raw.date()
        if isinstance(raw, _dt.date):
            return raw
        if isinstance(raw, str):
            try:
                return parse_date(raw)
            except ValueError:
                pass
        raise ValueProblem(f'expected a date such as "2020-02-03", got {show_raw(raw)}')

    def fast_check(self, v, bind):
        return f"{v}.__class__ is {bind(_dt.date, '_date')}"

    def show(self, value):
        return f'date("{value.isoformat()}")'

    def to_json(self, value):
        return value.isoformat()

    def strategy(self, within=None):
        from hypothesis import strategies as st
        return st.dates(min_value=_dt.date(1990, 1, 1), max_value=_dt.date(2040, 12, 31))

    def neighbours(self, value):
        if not isinstance(value, _dt.date):
            return [value]
        day = _dt.timedelta(days=1)
        return [value - day, value, value + day]


class VersionSpec(TypeSpec):
    """Versions have no fast path: every raw value is parsed, through a cache."""
    type, classes = Type.VERSION, (Version,)

    def conforms(self, value):
        return isinstance(value, Version)

    def parse_cell(self, value, what):
        if isinstance(value, Version):
            return value
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            try:
                return Version(str(value))
            except ValueError:
                pass
        raise ValueProblem(f'{show(value)} is not a dotted version; {what} is version: write it '
                           'in quotes, e.g. "6.7.0"')

    def parse_case(self, raw):
        if raw.__class__ is str or (isinstance(raw, (str, int, Decimal)) and not isinstance(raw, bool)):
            try:
                return _version(str(raw))
            except ValueError:
                pass
        elif isinstance(raw, Version):
            return raw
        raise ValueProblem(f'expected a dotted version such as "6.7.0", got {show_raw(raw)}')

    def show(self, value):
        return f'"{value.text}"'

    def to_json(self, value):
        return value.text

    def strategy(self, within=None):
        from hypothesis import strategies as st
        return st.lists(st.integers(0, 20), min_size=1, max_size=3).map(
            lambda xs: Version(".".join(map(str, xs))))

    def neighbours(self, value):
        if not isinstance(value, Version):
            return [value]
        rel = list(value.release)
        out = [value, Version(".".join(map(str, rel[:-1] + [rel[-1] + 1])))]
        if rel[-1] > 0:
            out.append(Version(".".join(map(str, rel[:-1] + [rel[-1] - 1]))))
        return out


class TextListSpec(TypeSpec):
    """A cell holds texts of the list one at a time (``coerce_literal`` parses a text list
    column's literals as texts); ``parse_cell`` takes a whole list, or one text as a list of one."""
    type, classes = Type.TEXT_LIST, (tuple,)

    def conforms(self, value):
        return isinstance(value, tuple) and all(isinstance(x, str) for x in value)

    def parse_cell(self, value, what):
        items = value if isinstance(value, (tuple, list)) else (value,)
        return tuple(TYPES[Type.TEXT].parse_cell(x, what) for x in items)

    def parse_case(self, raw):
        if isinstance(raw, (list, tuple)) and all(isinstance(x, str) for x in raw):
            return tuple(raw)
        raise ValueProblem(f'expected a list of texts such as ["a", "b"], got {show_raw(raw)}')

    def show(self, value):
        return ", ".join(show(v) for v in value) if value else "[]"

    def to_json(self, value):
        return [to_json(v) for v in value]

    def strategy(self, within=None):
        from hypothesis import strategies as st
        return st.lists(st.text(max_size=5), max_size=3).map(tuple)


TYPES: dict[Type, TypeSpec] = {s.type: s for s in (
    TextSpec(), NumberSpec(), IntegerSpec(), BooleanSpec(), DateSpec(), VersionSpec(), TextListSpec())}


# --------------------------------------------------------------------------- by value
_NATURAL: dict[type, TypeSpec | None] = {
    cls: s for s in TYPES.values() if s.refines is None for cls in s.classes}


def natural_spec(value: Any) -> TypeSpec | None:
    """The spec of a value's natural type (integers are numbers), by its class; None
    for null and for values of no Glossary type."""
    try:
        return _NATURAL[value.__class__]
    except KeyError:
        cls = value.__class__
        spec = next((_NATURAL[c] for c in cls.__mro__[1:] if c in _NATURAL), None)
        _NATURAL[cls] = spec
        return spec


def type_of(value: Any) -> Type | None:
    """The natural type of a literal (integers are numbers)."""
    spec = natural_spec(value)
    return None if spec is None else spec.type


def show(value: Any) -> str:
    """A value as an analyst would write it in a cell."""
    spec = natural_spec(value)
    if spec is None:
        return "null" if value is None else str(value)
    return spec.show(value)


def to_json(value: Any) -> Any:
    """A typed value as a JSON-ready value (decimals stay Decimal for the encoder)."""
    spec = natural_spec(value)
    if spec is None:
        return [to_json(v) for v in value] if isinstance(value, list) else value
    return spec.to_json(value)


def show_raw(raw: Any) -> str:
    """A raw case value, as the case's author wrote it, for messages."""
    if isinstance(raw, str):
        return f'the text "{raw}"'
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, (int, float, Decimal)):
        return f"the number {raw}"
    if isinstance(raw, (list, tuple)):
        return "a list"
    if isinstance(raw, dict):
        return "an object"
    return repr(raw)
