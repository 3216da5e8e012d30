"""The HTTP service, served for real by waitress on 127.0.0.1 (an ephemeral port)."""
from __future__ import annotations

import json
import shutil
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from openpyxl import load_workbook

import decide
from decide.app.http import Service
from decide.app.http_security import Access

TABLES = Path(__file__).resolve().parents[1] / "tables"
ADMIN = "admin-token-for-the-tests-0123456789"


@pytest.fixture()
def server(tmp_path):
    from waitress import create_server
    copy = tmp_path / "tables"
    shutil.copytree(TABLES, copy, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    app = Service(decide.load(copy), access=Access(admin_token=ADMIN))
    srv = create_server(app, host="127.0.0.1", port=0, threads=8)
    def run():
        try:
            srv.run()
        except OSError:  # the socket closed under select() at shutdown
            pass

    t = threading.Thread(target=run, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.effective_port}", copy, app
    srv.close()
    t.join(5)
    app.close()


def call(url, path, body=None, method=None):
    data = body if isinstance(body, bytes) else (None if body is None else json.dumps(body).encode())
    headers = {"Content-Type": "application/json"}
    if path == "/reload":
        headers["Authorization"] = f"Bearer {ADMIN}"
    req = urllib.request.Request(url + path, data=data, method=method or ("POST" if data is not None else "GET"),
                                 headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def edit_first_cell(tables: Path, table_name: str, text: str, save: bool = True):
    """Write ``text`` into the first input cell of rule 1 of a table in a copy of the
    tables; returns the cell and the (unsaved when save=False) workbook."""
    cell = decide.load(tables).ir.tables[table_name].rules[0].inputs[0].loc
    wb = load_workbook(tables / cell.workbook)
    wb[cell.sheet][cell.cell] = text
    if save:
        wb.save(tables / cell.workbook)
    return cell, wb


MEMBER = {"kyc_status": "approved", "months_of_use": 3, "use_count": 3, "total_spent_yen": 4000,
          "late_payment_count": 0, "unpaid_balance_yen": 0}


def test_decide_health_and_decisions(server):
    url, _, _ = server
    status, body = call(url, "/decide/purchase_restriction", {"category": "gift_card", "amount_yen": 5000})
    assert status == 200
    assert body["outputs"]["allowed"] is False and body["outputs"]["restriction"] == "cashable"
    assert body["fired"][0]["workbook"] == "purchase_restriction.xlsx"
    status, body = call(url, "/decide", {"decision": "card_eligibility", **MEMBER})
    assert status == 200 and body["outputs"]["card_status"] == "issuable"
    assert call(url, "/health")[1]["status"] == "ok"
    decisions = call(url, "/decisions")[1]
    assert decisions["decline_diagnosis"]["kind"] == "service"
    assert "causes" in decisions["decline_diagnosis"]["outputs"]


@pytest.mark.parametrize("path,body,method,code,words", [
    ("/decide/purchase_restriction", b"not json", None, 400, "not valid JSON"),
    ("/decide/purchase_restriction", b"[1, 2]", None, 400, "JSON object"),
    ("/decide/purchase_restriction", {"category": "gift"}, None, 400, "not allowed"),
    ("/decide/purchase_restriction", {"category": "books", "amount_yen": "3000"}, None, 400, "whole number"),
    ("/decide/purchase_restriction", {"categry": "books"}, None, 400, 'did you mean "category"'),
    ("/decide/purchase_restrction", {}, None, 404, 'did you mean "purchase_restriction"'),
    ("/decide", {"category": "books"}, None, 400, "which decision"),
    ("/decide/purchase_restriction", None, "GET", 405, "POST"),
    ("/elsewhere", None, None, 404, "no such path"),
    ("/decide", {"decision": ["card_eligibility"]}, None, 400, "name of a decision"),
    ("/decide/purchase_restriction", b'{"category": "books", "amount_yen": 1e600000}', None, 400, "out of range"),
    ("/decide/purchase_restriction", b'{"category": "\\ud800"}', None, 400, "surrogate"),
    ("/decide/purchase_restriction", b"\xff\xfe", None, 400, "not valid JSON"),
    ("/decide/purchase_restriction", b"[" * 100000 + b"]" * 100000, None, 400, "not valid JSON"),
])
def test_bad_requests_get_a_clear_json_error(server, path, body, method, code, words):
    url, _, _ = server
    status, out = call(url, path, body, method)
    assert status == code, out
    assert words in " ".join(strings(out)), out


def strings(obj):
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from strings(v)


def test_a_body_over_the_limit_is_refused(server):
    url, _, _ = server
    status, out = call(url, "/decide/purchase_restriction", b"{" + b" " * (1 << 21) + b"}")
    assert status == 413


def test_concurrent_requests_equal_the_direct_results(server):
    url, copy, _ = server
    book = decide.load(copy)
    cases = [{"category": c, "amount_yen": a, "recurring": r}
             for c in ("books", "gift_card", "kindle", "subscription", "fashion")
             for a in (0, 2999, 3000, 50000) for r in (False, True)]
    expected = [book.decide("purchase_restriction", c).to_dict() for c in cases]
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda c: call(url, "/decide/purchase_restriction", c), cases * 5))
    assert all(s == 200 for s, _ in got)
    assert [b for _, b in got] == expected * 5


def test_reload_under_load_drops_no_request_and_switches_whole(server):
    url, copy, _ = server
    # the spend threshold 3,000 → 5,000: a 4,000-yen member stops being issuable
    cell, wb = edit_first_cell(copy, "TrackRecordSpend", ">= 5000", save=False)
    stop = threading.Event()
    seen = []

    def hammer():
        while not stop.is_set():
            seen.append(call(url, "/decide/card_eligibility", MEMBER))

    workers = [threading.Thread(target=hammer) for _ in range(4)]
    for w in workers:
        w.start()
    wb.save(copy / cell.workbook)
    status, body = call(url, "/reload", b"")
    after = call(url, "/decide/card_eligibility", MEMBER)
    stop.set()
    for w in workers:
        w.join()
    assert status == 200, body
    assert after[1]["outputs"]["card_status"] == "building_history"
    assert seen and all(s == 200 for s, _ in seen)
    assert {b["outputs"]["card_status"] for _, b in seen} <= {"issuable", "building_history"}


def test_a_broken_reload_keeps_the_old_version_in_service(server):
    url, copy, _ = server
    cell, _ = edit_first_cell(copy, "CashableCategories", '"gift_card", 3,000円')
    status, body = call(url, "/reload", b"")
    assert status == 422
    assert any(d["cell"] == cell.cell and d["sheet"] == cell.sheet for d in body["error"]["diagnostics"])
    status, body = call(url, "/decide/purchase_restriction", {"category": "gift_card"})
    assert status == 200 and body["outputs"]["restriction"] == "cashable"


def test_watch_reloads_an_edited_workbook(tmp_path):
    import time
    copy = tmp_path / "tables"
    shutil.copytree(TABLES, copy, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    app = Service(decide.load(copy), watch=0.2)
    try:
        assert app.book.decide("card_eligibility", MEMBER).outputs["card_status"] == "issuable"
        edit_first_cell(copy, "TrackRecordSpend", ">= 5000")
        deadline = time.time() + 20
        while time.time() < deadline:
            if app.book.decide("card_eligibility", MEMBER).outputs["card_status"] == "building_history":
                break
            time.sleep(0.1)
        assert app.book.decide("card_eligibility", MEMBER).outputs["card_status"] == "building_history"
    finally:
        app.close()
