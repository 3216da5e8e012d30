"""What a lint rule is.  One module of ``decide.tools.lint.rules`` per rule, each with
one instance of a subclass of:

``TableRule``    run on every table its ``hit_policies`` allow (a set of policies, or
                 ``Policies``: a test of the policy object's traits, so that a hit policy
                 registered later is included), over the table's exact
                 analysis (``decide.tools.analysis.TableAnalysis``);
``FindingRule``  a TableRule that reports the analysis's findings of one ``kind``;
``BookRule``     run once on the whole book (fields, sheets, decisions).

A rule declares its ``code`` (stable: ``L1xx``, never reused), its symbolic ``name``
(kebab-case, stable), its ``severity``, a one-line ``summary`` (the reference that
``decide lint --rules`` prints), and three functions of what ``detect`` yields (a
"hit"): ``message`` (in the analysts' terms), ``cell`` (where it points) and optionally
``related`` (the other place) and ``evidence`` (the ``LintDiagnostic`` fields: table,
rules, witness cases).
"""
from __future__ import annotations

import json
from typing import Any, Iterable, Optional

from decide.model.ir import Book, Loc, Table
from decide.tools.analysis import Finding, TableAnalysis
from decide.tools.lint.diagnostic import LintDiagnostic
from decide.tools.lint.wording import rid

class Policies:
    """The hit policies whose traits pass ``test`` (``decide.model.hitpolicy.Policy``),
    used like a set: ``table.hit_policy in Policies(lambda p: p.single)``."""

    def __init__(self, test):
        self.test = test

    def __contains__(self, policy) -> bool:
        return bool(self.test(policy))


#: the hit policies that return one result (UNIQUE, ANY, PRIORITY, FIRST)
SINGLE = Policies(lambda p: p.single)


class LintRule:
    code: str = ""  # "L101"
    name: str = ""  # "overlapping-rules"
    severity: str = "warning"  # "error" | "warning" | "info"
    summary: str = ""  # what it finds, one line
    hit_policies: Optional[frozenset | Policies] = None  # the tables it applies to; None: every table

    def detect(self, subject) -> Iterable[Any]:
        """The hits: what the rule finds in ``subject`` (an analysis or the book)."""
        raise NotImplementedError

    def message(self, subject, hit) -> str:
        raise NotImplementedError

    def cell(self, subject, hit) -> Loc:
        raise NotImplementedError

    def related(self, subject, hit) -> Optional[Loc]:
        return None

    def evidence(self, subject, hit) -> dict:
        return {}

    def diagnostics(self, subject) -> list[LintDiagnostic]:
        out = []
        for hit in self.detect(subject):
            ev = self.evidence(subject, hit)
            msg = self.message(subject, hit)
            if ev.get("decision_case") is not None:
                msg += (f" A case of decision {ev['table']} that gets there: "
                        f"{json.dumps(ev['decision_case'], ensure_ascii=False, default=str)}.")
            out.append(LintDiagnostic(self.code, self.severity, self.cell(subject, hit), msg,
                                      self.related(subject, hit), name=self.name, **ev))
        return out

    def __repr__(self) -> str:
        return f"<lint rule {self.code} {self.name}>"


class TableRule(LintRule):
    """Run on each table it applies to; ``subject`` is the table's ``TableAnalysis``."""

    def applies_to(self, table: Table) -> bool:
        return self.hit_policies is None or table.hit_policy in self.hit_policies

    def detect(self, a: TableAnalysis) -> Iterable[Any]:
        raise NotImplementedError

    def evidence(self, a: TableAnalysis, hit) -> dict:
        return {"table": a.table.name}


class FindingRule(TableRule):
    """Reports the findings of one ``kind`` of the table analysis; by default it points
    at the subject rule's row (the other rule involved is the related place), or at the
    table when the finding names no rule."""

    kind: str = ""  # Finding.kind
    #: look for a case of the table's decision that shows the finding (``exhibits``)
    seeks_decision_case: bool = False

    def detect(self, a: TableAnalysis) -> list[Finding]:
        return [x for x in a.findings if x.kind == self.kind]

    def cell(self, a: TableAnalysis, x: Finding) -> Loc:
        return a.table.rules[x.rules[0]].loc if x.rules else a.table.loc

    def related(self, a: TableAnalysis, x: Finding) -> Optional[Loc]:
        return a.table.rules[x.others[0]].loc if x.rules and x.others else None

    def evidence(self, a: TableAnalysis, x: Finding) -> dict:
        return {"table": a.table.name, "rules": tuple(rid(a.table, i) for i in x.rules + x.others),
                "witness": x.witness, "witness2": x.witness2, "decision_case": x.decision_case}

    def exhibits(self, book: Book, table: Table, x: Finding, env: dict, matched: list) -> bool:
        """Whether the table, given ``env`` (where ``matched`` are the rules that match),
        shows the finding; asked only when ``seeks_decision_case``."""
        return False


class BookRule(LintRule):
    """Run once per book; ``subject`` is the ``Book``."""

    def detect(self, book: Book) -> Iterable[Any]:
        raise NotImplementedError
