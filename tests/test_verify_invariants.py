"""decide verify: the Invariants sheets, searched with hypothesis."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from openpyxl import load_workbook

import decide
from decide.tools.verify import assert_invariants, check_invariants

from .workbooks import invariants_sheet, table, write_workbook

TABLES = Path(__file__).resolve().parents[1] / "tables"


def test_every_invariant_of_the_shipped_tables_holds():
    failures = check_invariants(decide.load(TABLES), examples=100, seed=0)
    assert failures == [], "\n\n".join(f.describe() for f in failures)


def test_a_planted_wrong_rule_in_a_copy_of_the_shipped_tables_is_caught(tmp_path):
    copy = tmp_path / "tables"
    shutil.copytree(TABLES, copy, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    # the rule "recurring = true → recurring billing" of table RecurringBilling
    t = decide.load(TABLES).ir.tables["RecurringBilling"]
    col = next(i for i, c in enumerate(t.inputs) if c.field == "recurring")
    cell = next(r.inputs[col].loc for r in t.rules if r.inputs[col].text == "true")
    wb = load_workbook(copy / cell.workbook)
    wb[cell.sheet][cell.cell] = "false"  # planted: "recurring = false is recurring billing"
    wb.save(copy / cell.workbook)
    rb = decide.load(copy)
    failures = check_invariants(rb, examples=100, seed=0, decisions=["purchase_restriction"])
    ids = {f.prop.id for f in failures}
    assert "recurring_never_allowed" in ids
    f = next(f for f in failures if f.prop.id == "recurring_never_allowed")
    # minimal: only what the decision needs, and recurring = true
    assert f.case["recurring"] is True
    assert len(f.case) <= 2, f.case
    # the counterexample, fed back, really breaks the invariant
    assert rb.decide("purchase_restriction", f.case).outputs["allowed"] is True
    assert any(t == "RecurringBilling" for t, _, _ in f.fired)
    assert "recurring_never_allowed" in f.describe()


def _boundary_book(tmp_path, cell):
    return write_workbook(
        tmp_path / "b" / "book.xlsx",
        glossary=[("amount", "integer", "[0..1000000]"), ("ok", "boolean")],
        tables=[table("Limit", "FIRST", ["INPUT amount", "OUTPUT ok"], [[1, cell, False], [2, "-", True]])],
        sheets=[invariants_sheet("Limit", [["big_refused", "amount >= 3000", "ok = false"],
                                           ["small_allowed", "amount < 3000", "ok = true"]])])


def test_an_off_by_one_threshold_is_found_at_the_boundary(tmp_path):
    _boundary_book(tmp_path, "> 3000")  # should have been >= 3000
    failures = check_invariants(tmp_path / "b", examples=50, seed=1)
    assert [f.prop.id for f in failures] == ["big_refused"]
    assert failures[0].case == {"amount": 3000}
    assert failures[0].outputs == {"ok": True}
    assert failures[0].fired[0][:2] == ("Limit", "2")


def test_a_correct_threshold_passes_and_the_helper_raises_on_failure(tmp_path):
    _boundary_book(tmp_path, ">= 3000")
    assert_invariants(decide.load(tmp_path / "b"), examples=50)
    _boundary_book(tmp_path, "> 3000")
    with pytest.raises(AssertionError, match="big_refused"):
        assert_invariants(decide.load(tmp_path / "b"), examples=50)


def test_verify_on_a_bare_book_uses_the_reference_interpreter(tmp_path):
    _boundary_book(tmp_path, "> 3000")
    book = decide.load(tmp_path / "b").ir
    failures = check_invariants(book, examples=50, seed=2)
    assert failures and failures[0].case == {"amount": 3000}


def test_a_planted_threshold_deep_in_card_eligibility_is_caught_minimally(tmp_path):
    """TrackRecordMonths ">= 2" planted as ">= 1": only a case that meets every other
    condition of issuance shows it; verify finds one and strips it to what matters."""
    copy = tmp_path / "tables"
    shutil.copytree(TABLES, copy, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    t = decide.load(TABLES).ir.tables["TrackRecordMonths"]
    cell = next(r.inputs[0].loc for r in t.rules if r.inputs[0].text == ">= 2")
    wb = load_workbook(copy / cell.workbook)
    wb[cell.sheet][cell.cell] = ">= 1"
    wb.save(copy / cell.workbook)
    rb = decide.load(copy)
    failures = check_invariants(rb, examples=200, seed=0, decisions=["card_eligibility"])
    assert [f.prop.id for f in failures] == ["short_history_never_issuable"]
    case = failures[0].case
    assert case["months_of_use"] == 1 and len(case) <= 6, case
    assert rb.decide("card_eligibility", case).outputs["card_status"] == "issuable"
    # every field left is needed: without any one of them the invariant holds
    assert any(f[0] == "TrackRecordMonths" for f in failures[0].fired)


def test_two_different_counterexamples_give_one_failure_not_a_traceback(tmp_path):
    """A property broken in two ways (an overlap error on some cases, a false THEN on
    others) is one failure with a counterexample: hypothesis's multiple-bug report
    (an ExceptionGroup) never escapes verify."""
    write_workbook(
        tmp_path / "b" / "book.xlsx",
        glossary=[("amount", "integer", "[0..100]"), ("ok", "boolean")],
        tables=[table("Limit", "UNIQUE", ["INPUT amount", "OUTPUT ok"],
                      [[1, "[0..10]", False], [2, "[5..100]", True], [3, "> 100", True]])],
        sheets=[invariants_sheet("Limit", [["always_ok", "", "ok = true"]])])
    for seed in range(4):
        failures = check_invariants(tmp_path / "b", examples=200, seed=seed)
        assert [f.prop.id for f in failures] == ["always_ok"]
        f = failures[0]  # the counterexample, fed back, breaks the invariant
        try:
            assert decide.load(tmp_path / "b").decide("Limit", f.case).outputs["ok"] is not True
        except decide.EvaluationError:
            pass  # two rules match
    from decide.app.cli import main
    from click.testing import CliRunner
    r = CliRunner().invoke(main, ["verify", str(tmp_path / "b"), "--examples", "200"])
    assert r.exit_code == 1 and "always_ok" in r.output and "Traceback" not in r.output, r.output
