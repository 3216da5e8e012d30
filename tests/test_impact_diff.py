"""decide diff: a one-cell threshold change lists exactly the affected cases and the
changed cell."""
from __future__ import annotations

import json

from click.testing import CliRunner

from decide.app.cli import main
from decide.tools.diff import diff, format_text

from .workbooks import table, write_workbook

GLOSSARY = [("amount", "integer", "[0..1000000]", "金額"), ("category", "text", '"books","gift_card"'),
            ("ok", "boolean")]


def _write(path, threshold):
    write_workbook(path / "limits.xlsx", glossary=GLOSSARY, tables=[
        table("Limit", "FIRST", ["INPUT category", "INPUT amount", "OUTPUT ok"],
              [[1, '"gift_card"', "-", False], [2, "-", f">= {threshold}", False], [3, "-", "-", True]])])
    return path


def _corpus(path):
    amounts = [0, 2999, 3000, 3001, 4000, 4999, 5000, 5001, 60000]
    lines = []
    for a in amounts:
        for c in ("books", "gift_card"):
            lines.append({"decision": "Limit", "amount": a, "category": c})
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    return lines


def test_one_cell_threshold_change_lists_exactly_the_affected_cases(tmp_path):
    old, new = _write(tmp_path / "old", 3000), _write(tmp_path / "new", 5000)
    lines = _corpus(tmp_path / "corpus.jsonl")
    rep = diff(old, new, cases=str(tmp_path / "corpus.jsonl"))
    # the changed cell, exactly
    assert len(rep.tables) == 1
    t = rep.tables[0]
    assert t.table == "Limit" and not t.added and not t.removed and not t.notes
    assert [(c.rule, c.column, c.old, c.new, c.loc.cell) for c in t.cells] == [
        ("2", "amount", ">= 3000", ">= 5000", "C7")]
    # the exact region where the table now decides differently
    assert [r.region for r in t.regions] == ['category is "books" or absent and amount is [3000..5000)']
    # exactly the cases whose output changes
    expected = {i + 1 for i, x in enumerate(lines) if x["category"] == "books" and 3000 <= x["amount"] < 5000}
    got = {int(c.source.split()[1]) for c in rep.cases["Limit"]}
    assert got == expected
    for c in rep.cases["Limit"]:
        assert c.old == {"ok": False} and c.new == {"ok": True} and c.fields == ["ok"]
    assert rep.evaluated["Limit"] == len(lines)
    text = format_text(rep)
    assert "rule 2, amount [C7]: >= 3000 → >= 5000" in text
    assert f"Limit: {len(expected)} of 18 cases change" in text and len(expected) == 4


def test_generated_cases_hit_the_changed_region(tmp_path):
    old, new = _write(tmp_path / "old", 3000), _write(tmp_path / "new", 5000)
    rep = diff(old, new, generate=100)
    cs = rep.cases["Limit"]
    assert cs, "no generated case fell between the old and the new threshold"
    for c in cs:
        assert c.case.get("category") != "gift_card" and 3000 <= c.case["amount"] < 5000


def test_no_change_and_cli_exit_codes(tmp_path):
    old, new = _write(tmp_path / "old", 3000), _write(tmp_path / "new", 5000)
    same = _write(tmp_path / "same", 3000)
    _corpus(tmp_path / "corpus.jsonl")
    r = CliRunner().invoke(main, ["diff", str(old), str(same), "--generate", "20"])
    assert r.exit_code == 0, r.output
    assert "Tables: no change." in r.output
    r = CliRunner().invoke(main, ["diff", str(old), str(new), "--cases", str(tmp_path / "corpus.jsonl"),
                                  "--format", "json"])
    assert r.exit_code == 1, r.output
    data = json.loads(r.output)
    assert data["tables"][0]["cells"][0]["new"] == ">= 5000"
    assert len(data["decisions"]["Limit"]["changed"]) == 4
    r = CliRunner().invoke(main, ["diff", str(old), str(tmp_path / "missing")])
    assert r.exit_code == 2
