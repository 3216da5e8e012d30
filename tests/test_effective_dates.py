"""Effective dates (issue 10, item 4): a rule valid from or until a date, tested on the
reserved input ``as_of`` (適用日) that the engine supplies on every decision.

The scheduled change is the analyst guide's: in a copy of the shipped tables,
card_eligibility › 5 実績-金額 asks 3,000 yen until 2026-12-31 and 5,000 yen from
2027-01-01 (one added column and one added rule)."""
from __future__ import annotations

import datetime as _dt
import json
import subprocess
import sys
from zoneinfo import ZoneInfo

import openpyxl
import pytest

import decide
from decide.model.asof import parse_as_of, time_zone, today
from decide.model.errors import CaseError, WorkbookError
from tests import http_helpers
from tests import workbooks as wbk
from tests.workbooks import raw_sheet, table, write_workbook

JAN1 = _dt.date(2027, 1, 1)
DEC31 = _dt.date(2026, 12, 31)
CARD = "card_eligibility.xlsx"
DECIDE = [sys.executable, "-m", "decide.app.cli"]
# a member with 4,000 yen spent: enough under the old threshold, not under the new one
MEMBER = {"kyc_status": "approved", "months_of_use": 3, "use_count": 3, "total_spent_yen": 4000,
          "late_payment_count": 0, "unpaid_balance_yen": 0}


def schedule_higher_spend(wb) -> None:
    """5 実績-金額: an INPUT column 適用日; rule 1 until 2026-12-31, rule 1b from 2027-01-01."""
    ws = next(s for s in wb.worksheets if s.title.startswith("5 "))
    assert ws["B6"].value == "total_spent_yen" and ws["B7"].value == ">= 3000"
    ws.insert_cols(3)
    ws["C5"], ws["C6"], ws["C7"] = "INPUT", "適用日", '< date("2027-01-01")'
    ws.insert_rows(8)
    for col, v in zip("ABCD", ("1b", ">= 5000", '>= date("2027-01-01")', True)):
        ws[f"{col}8"] = v
    ws["E8"] = "2027年1月1日から5,000円以上。"
    ws["C9"] = "-"


@pytest.fixture(scope="module")
def scheduled(tmp_path_factory):
    d = http_helpers.copy_tables(tmp_path_factory.mktemp("asof"))
    wb = openpyxl.load_workbook(d / CARD)
    schedule_higher_spend(wb)
    wb.save(d / CARD)
    return d


@pytest.fixture(scope="module", params=["native", "durable"])
def book(request, scheduled):
    return decide.load(scheduled, engine=request.param)


def _spend(result) -> tuple:
    return result.outputs["card_status"], [f.rule for f in result.fired if f.table == "TrackRecordSpend"]


# --------------------------------------------------------------------------- deciding
def test_the_rule_decides_differently_before_and_after_its_date(book):
    assert "as_of" in book.decisions["card_eligibility"].inputs
    before = book.decide("card_eligibility", MEMBER, as_of=DEC31)
    after = book.decide("card_eligibility", MEMBER, as_of=JAN1)
    assert _spend(before) == ("issuable", ["1"])
    assert _spend(after) == ("building_history", ["2"])
    assert "low_spend" in after.outputs["reasons"] and "low_spend" not in before.outputs["reasons"]
    assert (before.as_of, after.as_of) == (DEC31, JAN1)
    # 5,000 yen is enough on both sides of the date, by the rule of each side
    rich = {**MEMBER, "total_spent_yen": 5000}
    assert _spend(book.decide("card_eligibility", rich, as_of="2026-12-31")) == ("issuable", ["1"])
    assert _spend(book.decide("card_eligibility", rich, as_of="2027-01-01")) == ("issuable", ["1b"])


def test_the_as_of_date_is_a_date_or_iso_text_and_a_bad_one_is_a_case_error(book):
    same = book.decide("card_eligibility", MEMBER, as_of="2027-01-01")
    assert same == book.decide("card_eligibility", MEMBER, as_of=JAN1) and same.as_of == JAN1
    for bad in ("2027-02-30", "01/01/2027", "2027-1-1", 20270101, _dt.datetime(2027, 1, 1), ""):
        with pytest.raises(CaseError, match="as_of .* is not a date"):
            book.decide("card_eligibility", MEMBER, as_of=bad)


