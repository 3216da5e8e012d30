"""Issue 10 item 1: every result says which rule set decided it."""
from __future__ import annotations

import io
import json
import pickle
import shutil
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import decide
from decide.app.cli import main
from decide.app.http import Service
from decide.model.errors import WorkbookError
from decide.runtime.rulebook import ReloadRefused, engine_version

ROOT = Path(__file__).resolve().parents[1]
TABLES = ROOT / "tables"
CASE = {"category": "gift_card", "amount_yen": 5000}


def _copy(tmp_path: Path, name: str = "tables") -> Path:
    d = tmp_path / name
    shutil.copytree(TABLES, d, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return d


def _edit(tables: Path, table: str, text: str) -> None:
    from openpyxl import load_workbook
    cell = decide.load(tables).ir.tables[table].rules[0].inputs[0].loc
    wb = load_workbook(tables / cell.workbook)
    wb[cell.sheet][cell.cell] = text
    wb.save(tables / cell.workbook)


def test_the_version_is_the_content_not_the_place(tmp_path):
    a, b = _copy(tmp_path, "a"), _copy(tmp_path, "b")
    va, vb = decide.load(a).version, decide.load(b).version
    assert va == vb and len(va) == 12 and int(va, 16) >= 0
    _edit(b, "TrackRecordSpend", ">= 5000")
    assert decide.load(b).version != va
    (a / "card_eligibility.xlsx").rename(a / "card_eligibility_v2.xlsx")  # a name is content too
    assert decide.load(a).version != va


def test_the_engine_version_is_part_of_it(tmp_path, monkeypatch):
    import decide.runtime.rulebook as rb
    d = _copy(tmp_path)
    before = decide.load(d).version
    monkeypatch.setattr(rb, "_ENGINE_VERSION", engine_version() + ".post1")
    assert decide.load(d).version != before


def test_a_label_file_names_the_version(tmp_path):
    d = _copy(tmp_path)
    plain = decide.load(d).version
    (d / "VERSION").write_text("2027.01-rc1\nnotes nobody reads\n", "utf-8")
    book = decide.load(d)
    assert book.version == f"2027.01-rc1+{plain}"
    (d / "VERSION").write_text("rules of 1 March\n", "utf-8")
    with pytest.raises(WorkbookError) as e:
        decide.load(d)
    assert "E109" in str(e.value.diagnostics[0].code) and "VERSION" in str(e.value)


def test_every_result_carries_one_shared_version_and_reload_moves_it(tmp_path):
    d = _copy(tmp_path)
    book = decide.load(d)
    r1, r2 = book.decide("purchase_restriction", CASE), book.decide("card_eligibility", {})
    assert r1.version == book.version and r1.version is r2.version
    assert r1.to_dict()["version"] == book.version and list(r1.to_dict())[:2] == ["decision", "version"]
    old = book.version
    _edit(d, "TrackRecordSpend", ">= 5000")
    book.reload()
    assert book.version != old and book.decide("purchase_restriction", CASE).version == book.version
    assert pickle.loads(pickle.dumps(book)).version == book.version


def test_durable_results_carry_it_too():
    book = decide.load(TABLES, engine="durable")
    assert book.decide("purchase_restriction", CASE).version == decide.load(TABLES).version


def test_the_cli_prints_it(tmp_path):
    version = decide.load(TABLES).version
    run = CliRunner().invoke(main, ["-", "-d", "purchase_restriction", "--tables", str(TABLES)],
                             input=json.dumps(CASE))
    assert run.exit_code == 0 and json.loads(run.stdout)["version"] == version
    tables = CliRunner().invoke(main, ["tables", str(TABLES)])
    assert tables.exit_code == 0 and tables.stdout.rstrip().splitlines()[-1] == f"Version: {version}"
    listed = json.loads(CliRunner().invoke(main, ["tables", str(TABLES), "--format", "json"]).stdout)
    assert (listed["version"], listed["label"], listed["id"]) == (version, None, version)
    assert set(listed["decisions"]) == set(decide.load(TABLES).decisions)
    labelled = _copy(tmp_path, "labelled")
    (labelled / "VERSION").write_text("2027.01-rc1\n", "utf-8")
    listed = json.loads(CliRunner().invoke(main, ["tables", str(labelled), "--format", "json"]).stdout)
    assert listed["version"] == f"2027.01-rc1+{version}" and listed["label"] == "2027.01-rc1"
    assert listed["id"] == version
    cases = tmp_path / "cases.jsonl"
    cases.write_text("\n".join(json.dumps({**CASE, "amount_yen": n}) for n in range(5)) + "\n", "utf-8")
    out = tmp_path / "out.jsonl"
    batch = CliRunner().invoke(main, ["batch", str(cases), "-d", "purchase_restriction", "-o", str(out),
                                      "--tables", str(TABLES)])
    assert batch.exit_code == 0, batch.output
    lines = [json.loads(x) for x in out.read_text("utf-8").splitlines()]
    assert len(lines) == 5 and {x["version"] for x in lines} == {version}


def _wsgi(app, method, path, body=b""):
    got = {}

    def start(status, headers):
        got["status"], got["headers"] = int(status[:3]), dict(headers)
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "CONTENT_TYPE": "application/json",
               "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body), "HTTP_HOST": "localhost"}
    data = b"".join(app(environ, start))
    return got["status"], got["headers"], json.loads(data)


def test_http_body_header_and_health(tmp_path):
    d = _copy(tmp_path)
    app = Service(decide.load(d), metrics=False)
    try:
        status, headers, body = _wsgi(app, "POST", "/decide/purchase_restriction", json.dumps(CASE).encode())
        assert status == 200 and body["version"] == headers["Decide-Version"] == app.book.version
        status, headers, body = _wsgi(app, "GET", "/health")
        assert body["version"] == headers["Decide-Version"] == app.book.version
        status, headers, body = _wsgi(app, "POST", "/decide/nope", b"{}")
        assert status == 404 and headers["Decide-Version"] == app.book.version
    finally:
        app.close()


def test_a_reload_that_would_drop_a_decision_is_refused_unless_allowed(tmp_path):
    d = _copy(tmp_path)
    book = decide.load(d)
    old = book.version
    (d / "card_eligibility.xlsx").unlink()  # as during a save by temp file and rename
    assert decide.ReloadRefused is ReloadRefused  # part of the embedding API
    with pytest.raises(ReloadRefused) as e:
        book.reload()
    assert "card_eligibility" in e.value.removed and isinstance(e.value, WorkbookError)
    assert book.version == old and "card_eligibility" in book.decisions
    assert book.decide("card_eligibility", {}).version == old
    book.reload(allow_removed=True)
    assert "card_eligibility" not in book.decisions and book.version != old
