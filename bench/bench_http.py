"""Load on ``decide serve`` over loopback.  Not a test; bounded by --duration.

    python bench/bench_http.py                      # every scenario, 10 s each
    python bench/bench_http.py --duration 60 --only clients
    python bench/bench_http.py --only scale
    python bench/bench_http.py --only hello         # against a hello-world app on the same waitress
    python bench/bench_http.py --only app           # the app layer in-process: µs beyond the decision

Scenarios (each starts its own ``decide serve`` on 127.0.0.1, a free port, and stops it):

- scale: 32 keep-alive clients, ``--workers 1`` (waitress), ``--server gunicorn
  --workers 1`` and ``--workers 2``: requests/s and the 2-to-1 ratio;
- clients: 128 and 500 keep-alive clients on ``--workers 2``: requests/s, errors,
  timeouts (no answer within 10 s), p50/p99 latency;
- idle: 200 connections (half silent, half sending a request slowly) held open while
  one client times /health;
- hello: ``decide serve`` (one waitress process) against a hello-world WSGI app served by
  the same code with the same settings (``decide.app.server._waitress_server``: threads,
  limits, the event loop), answering every request with a constant JSON body of the
  size of a decision's; 32 clients, rounds interleaved, best of each;
- app: the ``Service`` called in-process with a WSGI environ (a POST of the same case),
  CPU time per request, less ``book.decide``'s time on the same facts: what the app
  layer costs (routing, Host/token/type/length checks, JSON in and out, metrics, headers).

The client is asyncio over raw sockets in this process (HTTP/1.1 keep-alive, one
request in flight per connection); each request is a purchase_restriction case.  On a
2-core machine the client shares the cores with the server's workers, which caps
the ratio below 2.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import statistics
import subprocess
import sys
import time

DECIDE = [sys.executable, "-m", "decide.app.cli", "serve", "--port", "0"]
BODY = b'{"category": "books", "amount_yen": 1200, "recurring": false}'
REQUEST = (b"POST /decide/purchase_restriction HTTP/1.1\r\nHost: localhost\r\n"
           b"Content-Type: application/json\r\nContent-Length: " + str(len(BODY)).encode() + b"\r\n\r\n" + BODY)
TIMEOUT = 10.0


class Served:
    def __init__(self, *args, cmd=DECIDE):
        self.proc = subprocess.Popen([*cmd, *args], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = self.proc.stderr.readline()
            if (m := re.search(r":(\d+) \(", line)):
                self.port = int(m.group(1))
                return
            if not line:
                break
        self.stop()
        raise RuntimeError("decide serve did not start")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stderr.close()


async def _one_client(port, until, stats):
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), TIMEOUT)
    except (OSError, asyncio.TimeoutError):
        stats["errors"] += 1
        return
    try:
        while time.monotonic() < until:
            t0 = time.perf_counter()
            writer.write(REQUEST)
            try:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT)
                length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
                await asyncio.wait_for(reader.readexactly(length), TIMEOUT)
            except asyncio.TimeoutError:
                stats["timeouts"] += 1
                return
            except (OSError, asyncio.IncompleteReadError, AttributeError):
                stats["errors"] += 1
                return
            stats["latency"].append(time.perf_counter() - t0)
            if not head.startswith(b"HTTP/1.1 200"):
                stats["errors"] += 1
            if b"connection: close" in head.lower():
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
    finally:
        writer.close()


async def _load(port, clients, seconds):
    stats = {"errors": 0, "timeouts": 0, "latency": []}
    until = time.monotonic() + seconds
    t0 = time.perf_counter()
    await asyncio.gather(*(_one_client(port, until, stats) for _ in range(clients)))
    wall = time.perf_counter() - t0
    lat = sorted(stats["latency"])
    return {"rps": len(lat) / wall, "requests": len(lat), "errors": stats["errors"], "timeouts": stats["timeouts"],
            "p50_ms": 1000 * lat[len(lat) // 2] if lat else None,
            "p99_ms": 1000 * lat[int(len(lat) * 0.99)] if lat else None}


def load(args, clients, seconds):
    srv = Served(*args)
    try:
        asyncio.run(_load(srv.port, min(clients, 8), 1.0))  # warm up
        return asyncio.run(_load(srv.port, clients, seconds))
    finally:
        srv.stop()


def show(name, r):
    print(f"{name:<40} {r['rps']:>8,.0f} req/s  {r['requests']:>8,} requests  errors {r['errors']}  "
          f"timeouts {r['timeouts']}  p50 {r['p50_ms']:.1f} ms  p99 {r['p99_ms']:.1f} ms", flush=True)


def scale(seconds, rounds):
    """Interleaved rounds, best of each: a busy machine slows every setup alike."""
    setups = {"waitress, 1 process": ["--workers", "1"],
              "gunicorn+waitress, 1 worker": ["--server", "gunicorn", "--workers", "1"],
              "gunicorn+waitress, 2 workers": ["--workers", "2"]}
    best = {}
    for _ in range(rounds):
        for name, args in setups.items():
            r = load(args, 32, seconds)
            if name not in best or r["rps"] > best[name]["rps"]:
                best[name] = r
    for name, r in best.items():
        show(f"{name}, 32 clients", r)
    g1, g2 = best["gunicorn+waitress, 1 worker"]["rps"], best["gunicorn+waitress, 2 workers"]["rps"]
    print(f"2 workers / 1 worker: {g2 / g1:.2f}x (vs the single process: "
          f"{g2 / best['waitress, 1 process']['rps']:.2f}x); load average now {os.getloadavg()[0]:.1f}")


def clients(seconds):
    for n in (128, 500):
        show(f"2 workers, {n} clients", load(["--workers", "2"], n, seconds))
    show("1 process (waitress), 500 clients", load(["--workers", "1"], 500, seconds))


def idle(seconds, workers="2"):
    import socket
    import http.client
    srv = Served("--workers", workers)
    held = []
    try:
        for i in range(200):
            c = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
            if i % 2:
                c.sendall(b"POST /decide/purchase_restriction HTTP/1.1\r\nHost: local")
            held.append(c)
        times = []
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            t0 = time.perf_counter()
            conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
            conn.request("GET", "/health")
            conn.getresponse().read()
            conn.close()
            times.append(time.perf_counter() - t0)
            time.sleep(0.05)
        print(f"/health with 200 idle/slow connections held ({workers} workers): "
              f"median {1000 * statistics.median(times):.1f} ms, worst {1000 * max(times):.1f} ms "
              f"over {len(times)} requests", flush=True)
    finally:
        for c in held:
            c.close()
        srv.stop()


def _book():
    import decide
    from decide.atone import tables_dir
    return decide.load(tables_dir())


def hello_server(size: int) -> None:
    """Serve a hello-world WSGI app (a constant JSON body of ``size`` bytes) on 127.0.0.1
    with ``decide serve``'s waitress settings, until SIGTERM."""
    from decide.app.server import Limits, _loop, _waitress_server
    body = b'{"hello": "world", "pad": "' + b"x" * max(0, size - 29) + b'"}'
    headers = [("Content-Type", "application/json; charset=utf-8"), ("Content-Length", str(len(body)))]

    def app(environ, start_response):
        environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        start_response("200 OK", list(headers))
        return [body]

    sockmap: dict = {}
    srv = _waitress_server(app, Limits(), 8, sockmap, host="127.0.0.1", port=0)
    print(f"hello: http://127.0.0.1:{srv.effective_port} (", file=sys.stderr, flush=True)
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    _loop(sockmap, lambda: not stop)


