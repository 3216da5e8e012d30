"""What a cell that failed to parse was probably meant to say, for its error message.

Asked only about a cell that is already an error, so a hint never changes a meaning:
a date typed as in a calendar (``<= 2020-02-03``, ``2020/2/3``, ``2020年2月3日``) in a
date column → ``date("2020-02-03")``; a yen amount (``¥3,000``, ``3,000円``) in a number
column → ``3000``; an Excel error value (``#VALUE!``) typed or pasted as text."""
from __future__ import annotations

import re

from decide.model.ir import Type

_DATE = re.compile(r'(?<![\d"])(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?![\d"])')
_YEN = re.compile(r"[¥￥]\s*(\d{1,3}(?:,\d{3})+|\d+)|(\d{1,3}(?:,\d{3})+|\d+)\s*円")
EXCEL_ERROR = re.compile(r"#(?:VALUE!|REF!|N/A|DIV/0!|NAME\?|NUM!|NULL!|SPILL!|CALC!|GETTING_DATA)",
                         re.IGNORECASE)


def _date(m: re.Match) -> str:
    y, mo, d = (int(g) for g in m.groups())
    return f'date("{y:04d}-{mo:02d}-{d:02d}")'


def _yen(m: re.Match) -> str:
    return (m.group(1) or m.group(2)).replace(",", "")


def cell_hint(text: str, type_: Type | None) -> str | None:
    """A message for a cell ``text`` that is an error in a column of ``type_``, or None."""
    m = EXCEL_ERROR.fullmatch(text.strip())
    if m:
        return (f"this cell shows the Excel error {m.group(0).upper()}: its formula fails; fix the "
                "formula, or type the value")
    item = type_.item if type_ is not None else None
    if item is Type.DATE:
        better = _DATE.sub(_date, text)
        if better != text:
            return f'a date is written date("YYYY-MM-DD"): write {better.strip()}'
    if item is not None and item.is_numeric:
        better = _YEN.sub(_yen, text)
        if better != text:
            return f"an amount of yen is written as the number alone, without ¥, 円 or commas: write {better.strip()}"
    return None
