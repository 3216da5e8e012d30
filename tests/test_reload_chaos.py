"""Issue 10's acceptance for reload safety: the real ``decide serve`` (waitress, and
gunicorn with two worker processes) under load from client threads sending all three
decisions, while a mutator, on a copy of the shipped tables, replaces workbooks by
temp+rename, rewrites one slowly in place, truncates one, deletes one for a moment,
corrupts one and then fixes it, and finally makes a real edit (a threshold) — once
reloaded by ``POST /reload`` after each step, once by ``--watch``.

Asserted: no answer but 200; every answer's ``Decide-Version`` header (and body
``version``) is the version a fresh ``decide.load`` computes for one of the complete
states the mutator produced; after the final edit every answer (from every worker)
comes from the final version, within a bounded wait under --watch; ``/health``, polled
throughout, reports a version in that set, is ``degraded`` naming the workbook while
the watcher fails on broken files and ``ok`` after; ``POST /reload`` on broken files
answers 422 naming the workbook and the old version keeps serving.

With two workers, the others must reach the version ``POST /reload`` answered even
when the files break right after it, and a worker restarted after the final edit
serves it from its first answer.  The scenario runs about 8 s with 4 client threads
in CI; ``-m slow`` runs it 60 s with 16 threads.  Figures are printed (``-s``) as
``chaos: ...`` lines.  Below: ``Rulebook.reload`` while a workbook is saved over and
over (a version names the rules that were read) and the refusal naming a missing
workbook."""
from __future__ import annotations

import json
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from openpyxl import load_workbook

import decide
from tests.http_helpers import ADMIN, Server, copy_tables, pid_alive, request, wait_for as _wait

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

AUTH = {"Authorization": f"Bearer {ADMIN}"}
CARD, DECLINE, PURCHASE = "card_eligibility.xlsx", "decline_diagnosis.xlsx", "purchase_restriction.xlsx"
MEMBER = {"kyc_status": "approved", "months_of_use": 3, "use_count": 3, "total_spent_yen": 4000,
          "late_payment_count": 0, "unpaid_balance_yen": 0}
CASES = [("card_eligibility", MEMBER),
         ("purchase_restriction", {"category": "gift_card", "amount_yen": 5000}),
         ("decline_diagnosis", {"category": "books", "amount_yen": 1200, "available_limit_yen": 500})]
WATCH = 0.1  # seconds between two looks of the watcher
PICKUP = 30.0  # bound on the watcher taking in a complete state (2 cores shared by several jobs)


# --------------------------------------------------------------------------- the states
def _saved(src: Path, out: Path, title: str, edit=None) -> bytes:
    """``src`` saved again by openpyxl with another document title (new bytes, same
    rules) and ``edit(wb)`` applied."""
    wb = load_workbook(src)
    wb.properties.title = title
    if edit:
        edit(wb)
    wb.save(out)
    return out.read_bytes()


def _stricter(tables: Path):
    """An edit of card_eligibility: TrackRecordSpend's first threshold becomes ``>= 5000``
    (the member's 4,000 yen no longer makes the card issuable)."""
    cell = decide.load(tables).ir.tables["TrackRecordSpend"].rules[0].inputs[0].loc
    assert cell.workbook == CARD

    def edit(wb):
        wb[cell.sheet][cell.cell] = ">= 5000"
    return edit


