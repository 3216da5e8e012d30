"""The three atone decision services: card_eligibility, purchase_restriction and
decline_diagnosis.

Everything a business analyst can say lives in the workbooks under ``tables/``
(thresholds, document rules, restricted categories, causes, remedies, wording,
precedence).  This module only names each service's public fields (the contract in
DOMAIN.md) and the little code the tables cannot express:

- ``decline_diagnosis``: the cardholder-name check (``decisions.names``): kana →
  Hepburn romaji, long-vowel spellings, either order, format faults.
- every service: refusing facts that are missing where the answer depends on them,
  or that contradict each other, with a ``CaseError`` that says what to give —
  rather than a confident wrong answer.  The defaults for facts that may be absent
  are documented in ``docs/analyst-guide.md`` ("Absent facts").

The engine finds ``SERVICES`` through the ``decide.services`` entry point.
"""
from __future__ import annotations

from decide.model.errors import CaseError
from decide.model.ir import DecisionService

from decide.atone.names import derive_name_facts, warm as _warm_names

# ---------------------------------------------------------------- card_eligibility

ELIGIBILITY_INPUTS = (
    "kyc_status",
    "kyc_document",
    "kyc_document_sides",
    "drivers_license_address_changed",
    "passport_issue_date",
    "address_matches_document",
    "name_matches_document",
    "photo_problem",
    "camera_permission",
    "months_of_use",
    "use_count",
    "total_spent_yen",
    "late_payment_count",
    "unpaid_balance_yen",
    "months_since_last_late_payment",
    "payment_method",
    "app_version",
    "os",
    "os_version",
    "notifications_enabled",
    "issue_button_shown",
)
ELIGIBILITY_OUTPUTS = ("card_status", "reasons", "next_steps")


def check_eligibility_facts(facts: dict) -> dict:
    """Refuse contradictory or insufficient facts; derives nothing."""
    late = facts.get("late_payment_count")
    since = facts.get("months_since_last_late_payment")
    if late is not None and late > 0 and since is None:
        raise CaseError(
            f"late_payment_count is {late} but months_since_last_late_payment is missing: "
            "recovery after a late payment depends on how many months have passed since the "
            "last one. Give months_since_last_late_payment (0 if it was this month).",
            field="months_since_last_late_payment",
        )
    if since is not None and (late is None or late == 0):
        raise CaseError(
            f"months_since_last_late_payment is {since} but late_payment_count is "
            f"{'missing' if late is None else 0}: a member who never paid late has no last "
            "late payment. Give late_payment_count (at least 1), or leave "
            "months_since_last_late_payment out.",
            field="late_payment_count",
        )
    if (
        facts.get("kyc_document") == "passport"
        and facts.get("passport_issue_date") is None
        and facts.get("kyc_status") != "approved"
    ):
        raise CaseError(
            "kyc_document is passport but passport_issue_date is missing: only old-style "
            "passports (with an address field) are accepted, and that depends on the issue "
            'date. Give passport_issue_date, e.g. "2019-05-01".',
            field="passport_issue_date",
        )
    return {}


# ---------------------------------------------------------------- purchase_restriction

PURCHASE_INPUTS = ("merchant", "category", "amount_yen", "recurring")
PURCHASE_OUTPUTS = ("allowed", "restriction", "message")


def check_purchase_facts(facts: dict) -> dict:
    if facts.get("category") is None:
        raise CaseError(
            "category is missing: whether a purchase is allowed depends on what is bought "
            '(e.g. "general_goods", "gift_card", "kindle", "subscription").',
            field="category",
        )
    return {}


# ---------------------------------------------------------------- decline_diagnosis

DECLINE_INPUTS = PURCHASE_INPUTS + (
    "entered_name",
    "registered_name_kana",
    "expiry_entered_correctly",
    "cvv_entered_correctly",
    "available_limit_yen",
    "merchant_country",
    "currency",
    "merchant_accepts_prepaid_cards",
    "merchant_supports_3ds",
)
DECLINE_OUTPUTS = ("causes", "remedies")
DECLINE_DERIVED = ("name_format_fault", "name_format_ok", "name_matches_registered")


def derive_decline_facts(facts: dict) -> dict:
    """The name facts (see ``decisions.names``).  Other absent facts are not errors
    here: each cause is judged only from the facts given (documented in the guide)."""
    return derive_name_facts(facts)


SERVICES: list[DecisionService] = [
    DecisionService(
        name="card_eligibility",
        inputs=ELIGIBILITY_INPUTS,
        outputs=ELIGIBILITY_OUTPUTS,
        derived=(),
        derive=check_eligibility_facts,
        description="atoneアプリ専用カードを発行できるか、できないなら理由と次にやること "
        "(can this member issue the app-only card; if not, why and what next)",
    ),
    DecisionService(
        name="purchase_restriction",
        inputs=PURCHASE_INPUTS,
        outputs=PURCHASE_OUTPUTS,
        derived=(),
        derive=check_purchase_facts,
        description="このカードでこの買い物ができるか (may the card be used for this purchase)",
    ),
    DecisionService(
        name="decline_diagnosis",
        inputs=DECLINE_INPUTS,
        outputs=DECLINE_OUTPUTS,
        derived=DECLINE_DERIVED,
        derive=derive_decline_facts,
        warm=_warm_names,  # the name check's romanisation, loaded by a server or batch at start
        description="「利用承認が得られませんでした」の原因と対処法 "
        "(why was the card declined, and what to do)",
    ),
]
