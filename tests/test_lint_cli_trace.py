"""The analyst CLI (lint, verify) and why-not traces, on workbooks built here."""
from __future__ import annotations

import json

from click.testing import CliRunner

import decide
from decide.app.cli import main
from decide.tools.lint import lint
from decide.tools.explain import why_not, why_not_lines

from .workbooks import invariants_sheet, table, write_workbook

GLOSSARY = [("amount", "integer", "[0..1000000]", "金額"), ("category", "text", '"books","gift_card","kindle"', "カテゴリ"),
            ("limit", "integer", None, "利用可能額"), ("ok", "boolean", None, "可否"),
            ("unused_field", "text", None)]


def _write(path, rules, policy="FIRST", extra_sheets=()):
    write_workbook(path / "book.xlsx", glossary=GLOSSARY, tables=[
        table("Limit", policy, ["INPUT category", "INPUT amount", "OUTPUT ok"], rules)],
        sheets=list(extra_sheets))
    return path


GOOD = [[1, '"gift_card"', "-", False], [2, "-", "> limit", False], [3, "-", "-", True]]
BAD = [[1, '"gift_card"', "-", False], [2, '"gift_card"', "> 100", True], [3, '"books"', "-", True]]


def test_lint_cli_text_json_and_exit_codes(tmp_path):
    good = _write(tmp_path / "good", GOOD)
    r = CliRunner().invoke(main, ["lint", str(good)])
    # an unused Glossary field is a warning: exit 1, and it is named
    assert r.exit_code == 1, r.output
    assert "WARNING L120 unused-field  book.xlsx › Glossary" in r.output and "unused_field" in r.output
    assert "L109" not in r.output  # "> limit" is analysed exactly (amount - limit vs 0)
    bad = _write(tmp_path / "bad", BAD)
    r = CliRunner().invoke(main, ["lint", str(bad), "--format", "json"])
    assert r.exit_code == 1
    data = json.loads(r.output)
    codes = {(d["code"], d.get("rules", [None])[0]) for d in data["diagnostics"]}
    assert ("L104", "2") in codes  # shadowed by rule 1
    assert ("L103", None) in codes  # "kindle" falls through
    assert {(d["code"], d["name"]) for d in data["diagnostics"]} >= {("L104", "shadowed-rule"),
                                                                     ("L103", "uncovered-cases")}
    gap = next(d for d in data["diagnostics"] if d["code"] == "L103")
    assert gap["witness"]["category"] == "kindle"
    assert decide.load(bad).decide("Limit", gap["witness"]).fired == ()
    assert gap["workbook"] == "book.xlsx" and gap["sheet"] == "Limit" and gap["cell"] == "B1"
    r = CliRunner().invoke(main, ["lint", str(tmp_path / "nowhere")])
    assert r.exit_code == 2


def test_lint_reports_ignored_sheets_and_unreturned_outputs(tmp_path):
    from openpyxl import load_workbook
    p = _write(tmp_path / "g", GOOD)
    wb = load_workbook(p / "book.xlsx")
    wb.create_sheet("Notes")["A1"] = "メモ"
    wb.save(p / "book.xlsx")
    diags = lint(decide.load(p, services=[]).ir)
    assert any(d.code == "L122" and d.loc.sheet == "Notes" for d in diags)


def test_verify_cli(tmp_path):
    inv = invariants_sheet("Limit", [["gift_refused", 'category = "gift_card"', "ok = false"],
                                     ["small_ok", 'amount < 100 and category = "books"', "ok = true"]])
    p = _write(tmp_path / "v", BAD, extra_sheets=[inv])
    r = CliRunner().invoke(main, ["verify", str(p), "--examples", "50", "--seed", "3"])
    assert r.exit_code == 0, r.output
    assert "2 of 2 invariants hold" in r.output
    inv = invariants_sheet("Limit", [["never_ok_over_100", "amount > 100", "ok = false"]])
    p = _write(tmp_path / "w", BAD, extra_sheets=[inv])
    r = CliRunner().invoke(main, ["verify", str(p), "--examples", "50", "--format", "json"])
    assert r.exit_code == 1, r.output
    f = json.loads(r.output)["failures"][0]
    assert f["property"] == "never_ok_over_100"
    # shrunk to the boundary, with category absent: no rule fires, ok is null
    assert f["case"] == {"amount": 101} and f["outputs"] == {"ok": None}
    assert f["fired"] == []