def test_a_case_may_carry_its_own_as_of_and_the_date_given_wins(book):
    own = book.decide("card_eligibility", {**MEMBER, "as_of": "2027-01-01"})
    assert own.as_of == JAN1 and _spend(own)[0] == "building_history"
    given = book.decide("card_eligibility", {**MEMBER, "as_of": "2027-01-01"}, as_of=DEC31)
    assert given.as_of == DEC31 and _spend(given)[0] == "issuable"
    for given in (None, JAN1):
        with pytest.raises(CaseError, match="is not a date"):
            book.decide("card_eligibility", {**MEMBER, "as_of": "soon"}, as_of=given)


def _today_around(zone: str, decide_once):
    """What ``decide_once()`` returns, and the dates in ``zone`` just before and after it."""
    z = ZoneInfo(zone)
    first = _dt.datetime.now(z).date()
    got = decide_once()
    return got, {first, _dt.datetime.now(z).date()}  # two dates only if midnight passed between


def test_the_default_is_today_in_the_tables_time_zone(book):
    assert book.time_zone == "Asia/Tokyo"
    got, days = _today_around("Asia/Tokyo", lambda: book.decide("purchase_restriction", {"category": "books"}))
    assert got.as_of in days and got.to_dict()["as_of"] == got.as_of.isoformat()


def test_today_is_the_calendar_date_in_the_zone_across_the_utc_day_boundary():
    tokyo, utc = time_zone("Asia/Tokyo"), _dt.timezone.utc
    # 2026-12-31 14:59:59 UTC is 23:59:59 in Tokyo; a second later Tokyo is in 2027
    assert today(tokyo, _dt.datetime(2026, 12, 31, 14, 59, 59, tzinfo=utc)) == DEC31
    assert today(tokyo, _dt.datetime(2026, 12, 31, 15, 0, 0, tzinfo=utc)) == JAN1
    assert today(time_zone("UTC"), _dt.datetime(2026, 12, 31, 15, 0, 0, tzinfo=utc)) == DEC31
    assert parse_as_of("2027-01-01") == JAN1


def test_the_kept_day_turns_at_midnight_in_the_zone_and_if_the_clock_goes_back():
    from decide.model.asof import Dates
    tokyo = Dates(time_zone("Asia/Tokyo"), frozenset())
    midnight = _dt.datetime(2027, 1, 1, tzinfo=tokyo.zone).timestamp()  # 2026-12-31 15:00 UTC
    seen = [tokyo.today(t) for t in (midnight - 1, midnight - 0.001, midnight, midnight + 1,
                                     midnight - 1, midnight + 86399, midnight + 86400)]
    assert seen == [DEC31, DEC31, JAN1, JAN1, DEC31, JAN1, _dt.date(2027, 1, 2)]
    london = Dates(time_zone("Europe/London"), frozenset())  # a 23-hour day: summer time from 2027-03-28
    start = _dt.datetime(2027, 3, 28, tzinfo=london.zone).timestamp()
    assert [london.today(start + h * 3600) for h in (0, 22, 23)] == \
        [_dt.date(2027, 3, 28), _dt.date(2027, 3, 28), _dt.date(2027, 3, 29)]


