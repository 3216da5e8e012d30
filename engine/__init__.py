"""decide's engine: decision tables in Excel workbooks, compiled and evaluated.

    import decide
    book = decide.load("tables/")
    result = book.decide("card_eligibility", {"kyc_status": "approved", ...})
    result.outputs, result.fired, result.to_dict()
"""
from decide.runtime.rulebook import DecisionInfo, Rulebook, load
from decide.model.errors import CaseError, DecideError, Diagnostic, EvaluationError, WorkbookError
from decide.runtime.result import FiredRule, Result

__all__ = [
    "load", "Rulebook", "Result", "FiredRule", "DecisionInfo",
    "WorkbookError", "CaseError", "EvaluationError", "DecideError", "Diagnostic",
]
