"""decide's engine: decision tables in Excel workbooks, compiled and evaluated.

    import engine
    book = engine.load("tables/")
    result = book.decide("card_eligibility", {"kyc_status": "approved", ...})
    result.outputs, result.fired, result.to_dict()
"""
from .api import DecisionInfo, Rulebook, load
from .errors import CaseError, DecideError, Diagnostic, EvaluationError, WorkbookError
from .native import FiredRule, Result

__all__ = [
    "load", "Rulebook", "Result", "FiredRule", "DecisionInfo",
    "WorkbookError", "CaseError", "EvaluationError", "DecideError", "Diagnostic",
]
