"""Effective dates: the reserved input field ``as_of`` (適用日), the date a decision is
made as of.

Rules test it like any date input (``>= date("2027-01-01")``); the engine supplies its
value on every decision (``Rulebook.decide(..., as_of=)``, ``--as-of``, ``?as_of=``),
by default today in the rule set's time zone (a ``Settings`` sheet's ``Time zone``,
else UTC).  Nothing else about it is special: lint, verify and diff see an ordinary
date column."""
from __future__ import annotations

import datetime as _dt
from functools import lru_cache
from time import time as _time
from typing import Any, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from decide.model.errors import CaseError, did_you_mean

AS_OF = "as_of"
LABEL = "適用日"
DESCRIPTION = ("the date the decision is made as of (supplied by the engine: today in the "
               "rule set's time zone unless the caller gives one) / effective date")
DEFAULT_ZONE = "UTC"


def parse_as_of(value: Any) -> _dt.date:
    """A date from a ``datetime.date`` or an ISO ``YYYY-MM-DD`` text; CaseError otherwise."""
    if isinstance(value, _dt.date) and not isinstance(value, _dt.datetime):
        return value
    if isinstance(value, str):
        try:
            if len(value.strip()) == 10:
                return _dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    shown = repr(value) if not isinstance(value, str) else f'"{value[:40]}"'
    raise CaseError(f"as_of {shown} is not a date: write it as YYYY-MM-DD, e.g. 2027-01-01",
                    field=AS_OF, value=value)


@lru_cache(maxsize=64)
def time_zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name`` (``Asia/Tokyo``); ValueError with a hint if unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        pass
    try:
        zones = available_timezones()
    except Exception:  # pragma: no cover (no time zone database at all)
        zones = set()
    by_city = {z.rsplit("/", 1)[-1].lower(): z for z in zones}
    guess = {"JST": "Asia/Tokyo"}.get(name.strip().upper()) or by_city.get(name.strip().lower())
    hint = f' (did you mean "{guess}"?)' if guess else did_you_mean(name, zones)
    raise ValueError(f'"{name}" is not a time zone{hint}: write an IANA time zone name such as '
                     "Asia/Tokyo, Europe/London or UTC")


def today(zone: ZoneInfo, now: _dt.datetime | None = None) -> _dt.date:
    """The calendar date in ``zone`` at ``now`` (an aware datetime; default: this instant)."""
    if now is not None:
        return now.astimezone(zone).date()
    return day_at(zone, _time())


def day_at(zone: ZoneInfo, t: float) -> _dt.date:
    """The calendar date in ``zone`` at the epoch second ``t``."""
    return _span(zone, t)[2]


def _span(zone: ZoneInfo, t: float) -> tuple[float, float, _dt.date]:
    """(the epoch second the day of ``t`` starts in ``zone``, the one the next starts, the day)."""
    day = _dt.datetime.fromtimestamp(t, zone).date()
    start = _dt.datetime.combine(day, _dt.time(0), zone).timestamp()
    end = _dt.datetime.combine(day + _dt.timedelta(days=1), _dt.time(0), zone).timestamp()
    return start, end, day


class Dates:
    """The as-of dates of one rule set: its time ``zone`` and the decisions that read
    ``as_of`` (``dated``).  Today is kept with its bounds, so that deciding costs a
    clock read until the next midnight in the zone."""

    __slots__ = ("zone", "dated", "span")

    def __init__(self, zone: ZoneInfo, dated: frozenset):
        self.zone, self.dated = zone, dated
        self.span = (0.0, 0.0, None)  # (the epoch second today starts, the one tomorrow starts, today)

    def today(self, t: float | None = None) -> _dt.date:
        """The date in the zone now (or at the epoch second ``t``)."""
        if t is None:
            t = _time()
        span = self.span
        if span[0] <= t < span[1]:
            return span[2]
        self.span = span = _span(self.zone, t)  # one assignment: a thread sees the old day or the new
        return span[2]

    def supply(self, name: str, facts: Any, as_of: Any) -> tuple[Any, _dt.date]:
        """(the facts to decide ``name`` on, the as-of date).  The date is ``as_of`` if
        given (it wins over the case's own, which must still be a date), else the
        case's own ``as_of`` fact, else today.  When the decision reads the field, the
        date is put in the facts."""
        mapping = type(facts) is dict or isinstance(facts, Mapping)
        own = facts.get(AS_OF) if mapping else None
        if own is not None:
            own = parse_as_of(own)  # a bad one is refused even where the date given wins
        if as_of is not None:
            day = parse_as_of(as_of)
        else:
            day = self.today() if own is None else own
        if mapping and name in self.dated:
            facts = {**facts, AS_OF: day}
        return facts, day