def hello(seconds, rounds):
    """decide serve (waitress, 1 process) against hello-world on the same waitress settings."""
    import json
    from decide.app import casejson
    size = len(casejson.result_json(_book().decide("purchase_restriction", json.loads(BODY))))
    setups = {"decide serve (waitress, 1 process)": lambda: Served("--workers", "1"),
              "hello-world app, same waitress": lambda: Served("--hello-server", str(size),
                                                               cmd=[sys.executable, __file__])}
    best, cpu = {}, {}
    for _ in range(rounds):
        for name, start in setups.items():
            srv = start()
            try:
                asyncio.run(_load(srv.port, 8, 1.0))
                c0 = _cpu_seconds(srv.proc.pid)
                r = asyncio.run(_load(srv.port, 32, seconds))
                c1 = _cpu_seconds(srv.proc.pid)
            finally:
                srv.stop()
            if name not in best or r["rps"] > best[name]["rps"]:
                best[name] = r
            cpu[name] = min(cpu.get(name, float("inf")), (c1 - c0) / max(1, r["requests"]))
    for name, r in best.items():
        show(f"{name}, 32 clients", r)
        print(f"    server CPU per request {1e6 * cpu[name]:.0f} µs (least of the rounds)")
    (d, h), (cd, ch) = (best[n]["rps"] for n in setups), (cpu[n] for n in setups)
    print(f"decide serve / hello-world: {d / h:.2f} of its req/s, {ch / cd:.2f} of its requests per CPU second "
          f"(best of {rounds}, {size}-byte bodies; load average now {os.getloadavg()[0]:.1f})", flush=True)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc; 0 elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def app_overhead(n=20_000, rounds=5):
    """CPU µs per request in the WSGI app beyond book.decide's, called in-process."""
    import io
    import json
    from decide.app.http import Service
    from decide.app.http_security import Access, default_hosts
    book = _book()
    svc = Service(book, access=Access(allowed_hosts=default_hosts("127.0.0.1")), start=False)
    facts = json.loads(BODY)
    statuses = []

    def start_response(status, headers):
        statuses.append(status)

    def environ():
        return {"REQUEST_METHOD": "POST", "PATH_INFO": "/decide/purchase_restriction", "HTTP_HOST": "localhost:8080",
                "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(BODY)), "wsgi.input": io.BytesIO(BODY),
                "REMOTE_ADDR": "127.0.0.1", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http"}

    def in_app():
        envs = [environ() for _ in range(n)]
        t0 = time.process_time()
        for e in envs:
            svc(e, start_response)
        return (time.process_time() - t0) / n

    def deciding():
        t0 = time.process_time()
        for _ in range(n):
            book.decide("purchase_restriction", dict(facts))
        return (time.process_time() - t0) / n

    in_app(), deciding()  # warm up
    a = d = float("inf")
    for _ in range(rounds):
        a, d = min(a, in_app()), min(d, deciding())
    assert set(statuses) == {"200 OK"}, set(statuses)
    print(f"app layer, in-process: {1e6 * a:.1f} µs per request, book.decide {1e6 * d:.1f} µs: "
          f"{1e6 * (a - d):.1f} µs beyond the decision (CPU time, best of {rounds} × {n:,}; "
          f"load average {os.getloadavg()[0]:.1f})", flush=True)


def main():
    if sys.argv[1:2] == ["--hello-server"]:
        return hello_server(int(sys.argv[2]))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=10.0, help="seconds per load run")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds of the scale scenario")
    ap.add_argument("--only", choices=["scale", "clients", "idle", "hello", "app"])
    a = ap.parse_args()
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}", flush=True)
    if a.only in (None, "scale"):
        scale(a.duration, a.rounds)
    if a.only in (None, "clients"):
        clients(a.duration)
    if a.only in (None, "app"):
        app_overhead()
    if a.only in (None, "hello"):
        hello(a.duration, a.rounds)
    if a.only in (None, "idle"):
        idle(min(a.duration, 5), "1")
        idle(min(a.duration, 5), "2")


if __name__ == "__main__":
    main()
