"""Acceptance 5 of the atone decisions: properties over the whole input space of each
decision, with hypothesis strategies built from the Glossary (``book.ir.fields``):
types, allowed values and ranges, plus the boundary values the tables compare with.

- a member with an unpaid balance is never issuable;
- a member who is issuable stays issuable when spend or use count rises;
- a cashable category is never allowed (and is always a restricted item in a decline);
- every cause in ``causes`` has its remedy at the same position;
- the outputs are always among the Glossary's allowed values.

A generated case that the decision refuses (``CaseError``: contradictory or missing
facts, documented in decisions/services.py) is not a counterexample; the refusals
are themselves checked to be the documented ones.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import decide
from decide.model.ir import Literal, RangeTest, Type
from decide.compile.resolve import literal_values
from decide.model.values import Version, in_allowed

TABLES = Path(__file__).resolve().parent.parent / "tables"
BOOK = decide.load(TABLES)
FIELDS = BOOK.ir.fields
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ---------------------------------------------------------------- strategies from the Glossary
def boundaries(field: str) -> list:
    """Values the tables compare ``field`` with, and their neighbours."""
    found: set = set()
    for table in BOOK.ir.tables.values():
        for i, col in enumerate(table.inputs):
            if col.field == field:
                for rule in table.rules:
                    found |= literal_values(rule.inputs[i].test)
    out = set()
    for v in found:
        if v is None or isinstance(v, bool):
            continue
        out.add(v)
        if isinstance(v, int):
            out |= {v - 1, v + 1}
        elif isinstance(v, dt.date):
            out |= {v - dt.timedelta(days=1), v + dt.timedelta(days=1)}
    return sorted(out, key=repr)


def _json(v):
    if isinstance(v, Version):
        return str(v)
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    return v


def field_strategy(name: str, texts=()):
    f = FIELDS[name]
    edge = [b for b in boundaries(name) if in_allowed(b, f.allowed)]
    if f.type is Type.BOOLEAN:
        return st.booleans()
    if f.type is Type.INTEGER:
        lo, hi = 0, 10**7
        if isinstance(f.allowed, RangeTest):
            lo, hi = f.allowed.low.value, f.allowed.high.value
        small = st.integers(lo, min(hi, lo + 20))
        base = st.one_of(small, st.integers(lo, hi))
        return st.one_of(base, st.sampled_from(edge)) if edge else base
    if f.type is Type.TEXT:
        if isinstance(f.allowed, tuple):
            return st.sampled_from(f.allowed)
        return st.one_of(st.sampled_from(texts), st.text(max_size=8)) if texts else st.text(max_size=8)
    if f.type is Type.VERSION:
        parts = st.lists(st.integers(0, 20), min_size=1, max_size=3).map(lambda p: ".".join(map(str, p)))
        return st.one_of(parts, st.sampled_from([str(v) for v in edge])) if edge else parts
    if f.type is Type.DATE:
        dates = st.dates(dt.date(2005, 1, 1), dt.date(2035, 12, 31))
        return st.one_of(dates, st.sampled_from(edge)).map(dt.date.isoformat) if edge else dates.map(dt.date.isoformat)
    raise AssertionError(f.type)


def cases(decision: str, texts: dict | None = None, required=()):
    """Any case of ``decision``: each input absent or any value of its Glossary type."""
    texts = texts or {}
    plan = BOOK.ir.decisions[decision]
    req = {n: field_strategy(n, texts.get(n, ())) for n in plan.inputs if n in required}
    opt = {n: field_strategy(n, texts.get(n, ())) for n in plan.inputs if n not in required}
    return st.fixed_dictionaries(req, optional=opt)


def run(decision: str, facts: dict):
    """Outputs, or None when the decision refuses the case (checked to be a documented refusal)."""
    try:
        return BOOK.decide(decision, facts).outputs
    except decide.CaseError as e:
        assert e.field in DOCUMENTED_REFUSALS[decision], (e.field, str(e), facts)
        return None


DOCUMENTED_REFUSALS = {
    "card_eligibility": {"months_since_last_late_payment", "late_payment_count", "passport_issue_date"},
    "purchase_restriction": {"category"},
    "decline_diagnosis": {"registered_name_kana"},
}


def check_allowed(decision: str, out: dict):
    for name in BOOK.ir.decisions[decision].outputs:
        f = FIELDS[name]
        v = out[name]
        if f.type is Type.TEXT_LIST:
            assert isinstance(v, (list, tuple)) and all(isinstance(x, str) and x for x in v), (name, v)
            v = tuple(v)
        else:
            assert v is not None, name
        assert in_allowed(v, f.allowed), (name, v, f.allowed)


# ---------------------------------------------------------------- card_eligibility
GOOD = {"kyc_status": "approved", "months_of_use": 3, "use_count": 3, "total_spent_yen": 6000,
        "late_payment_count": 0, "unpaid_balance_yen": 0, "app_version": "6.7.0", "os": "ios",
        "os_version": "14", "notifications_enabled": True}


@st.composite
def members(draw):
    """Members of every kind, often close to issuable (so that monotonicity is tested on
    issuable members, not vacuously), with consistent late-payment facts."""
    facts = draw(cases("card_eligibility"))
    if draw(st.booleans()):
        for k, v in GOOD.items():
            if draw(st.integers(0, 3)):
                facts[k] = v
    late = facts.get("late_payment_count")
    if late:
        facts.setdefault("months_since_last_late_payment", draw(field_strategy("months_since_last_late_payment")))
    elif draw(st.integers(0, 9)):
        facts.pop("months_since_last_late_payment", None)
    return facts


@SETTINGS
@given(members())
def test_eligibility_outputs_are_allowed_values(facts):
    out = run("card_eligibility", facts)
    assume(out is not None)
    check_allowed("card_eligibility", out)
    assert len(out["next_steps"]) == len(out["reasons"])
    assert out["card_status"] == "issuable" or out["reasons"], out


@SETTINGS
@given(members(), st.integers(1, 10**7))
def test_unpaid_balance_is_never_issuable(facts, unpaid):
    facts["unpaid_balance_yen"] = unpaid
    out = run("card_eligibility", facts)
    assume(out is not None)
    assert out["card_status"] != "issuable"
    assert "unpaid_balance" in out["reasons"]


@st.composite
def issuable_candidates(draw):
    """Members whose other facts are any values, with KYC done, no late payment and a
    recent app; their months, uses and spend are any values of the Glossary's types."""
    facts = draw(members())
    facts.update(kyc_status="approved", late_payment_count=0, unpaid_balance_yen=0)
    facts.pop("months_since_last_late_payment", None)
    facts.pop("issue_button_shown", None)
    facts["app_version"] = draw(st.sampled_from(["6.7.0", "6.10.0", "7.0", "6.7.1"]))
    facts["os_version"] = draw(st.sampled_from(["14", "15.2", "17.1"]))
    for k in ("months_of_use", "use_count", "total_spent_yen"):
        facts[k] = draw(field_strategy(k))
    return facts


