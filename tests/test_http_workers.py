"""`decide serve` as a real subprocess on a free loopback port: gunicorn worker
processes, a reload reaching every worker under load, --watch across workers,
/metrics parsed with prometheus-client's parser, and SIGTERM draining requests in
flight (exit 0, every process gone)."""
from __future__ import annotations

import signal
import socket
import threading
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.http_helpers import ADMIN, Server, copy_tables, pid_alive, request, wait_for
from tests.test_http import MEMBER, edit_first_cell

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")




def workers_of(srv: Server) -> dict:
    return srv.request("GET", "/health")[2]["workers"]


@pytest.fixture()
def two_workers(tmp_path):
    copy = copy_tables(tmp_path)
    srv = Server("--tables", str(copy), "--workers", "2", "--threads", "4", env={"DECIDE_ADMIN_TOKEN": ADMIN})
    assert wait_for(lambda: len(workers_of(srv)) == 2, 20)
    pids = [int(p) for p in workers_of(srv)]
    yield srv, copy, pids
    assert srv.stop() == 0
    assert wait_for(lambda: not any(pid_alive(p) for p in [srv.proc.pid, *pids]), 10)


def test_workers_serve_and_metrics_add_up_across_them(two_workers):
    srv, _, pids = two_workers
    seen = set()
    for _ in range(40):
        status, _, body = srv.request("POST", "/decide/purchase_restriction", {"category": "books", "amount_yen": 100})
        assert status == 200
        seen.add(srv.request("GET", "/health")[2]["pid"])
    assert seen <= set(pids)
    status, headers, text = srv.request("GET", "/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(text.decode())}
    decided = sum(s.value for s in families["decide_decisions"].samples
                  if s.name == "decide_decisions_total" and s.labels == {"decision": "purchase_restriction",
                                                                      "outcome": "decided"})
    assert decided == 40
    serving = [s for s in families["decide_rulebook_workers"].samples]
    assert sum(s.value for s in serving) == 2
    latency = [s for s in families["decide_request_duration_seconds"].samples
               if s.name.endswith("_count") and s.labels["decision"] == "purchase_restriction"]
    assert sum(s.value for s in latency) == 40


def test_a_reload_under_load_reaches_every_worker(two_workers):
    srv, copy, pids = two_workers
    before = srv.request("GET", "/health")[2]["version"]
    cell, wb = edit_first_cell(copy, "TrackRecordSpend", ">= 5000", save=False)
    stop = threading.Event()
    seen = []

    def hammer():
        while not stop.is_set():
            status, _, body = srv.request("POST", "/decide/card_eligibility", MEMBER)
            seen.append((status, body["outputs"]["card_status"] if status == 200 else body))

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.5)
        wb.save(copy / cell.workbook)
        status, _, body = srv.request("POST", "/reload", b"", {"Authorization": f"Bearer {ADMIN}"})
        assert status == 200, body
        after = body["version"]
        assert after != before
        converged = wait_for(lambda: {w["version"] for w in workers_of(srv).values()} == {after}, 5)
        assert converged, workers_of(srv)
        n = len(seen)
        time.sleep(0.5)
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    assert seen and all(s == 200 for s, _ in seen), [x for x in seen if x[0] != 200][:3]
    assert {out for _, out in seen} <= {"issuable", "building_history"}
    assert {out for _, out in seen[n:]} == {"building_history"}  # every worker on the new version


def test_watch_reaches_every_worker(tmp_path):
    copy = copy_tables(tmp_path)
    srv = Server("--tables", str(copy), "--workers", "2", "--watch", "0.3")
    try:
        assert wait_for(lambda: len(workers_of(srv)) == 2, 20)
        before = {w["version"] for w in workers_of(srv).values()}
        edit_first_cell(copy, "TrackRecordSpend", ">= 5000")
        assert wait_for(lambda: len({w["version"] for w in workers_of(srv).values()} - before) == 1
                        and len({w["version"] for w in workers_of(srv).values()}) == 1, 15)
        for _ in range(10):
            status, _, body = srv.request("POST", "/decide/card_eligibility", MEMBER)
            assert body["outputs"]["card_status"] == "building_history"
    finally:
        assert srv.stop() == 0


@pytest.mark.parametrize("workers", ["1", "2"])
def test_sigterm_lets_a_request_in_flight_finish_then_exits_0(tmp_path, workers):
    srv = Server("--tables", str(copy_tables(tmp_path)), "--workers", workers)
    pids = [int(p) for p in workers_of(srv)] if workers != "1" else []
    body = b'{"category": "books", "amount_yen": 1200}'
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=20)
    try:
        s.sendall(b"POST /decide/purchase_restriction HTTP/1.1\r\nHost: localhost\r\n"
                  b"Content-Type: application/json\r\nContent-Length: " + str(len(body)).encode() +
                  b"\r\n\r\n" + body[:10])
        time.sleep(0.5)  # the request is in flight: half its body sent
        srv.proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        assert srv.proc.poll() is None  # still draining
        s.sendall(body[10:])
        answer = s.recv(4096)
    finally:
        s.close()
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
    assert srv.stop(wait=30) == 0
    assert wait_for(lambda: not any(pid_alive(p) for p in [srv.proc.pid, *pids]), 10)


def test_ready_and_health_are_distinct(tmp_path):
    srv = Server("--tables", str(copy_tables(tmp_path)))
    try:
        status, _, body = srv.request("GET", "/ready")
        assert status == 200 and body["ready"] is True
        assert srv.request("GET", "/health")[2]["status"] == "ok"
    finally:
        assert srv.stop() == 0


@pytest.mark.parametrize("workers", ["1", "2"])
def test_idle_and_slow_connections_do_not_delay_health(tmp_path, workers):
    """200 connections, half sending nothing, half a request's first line and stopping:
    /health still answers within 1 s (waitress buffers a request whole before a thread
    sees it, in the single process and in each gunicorn worker)."""
    srv = Server("--tables", str(copy_tables(tmp_path)), "--workers", workers)
    idle = []
    try:
        for i in range(200):
            c = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
            if i % 2:
                c.sendall(b"POST /decide/purchase_restriction HTTP/1.1\r\nHost: localhost\r\n")
            idle.append(c)
        worst = 0.0
        for _ in range(10):
            t0 = time.perf_counter()
            assert request(srv.port, "GET", "/health", timeout=5)[0] == 200
            worst = max(worst, time.perf_counter() - t0)
        assert worst < 1.0, f"{worst:.2f} s"
    finally:
        for c in idle:
            c.close()
        assert srv.stop() == 0


def test_access_log_is_one_json_line_per_request(tmp_path):
    import json
    srv = Server("--tables", str(copy_tables(tmp_path)), "--workers", "2", "--access-log")
    try:
        for body in ({"category": "books"}, {"category": "nope"}):
            srv.request("POST", "/decide/purchase_restriction", body)
        srv.request("GET", "/nowhere")
    finally:
        assert srv.stop() == 0
    lines = [json.loads(x) for x in srv.proc_stderr_rest.splitlines() if x.startswith("{")]
    assert [(x["path"], x["status"], x["decision"]) for x in lines] == [
        ("/decide/purchase_restriction", 200, "purchase_restriction"),
        ("/decide/purchase_restriction", 400, "purchase_restriction"), ("/nowhere", 404, None)]
    assert all(x["ms"] >= 0 and x["pid"] > 0 for x in lines)
    assert "Task queue depth" not in srv.proc_stderr_rest
