"""``decide diff --format markdown``: what an edit of the workbooks changes, as a
summary for a pull request (GitHub-flavoured Markdown).

A one-line verdict, then: the rules and cells changed per table, with the regions of
cases each table now decides differently; the Glossary, Tests and Invariants edits;
the cases (from the corpus, or generated) that a decision now decides differently;
the lint findings the edit brings.  Cell text is shown as code, with the characters
Markdown would read (``|``, backticks, line breaks) made harmless.
"""
from __future__ import annotations

from decide.model.values import show
from decide.tools.diff import DiffReport, case_change, case_facts

KINDS = (("glossary", "Glossary", ("Field", "Where", "Change")),
         ("tests", "Tests", ("Case", "Where", "Change")),
         ("invariants", "Invariants", ("Invariant", "Where", "Change")))


def code(text: str) -> str:
    """``text`` as inline code inside a table cell: one line, pipes escaped, and a
    fence longer than any run of backticks in it."""
    text = " ".join(str(text).split("\n")).replace("|", "\\|")
    if not text.strip():
        return "*(empty)*"
    longest = cur = 0
    for ch in text:
        cur = cur + 1 if ch == "`" else 0
        longest = max(longest, cur)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def plain(text: str) -> str:
    """Text inside a table cell: one line, pipes escaped."""
    return " ".join(str(text).split("\n")).replace("|", "\\|")


def _row(*cells) -> str:
    return "| " + " | ".join(cells) + " |"


def _head(*names) -> list[str]:
    return [_row(*names), _row(*("---" for _ in names))]


def verdict(rep: DiffReport) -> str:
    parts = []
    n_tables = len(rep.tables)
    n_cells = sum(len(t.cells) for t in rep.tables)
    if n_tables:
        parts.append(f"{n_tables} table{'s' if n_tables != 1 else ''} changed"
                     + (f" ({n_cells} cell{'s' if n_cells != 1 else ''})" if n_cells else ""))
    for kind, title, _ in KINDS:
        k = len(rep.edits(kind))
        if k:
            noun = {"glossary": "Glossary field", "tests": "Tests case",
                    "invariants": "invariant"}[kind]
            parts.append(f"{k} {noun}{'s' if k != 1 else ''} edited")
    changed = {d: len(cs) for d, cs in rep.cases.items() if cs}
    if changed:
        parts.append("cases decided differently: " + ", ".join(
            f"{d} {k} of {rep.evaluated.get(d, 0)}" for d, k in changed.items()))
    elif rep.evaluated:
        parts.append(f"no case of {sum(rep.evaluated.values())} decided differently")
    if rep.lint_new:
        parts.append(f"{len(rep.lint_new)} new lint finding{'s' if len(rep.lint_new) != 1 else ''}")
    if not parts:
        return "**No change.**"
    return "**" + "; ".join(parts) + ".**"


def _tables(rep: DiffReport) -> list[str]:
    out = ["### Tables", ""]
    for t in rep.tables:
        where = f"{t.loc.workbook} › {t.loc.sheet}"
        if t.status != "changed":
            out += [f"- **{t.table}** ({plain(where)}): {t.status}", ""]
            continue
        out += [f"#### {t.table} ({plain(where)})", ""]
        out += [f"- {plain(n)}" for n in t.notes]
        out += [f"- rule {plain(rid)} added (row {loc.cell[1:]})" for rid, loc in t.added]
        out += [f"- rule {plain(rid)} removed" for rid, _ in t.removed]
        if t.notes or t.added or t.removed:
            out.append("")
        if t.cells:
            out += _head("Rule", "Column", "Cell", "Old", "New")
            out += [_row(plain(c.rule), plain(c.column), c.loc.cell, code(c.old), code(c.new)) for c in t.cells]
            out.append("")
        if t.regions is not None:
            if not t.regions:
                out += ["The table decides every case as before.", ""]
            else:
                out += ["Decides differently when:", ""]
                for r in t.regions:
                    ex = ", ".join(f"{k} = {show(v)}" for k, v in r.witness.items()) or "any case"
                    what = f" ({plain(r.what)})" if r.what else ""
                    out.append(f"- {plain(r.region)}{what}, e.g. {code(ex)}")
                out.append("")
    return out


def _sheets(rep: DiffReport) -> list[str]:
    out = []
    for kind, title, names in KINDS:
        edits = rep.edits(kind)
        if not edits:
            continue
        out += [f"### {title}", ""] + list(_head(*names))
        for e in edits:
            subject = code(e.subject) if e.subject else f"sheet ({plain(e.decision)})"
            if e.decision and e.subject:
                subject += f" ({plain(e.decision)})"
            where = plain(f"{e.loc.workbook} › {e.loc.sheet}" + (f" › {e.row}" if e.row else ""))
            change = e.status if not e.changes else (
                "; ".join(plain(c) for c in e.changes) if e.status == "changed"
                else f"{e.status}: " + "; ".join(plain(c) for c in e.changes))
            out.append(_row(subject, where, change))
        out.append("")
    return out


def _cases(rep: DiffReport, limit: int) -> list[str]:
    if not rep.evaluated:
        return []
    out = ["### Cases decided differently", ""]
    for d, n in rep.evaluated.items():
        cs = rep.cases.get(d, [])
        out.append(f"- **{d}**: {len(cs)} of {n} case{'s' if n != 1 else ''} change")
    out.append("")
    for d, cs in rep.cases.items():
        if not cs:
            continue
        out += [f"<details><summary>{d}: {len(cs)} case{'s' if len(cs) != 1 else ''}</summary>", ""]
        out += _head("Case", "Facts", "Old → new")
        for c in cs[:limit]:
            out.append(_row(plain(c.source), code(case_facts(c)), plain(case_change(c))))
        if len(cs) > limit:
            out.append(_row("…", f"and {len(cs) - limit} more", ""))
        out += ["", "</details>", ""]
    return out


def _lint(rep: DiffReport) -> list[str]:
    if rep.lint_new is None:
        return []
    out = ["### New lint findings", ""]
    if not rep.lint_new:
        return out + ["None: the edit brings no lint finding the old version did not have.", ""]
    out += _head("Severity", "Finding", "Where", "Message")
    for d in rep.lint_new:
        name = getattr(d, "name", "")
        out.append(_row(d.severity, f"{d.code} {name}".strip(), plain(str(d.loc)), plain(d.message)))
    return out + [""]


def format_markdown(rep: DiffReport, *, old: str = "", new: str = "", limit: int = 50) -> str:
    head = "## Decision tables: what this change does"
    lines = [head, ""]
    if old or new:
        lines += [f"Compared {code(old)} (before) with {code(new)} (after).", ""]
    lines += [verdict(rep), ""]
    if rep.tables:
        lines += _tables(rep)
    lines += _sheets(rep)
    lines += _cases(rep, limit)
    lines += _lint(rep)
    return "\n".join(lines).rstrip() + "\n"
