"""Issue 10 item 5: a reload never serves a partial rule set; the watcher survives."""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from openpyxl import load_workbook

import decide
from decide.app.http import Service
from tests.http_helpers import ADMIN, Server, copy_tables, wait_for as _wait

MEMBER = {"kyc_status": "approved", "months_of_use": 3, "use_count": 3, "total_spent_yen": 4000,
          "late_payment_count": 0, "unpaid_balance_yen": 0}
AUTH = {"Authorization": f"Bearer {ADMIN}"}


def _edited_bytes(tables: Path, tmp: Path, text: str) -> tuple[str, bytes]:
    """The bytes of card_eligibility.xlsx with TrackRecordSpend's first cell set to ``text``."""
    cell = decide.load(tables).ir.tables["TrackRecordSpend"].rules[0].inputs[0].loc
    wb = load_workbook(tables / cell.workbook)
    wb[cell.sheet][cell.cell] = text
    out = tmp / f"edited-{abs(hash(text))}.xlsx"
    wb.save(out)
    return cell.workbook, out.read_bytes()




def test_a_workbook_briefly_absent_is_never_served_partially(tmp_path):
    """The real server, watching every 0.05 s and reloaded by POST /reload while a
    workbook is replaced by temp+rename: every request answers 200 from a complete version."""
    tables = copy_tables(tmp_path)
    versions = {decide.load(tables).version}
    name, stricter = _edited_bytes(tables, tmp_path, ">= 5000")
    original = (tables / name).read_bytes()
    srv = Server("--tables", str(tables), "--watch", "0.05", "--threads", "4", env={"DECIDE_ADMIN_TOKEN": ADMIN})
    bad, seen, stop = [], set(), threading.Event()

    def client():
        while not stop.is_set():
            status, headers, body = srv.request("POST", "/decide/card_eligibility", MEMBER)
            if status != 200:
                bad.append((status, body))
            else:
                seen.add((body["version"], headers["Decide-Version"], body["outputs"]["card_status"]))

    threads = [threading.Thread(target=client) for _ in range(4)]
    try:
        for t in threads:
            t.start()
        reload_statuses = []
        for i in range(6):  # bounded: six saves, each with the workbook absent for 0.4 s
            data = stricter if i % 2 == 0 else original
            tmp = tables / "~tmp1234"
            tmp.write_bytes(data)
            os.unlink(tables / name)
            reload_statuses.append(srv.request("POST", "/reload", b"", AUTH)[0])  # while absent
            time.sleep(0.4)
            os.replace(tmp, tables / name)
            versions.add(_wait(lambda: (h := srv.request("GET", "/health")[2])["watch"]["status"] == "ok"
                               and h["version"]) or "")
        stop.set()
        for t in threads:
            t.join(30)
        health = srv.request("GET", "/health")[2]
    finally:
        stop.set()
        srv.stop()
    assert not bad, bad[:3]
    assert set(reload_statuses) == {422}  # refused: the set lacked card_eligibility
    assert {v for v, _, _ in seen} <= versions and all(v == h for v, h, _ in seen)
    assert {s for _, _, s in seen} == {"issuable", "building_history"}  # both saves were served
    assert health["status"] == "ok" and health["watch"]["last_error"] is None


def test_a_half_written_workbook_does_not_kill_the_watcher(tmp_path):
    tables = copy_tables(tmp_path)
    name, stricter = _edited_bytes(tables, tmp_path, ">= 5000")
    app = Service(decide.load(tables), watch=0.05, metrics=False)
    try:
        old = app.version
        (tables / name).write_bytes(stricter[: len(stricter) // 2])  # a slow save, caught midway
        health = _wait(lambda: (h := app.health())["status"] == "degraded" and h)
        assert health and health["watch"]["status"] == "failing" and name in health["watch"]["last_error"]
        assert health["watch"]["differs_since"] and app.version == old
        assert app.book.decide("card_eligibility", MEMBER).outputs["card_status"] == "issuable"
        (tables / name).write_bytes(stricter)  # the save completes
        assert _wait(lambda: app.version != old and app.health()["status"] == "ok")
        assert app.book.decide("card_eligibility", MEMBER).outputs["card_status"] == "building_history"
        assert app.health()["watch"] == {**app.health()["watch"], "status": "ok", "last_error": None,
                                         "differs_since": None}
    finally:
        app.close()


def test_lock_and_temp_files_do_not_trigger_a_reload(tmp_path):
    tables = copy_tables(tmp_path)
    app = Service(decide.load(tables), watch=0.05, metrics=False)
    reloads = []
    real = app.book.reload
    app.book.reload = lambda **kw: (reloads.append(kw), real(**kw))[1]  # counts, still reloads
    try:
        (tables / "~$card_eligibility.xlsx").write_bytes(b"\0owner: someone")  # Excel's lock file
        (tables / ".~lock.card_eligibility.xlsx#").write_text("someone,host,...", "utf-8")  # LibreOffice's
        (tables / "card_eligibility.xlsx~").write_bytes(b"editor backup")
        (tables / "lu12345.tmp").write_bytes(b"LibreOffice temp")
        time.sleep(1.0)  # twenty looks
        assert reloads == [] and app.health()["watch"]["differs_since"] is None
        assert app.health()["watch"]["checked_at"] is not None  # the watcher did look
        os.utime(tables / "card_eligibility.xlsx")  # a real save: now it reloads
        assert _wait(lambda: reloads, 10)
    finally:
        app.close()
