"""Issue 10: the decision log and the archive, through real files, threads, processes,
`decide serve` (waitress and gunicorn workers) and `decide batch`, including kill -9
while logging: every line parses, no acknowledged decision is missing, rotation
keeps every line, the archive holds the workbooks byte for byte."""
from __future__ import annotations

import hashlib
import importlib.util
import http.client
import json
import multiprocessing
import os
import signal
import subprocess
import threading
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

import decide
from decide.app import casejson
from decide.runtime import decisionlog
from decide.runtime.archive import ArchiveError, path_for, put
from tests.batch_cases import random_cases, write_jsonl
from tests.http_helpers import ADMIN, TABLES, Server, copy_tables, pid_alive, request, wait_for
from tests.test_batch import DECIDE, write_cases
from tests.test_http import edit_first_cell

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")
DECISION = "purchase_restriction"
CASE = {"category": "gift_card", "amount_yen": 5000}
KEYS = ["time", "id", "decision", "version", "label", "as_of", "engine", "facts", "outputs", "fired"]


@pytest.fixture(scope="module")
def book():
    return decide.load(TABLES)


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def parsed(path: Path) -> list[dict]:
    """Every line of a log file, each required to be a whole JSON object line."""
    out = []
    for raw in lines_of(path):
        assert raw.endswith(b"\n"), raw[-80:]
        rec = json.loads(raw, parse_float=Decimal)
        assert list(rec) == KEYS
        out.append(rec)
    return out


def replays_exactly(log: Path, archive: Path, lines: int) -> None:
    """``decide replay`` with the archive reproduces every line of the log (once
    ``decide.tools.replay`` is in the build: it arrives with the h-replay branch)."""
    if importlib.util.find_spec("decide.tools.replay") is None:
        return
    from decide.tools.replay import Archive, replay
    rep = replay([str(log)], archive=Archive(archive))
    assert rep.ok and rep.reproduced == lines




# --------------------------------------------------------------------------- the line
def test_a_line_is_the_contract_and_a_case_again(tmp_path, book):
    log = decide.DecisionLog(tmp_path / "d.jsonl")
    cases, results = [], []
    for i, c in enumerate(random_cases(book, "card_eligibility", 200, bad_every=10)):
        try:
            results.append(book.decide("card_eligibility", c, decision_log=log, id=f"case-{len(cases)}"))
            cases.append(c)
        except decide.CaseError:
            continue  # an error is not a decision: nothing logged
    assert len(cases) > 20
    recs = parsed(tmp_path / "d.jsonl")
    assert [r["id"] for r in recs] == [f"case-{i}" for i in range(len(cases))]
    for rec, case, result in zip(recs, cases, results):
        assert rec["decision"] == "card_eligibility" and rec["engine"] == "native"
        assert rec["version"] == book.version == result.version and rec["label"] is None
        assert rec["facts"] == json.loads(casejson.dumps(case, pretty=False), parse_float=Decimal)
        assert rec["outputs"] == json.loads(casejson.dumps(result.to_dict()["outputs"]), parse_float=Decimal)
        assert rec["fired"] == [{"table": f.table, "rule": f.rule} for f in result.fired]
        assert rec["time"].endswith("+00:00")
        # the logged facts decide the same again: a log is a case corpus
        again = book.decide(rec["decision"], casejson.parse(json.dumps(rec["facts"])))
        assert again == result


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text()
                     | st.decimals(allow_nan=False, allow_infinity=False, places=None),
                     lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=5), kids, max_size=4),
                     max_leaves=12)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.text(max_size=8), _JSON, max_size=6))
def test_facts_are_written_exactly_as_the_case_json(facts):
    line = decisionlog.encode({"facts": facts})
    assert line == (casejson.dumps({"facts": facts}, pretty=False) + "\n").encode("utf-8")
    assert line.count(b"\n") == 1


def test_any_callable_is_a_sink_and_a_failing_sink_fails_the_decision(book):
    got = []
    book2 = decide.load(TABLES, decision_log=got.append)
    book2.decide(DECISION, CASE)
    book2.decide(DECISION, CASE, id="mine")
    assert [r["decision"] for r in got] == [DECISION, DECISION] and got[1]["id"] == "mine"
    assert len(got[0]["id"]) == 32 and int(got[0]["id"], 16) >= 0  # a uuid4 hex

    def broken(rec):
        raise OSError("disk gone")
    with pytest.raises(OSError):
        book.decide(DECISION, CASE, decision_log=broken)


