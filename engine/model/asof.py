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
    return (now.astimezone(zone) if now is not None else _dt.datetime.now(zone)).date()


def supply(facts: Any, as_of: Any, zone: ZoneInfo, reads: bool) -> tuple[Any, _dt.date]:
    """(the facts to decide, the as-of date).  The date is ``as_of`` if given (it wins
    over the case's own), else the case's own ``as_of`` fact, else today in ``zone``.
    When the decision ``reads`` the field, the date is put in the facts."""
    if as_of is not None:
        day = parse_as_of(as_of)
    else:
        own = facts.get(AS_OF) if isinstance(facts, Mapping) else None
        day = today(zone) if own is None else parse_as_of(own)
    if reads and isinstance(facts, Mapping):
        facts = {**facts, AS_OF: day}
    return facts, day
