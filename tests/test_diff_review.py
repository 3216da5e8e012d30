"""decide diff for review: Glossary, Tests and Invariants edits, compact case lines
for an allowed-values change, the lint findings an edit brings, and the Markdown
summary for a pull request, on edits of the shipped tables."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from decide.app.cli import main

TABLES = Path(__file__).resolve().parents[1] / "tables"


def _copy(dst: Path) -> Path:
    shutil.copytree(TABLES, dst, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return dst


def _row(ws, first_col_value):
    return next(r for r in ws.iter_rows() if r[0].value == first_col_value)


@pytest.fixture(scope="module")
def edited(tmp_path_factory):
    """Section 4 and 5 of the analyst guide done together: the spend threshold raised to
    5,000 yen with its Tests and Invariants updated, and QUO cards made cashable."""
    d = _copy(tmp_path_factory.mktemp("edit") / "tables")
    wb = load_workbook(d / "card_eligibility.xlsx")
    wb["5 実績-金額"]["B7"] = ">= 5000"
    tests = wb["Tests"]
    amount = [c.value for c in tests[4]].index("total_spent_yen")
    r = _row(tests, "spend_3000")
    r[0].value, r[amount].value = "spend_5000", 5000
    _row(tests, "spend_2999")[amount].value = 4999
    inv = _row(wb["Invariants"], "low_spend_never_issuable")
    inv[1].value = inv[1].value.replace("3000", "5000")
    wb.save(d / "card_eligibility.xlsx")
    wb = load_workbook(d / "purchase_restriction.xlsx")
    g = _row(wb["Glossary 用語"], "category")
    g[2].value += ', "quo_card"'
    wb["1 換金性の高い商品"]["B7"] = wb["1 換金性の高い商品"]["B7"].value + ', "quo_card"'
    wb.save(d / "purchase_restriction.xlsx")
    return d


def _run(*args):
    return CliRunner().invoke(main, ["diff", *map(str, args)], catch_exceptions=False)


def _tables_well_formed(md: str):
    """Every Markdown table row has as many cells as its header."""
    widths = None
    for line in md.splitlines():
        if not line.startswith("|"):
            widths = None
            continue
        n = len(re.findall(r"(?<!\\)\|", line))
        if widths is None:
            widths = n
        assert n == widths, line


def test_markdown_summary_of_a_shipped_table_edit(edited, tmp_path):
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("\n".join(json.dumps(c) for c in [
        {"decision": "card_eligibility", "kyc_status": "approved", "months_of_use": 3, "use_count": 3,
         "total_spent_yen": 4000, "late_payment_count": 0, "unpaid_balance_yen": 0},
        {"decision": "card_eligibility", "kyc_status": "approved", "months_of_use": 3, "use_count": 3,
         "total_spent_yen": 6000, "late_payment_count": 0, "unpaid_balance_yen": 0}]) + "\n")
    r = _run(TABLES, edited, "--cases", corpus, "--format", "markdown")
    assert r.exit_code == 1, r.output
    md = r.stdout
    _tables_well_formed(md)
    assert md.startswith("## Decision tables: what this change does\n")
    assert "**2 tables changed (2 cells); 1 Glossary field edited; 2 Tests cases edited; " \
           "1 invariant edited; cases decided differently: card_eligibility 1 of 2.**" in md
    # rules and cells changed, and the region of cases decided differently
    assert "#### TrackRecordSpend (card_eligibility.xlsx › 5 実績-金額)" in md
    assert "| 1 | total_spent_yen | B7 | `>= 3000` | `>= 5000` |" in md
    assert "- total_spent_yen is [3000..5000), e.g. `total_spent_yen = 3000`" in md
    # the Glossary, Tests and Invariants edits
    assert '| `category` | purchase_restriction.xlsx › Glossary 用語 › A4 | allowed values +"quo_card" |' in md
    assert "| `spend_5000` (card_eligibility) | card_eligibility.xlsx › Tests › row 36 | " \
           "id spend_3000 → spend_5000; total_spent_yen [M36]: 3000 → 5000 |" in md
    assert "| `low_spend_never_issuable` (card_eligibility) | card_eligibility.xlsx › Invariants › row 8 | " \
           "WHEN total_spent_yen < 3000 → total_spent_yen < 5000 |" in md
    # the corpus case that changes, and only it
    assert "- **card_eligibility**: 1 of 2 cases change" in md
    assert re.search(r'\| line 1 \| `\{"kyc_status": "approved", .*"total_spent_yen": 4000.*\}` \| '
                     r'card_status "issuable" → "building_history"; reasons \+"low_spend"', md)
    assert "| line 2 |" not in md
    # lint: nothing new
    assert "### New lint findings\n\nNone: the edit brings no lint finding the old version did not have." in md


def test_markdown_lists_only_the_lint_findings_the_edit_brings(tmp_path):
    """The guide's lint example: CashableCategories' catch-all rule typed as "prepaid_card"."""
    d = _copy(tmp_path / "tables")
    wb = load_workbook(d / "purchase_restriction.xlsx")
    wb["1 換金性の高い商品"]["B8"] = '"prepaid_card"'
    wb.save(d / "purchase_restriction.xlsx")
    r = _run(TABLES, d, "--format", "markdown")
    assert r.exit_code == 1
    section = r.stdout.split("### New lint findings\n", 1)[1]
    found = re.findall(r"^\| (\w+) \| (L\d+ [\w-]+) \| ([^|]+) \|", section, re.M)
    assert [(s, code) for s, code, _ in found] == [("warning", "L103 uncovered-cases"),
                                                   ("warning", "L104 shadowed-rule")]
    assert all("1 換金性の高い商品" in where for _, _, where in found)
    # the shipped tables' own notes (ignored cover sheets) are not new
    assert len(found) == 2 and "はじめに" not in section
    # text and JSON give them on request
    r = _run(TABLES, d, "--lint")
    assert "New lint findings:\n  WARNING L103 uncovered-cases" in r.stdout
    data = json.loads(_run(TABLES, d, "--lint", "--format", "json").stdout)
    assert [x["code"] for x in data["lint_new"]] == ["L103", "L104"]
    assert "lint_new" not in json.loads(_run(TABLES, d, "--format", "json").stdout)


def test_text_lists_glossary_tests_and_invariants_edits(edited):
    r = _run(TABLES, edited)
    assert r.exit_code == 1
    out = r.stdout
    assert "Glossary:\n  purchase_restriction.xlsx › Glossary 用語 › A4: field category changed: " \
           'allowed values +"quo_card"\n' in out
    assert "Tests:\n  card_eligibility.xlsx › Tests › row 35: case spend_2999 changed: " \
           "total_spent_yen [M35]: 2999 → 4999\n" in out
    assert "  card_eligibility.xlsx › Tests › row 36: case spend_5000 changed: id spend_3000 → spend_5000; " \
           "total_spent_yen [M36]: 3000 → 5000\n" in out
    assert "Invariants:\n  card_eligibility.xlsx › Invariants › row 8: invariant low_spend_never_issuable " \
           "changed: WHEN total_spent_yen < 3000 → total_spent_yen < 5000" in out
    data = json.loads(_run(TABLES, edited, "--format", "json").stdout)
    assert data["glossary"] == [{"field": "category", "status": "changed",
                                 "where": "purchase_restriction.xlsx › Glossary 用語 › A4",
                                 "changes": ['allowed values +"quo_card"']}]
    assert [(t["case"], t["status"]) for t in data["tests"]] == [("spend_2999", "changed"),
                                                                 ("spend_5000", "changed")]
    assert data["invariants"][0]["property"] == "low_spend_never_issuable"


def test_an_allowed_values_change_does_not_print_the_list_on_every_case_line(edited):
    r = _run(TABLES, edited, "--generate", 100, "--decision", "purchase_restriction")
    lines = [line.strip() for line in r.stdout.splitlines() if line.lstrip().startswith("generated #")]
    quo = [line for line in lines if '"quo_card"' in line]
    assert quo, r.stdout
    for line in quo:
        assert 'was refused ("category" (商品カテゴリ): "quo_card" is not allowed), now decided' in line
        assert "allowed values" not in line and '"general_goods"' not in line


def test_a_tests_only_edit_is_a_change_and_no_edit_is_none(tmp_path):
    d = _copy(tmp_path / "tables")
    wb = load_workbook(d / "purchase_restriction.xlsx")
    tests = wb["Tests"]
    tests.cell(tests.max_row + 1, 1, "one_more")
    wb.save(d / "purchase_restriction.xlsx")
    r = _run(TABLES, d)
    assert r.exit_code == 1
    assert "Tables: no change.\nTests:\n  purchase_restriction.xlsx › Tests › row" in r.stdout
    assert "case one_more added" in r.stdout
    r = _run(TABLES, _copy(tmp_path / "same"), "--format", "markdown")
    assert r.exit_code == 0
    assert "**No change.**" in r.stdout


def test_a_glossary_edit_of_label_and_changeable_is_listed(tmp_path):
    d = _copy(tmp_path / "tables")
    wb = load_workbook(d / "card_eligibility.xlsx")
    g = wb["Glossary 用語"]
    head = [c.value for c in g[2]]
    row = _row(g, "use_count")
    was = row[head.index("Changeable")].value
    row[head.index("Changeable")].value = "no"
    row[head.index("Label")].value = "利用回数（回）"
    wb.save(d / "card_eligibility.xlsx")
    r = _run(TABLES, d)
    assert r.exit_code == 1
    assert f"field use_count changed: label 利用回数 → 利用回数（回）; changeable {was} → no" in r.stdout