def test_an_unwritable_log_is_an_error_not_a_lost_line(tmp_path, book):
    log = decide.DecisionLog("/dev/full")
    with pytest.raises(decide.DecisionLogError, match="/dev/full"):
        book.decide(DECISION, CASE, decision_log=log)
    (tmp_path / "f").write_text("")
    with pytest.raises(decide.DecisionLogError, match="cannot open"):
        decide.DecisionLog(tmp_path / "f" / "log.jsonl")


# --------------------------------------------------------------------------- threads, processes, rotation
def test_threads_append_whole_lines(tmp_path, book):
    log = decide.DecisionLog(tmp_path / "d.jsonl")
    n_threads, each = 8, 150

    def work(t):
        for i in range(each):
            book.decide(DECISION, {**CASE, "amount_yen": i}, decision_log=log, id=f"{t}-{i}")
    threads = [threading.Thread(target=work, args=(t,)) for t in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    recs = parsed(tmp_path / "d.jsonl")
    assert sorted(r["id"] for r in recs) == sorted(f"{t}-{i}" for t in range(n_threads) for i in range(each))


def _append(path: str, tag: str, n: int, max_bytes: int, backups: int) -> None:
    book = decide.load(TABLES)
    log = decide.DecisionLog(path, max_bytes=max_bytes, backups=backups)
    for i in range(n):
        book.decide(DECISION, {**CASE, "amount_yen": i}, decision_log=log, id=f"{tag}-{i}")


def test_rotation_keeps_every_line_across_processes(tmp_path):
    path = tmp_path / "d.jsonl"
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_append, args=(str(path), f"p{k}", 300, 40_000, 1000)) for k in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    files = decisionlog.files(path)
    assert len(files) > 10  # it rotated, many times
    ids = [r["id"] for f in files for r in parsed(f)]
    assert sorted(ids) == sorted(f"p{k}-{i}" for k in range(3) for i in range(300))
    for k in range(3):  # each process's lines in its own order across the files
        mine = [int(i.split("-")[1]) for i in ids if i.startswith(f"p{k}-")]
        assert mine == sorted(mine)


def test_rotation_in_one_process_bounds_the_files_and_keeps_the_backups_count(tmp_path, book):
    path = tmp_path / "d.jsonl"
    log = decide.DecisionLog(path, max_bytes=20_000, backups=3)
    for i in range(400):
        book.decide(DECISION, {**CASE, "amount_yen": i}, decision_log=log, id=str(i))
    files = decisionlog.files(path)
    assert [f.name for f in files] == ["d.jsonl.3", "d.jsonl.2", "d.jsonl.1", "d.jsonl"]
    assert all(f.stat().st_size <= 20_000 for f in files)
    ids = [int(r["id"]) for r in decisionlog.read(path, rotated=True)]
    assert ids == list(range(ids[0], 400)) and ids[0] > 0  # the newest, contiguous; the oldest dropped
    # a batch of records is split at the size too
    log.record_many(decisionlog.record(book, DECISION, CASE, book.decide(DECISION, CASE), f"m{i}")
                    for i in range(50))
    assert all(f.stat().st_size <= 20_000 for f in decisionlog.files(path))
    assert [r["id"] for r in decisionlog.read(path, rotated=True)][-50:] == [f"m{i}" for i in range(50)]


def test_a_torn_last_line_is_ended_and_reported(tmp_path, book):
    path = tmp_path / "d.jsonl"
    book.decide(DECISION, CASE, decision_log=decide.DecisionLog(path), id="before")
    with open(path, "ab") as f:  # what a crash of the machine mid-write can leave
        f.write(b'{"time": "2026-12-02T11:30:43.123456+00:00", "id": "torn", "deci')
    book.decide(DECISION, CASE, decision_log=decide.DecisionLog(path), id="after")
    bad = []
    assert [r["id"] for r in decisionlog.read(path, bad=lambda *a: bad.append(a))] == ["before", "after"]
    assert len(bad) == 1 and bad[0][1] == 2
    raw = lines_of(path)
    assert len(raw) == 3 and all(r.endswith(b"\n") for r in raw)
    # a reader of a log whose writer has not come back yet skips the partial tail
    with open(path, "ab") as f:
        f.write(b'{"id": "cut')
    assert [r["id"] for r in decisionlog.read(path)] == ["before", "after"]


