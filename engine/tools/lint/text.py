"""Lint diagnostics and the rules as text."""
from __future__ import annotations

from typing import Sequence

from decide.model.ir import HitPolicy
from decide.tools.lint.rule import LintRule, TableRule


def format_text(diags, *, color: bool = False) -> str:
    """Two lines per diagnostic (severity, code, rule name, place; the message), then
    the counts."""
    lines = []
    for d in diags:
        name = getattr(d, "name", "")
        lines.append(f"{d.severity.upper():7} {d.code}{' ' + name if name else ''}  {d.loc}")
        lines.append(f"        {d.message}")
    n_err = sum(d.severity == "error" for d in diags)
    n_warn = sum(d.severity == "warning" for d in diags)
    n_info = len(diags) - n_err - n_warn
    lines.append(f"{n_err} error(s), {n_warn} warning(s), {n_info} note(s)")
    return "\n".join(lines)


def rules_table(rules: Sequence[LintRule]) -> str:
    """The reference of the codes: one line per rule (code, name, severity, the hit
    policies of the tables it checks, what it finds)."""
    rows = []
    for r in rules:
        if not isinstance(r, TableRule):
            where = "book"
        elif r.hit_policies is None:
            where = "any table"
        else:
            where = " ".join(p.value for p in HitPolicy if p in r.hit_policies)
        rows.append((r.code, r.name, r.severity, where, r.summary))
    widths = [max(len(row[k]) for row in rows) for k in range(4)] if rows else [0] * 4
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row[:4], widths)) + "  " + row[4]
                     for row in rows)
