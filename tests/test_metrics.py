"""decide.app.metrics in one process: the Tally's families are what prometheus-client's
own Counter and Histogram give for the same requests; a real single-process
``decide serve`` counts every request exactly."""
from __future__ import annotations

import threading

from hypothesis import given, settings, strategies as st
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.parser import text_string_to_metric_families

from decide.app import metrics
from tests.http_helpers import Server

requests = st.lists(st.tuples(st.sampled_from(["decide", "health", "page"]), st.sampled_from(["", "a", "b"]),
                              st.sampled_from([200, 400, 422]), st.sampled_from([None, "decided", "bad_case"]),
                              st.one_of(st.sampled_from(metrics.BUCKETS), st.floats(0, 5))), max_size=40)


def samples(registry) -> dict:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for s in registry.collect() for s in s.samples
            if not s.name.endswith("_created")}


@settings(max_examples=200, deadline=None)
@given(requests)
def test_the_tally_gives_what_prometheus_client_gives(reqs):
    m = metrics.Metrics()
    r = CollectorRegistry()
    counts = Counter(*metrics.REQUESTS, registry=r)
    latency = Histogram(*metrics.LATENCY, buckets=metrics.BUCKETS, registry=r)
    decisions = Counter(*metrics.DECISIONS, registry=r)
    for route, decision, status, outcome, seconds in reqs:
        m.request(route, decision, status, outcome, seconds)
        counts.labels(route, str(status)).inc()
        latency.labels(route, decision).observe(seconds)
        if outcome:
            decisions.labels(decision, outcome).inc()
    got = {k: v for k, v in samples(m.registry).items() if not k[0].startswith(("decide_reloads", "decide_rulebook"))}
    assert got.keys() == samples(r).keys()
    for k, v in samples(r).items():
        assert abs(got[k] - v) <= 1e-9 * max(1, abs(v)), k


def test_threads_lose_no_count():
    m = metrics.Metrics()

    def hammer():
        for _ in range(5000):
            m.request("decide", "d", 200, "decided", 0.0001)
    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    values = samples(m.registry)
    assert values[("decide_decisions_total", (("decision", "d"), ("outcome", "decided")))] == 40_000
    assert values[("decide_request_duration_seconds_count", (("decision", "d"), ("route", "decide")))] == 40_000


def test_a_single_process_server_counts_every_request():
    srv = Server()
    try:
        for i in range(30):
            body = {"category": "books", "amount_yen": 100} if i % 3 else {"amount_yen": "x"}
            assert srv.request("POST", "/decide/purchase_restriction", body)[0] == (200 if i % 3 else 400)
        status, headers, text = srv.request("GET", "/metrics")
        assert status == 200 and headers["Content-Type"].startswith("text/plain")
        families = {f.name: f for f in text_string_to_metric_families(text.decode())}
        decided = {s.labels["outcome"]: s.value for s in families["decide_decisions"].samples
                   if s.labels["decision"] == "purchase_restriction"}
        assert decided == {"decided": 20, "bad_case": 10}
        by_status = {s.labels["status"]: s.value for s in families["decide_requests"].samples
                     if s.labels["route"] == "decide"}
        assert by_status == {"200": 20, "400": 10}
        count = [s.value for s in families["decide_request_duration_seconds"].samples
                 if s.name.endswith("_count") and s.labels["decision"] == "purchase_restriction"]
        assert count == [30]
    finally:
        assert srv.stop() == 0
