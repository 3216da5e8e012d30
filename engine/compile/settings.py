"""The Settings sheet (A1 ``Settings`` / ``設定``) and the reserved field ``as_of``.

A Settings sheet lists one setting per row from row 2 (column A its name, column B its
value, later columns are notes) until the first empty row.  The one setting is the
time zone whose today is the default as-of date (``decide.model.asof``)."""
from __future__ import annotations

import re

from decide.compile.build import Collector, _cell_text, block_rows
from decide.compile.reader import RawSheet
from decide.model.asof import AS_OF, DEFAULT_ZONE, DESCRIPTION, LABEL, time_zone
from decide.model.errors import did_you_mean
from decide.model.ir import Field, Loc, Type

#: a setting's name (lower case, spaces collapsed) → its key
SETTINGS = {"time zone": "time_zone", "timezone": "time_zone", "タイムゾーン": "time_zone"}


def build_settings(sheets: list[RawSheet], c: Collector) -> dict:
    """``{"time_zone": name}`` from every Settings sheet (UTC when none says); the same
    setting given differently in two places is an error naming both."""
    found: dict[str, tuple[str, Loc]] = {}
    for sh in sheets:
        for row in block_rows(sh, 2, c, "the settings"):
            raw = _cell_text(sh.get(row, 1))
            key = SETTINGS.get(re.sub(r"\s+", " ", raw.lower()))
            if key is None:
                c.error("E192", sh.loc(row, 1), f'"{raw}" is not a setting{did_you_mean(raw.lower(), SETTINGS)}; '
                        "settings: Time zone (タイムゾーン)")
                continue
            value, loc = _cell_text(sh.get(row, 2)), sh.loc(row, 2)
            try:
                time_zone(value)
            except ValueError as e:
                c.error("E193", loc, f"the time zone: {e}")
                continue
            if key in found and found[key][0] != value:
                c.error("E194", loc, f'the time zone is "{value}" here but "{found[key][0]}" at {found[key][1]}: '
                        "give one time zone (or the same one in every workbook)", related=found[key][1])
                continue
            found.setdefault(key, (value, loc))
    return {"time_zone": found["time_zone"][0] if "time_zone" in found else DEFAULT_ZONE}


def with_as_of(fields: dict[str, Field], c: Collector) -> dict[str, Field]:
    """The Glossary's fields with the reserved ``as_of`` (type date, label 適用日) added.
    A Glossary may declare it itself (to give it another label or description), as a
    date with no allowed values; any other declaration is an error (E118)."""
    own = fields.get(AS_OF)
    if own is None:
        return {**fields, AS_OF: Field(AS_OF, Type.DATE, None, LABEL, DESCRIPTION, Loc("", ""))}
    if own.type is not Type.DATE or own.allowed is not None:
        c.error("E118", own.loc, f'"{AS_OF}" is reserved: it is the date a decision is made as of, which the '
                "engine supplies; declare it as date with no allowed values, or leave it out of the Glossary")
    return fields