def test_tables_without_a_settings_sheet_use_utc_and_an_unknown_zone_is_a_workbook_error(tmp_path):
    glossary = [("amount", "number", "", "金額"), ("ok", "boolean")]
    t = table("T", "FIRST", ["INPUT amount", "INPUT as_of", "OUTPUT ok"],
              [[1, "> 3", '>= date("2027-01-01")', True], [2, "-", "-", False]])
    plain = write_workbook(tmp_path / "plain" / "t.xlsx", glossary, tables=[t])
    b = decide.load(plain.parent)
    assert b.time_zone == "UTC"
    got, days = _today_around("UTC", lambda: b.decide("T", {"amount": 5}).as_of)
    assert got in days
    assert b.decide("T", {"amount": 5}, as_of=JAN1).outputs == {"ok": True}
    assert b.decide("T", {"amount": 5}, as_of=DEC31).outputs == {"ok": False}
    bad = write_workbook(tmp_path / "bad" / "t.xlsx", glossary, tables=[t],
                         sheets=[raw_sheet("設定", [["Settings"], ["Time zone", "Asia/Tokio"]])])
    with pytest.raises(WorkbookError) as e:
        decide.load(bad.parent)
    d = next(d for d in e.value.diagnostics if d.code == "E193")
    assert (d.sheet, d.cell) == ("設定", "B2") and 'did you mean "Asia/Tokyo"' in d.message
    wrong = write_workbook(tmp_path / "wrong" / "t.xlsx", glossary, tables=[t],
                           sheets=[raw_sheet("設定", [["設定"], ["Timezones", "UTC"]])])
    with pytest.raises(WorkbookError, match="E192|not a setting"):
        decide.load(wrong.parent)


def test_as_of_is_reserved_as_a_date(tmp_path):
    p = write_workbook(tmp_path / "t.xlsx", [("as_of", "text"), ("ok", "boolean")],
                       tables=[table("T", "FIRST", ["OUTPUT ok"], [[1, True]])])
    with pytest.raises(WorkbookError, match="reserved"):
        decide.load(p)
    own = write_workbook(tmp_path / "own" / "t.xlsx", [("as_of", "date", "", "Effective date"), ("ok", "boolean")],
                         tables=[table("T", "FIRST", ["INPUT Effective date", "OUTPUT ok"],
                                       [[1, '< date("2027-01-01")', True], [2, "-", False]])])
    assert decide.load(own).decide("T", {}, as_of=DEC31).outputs == {"ok": True}


def test_a_tests_sheet_pins_cases_to_a_date(tmp_path):
    from decide.tools.testing import run_tests
    t = table("Limit", "UNIQUE", ["INPUT as_of", "OUTPUT limit"],
              [[1, '< date("2027-01-01")', 3000], [2, '>= date("2027-01-01")', 5000]])
    s = wbk.tests_sheet("Limit", ["INPUT 適用日", "EXPECT limit"],
                    [["old", '"2026-12-31"', 3000], ["new", '"2027-01-01"', 5000]])
    p = write_workbook(tmp_path / "t.xlsx", [("limit", "integer")], tables=[t], sheets=[s])
    outcomes = run_tests(decide.load(p))
    assert [o.passed for o in outcomes] == [True, True]


# --------------------------------------------------------------------------- lint
def _lint(tmp_path, rules):
    p = write_workbook(tmp_path / "t.xlsx", [("limit", "integer")],
                       tables=[table("Limit", "UNIQUE", ["INPUT as_of", "OUTPUT limit"], rules)])
    r = subprocess.run([*DECIDE, "lint", str(p), "--format", "json"], capture_output=True, text=True, timeout=120)
    return r.returncode, json.loads(r.stdout)["diagnostics"]


def test_lint_finds_a_gap_in_time(tmp_path):
    code, diags = _lint(tmp_path, [[1, '<= date("2026-12-31")', 3000], [2, '>= date("2027-01-02")', 5000]])
    gaps = [d for d in diags if d["name"] == "uncovered-cases"]
    assert code == 1 and len(gaps) == 1, diags
    assert "2027-01-01" in json.dumps(gaps[0], ensure_ascii=False)


def test_lint_finds_an_overlap_in_time(tmp_path):
    code, diags = _lint(tmp_path, [[1, '<= date("2027-01-01")', 3000], [2, '>= date("2027-01-01")', 5000]])
    overlaps = [d for d in diags if d["name"] == "overlapping-rules"]
    assert code == 1 and len(overlaps) == 1, diags
    assert "2027-01-01" in json.dumps(overlaps[0], ensure_ascii=False)