def _corrupted(tables: Path, name: str, data: bytes, work: Path) -> bytes:
    """``data`` with 64 bytes flipped in the middle, at the first offset that makes the
    workbook fail to load (a damaged deflate stream or CRC)."""
    probe = work / "probe"
    probe.mkdir(exist_ok=True)
    for f in tables.iterdir():
        (probe / f.name).write_bytes(f.read_bytes())
    for start in range(len(data) // 2, len(data) - 200, 997):
        bad = data[:start] + bytes(b ^ 0xFF for b in data[start:start + 64]) + data[start + 64:]
        (probe / name).write_bytes(bad)
        try:
            decide.load(probe)
        except decide.WorkbookError as e:
            if name in json.dumps(e.to_dict()):
                return bad
    raise AssertionError("no corruption of the workbook that the loader refuses")


@dataclass
class Plan:
    """The workbooks' contents for each step, the versions of the complete states."""
    original: dict[str, bytes]
    variants: list[dict[str, bytes]]  # re-saved workbooks (same rules), one set per cycle parity
    corrupt: dict[str, bytes]
    final: bytes  # card_eligibility with the stricter threshold
    versions: dict[str, str] = field(default_factory=dict)  # state key → version

    @staticmethod
    def key(state: dict[str, bytes]) -> str:
        import hashlib
        return hashlib.sha256(b"".join(n.encode() + b"\0" + state[n] for n in sorted(state))).hexdigest()


def make_plan(tables: Path, work: Path) -> Plan:
    original = {p.name: p.read_bytes() for p in tables.glob("*.xlsx")}
    variants = [{n: _saved(tables / n, work / f"v{i}-{n}", f"chaos {i}") for n in original} for i in range(2)]
    final = _saved(tables / CARD, work / f"final-{CARD}", "final", _stricter(tables))
    corrupt = {DECLINE: _corrupted(tables, DECLINE, original[DECLINE], work)}
    return Plan(original, variants, corrupt, final)


def version_of(plan: Plan, state: dict[str, bytes], work: Path) -> str:
    """What a fresh ``decide.load`` computes for ``state`` (cached per state)."""
    k = plan.key(state)
    if k not in plan.versions:
        d = work / f"state-{len(plan.versions)}"
        d.mkdir()
        for n, data in state.items():
            (d / n).write_bytes(data)
        plan.versions[k] = decide.load(d).version
    return plan.versions[k]


# --------------------------------------------------------------------------- the run
@dataclass
class Run:
    srv: Server
    tables: Path
    mode: str  # "post" or "watch"
    workers: int
    answers: list = field(default_factory=list)  # (t0, t1, decision, version header, body version, output)
    failures: list = field(default_factory=list)
    health: list = field(default_factory=list)  # (t, status, body)
    reloads: list = field(default_factory=list)  # (step, status, body, version before, health version after)
    windows: list = field(default_factory=list)  # (t broken, t fixed, workbook, degraded seen)
    stop: threading.Event = field(default_factory=threading.Event)

    def client(self, i: int):
        n = i
        while not self.stop.is_set():
            name, facts = CASES[n % len(CASES)]
            n += 1
            t0 = time.monotonic()
            try:
                status, headers, body = self.srv.request("POST", f"/decide/{name}", facts, timeout=60)
            except OSError as e:
                self.failures.append((t0, name, type(e).__name__, str(e)))
                continue
            t1 = time.monotonic()
            if status != 200:
                self.failures.append((t0, name, status, body))
                continue
            out = body["outputs"].get("card_status") if name == "card_eligibility" else None
            self.answers.append((t0, t1, name, headers["Decide-Version"], body["version"], out))

    def poll_health(self):
        while not self.stop.is_set():
            t = time.monotonic()
            try:
                status, _, body = self.srv.request("GET", "/health", timeout=60)
            except OSError as e:
                self.failures.append((t, "/health", type(e).__name__, str(e)))
                continue
            self.health.append((t, status, body))
            time.sleep(0.05)

    def current(self) -> dict:
        return self.srv.request("GET", "/health", timeout=60)[2]

    def served(self, version: str) -> bool:
        """Every process serves ``version`` (each gunicorn worker reports in /health)."""
        h = self.current()
        if self.workers > 1:
            ws = h.get("workers", {})
            return len(ws) == self.workers and {w["version"] for w in ws.values()} == {version}
        return h["version"] == version




def _replace(path: Path, data: bytes, temp_name: str):
    """Save as Excel, LibreOffice and rsync do: write a temporary file, rename it over."""
    tmp = path.parent / temp_name
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _slow_write(path: Path, data: bytes, last: threading.Event, chunks: int = 8, pause: float = 0.1):
    """Write ``data`` in place (truncated, then chunk by chunk); the last chunk waits for ``last``."""
    with open(path, "wb") as f:
        step = -(-len(data) // chunks)
        for i in range(0, len(data), step):
            if i + step >= len(data):
                last.wait(120)
            f.write(data[i:i + step])
            f.flush()
            time.sleep(pause)


class Mutator:
    """Drives the steps; after each, reloads (post mode) or waits for the watcher."""

    def __init__(self, run: Run, plan: Plan, work: Path):
        self.run, self.plan, self.work, self.t = run, plan, work, run.tables
        self.state = dict(plan.original)
        self.serving = version_of(plan, self.state, work)
        self.steps = 0
        self.pending = None  # a version POST /reload put in service that not every worker may serve yet
        self.produced = {self.serving}  # the versions of the complete states of this run

    def complete(self, step: str, settle: bool = False):
        """The files now hold ``self.state``: it must come into service.  With worker
        processes under POST /reload the next step starts at once (unless ``settle``):
        the other workers must reach this version although the files change meanwhile."""
        want = version_of(self.plan, self.state, self.work)
        self.produced.add(want)
        self.steps += 1
        if self.run.mode == "post":
            status, _, body = request(self.run.srv.port, "POST", "/reload", b"", AUTH, timeout=120)
            self.run.reloads.append((step, None, status, body, self.serving, None))
            assert status == 200, (step, body)
            assert body["version"] == want, (step, body["version"], want)
            self.serving = want
            if self.run.workers > 1 and not settle:
                self.pending = want
                return
        assert _wait(lambda: self.run.served(want), PICKUP), (step, want, self.run.current())
        self.serving = want

    def settled(self, step: str):
        """Every worker serves the last version POST /reload answered (the files may be
        broken by now: each worker loads the copy the reloading one published)."""
        if self.pending:
            assert _wait(lambda: self.run.served(self.pending), PICKUP), (step, self.pending, self.run.current())
            self.pending = None

    def broken(self, step: str, workbook: str, fix):
        """The files are broken (``workbook``): refused, the old version serves, /health
        says so under --watch; then ``fix()`` restores a complete state."""
        self.settled(step)
        t0 = time.monotonic()
        degraded = None
        if self.run.mode == "post":
            status, _, body = request(self.run.srv.port, "POST", "/reload", b"", AUTH, timeout=120)
            h = self.run.current()
            self.run.reloads.append((step, workbook, status, body, self.serving, h["version"]))
            r = h["reload"]  # every worker says the last reload failed, and why
            if h["status"] == "degraded" and r["status"] == "failing" and workbook in r["last_error"]:
                degraded = h
        else:
            def failing():
                h = self.run.current()
                w = h.get("watch", {})
                return h["status"] == "degraded" and w.get("status") == "failing" \
                    and workbook in (w.get("last_error") or "") and w.get("differs_since") and h
            degraded = _wait(failing, PICKUP)
        self.run.windows.append((t0, time.monotonic(), step, workbook, degraded))
        fix()
        self.complete(step + ", fixed")

    def cycle(self, k: int):
        t, v = self.t, self.plan.variants[k % 2]
        # 1. a temp+rename save (rsync's temporary name)
        self.state[PURCHASE] = v[PURCHASE]
        _replace(t / PURCHASE, v[PURCHASE], f".{PURCHASE}.Xa81Qz")
        self.complete("rename purchase_restriction")
        # 2. Excel's way: a lock file while open, a temporary file renamed over the workbook
        (t / f"~${CARD}").write_bytes(b"\x0bsomeone   ")
        self.state[CARD] = v[CARD]
        _replace(t / CARD, v[CARD], "8A3F2B10")
        (t / f"~${CARD}").unlink()
        self.complete("rename card_eligibility")
        # 3. a slow save in place; reloaded midway under POST
        path = t / DECLINE
        self.state[DECLINE] = v[DECLINE]
        last = threading.Event()
        writer = threading.Thread(target=_slow_write, args=(path, v[DECLINE], last))
        writer.start()
        time.sleep(0.25)
        if self.run.mode == "post":  # the last chunk waits for the reload midway
            self.broken("slow write decline_diagnosis", DECLINE, lambda: (last.set(), writer.join()))
        else:
            last.set()
            writer.join()
            self.complete("slow write decline_diagnosis")
        # 4. truncated
        os.truncate(t / CARD, len(v[CARD]) // 2)
        self.broken("truncate card_eligibility", CARD, lambda: _replace(t / CARD, v[CARD], "lu4711.tmp"))
        # 5. briefly absent
        os.unlink(t / PURCHASE)
        self.broken("delete purchase_restriction", PURCHASE,
                    lambda: _replace(t / PURCHASE, v[PURCHASE], ".~tmp.purchase"))
        # 6. corrupted, then fixed
        (t / DECLINE).write_bytes(self.plan.corrupt[DECLINE])
        self.broken("corrupt decline_diagnosis", DECLINE,
                    lambda: _replace(t / DECLINE, v[DECLINE], f"{DECLINE}~"))

    def final(self) -> float:
        """The real edit; returns seconds until every process serves it."""
        self.state[CARD] = self.plan.final
        want = version_of(self.plan, self.state, self.work)
        t0 = time.monotonic()
        _replace(self.t / CARD, self.plan.final, "~WRL0001.tmp")
        self.complete("final edit", settle=True)
        return time.monotonic() - t0, want


@pytest.fixture(scope="module")
def plan(tmp_path_factory):
    work = tmp_path_factory.mktemp("plan")
    return make_plan(copy_tables(work), work), work


def run_chaos(tmp_path: Path, plan_and_work, mode: str, workers: int, seconds: float, clients: int):
    tables = copy_tables(tmp_path)
    plan, work = plan_and_work
    args = ["--tables", str(tables), "--threads", "4" if workers > 1 else "8"]
    if workers > 1:
        args += ["--workers", str(workers)]
    if mode == "watch":
        args += ["--watch", str(WATCH)]
    srv = Server(*args, env={"DECIDE_ADMIN_TOKEN": ADMIN})
    run = Run(srv, tables, mode, workers)
    pids: list[int] = []
    try:
        if workers > 1:
            assert _wait(lambda: len(run.current().get("workers", {})) == workers, 30)
            pids = [int(p) for p in run.current()["workers"]]
        m = Mutator(run, plan, work)
        initial = m.serving
        assert run.served(initial)
        threads = [threading.Thread(target=run.client, args=(i,)) for i in range(clients)]
        threads.append(threading.Thread(target=run.poll_health))
        t_start = time.monotonic()
        for th in threads:
            th.start()
        k = 0
        m.cycle(k)
        one = time.monotonic() - t_start
        while time.monotonic() - t_start + one < seconds * 0.8:  # bounded: the slow run repeats the cycle
            k += 1
            m.cycle(k)
        pickup, final = m.final()
        t_final = time.monotonic()
        if workers > 1:  # a worker restarted now serves the final version from its first answer
            os.kill(pids[0], signal.SIGTERM)
            assert _wait(lambda: len(ws := run.current()["workers"]) == workers and str(pids[0]) not in ws, 30)
            pids += [int(p) for p in run.current()["workers"]]
        time.sleep(max(1.0, seconds - (t_final - t_start)))  # load on the final version
        run.stop.set()
        for th in threads:
            th.join(90)
        elapsed = time.monotonic() - t_start
        end = run.current()
    finally:
        run.stop.set()
        code = srv.stop()
    assert code == 0
    assert _wait(lambda: not any(pid_alive(p) for p in [srv.proc.pid, *pids]), 10)

    complete = m.produced
    seen = {a[3] for a in run.answers}
    print(f"\nchaos: {mode} workers={workers} clients={clients} {elapsed:.1f}s cycles={k + 1} "
          f"steps={m.steps}: {len(run.answers)} answers 200, {len(run.failures)} not 200, "
          f"{len(run.health)} /health ({sum(b['status'] == 'degraded' for _, _, b in run.health)} degraded), "
          f"{sum(r[2] == 422 for r in run.reloads)} reloads refused, versions seen {len(seen)} of {len(complete)} complete "
          f"{sorted(seen)}, final edit in service after {pickup:.2f}s")
    assert not run.failures, run.failures[:5]
    assert len(run.answers) > clients * 10
    # every answer from a complete version, the header and the body agreeing
    assert all(a[3] == a[4] for a in run.answers)
    assert seen <= complete, seen - complete
    assert initial in seen and final in seen
    # after the final edit is in service (every worker), every answer comes from it
    late = [a for a in run.answers if a[0] > t_final]
    assert late and {a[3] for a in late} == {final}
    assert {a[5] for a in late if a[2] == "card_eligibility"} == {"building_history"}
    assert {a[5] for a in run.answers if a[2] == "card_eligibility" and a[3] != final} == {"issuable"}
    # /health truthful throughout
    assert run.health and all(s == 200 for _, s, _ in run.health)
    assert {b["version"] for _, _, b in run.health} <= complete
    for _, _, b in run.health:
        if b.get("watch", {}).get("status") == "failing":
            assert b["status"] == "degraded" and b["watch"]["last_error"] and b["watch"]["differs_since"]
    for b in [b for _, _, b in run.health] + [end]:
        if b["reload"]["status"] == "failing":
            assert b["status"] == "degraded" and b["reload"]["last_error"]
    for t0, t1, step, workbook, degraded in run.windows:
        assert degraded, (step, "no /health said degraded naming", workbook)
    if mode == "post":
        refused = [r for r in run.reloads if r[1]]
        assert len(refused) >= 3 * (k + 1)
        for step, workbook, status, body, before, after in refused:
            assert status == 422 and workbook in json.dumps(body), (step, status, body)
            assert after == before, (step, before, after)  # the old version stays in service
    assert end["status"] == "ok" and end["version"] == final and end["reload"]["status"] == "ok"
    if mode == "watch":
        assert end["watch"]["status"] == "ok" and end["watch"]["last_error"] is None
    if workers > 1:
        assert {w["version"] for w in end["workers"].values()} == {final} and len(end["workers"]) == workers
    return run


MODES = [pytest.param("post", 1, id="waitress-post"), pytest.param("watch", 1, id="waitress-watch"),
         pytest.param("post", 2, id="gunicorn2-post"), pytest.param("watch", 2, id="gunicorn2-watch")]


@pytest.mark.parametrize(("mode", "workers"), MODES)
def test_reload_under_load(tmp_path, plan, mode, workers):
    run_chaos(tmp_path, plan, mode, workers, seconds=8, clients=4)


@pytest.mark.slow
@pytest.mark.parametrize(("mode", "workers"), MODES)
def test_reload_under_load_60s(tmp_path, plan, mode, workers):
    run_chaos(tmp_path, plan, mode, workers, seconds=60, clients=16)


def test_a_version_names_the_rules_that_were_read(tmp_path, plan):
    """``Rulebook.reload`` while a workbook is saved over and over (temp+rename): each
    version in service is that of the bytes whose rules it serves, never the version of
    the files found after the read with the rules read before (the read is repeated,
    or refused naming the workbook, when a file changed during it)."""
    import random
    plan, work = plan
    tables = copy_tables(tmp_path)
    states = [dict(plan.original), {**plan.original, CARD: plan.final}]
    expect = {version_of(plan, s, work): out for s, out in zip(states, ("issuable", "building_history"))}
    book = decide.load(tables)
    stop, flips, rng = threading.Event(), [0], random.Random(10)

    def saver():
        while not stop.is_set():
            flips[0] += 1
            _replace(tables / CARD, states[flips[0] % 2][CARD], f".{CARD}.tmp")
            time.sleep(rng.uniform(0.05, 1.2))

    t = threading.Thread(target=saver)
    t.start()
    served, refused = [], []
    start = time.monotonic()
    try:  # 5 s, or up to 30 s until three reloads succeeded (two cores shared by many jobs)
        while time.monotonic() - start < (5 if len(served) >= 3 else 30):
            try:
                book.reload()
            except decide.WorkbookError as e:
                refused.append(str(e))
                continue
            r = book.decide("card_eligibility", MEMBER)
            served.append((r.version, r.outputs["card_status"]))
    finally:
        stop.set()
        t.join(10)
    print(f"\nchaos: reload while saving: {len(served)} reloads, {len(refused)} refused, {flips[0]} saves")
    assert all(expect.get(v) == out for v, out in served), [x for x in served if expect.get(x[0]) != x[1]]
    assert len(served) >= 3 and flips[0] >= 3
    assert all(CARD in e and "changed while it was being read" in e for e in refused), refused[:1]


@pytest.mark.parametrize("gone", [PURCHASE, CARD])
def test_a_refused_reload_names_the_missing_workbook(tmp_path, gone):
    """Without purchase_restriction.xlsx decline_diagnosis does not compile; without
    card_eligibility.xlsx the rest compiles but lacks decisions: either way the first
    word is the workbook that is gone (E108), and the version in service stays."""
    tables = copy_tables(tmp_path)
    book = decide.load(tables)
    before = book.version
    (tables / gone).unlink()
    with pytest.raises(decide.WorkbookError) as e:
        book.reload()
    first = e.value.diagnostics[0]
    assert (first.code, first.loc.workbook) == ("E108", gone) and "is missing" in first.message
    assert isinstance(e.value, decide.ReloadRefused) == (gone == CARD)
    assert book.version == before and book.decide("card_eligibility", MEMBER).version == before