# --------------------------------------------------------------------------- decide serve
def _hammer(port: int, stop: threading.Event, acked: list, sent: list, tag: str, limit: int | None = None):
    i = 0
    while not stop.is_set() and (limit is None or i < limit):
        rid = f"{tag}-{i}"
        sent.append(rid)
        try:
            status, headers, body = request(port, "POST", f"/decide/{DECISION}", {**CASE, "amount_yen": i},
                                            {"X-Request-Id": rid}, timeout=10)
        except (OSError, http.client.HTTPException):  # the server was killed
            return
        if status == 200:
            assert headers["X-Request-Id"] == rid
            acked.append(rid)
        i += 1


def test_two_workers_log_every_decision_and_archive_every_version(tmp_path):
    tables = copy_tables(tmp_path)
    (tables / "VERSION").write_text("2027.01-rc1\n")
    log, archive = tmp_path / "log" / "d.jsonl", tmp_path / "archive"
    original = {p.name: p.read_bytes() for p in tables.glob("*.xlsx")}
    srv = Server("--tables", str(tables), "--workers", "2", "--threads", "4", "--decision-log", str(log),
                 "--decision-log-max", "64K", "--decision-log-backups", "100", "--archive", str(archive),
                 env={"DECIDE_ADMIN_TOKEN": ADMIN})
    try:
        assert wait_for(lambda: len(srv.request("GET", "/health")[2].get("workers", {})) == 2, 20)
        first = srv.request("GET", "/health")[2]["version"]
        assert first.startswith("2027.01-rc1+")
        stop, acked, sent = threading.Event(), [], []
        threads = [threading.Thread(target=_hammer, args=(srv.port, stop, acked, sent, f"t{k}", 100))
                   for k in range(4)]
        for t in threads:
            t.start()
        # errors are not decisions; a request without an id gets one, logged and returned
        status, headers, _ = srv.request("POST", f"/decide/{DECISION}", {"category": "nope"})
        assert status == 400
        status, headers, body = srv.request("POST", f"/decide/{DECISION}", CASE)
        assert status == 200 and len(headers["X-Request-Id"]) == 32
        generated = headers["X-Request-Id"]
        for t in threads:
            t.join(60)
        # a new version: archived by the worker that reloads and found there by the others
        edit_first_cell(tables, "TrackRecordSpend", ">= 5000")
        status, _, health = srv.request("POST", "/reload", {}, {"Authorization": f"Bearer {ADMIN}"})
        assert status == 200
        second = health["version"]
        assert wait_for(lambda: {w["version"] for w in srv.request("GET", "/health")[2]["workers"].values()}
                        == {second}, 20)
        status, headers, body = srv.request("POST", f"/decide/{DECISION}", CASE, {"X-Request-Id": "after"})
        assert status == 200 and body["version"] == second
    finally:
        assert srv.stop() == 0
    recs = [r for f in decisionlog.files(log) for r in parsed(f)]
    assert len(decisionlog.files(log)) > 1  # rotated by two processes
    assert sorted(r["id"] for r in recs) == sorted([*acked, generated, "after"])
    assert len(acked) == 400
    assert {r["version"] for r in recs if r["id"] != "after"} == {first}
    assert [r["version"] for r in recs if r["id"] == "after"] == [second]
    assert all(r["label"] == "2027.01-rc1" for r in recs)
    # the archive: both versions, byte for byte, and loading one gives its version again
    assert sorted(p.name for p in archive.iterdir()) == sorted([first, second])
    old = path_for(archive, first)
    assert {p.name: p.read_bytes() for p in old.glob("*.xlsx")} == original
    manifest = json.loads((old / "manifest.json").read_text())
    assert manifest["version"] == first and manifest["label"] == "2027.01-rc1"
    assert manifest["workbooks"] == {n: hashlib.sha256(b).hexdigest() for n, b in original.items()}
    assert decide.load(old).version == first
    assert decide.load(path_for(archive, second)).version == second
    assert {p.name: p.read_bytes() for p in path_for(archive, second).glob("*.xlsx")} == \
        {p.name: p.read_bytes() for p in tables.glob("*.xlsx")}


