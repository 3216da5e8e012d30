"""For a table fed by other tables, a case of the table's decision whose upstream
results show a finding (``Finding.decision_case``): the witness names intermediate
fields, the decision case names what a caller sends."""
from __future__ import annotations

from dataclasses import replace
from typing import Sequence

from decide.model.errors import CaseError, EvaluationError
from decide.model.ir import Book
from decide.runtime.facts import apply_derive, normalise
from decide.runtime.reference import matching_rules, run_tables
from decide.tools.lint.rule import FindingRule, LintRule


def find_decision_cases(book: Book, found: dict, tries: int = 300, per_table: int = 10, *,
                        rules: Sequence[LintRule] = ()) -> None:
    """For tables fed by other tables, look for cases of the table's decision (generated
    from the Glossary, the boundaries and the Tests sheets) whose upstream results show
    each finding of a rule that ``seeks_decision_case``; attach the first found to the
    finding."""
    from decide.tools.diff import generate_cases
    seekers = {r.kind: r for r in rules if isinstance(r, FindingRule) and r.seeks_decision_case}
    for name, a in found.items():
        plan = book.decisions.get(name)
        todo = [x for x in a.findings if x.kind in seekers][:per_table]
        if plan is None or len(plan.tables) < 2 or not todo:
            continue
        upstream = replace(plan, tables=tuple(n for n in plan.tables if n != name))
        cases = generate_cases([book], name, tries, seed=0)
        cases.sort(key=lambda c: -len(c))  # cases that give every field first
        for raw in cases:
            try:
                env = run_tables(book, upstream, apply_derive(book, plan, normalise(book, plan, raw)))[0]
            except (CaseError, EvaluationError, ValueError, TypeError):
                continue
            matched = None
            for x in todo:
                if x.decision_case is None:
                    if matched is None:
                        matched = matching_rules(a.table, env)
                    if seekers[x.kind].exhibits(book, a.table, x, env, matched):
                        x.decision_case = raw
            if all(x.decision_case is not None for x in todo):
                break