@settings(SETTINGS, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(issuable_candidates(), st.integers(0, 10**6), st.integers(0, 1000))
def test_issuable_stays_issuable_when_spend_or_uses_rise(facts, more_yen, more_uses):
    out = run("card_eligibility", facts)
    assume(out is not None and out["card_status"] == "issuable")
    top = lambda f: FIELDS[f].allowed.high.value  # stay inside the Glossary's range
    spend = min(facts["total_spent_yen"] + more_yen, top("total_spent_yen"))
    uses = min(facts["use_count"] + more_uses, top("use_count"))
    for change in ({"total_spent_yen": spend}, {"use_count": uses},
                   {"total_spent_yen": spend, "use_count": uses}):
        assert BOOK.decide("card_eligibility", {**facts, **change}).outputs["card_status"] == "issuable", change


@SETTINGS
@given(members())
def test_not_approved_kyc_is_never_issuable(facts):
    out = run("card_eligibility", facts)
    assume(out is not None)
    if facts.get("kyc_status") != "approved":
        assert out["card_status"] in ("kyc_required", "kyc_fix_needed", "kyc_in_review")


# ---------------------------------------------------------------- purchase_restriction
CASHABLE = ("gift_card", "prepaid_card", "e_money", "cashable_high_value")
MERCHANTS = ("amazon", "mercari", "qoo10", "yahoo_shopping", "yodobashi", "grl", "other")


@SETTINGS
@given(cases("purchase_restriction", {"merchant": MERCHANTS}, required=("category",)))
def test_purchase_outputs_are_allowed_values(facts):
    out = run("purchase_restriction", facts)
    assert out is not None
    check_allowed("purchase_restriction", out)
    assert out["allowed"] is (out["restriction"] == "none")


@SETTINGS
@given(cases("purchase_restriction", {"merchant": MERCHANTS}), st.sampled_from(CASHABLE))
def test_cashable_category_is_never_allowed(facts, category):
    facts["category"] = category
    out = run("purchase_restriction", facts)
    assert out["allowed"] is False
    assert out["restriction"] == "cashable"


# ---------------------------------------------------------------- decline_diagnosis
KANA = ("ヤマダ タロウ", "サトウ ハナコ", "スズキ イチロウ", "オオノ ユウコ", "ホンマ ジュンペイ", "イトウ シンイチ")
ROMAJI = {"ヤマダ タロウ": ("YAMADA", "TARO"), "サトウ ハナコ": ("SATOH", "HANAKO"),
          "スズキ イチロウ": ("SUZUKI", "ICHIROU"), "オオノ ユウコ": ("ONO", "YUKO"),
          "ホンマ ジュンペイ": ("HOMMA", "JUNPEI"), "イトウ シンイチ": ("ITO", "SHINICHI")}


@st.composite
def names(draw):
    kana = draw(st.sampled_from(KANA))
    fam, giv = ROMAJI[kana]
    first, second = (fam, giv) if draw(st.booleans()) else (giv, fam)
    typed = draw(st.sampled_from([
        f"{first} {second}", f"{first} {second}".lower(), f"{first}・{second}", f"{first}{second}",
        f"{first}  {second}", f"{first} {second}ー", "ＹＡＭＡＤＡ ＴＡＲＯ", "", "YAMADA JIRO",
        f"{first.title()} {second.title()}",
    ]) | st.text(max_size=12))
    return kana, typed


@st.composite
def declines(draw):
    facts = draw(cases("decline_diagnosis", {"merchant": MERCHANTS, "merchant_country": ("JP", "US", "KR"),
                                             "currency": ("JPY", "USD", "EUR")}))
    facts.pop("entered_name", None)
    facts.pop("registered_name_kana", None)
    if draw(st.integers(0, 4)):
        facts["registered_name_kana"], facts["entered_name"] = draw(names())
    return facts


def _remedy_pairs():
    """(cause, remedy) pairs as the workbooks write them: every table that outputs a
    cause code and its remedy text, plus DeclineCauses' own literal rows."""
    pairs = set()
    for t in BOOK.ir.tables.values():
        fields = t.output_fields
        for i, f in enumerate(fields):
            if f.endswith("_cause") and f.replace("_cause", "_remedy") in fields:
                j = fields.index(f.replace("_cause", "_remedy"))
                for r in t.rules:
                    c, m = r.outputs[i].expr, r.outputs[j].expr
                    if isinstance(c, Literal) and isinstance(m, Literal) and m.value:
                        pairs.add((c.value, m.value))
        if fields == ("causes", "remedies"):
            for r in t.rules:
                c, m = r.outputs[0].expr, r.outputs[1].expr
                if isinstance(c, Literal) and isinstance(m, Literal):
                    cv = c.value[0] if isinstance(c.value, tuple) else c.value
                    mv = m.value[0] if isinstance(m.value, tuple) else m.value
                    pairs.add((cv, mv))
    return pairs


REMEDIES = _remedy_pairs()


@SETTINGS
@given(declines())
def test_decline_outputs_are_allowed_values(facts):
    out = run("decline_diagnosis", facts)
    assume(out is not None)
    check_allowed("decline_diagnosis", out)
    causes = list(out["causes"])
    assert causes and len(set(causes)) == len(causes)
    assert causes == ["unknown"] or "unknown" not in causes


@SETTINGS
@given(declines())
def test_every_cause_has_its_remedy_at_the_same_position(facts):
    out = run("decline_diagnosis", facts)
    assume(out is not None)
    causes, remedies = list(out["causes"]), list(out["remedies"])
    assert len(causes) == len(remedies)
    for c, m in zip(causes, remedies):
        assert (c, m) in REMEDIES, (c, m)


@SETTINGS
@given(declines())
def test_causes_are_in_order_of_likelihood(facts):
    out = run("decline_diagnosis", facts)
    assume(out is not None)
    order = list(FIELDS["causes"].allowed)
    idx = [order.index(c) for c in out["causes"]]
    assert idx == sorted(idx)


@SETTINGS
@given(declines(), st.sampled_from(CASHABLE))
def test_cashable_category_is_always_a_restricted_item(facts, category):
    facts["category"] = category
    out = run("decline_diagnosis", facts)
    assume(out is not None)
    assert "restricted_item" in out["causes"]


@SETTINGS
@given(declines(), st.integers(0, 10**6), st.integers(0, 10**6))
def test_over_limit_exactly_when_amount_exceeds_limit(facts, amount, limit):
    facts.update(amount_yen=amount, available_limit_yen=limit)
    out = run("decline_diagnosis", facts)
    assume(out is not None)
    assert ("over_limit" in out["causes"]) == (amount > limit)


@pytest.mark.parametrize("decision", ["card_eligibility", "purchase_restriction", "decline_diagnosis"])
def test_boundaries_come_from_the_tables(decision):
    # sanity check of the strategy builder: the thresholds are found in the workbooks
    assert 3000 in boundaries("total_spent_yen") and 2999 in boundaries("total_spent_yen")
    assert dt.date(2020, 2, 4) in boundaries("passport_issue_date")
    assert BOOK.ir.decisions[decision].inputs


# ---------------------------------------------------------------- the workbooks' own Invariants sheets
def test_invariants_sheets_hold():
    """The engine's own counterexample search (``decide verify``) over each atone
    decision's Invariants sheet."""
    from decide.tools import verify

    suites = {s.target for s in BOOK.ir.invariants}
    assert {"card_eligibility", "purchase_restriction", "decline_diagnosis"} <= suites
    verify.assert_invariants(BOOK, examples=100,
                             decisions=["card_eligibility", "purchase_restriction", "decline_diagnosis"])