def test_why_not_names_the_first_failing_cell_and_the_value(tmp_path):
    p = _write(tmp_path / "t", GOOD)
    rb = decide.load(p)
    traces = why_not(rb.ir, "Limit", {"category": "books", "amount": 500, "limit": 1000})
    t = traces[0]
    assert t.fired == ["3"]
    r1, r2 = t.rules[0], t.rules[1]
    assert (r1.rule, r1.failure.cell.cell, r1.failure.test, r1.failure.value) == ("1", "B6", '"gift_card"', "books")
    assert (r2.failure.cell.cell, r2.failure.test, r2.failure.value, r2.failure.refs) == ("C7", "> limit", 500, {"limit": 1000})
    lines = why_not_lines(rb.ir, "Limit", {"category": "books", "amount": 500, "limit": 1000})
    assert any("rule 2 (row 7)" in l and "> limit (limit = 1000)" in l and "金額 (amount) is 500" in l for l in lines)
    # under FIRST, the rules after the one that fired are not listed
    traces = why_not(rb.ir, "Limit", {"category": "gift_card", "amount": 500})
    assert [r.rule for r in traces[0].rules] == ["1"]
    # null: a comparison with an absent value does not match, and says why
    lines = why_not_lines(rb.ir, "Limit", {"category": "books", "amount": 500})
    assert any("cannot be decided (null)" in l for l in lines)


def test_outputs_no_decision_returns(tmp_path):
    from decide.model.ir import DecisionService
    write_workbook(tmp_path / "s" / "book.xlsx",
                   glossary=[("amount", "integer", "[0..1000]"), ("ok", "boolean"), ("note", "text")],
                   tables=[table("Limit", "FIRST", ["INPUT amount", "OUTPUT ok", "OUTPUT note"],
                                 [[1, "> 100", False, '"big"'], [2, "-", True, '"small"']])])
    svc = DecisionService("limit_check", ("amount",), ("ok",))
    diags = lint(decide.load(tmp_path / "s", services=[svc]).ir)
    l121 = [d for d in diags if d.code == "L121"]
    assert len(l121) == 1 and '"note"' in l121[0].message and l121[0].loc.cell == "D5"


def test_findings_in_a_chained_table_come_with_a_case_of_its_decision(tmp_path):
    write_workbook(
        tmp_path / "c" / "book.xlsx",
        glossary=[("amount", "integer", "[0..1000000]"), ("band", "text", '"low","mid","high"'),
                  ("ok", "boolean"), ("level", "text", '"deny","allow"')],
        tables=[table("Band", "FIRST", ["INPUT amount", "OUTPUT band"],
                      [[1, "< 3000", '"low"'], [2, "< 50000", '"mid"'], [3, "-", '"high"']]),
                table("Decide", "UNIQUE", ["INPUT band", "OUTPUT ok"],
                      [[1, '"low"', True], [2, '"low", "mid"', False]])])
    rb = decide.load(tmp_path / "c")
    diags = {d.code: d for d in lint(rb.ir) if d.table == "Decide"}
    gap, overlap = diags["L103"], diags["L101"]
    assert gap.witness == {"band": "high"}
    # the table-level witness names an intermediate field; the decision case reaches it
    res = rb.decide("Decide", gap.decision_case)
    assert not [f for f in res.fired if f.table == "Decide"] and res.outputs == {"ok": None}
    assert gap.decision_case["amount"] >= 50000
    import pytest
    from decide.model.errors import EvaluationError
    with pytest.raises(EvaluationError):
        rb.decide("Decide", overlap.decision_case)
    assert "A case of decision Decide that gets there" in gap.message
    assert gap.to_dict()["decision_case"]["decision"] == "Decide"
