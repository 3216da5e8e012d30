"""The service's Prometheus metrics (prometheus-client), served at ``GET /metrics``.

    decide_requests_total{route, status}                 every request, by route and status
    decide_request_duration_seconds{route, decision}     latency histogram
    decide_decisions_total{decision, outcome}            decided | bad_case | evaluation_error
    decide_reloads_total{result}                          ok | failed
    decide_rulebook_workers{version, engine}             worker processes serving each version

Decision labels are only the rulebook's own decision names (anything else counts as
``unknown``), so a client cannot grow the label set.  In one process, a request is
counted in a ``Tally`` (one lock, a few additions) that becomes the three request
families when ``/metrics`` is read.  With several worker processes
(``decide serve --workers N``) prometheus-client's multiprocess mode is on: the
environment variable ``PROMETHEUS_MULTIPROC_DIR`` names a directory shared by the
workers, set before prometheus_client is first imported (``decide.app.server`` does),
and ``GET /metrics`` adds up every worker's values.
"""
from __future__ import annotations

import os
import threading
from bisect import bisect_left

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.utils import floatToGoString

BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
CONTENT_TYPE = CONTENT_TYPE_LATEST


def multiprocess() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


REQUESTS = ("decide_requests", "HTTP requests by route and status", ["route", "status"])
LATENCY = ("decide_request_duration_seconds", "Time to answer a request", ["route", "decision"])
DECISIONS = ("decide_decisions", "Decision requests by decision and outcome", ["decision", "outcome"])
_LE = [floatToGoString(b) for b in BUCKETS] + ["+Inf"]


class Tally:
    """The requests of one process: (route, decision, status, outcome) → [count, seconds,
    count per latency bucket], under one lock; a collector of the three request families."""

    def __init__(self):
        self._lock = threading.Lock()
        self._rows: dict = {}

    def add(self, key: tuple, seconds: float) -> None:
        i = bisect_left(BUCKETS, seconds)  # the first bucket whose bound is >= seconds
        with self._lock:
            row = self._rows.get(key)
            if row is None:
                row = self._rows[key] = [0, 0.0, [0] * (len(BUCKETS) + 1)]
            row[0] += 1
            row[1] += seconds
            row[2][i] += 1

    def collect(self):
        with self._lock:
            rows = [(k, n, s, list(b)) for k, (n, s, b) in self._rows.items()]
        requests, latency, decisions = {}, {}, {}
        for (route, decision, status, outcome), n, seconds, buckets in rows:
            k = (route, str(status))
            requests[k] = requests.get(k, 0) + n
            total, counts = latency.setdefault((route, decision), [0.0, [0] * len(buckets)])
            latency[(route, decision)][0] = total + seconds
            for i, c in enumerate(buckets):
                counts[i] += c
            if outcome:
                decisions[(decision, outcome)] = decisions.get((decision, outcome), 0) + n
        fam = CounterMetricFamily(*REQUESTS[:2], labels=REQUESTS[2])
        for k, n in requests.items():
            fam.add_metric(list(k), n)
        yield fam
        fam = HistogramMetricFamily(*LATENCY[:2], labels=LATENCY[2])
        for k, (seconds, counts) in latency.items():
            cumulative, running = [], 0
            for le, c in zip(_LE, counts):
                running += c
                cumulative.append((le, running))
            fam.add_metric(list(k), cumulative, seconds)
        yield fam
        fam = CounterMetricFamily(*DECISIONS[:2], labels=DECISIONS[2])
        for k, n in decisions.items():
            fam.add_metric(list(k), n)
        yield fam


class Metrics:
    def __init__(self):
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        if multiprocess():  # each worker writes its own files, read by whichever serves /metrics
            self.tally = None
            self.requests = Counter(*REQUESTS, registry=r)
            self.latency = Histogram(*LATENCY, buckets=BUCKETS, registry=r)
            self.decisions = Counter(*DECISIONS, registry=r)
        else:
            self.tally = Tally()
            r.register(self.tally)
        self.reloads = Counter("decide_reloads", "Reloads of the workbooks by result", ["result"], registry=r)
        self.workers = Gauge("decide_rulebook_workers", "Worker processes serving each rulebook version",
                             ["version", "engine"], multiprocess_mode="livesum", registry=r)
        self._children: dict = {}
        self._version = None

    def request(self, route: str, decision: str, status: int, outcome: str | None, seconds: float):
        key = (route, decision, status, outcome)
        if self.tally is not None:
            self.tally.add(key, seconds)
            return
        c = self._children.get(key)
        if c is None:  # label lookups cached: a few hundred combinations at most
            c = self._children[key] = (
                self.requests.labels(route, str(status)),
                self.latency.labels(route, decision),
                self.decisions.labels(decision, outcome) if outcome else None)
        c[0].inc()
        c[1].observe(seconds)
        if c[2] is not None:
            c[2].inc()

    def reloaded(self, ok: bool):
        self.reloads.labels("ok" if ok else "failed").inc()

    def serving(self, version: str, engine: str):
        if self._version is not None:
            self.workers.labels(*self._version).set(0)
        self._version = (version, engine)
        self.workers.labels(version, engine).set(1)

    def render(self) -> bytes:
        if multiprocess():
            from prometheus_client import multiprocess as mp
            registry = CollectorRegistry()
            mp.MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(self.registry)


def worker_exited(pid: int) -> None:
    """Drop a dead worker's live gauges (gunicorn's child_exit hook)."""
    if multiprocess():
        from prometheus_client import multiprocess as mp
        mp.mark_process_dead(pid)