@pytest.mark.parametrize("workers", [1, 2])
def test_kill_9_of_serve_leaves_every_line_whole(tmp_path, workers):
    log = tmp_path / "d.jsonl"
    srv = Server("--tables", str(TABLES), "--workers", str(workers), "--threads", "4",
                 "--decision-log", str(log), "--archive", str(tmp_path / "archive"))
    pids = [srv.proc.pid]
    if workers > 1:
        assert wait_for(lambda: len(srv.request("GET", "/health")[2].get("workers", {})) == 2, 20)
        pids += [int(p) for p in srv.request("GET", "/health")[2]["workers"]]
    stop, acked, sent = threading.Event(), [], []
    threads = [threading.Thread(target=_hammer, args=(srv.port, stop, acked, sent, f"t{k}")) for k in range(6)]
    for t in threads:
        t.start()
    try:
        assert wait_for(lambda: len(acked) >= 300, 30)
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        stop.set()
        for t in threads:
            t.join(30)
        srv.stop()
        assert wait_for(lambda: not any(pid_alive(p) for p in pids), 10)
    recs = parsed(log)
    ids = [r["id"] for r in recs]
    assert len(ids) == len(set(ids))
    assert set(acked) <= set(ids) <= set(sent)
    assert len(acked) <= len(recs) <= len(sent)
    replays_exactly(log, tmp_path / "archive", len(recs))


# --------------------------------------------------------------------------- decide batch
def test_batch_logs_each_decided_line_with_its_id(tmp_path, book):
    cases = write_jsonl(random_cases(book, "card_eligibility", 2000, bad_every=40), tmp_path / "in.jsonl")
    out, log = tmp_path / "out.jsonl", tmp_path / "d.jsonl"
    p = subprocess.run([DECIDE, "batch", cases, "-d", "card_eligibility", "-o", out, "--workers", "2",
                        "--decision-log", log, "--archive", tmp_path / "archive"], capture_output=True, text=True)
    assert p.returncode == 1, p.stderr  # some lines are bad: error rows, not logged
    rows = [json.loads(x, parse_float=Decimal) for x in out.read_text().splitlines()]
    decided = {f"in.jsonl:{r['line']}": r for r in rows if "error" not in r}
    assert 0 < len(decided) < len(rows)
    recs = parsed(log)
    assert sorted(r["id"] for r in recs) == sorted(decided)  # ids: the input file's name, ":line"
    for rec in recs:
        row = decided[rec["id"]]
        assert rec["outputs"] == row["outputs"] and rec["version"] == row["version"]
        assert rec["fired"] == [{"table": f["table"], "rule": f["rule"]} for f in row["fired"]]
    assert (tmp_path / "archive" / book.version / "manifest.json").exists()


def test_batch_with_an_unwritable_log_says_so_in_one_line(tmp_path):
    cases = write_cases(tmp_path / "in.jsonl", 10)
    p = subprocess.run([DECIDE, "batch", cases, "-d", DECISION, "--decision-log", "/dev/full"],
                       capture_output=True, text=True)
    assert p.returncode == 2 and p.stderr.startswith("error: cannot write the decision log /dev/full")
    assert "Traceback" not in p.stderr and p.stderr.count("\n") == 1


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


