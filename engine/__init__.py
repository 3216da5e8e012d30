"""decide's engine: decision tables in Excel workbooks, compiled and evaluated.

    import decide
    book = decide.load("tables/")
    result = book.decide("card_eligibility", {"kyc_status": "approved", ...})
    result.outputs, result.fired, result.to_dict()
    book.counterfactuals("card_eligibility", facts, want={"card_status": "issuable"})
    book = decide.load("tables/", decision_log=decide.DecisionLog("decisions.jsonl"))
    decide.archive(book, "archive/")   # archive/<version>/: the workbooks of the version

This module is the composition root: it gives ``Rulebook`` the conveniences the
tools layer serves (``counterfactuals``), so that the runtime itself never imports
a layer above it (docs/architecture.md).  The tools load on first use.
"""
from decide.runtime.rulebook import DecisionInfo, ReloadRefused, Rulebook, load
from decide.model.errors import CaseError, DecideError, Diagnostic, EvaluationError, WorkbookError
from decide.runtime.result import FiredRule, Result
from decide.runtime.decisionlog import DecisionLog, DecisionLogError
from decide.runtime.archive import ArchiveError, put as archive



def _counterfactuals(self, name, facts, *, want, **options):
    """The minimal sets of fact changes that make decision ``name`` give ``want``
    (``decide.tools.why.counterfactuals``: exact, over the chained tables; only the
    Glossary's changeable fields take part)."""
    from decide.tools.why import counterfactuals
    return counterfactuals(self, name, facts, want, **options)


Rulebook.counterfactuals = _counterfactuals

__all__ = [
    "load", "Rulebook", "Result", "FiredRule", "DecisionInfo", "DecisionLog", "archive",
    "DecisionLogError", "ArchiveError",
    "WorkbookError", "ReloadRefused", "CaseError", "EvaluationError", "DecideError", "Diagnostic",
]
