"""Phrases the lint messages share: rule ids, lists of rules, a case in the table's
own headers."""
from __future__ import annotations

from decide.model.ir import Table
from decide.model.values import show


def rid(t: Table, i: int) -> str:
    """The id of rule ``i`` as the analyst wrote it."""
    return str(t.rules[i].id)


def rules_phrase(t: Table, idx) -> str:
    """``rule 1``, ``rules 1 and 2``, ``rules 1, 2, 3, 4, 5, 6 and 3 more``."""
    idx = list(idx)
    names = [rid(t, i) for i in idx[:6]]
    more = f" and {len(idx) - 6} more" if len(idx) > 6 else ""
    if len(names) == 1:
        return f"rule {names[0]}"
    return "rules " + ", ".join(names[:-1]) + (" and " if not more else ", ") + names[-1] + more


def verb(idx) -> str:
    return "matches" if len(list(idx)) == 1 else "match"


def case_text(t: Table, case: dict) -> str:
    """``category = "kindle", amount_yen = 0`` with the table's own headers."""
    header = {c.field: c.header for c in t.inputs if c.field}
    parts = []
    fields_tested = []
    for c in t.inputs:
        if c.field and c.field not in fields_tested:
            fields_tested.append(c.field)
    for f in fields_tested:
        name = header.get(f, f)
        parts.append(f"{name} = {show(case[f])}" if f in case else f"{name} absent")
    for f in sorted(set(case) - set(fields_tested)):  # fields of expression headers
        parts.append(f"{f} = {show(case[f])}")
    return ", ".join(parts) if parts else "any case"


def when(region: str) -> str:
    return "every case" if region == "every case" else f"when {region}"
