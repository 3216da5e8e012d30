"""``decide show``: a workbook as line-oriented text, and as git's textconv driver."""
from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from decide.app.cli import main
from decide.tools.show import show, show_value

from . import workbooks as wbk
from .workbooks import table, write_workbook

TABLES = Path(__file__).resolve().parents[1] / "tables"


def _book(path: Path) -> Path:
    return write_workbook(
        path,
        glossary=[("amount", "integer", "[0..1000000]", "金額"), ("ok", "boolean", None, "可否")],
        tables=[table("Limit", "FIRST", ["INPUT amount", "OUTPUT ok", "ANNOTATION note"],
                      [[1, "> 50000", False, "高額"], [2, "-", True, None]])],
        sheets=[wbk.tests_sheet("Limit", ["INPUT amount", "EXPECT ok"], [["big", 60000, False]]),
                wbk.invariants_sheet("Limit", [["big_never_ok", "amount > 50000", "ok = false"]]),
                wbk.raw_sheet("Notes", [["just notes"], ["not read"]])])


def test_every_sheet_the_engine_reads_one_line_per_row(tmp_path):
    text, diags = show(_book(tmp_path / "b.xlsx"))
    assert diags == []
    assert text.splitlines() == [
        'Glossary "Glossary"',
        "  A1: Glossary",
        "  A2: Field | B2: Type | C2: Allowed values | D2: Label | E2: Description",
        "  A3: amount | B3: integer | C3: [0..1000000] | D3: 金額",
        "  A4: ok | B4: boolean | D4: 可否",
        'Decision table "Limit"',
        "  A1: Decision table | B1: Limit",
        "  A2: Hit policy | B2: FIRST",
        "  A4: Rule | B4: INPUT | C4: OUTPUT | D4: ANNOTATION",
        "  B5: amount | C5: ok | D5: note",
        "  A6: 1 | B6: > 50000 | C6: FALSE | D6: 高額",
        "  A7: 2 | B7: - | C7: TRUE",
        'Tests "Tests"',
        "  A1: Tests | B1: Limit",
        "  A3: Case | B3: INPUT | C3: EXPECT",
        "  B4: amount | C4: ok",
        "  A5: big | B5: 60000 | C5: FALSE",
        'Invariants "Invariants"',
        "  A1: Invariants | B1: Limit",
        "  A2: Property | B2: WHEN | C2: THEN",
        "  A3: big_never_ok | B3: amount > 50000 | C3: ok = false",
        'Ignored sheet "Notes"',
        "  A1: just notes",
    ]


def test_values_one_line_each():
    assert show_value(3000.0) == "3000" and show_value(0.1) == "0.1" and show_value(7) == "7"
    assert show_value(True) == "TRUE" and show_value(dt.datetime(2020, 2, 3)) == "2020-02-03"
    assert show_value(dt.datetime(2020, 2, 3, 9, 30)) == "2020-02-03 09:30:00"
    assert show_value("two\nlines") == "two\\nlines" and show_value("a\\n") == "a\\\\n"


def test_same_text_whatever_the_file_is_called_and_however_often_saved(tmp_path):
    a = _book(tmp_path / "a.xlsx")
    b = tmp_path / "XyZ123_a.xlsx"  # what git hands a textconv driver
    wb = load_workbook(a)
    wb.save(b)
    assert show(a)[0] == show(b)[0]
    assert "a.xlsx" not in show(a)[0]


def test_command_prints_a_workbook_and_fails_on_an_unreadable_one(tmp_path):
    r = CliRunner().invoke(main, ["show", str(TABLES / "card_eligibility.xlsx")])
    assert r.exit_code == 0
    assert "  A7: 1 | B7: >= 3000 | C7: true |" in r.stdout  # 5 実績-金額, rule 1
    assert 'Decision table "5 実績-金額"' in r.stdout
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"not a zip")
    r = CliRunner().invoke(main, ["show", str(bad)])
    assert r.exit_code == 2 and "bad.xlsx" in r.stderr


def test_a_directory_shows_every_workbook_headed_by_its_name():
    r = CliRunner().invoke(main, ["show", str(TABLES)])
    assert r.exit_code == 0
    heads = [line for line in r.stdout.splitlines() if line.startswith("# ")]
    assert heads == ["# card_eligibility.xlsx", "# decline_diagnosis.xlsx", "# purchase_restriction.xlsx"]


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_git_diff_shows_the_changed_cell_through_the_textconv_driver(tmp_path):
    """The recipe of docs/reviewing-changes.md, on a real repository and a real git diff."""
    repo = tmp_path / "repo"
    (repo / "tables").mkdir(parents=True)
    shutil.copy(TABLES / "card_eligibility.xlsx", repo / "tables")
    (repo / ".gitattributes").write_text("*.xlsx diff=decide\n")

    def git(*args):
        return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com",
                               "-c", f"diff.decide.textconv={sys.executable} -m decide show", *args],
                              cwd=repo, check=True, capture_output=True, text=True).stdout

    git("init", "-q")
    git("add", "-A")
    git("commit", "-qm", "released")
    wb = load_workbook(repo / "tables" / "card_eligibility.xlsx")
    wb["5 実績-金額"]["B7"] = ">= 5000"
    wb.save(repo / "tables" / "card_eligibility.xlsx")
    out = git("diff")
    minus = [line for line in out.splitlines() if line.startswith("-  ")]
    plus = [line for line in out.splitlines() if line.startswith("+  ")]
    assert len(minus) == len(plus) == 1, out
    assert minus[0].startswith("-  A7: 1 | B7: >= 3000 | C7: true")
    assert plus[0].startswith("+  A7: 1 | B7: >= 5000 | C7: true")
    assert 'Decision table "5 実績-金額"' in out  # the hunk is under its sheet
    git("commit", "-qam", "spend 5000")
    assert "B7: >= 5000" in git("log", "-p", "-1")