@pytest.mark.parametrize("workers", [1, 2])
def test_kill_9_of_batch_leaves_every_line_whole(tmp_path, workers):
    n = 40_000
    cases = write_cases(tmp_path / "in.jsonl", n)
    out, log = tmp_path / "out.jsonl", tmp_path / "d.jsonl"
    proc = subprocess.Popen([DECIDE, "batch", str(cases), "-d", DECISION, "-o", str(out), "--workers",
                             str(workers), "--decision-log", str(log), "--archive", str(tmp_path / "archive")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    partial = Path(str(out) + ".partial")
    try:
        assert wait_for(lambda: partial.exists() and partial.stat().st_size > 200_000, 60, 0.01)
    finally:
        kids = _children(proc.pid)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        # the workers notice their parent is gone and end by themselves (no orphans)
        orphans = not wait_for(lambda: not any(pid_alive(k) for k in kids), 10)
        for k in kids:
            try:
                os.kill(k, signal.SIGKILL)
            except ProcessLookupError:
                pass
        assert not orphans, "batch workers outlived their killed parent"
    assert not out.exists()
    acked = [json.loads(x)["line"] for x in partial.read_bytes().split(b"\n")[:-1]]  # whole rows only
    recs = parsed(log)
    ids = [r["id"] for r in recs]
    assert len(ids) == len(set(ids))
    assert {f"in.jsonl:{i}" for i in acked} <= set(ids) <= {f"in.jsonl:{i}" for i in range(1, n + 1)}
    assert len(acked) <= len(recs) < n
    replays_exactly(log, tmp_path / "archive", len(recs))


# --------------------------------------------------------------------------- the archive, directly
def test_the_archive_refuses_bytes_that_do_not_give_the_version(tmp_path):
    book = decide.load(copy_tables(tmp_path))
    state = book._state
    book._state = (*state[:3], {**state[3], "card_eligibility.xlsx": b"not these bytes"}, state[4])
    with pytest.raises(ArchiveError, match="do not give this version"):
        put(book, tmp_path / "archive")
    assert not (tmp_path / "archive").exists() or not any((tmp_path / "archive").iterdir())
    book._state = state
    first = put(book, tmp_path / "archive")
    assert put(book, tmp_path / "archive") == first  # an archived version is left as it is
    assert [p.name for p in (tmp_path / "archive").iterdir()] == [book.version]


def test_one_workbook_file_is_archived_and_loads_again(tmp_path):
    book = decide.load(TABLES / "purchase_restriction.xlsx")
    where = decide.archive(book, tmp_path / "a")
    assert (where / "purchase_restriction.xlsx").read_bytes() == (TABLES / "purchase_restriction.xlsx").read_bytes()
    assert decide.load(where).version == book.version


def test_http_answers_500_when_the_log_cannot_be_written(tmp_path):
    from waitress import create_server

    from decide.app.http import Service
    app = Service(decide.load(TABLES), decision_log=decide.DecisionLog("/dev/full"))
    srv = create_server(app, host="127.0.0.1", port=0, threads=2)
    t = threading.Thread(target=lambda: _quietly(srv.run), daemon=True)
    t.start()
    try:
        status, headers, body = request(srv.effective_port, "POST", f"/decide/{DECISION}", CASE,
                                        {"X-Request-Id": "x" * 201})
        assert status == 500 and body["error"]["message"] == "the decision could not be written to the decision log"
        assert len(headers["X-Request-Id"]) == 32  # not the client's: over 200 characters
        assert request(srv.effective_port, "POST", f"/decide/{DECISION}", {"category": "x"})[0] == 400
    finally:
        srv.close()
        t.join(5)
        app.close()


def _quietly(run):
    try:
        run()
    except OSError:  # the socket closed under select() at shutdown
        pass


def test_a_symbolic_link_or_a_device_is_written_in_place_never_rotated(tmp_path, book):
    real, link = tmp_path / "real.jsonl", tmp_path / "link.jsonl"
    real.write_bytes(b'{"id": "cut')  # a torn tail: recovery is for a regular file at PATH only
    link.symlink_to(real)
    log = decide.DecisionLog(link, max_bytes=10, backups=2)
    for i in range(3):
        book.decide(DECISION, CASE, decision_log=log, id=str(i))
    assert link.is_symlink() and sorted(p.name for p in tmp_path.iterdir()) == ["link.jsonl", "real.jsonl"]
    assert [r["id"] for r in decisionlog.read(real)] == ["1", "2"]  # "0" ended the torn line: unparseable
    null = decide.DecisionLog("/dev/null", max_bytes=10)
    null({"id": "x"})
    null({"id": "y"})
    assert os.path.exists("/dev/null") and not os.path.exists("/dev/null.1")