def test_lint_is_quiet_on_a_clean_hand_over(tmp_path):
    code, diags = _lint(tmp_path, [[1, '< date("2027-01-01")', 3000], [2, '>= date("2027-01-01")', 5000]])
    assert code == 0 and not [d for d in diags if d["severity"] != "info"], diags


# --------------------------------------------------------------------------- CLI, diff, HTTP
def _cli(*args, input=None):
    return subprocess.run([*DECIDE, *map(str, args)], capture_output=True, text=True, timeout=300, input=input)


def _run(*args):
    """The CLI in this process (the diff and batch runs load the tables twice)."""
    from click.testing import CliRunner
    from decide.app.cli import main
    r = CliRunner().invoke(main, [str(a) for a in args])
    return r


def test_cli_as_of(scheduled):
    case = json.dumps({"decision": "card_eligibility", **MEMBER})
    old = _cli("-", "--tables", scheduled, "--as-of", "2026-12-31", input=case)
    new = _cli("-", "--tables", scheduled, "--as-of", "2027-01-01", input=case)
    assert old.returncode == new.returncode == 0, old.stderr + new.stderr
    old, new = json.loads(old.stdout), json.loads(new.stdout)
    assert (old["as_of"], old["outputs"]["card_status"]) == ("2026-12-31", "issuable")
    assert (new["as_of"], new["outputs"]["card_status"]) == ("2027-01-01", "building_history")
    bad = _cli("-", "--tables", scheduled, "--as-of", "2027-13-01", input=case)
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.count("\n") == 1 and "--as-of" in bad.stderr and "YYYY-MM-DD" in bad.stderr


def test_batch_as_of(scheduled, tmp_path):
    cases = tmp_path / "cases.jsonl"
    cases.write_text(json.dumps(MEMBER) + "\n" + json.dumps({**MEMBER, "as_of": "2026-12-31"}) + "\n")
    r = _run("batch", cases, "-d", "card_eligibility", "--tables", scheduled, "--as-of", "2027-01-01")
    rows = [json.loads(x) for x in r.stdout.splitlines() if x.startswith("{")]
    assert r.exit_code == 0  # --as-of wins over a line's own as_of
    assert [(x["as_of"], x["outputs"]["card_status"]) for x in rows] == [("2027-01-01", "building_history")] * 2
    r = _run("batch", cases, "-d", "card_eligibility", "--tables", scheduled)
    rows = [json.loads(x) for x in r.stdout.splitlines() if x.startswith("{")]
    assert rows[1]["as_of"] == "2026-12-31" and rows[1]["outputs"]["card_status"] == "issuable"
    assert _run("batch", cases, "-d", "card_eligibility", "--as-of", "tomorrow").exit_code == 2


def test_diff_as_of_shows_what_changes_on_the_day(scheduled):
    r = _run("diff", scheduled, "--as-of", "2027-01-01", "--generate", "200", "--format", "json")
    assert r.exit_code == 1, r.output
    rep = json.loads(r.stdout)
    assert rep["as_of"] == {"old": "2026-12-31", "new": "2027-01-01"}
    assert {(x["table"], x["rule"], x["change"]) for x in rep["on_the_day"]} == \
        {("TrackRecordSpend", "1", "ends"), ("TrackRecordSpend", "1b", "takes effect")}
    changed = rep["decisions"]["card_eligibility"]["changed"]
    assert changed and all(3000 <= c["case"]["total_spent_yen"] < 5000 for c in changed)
    assert all("as_of" not in c["case"] for c in changed)
    text = _run("diff", scheduled, "--as-of", "2027-01-01").stdout
    assert "As of 2026-12-31 → 2027-01-01:" in text and "TrackRecordSpend rule 1b applies from 2027-01-01" in text
    # the day before nothing starts or ends, and no case changes
    quiet = _run("diff", scheduled, "--as-of", "2026-12-31", "--generate", "50", "--format", "json")
    assert quiet.exit_code == 0, quiet.stdout
    assert json.loads(quiet.stdout)["on_the_day"] == []


def test_diff_of_two_versions_as_of_a_date(scheduled):
    shipped = http_helpers.TABLES
    today_ = _run("diff", shipped, scheduled, "--as-of", "2026-12-31", "--generate", "100", "--format", "json")
    later = _run("diff", shipped, scheduled, "--as-of", "2027-01-01", "--generate", "100", "--format", "json")
    assert today_.exit_code == 1 and later.exit_code == 1  # the table changed, in both
    assert not json.loads(today_.stdout)["decisions"].get("card_eligibility", {}).get("changed")
    assert json.loads(later.stdout)["decisions"]["card_eligibility"]["changed"]
    assert _run("diff", shipped).exit_code == 2


def test_http_as_of_parameter(scheduled):
    server = http_helpers.Server("--tables", str(scheduled))
    try:
        status, headers, body = server.request("POST", "/decide/card_eligibility?as_of=2027-01-01", MEMBER)
        assert status == 200 and body["as_of"] == "2027-01-01"
        assert body["outputs"]["card_status"] == "building_history"
        status, _, body = server.request("POST", "/decide/card_eligibility?as_of=2026-12-31", MEMBER)
        assert status == 200 and body["outputs"]["card_status"] == "issuable"
        status, _, body = server.request("POST", "/decide/card_eligibility", MEMBER)
        assert status == 200 and body["as_of"] == _dt.datetime.now(ZoneInfo("Asia/Tokyo")).date().isoformat() \
            or body["as_of"] == (_dt.datetime.now(ZoneInfo("Asia/Tokyo")).date() - _dt.timedelta(days=1)).isoformat()
        for bad in ("2027-02-30", "tomorrow", "2027-01-01&as_of=2027-01-02", "2027-01-01&asof=1", ""):
            status, _, body = server.request("POST", f"/decide/card_eligibility?as_of={bad}", MEMBER)
            assert status == 400 and "as_of" in body["error"]["message"], body
        status, _, body = server.request("POST", "/decide?as_of=2027-01-01", {"decision": "card_eligibility", **MEMBER})
        assert status == 200 and body["as_of"] == "2027-01-01"
        status, _, doc = server.request("GET", "/openapi.json")
        params = doc["paths"]["/decide/card_eligibility"]["post"]["parameters"]
        assert [p["name"] for p in params] == ["as_of"] and params[0]["in"] == "query"
    finally:
        server.stop()


# --------------------------------------------------------------------------- verify
def test_verify_generates_dates_and_finds_a_breach_that_starts_on_a_day(tmp_path):
    from decide.tools.verify import check_invariants
    # a day far ahead, so that a case without as_of (today) never breaks it
    t = table("Limit", "UNIQUE", ["INPUT as_of", "OUTPUT limit"],
              [[1, '< date("2100-01-01")', 3000], [2, '>= date("2100-01-01")', 5000]])
    inv = wbk.invariants_sheet("Limit", [["at_most_4000", None, "limit <= 4000"]])
    p = write_workbook(tmp_path / "t.xlsx", [("limit", "integer")], tables=[t], sheets=[inv])
    failures = check_invariants(decide.load(p), examples=100, seed=0)
    assert len(failures) == 1
    assert failures[0].case["as_of"] >= _dt.date(2100, 1, 1) and failures[0].outputs == {"limit": 5000}


def test_why_decides_as_of_the_date(scheduled):
    book = decide.load(scheduled)
    member = {**MEMBER, "total_spent_yen": 4500}
    later = book.counterfactuals("card_eligibility", member, want={"card_status": "issuable"},
                                 as_of=JAN1).to_dict()
    assert later["now"]["card_status"] == "building_history"
    assert later["options"][0]["changes"] == [
        {"field": "total_spent_yen", "from": 4500, "to": 5000, "range": "[5000..100000000]"}]
    assert ("TrackRecordSpend", "1b") in {(f["table"], f["rule"]) for f in later["options"][0]["fires"]}
    before = book.counterfactuals("card_eligibility", member, want={"card_status": "issuable"},
                                  as_of=DEC31).to_dict()
    assert before["now"]["card_status"] == "issuable" and before["options"][0]["changes"] == []
