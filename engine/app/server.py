"""Serving the ``Service``: waitress in one process, or gunicorn with worker processes.

``decide serve`` with ``--workers 1`` (the default) runs waitress in the process:
an event loop buffers each request whole (so slow or idle clients hold a connection
slot, never a thread) and hands complete requests to ``threads`` threads.  Decisions
are CPU-bound Python, so one process uses one core.

``--workers N`` (N ≥ 2, or ``--server gunicorn``) runs gunicorn's master (the
processes: preloading, signals, restarts, graceful stop) and N worker processes, each
serving with waitress on the listening socket they share (``_worker_class``), so a
worker treats connections exactly as the single process does.  The rulebook is
compiled once in the master and shared with the workers by fork (``preload_app``).
The processes share a temporary directory: the reload stamp
(``decide.app.reloading``: a reload in one worker reaches every worker within about
a quarter of a second) and prometheus-client's multiprocess files (``/metrics`` adds
up every worker).

Both: SIGTERM (or Ctrl-C) stops taking connections, lets the requests in flight
finish (up to ``grace`` seconds) and exits 0; ``/ready`` answers 503 meanwhile.
``connection_limit`` bounds open connections (per worker with gunicorn);
``idle_timeout`` closes connections idle that long (keep-alive or slow senders).
"""
from __future__ import annotations

import functools
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import Callable

from decide import Rulebook
from decide.app.http_security import Access


@dataclass(frozen=True)
class Limits:
    connection_limit: int = 1000  # open connections (per worker process with gunicorn)
    idle_timeout: float = 30.0  # seconds an idle connection is kept
    max_body: int = 1 << 20  # bytes of a request body
    grace: float = 20.0  # seconds in-flight requests get at shutdown
    backlog: int = 2048  # connections waiting to be accepted


def _announce(rulebook: Rulebook, host: str, port: int, workers: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    procs = f", {workers} worker processes" if workers > 1 else ""
    return (f"decide serve: http://{shown}:{port} ({len(rulebook.ir.decisions)} decisions, "
            f"engine {rulebook.engine}{procs})")


def serve(rulebook: Rulebook, host: str = "127.0.0.1", port: int = 8080, threads: int = 8,
          watch: float | None = None, ready: Callable[[str], None] | None = None, *,
          access: Access | None = None, limits: Limits = Limits(), workers: int = 1,
          server: str | None = None, access_log: bool = False):
    """Serve until SIGTERM or Ctrl-C; returns after the drain."""
    ready = ready or print
    if (server or ("gunicorn" if workers > 1 else "waitress")) == "gunicorn":
        return _gunicorn(rulebook, host, port, threads, watch, ready, access, limits, max(workers, 1),
                         access_log)
    return _waitress(rulebook, host, port, threads, watch, ready, access, limits, access_log)


def _log_line(line: str) -> None:
    os.write(2, (line + "\n").encode("utf-8"))  # one write: lines of workers do not interleave


# --------------------------------------------------------------------------- waitress
def _waitress_server(app, limits: Limits, threads: int, sockmap: dict, **where):
    """A waitress server of ``app`` registered in ``sockmap`` (``host``/``port`` or ``sockets``)."""
    from waitress import create_server
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # no "Task queue depth" per request
    from waitress.server import BaseWSGIServer
    srv = create_server(app, map=sockmap, threads=threads, ident="decide",
                        connection_limit=limits.connection_limit, channel_timeout=limits.idle_timeout,
                        cleanup_interval=max(1, min(30, int(limits.idle_timeout / 2))),
                        backlog=limits.backlog, asyncore_use_poll=True,
                        # a body over the limit is refused by waitress as soon as it is declared
                        # (Content-Length) or received (chunked): never more than limit + 1 bytes
                        max_request_body_size=getattr(app, "max_body", limits.max_body) + 1, **where)
    for d in list(sockmap.values()):  # waitress's own errors (413, 400, 431 …) in the service's JSON
        if isinstance(d, BaseWSGIServer):
            d.channel_class = _json_error_channel()
    return srv


@functools.cache
def _json_error_channel():
    """A waitress channel whose error answers (those waitress gives before the
    application sees the request: the body over the limit, bad framing, huge headers)
    are the service's JSON ``{"error": {"message": ...}}``."""
    from waitress.channel import HTTPChannel
    from waitress.task import ErrorTask
    from waitress.utilities import RequestEntityTooLarge

    class JSONErrorTask(ErrorTask):
        def execute(self):
            e = self.request.error
            if isinstance(e, RequestEntityTooLarge):  # the same words as the application's 413
                message = f"the body is over {self.channel.server.adj.max_request_body_size - 1} bytes"
            else:
                message = f"{e.reason}: {e.body}"
            body = json.dumps({"error": {"message": message}}).encode("utf-8")
            self.status = f"{e.code} {e.reason}"
            self.response_headers.extend([("Content-Type", "application/json; charset=utf-8"),
                                          ("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff")])
            self.set_close_on_finish()
            self.content_length = len(body)
            self.write(body)

    class JSONErrorChannel(HTTPChannel):
        error_task_class = JSONErrorTask

    return JSONErrorChannel


def _loop(sockmap: dict, running: Callable[[], bool], tick: Callable[[], None] = lambda: None):
    from waitress import wasyncore
    while running():
        tick()
        wasyncore.loop(timeout=0.5, map=sockmap, use_poll=True, count=1)


def _drain(srv, sockmap: dict, grace: float):
    """Stop accepting; let the requests received or being received (or still in the
    kernel's buffer, or due on a connection just accepted) finish and be sent; then
    close everything."""
    from waitress import wasyncore
    from waitress.channel import HTTPChannel
    for d in list(sockmap.values()):
        if not isinstance(d, HTTPChannel) and hasattr(d, "accepting"):
            d.accepting = False
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        busy = any(isinstance(c, HTTPChannel) and (c.requests or c.total_outbufs_len
                                                   or getattr(c, "request", None) is not None
                                                   or _unread(c) or _fresh(c))
                   for c in list(sockmap.values()))
        if not busy:
            break
        wasyncore.loop(timeout=0.05, map=sockmap, use_poll=True, count=1)
    srv.task_dispatcher.shutdown()
    wasyncore.close_all(sockmap)


def _unread(channel) -> bool:
    """Bytes the client sent that the loop has not read yet: a connection accepted just
    before the drain began, its request still in the kernel's buffer (closing it would
    reset it)."""
    import socket
    try:
        return bool(channel.socket.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT))
    except OSError:  # nothing to read (EAGAIN), or the connection is gone
        return False


def _fresh(channel, wait: float = 1.0) -> bool:
    """Accepted under ``wait`` seconds ago and nothing received yet: its request is on the way."""
    created = getattr(channel, "creation_time", 0)
    return channel.last_activity == created and time.time() - created < wait


def _waitress(rulebook, host, port, threads, watch, ready, access, limits, access_log):
    from decide.app.http import Service

    app = Service(rulebook, watch=watch, access=access, max_body=limits.max_body,
                  access_log=_log_line if access_log else None)
    sockmap: dict = {}
    srv = _waitress_server(app, limits, threads, sockmap, host=host, port=port)
    ready(_announce(rulebook, getattr(srv, "effective_host", host), getattr(srv, "effective_port", port), 1))
    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()
        app.draining = True
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
    try:
        _loop(sockmap, lambda: not stop.is_set())
        _drain(srv, sockmap, limits.grace)
    finally:
        app.close()


# --------------------------------------------------------------------------- gunicorn
def _gunicorn(rulebook, host, port, threads, watch, ready, access, limits, workers, access_log):
    state = tempfile.mkdtemp(prefix="decide-serve-")
    os.makedirs(os.path.join(state, "metrics"))
    # multiprocess metrics: the variable must be set before prometheus_client is imported
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = os.path.join(state, "metrics")
    if "prometheus_client" in sys.modules and not _multiprocess_values():
        raise RuntimeError("prometheus_client was imported before the worker processes were set up")
    from gunicorn.app.base import BaseApplication

    from decide.app.http import Service
    from decide.app.metrics import worker_exited
    from decide.app.reloading import Stamp

    stamp = Stamp(os.path.join(state, "reload"))
    app = Service(rulebook, watch=watch, access=access, max_body=limits.max_body,
                  access_log=_log_line if access_log else None, stamp=stamp, start=False)

    def when_ready(arbiter):
        h, p = arbiter.LISTENERS[0].sock.getsockname()[:2]
        ready(_announce(rulebook, h, p, workers))

    def post_fork(arbiter, worker):
        app.start()

    def worker_exit(arbiter, worker):
        app.close()

    def child_exit(arbiter, worker):
        worker_exited(worker.pid)
        stamp.forget(worker.pid)

    options = {
        "bind": [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"],
        "workers": workers, "worker_class": _worker_class(limits, threads), "threads": threads,
        "worker_connections": limits.connection_limit, "keepalive": max(1, int(limits.idle_timeout)),
        "timeout": 60, "graceful_timeout": int(limits.grace), "backlog": limits.backlog,
        "preload_app": True, "proc_name": "decide-serve",
        "when_ready": when_ready, "post_fork": post_fork, "worker_exit": worker_exit,
        "child_exit": child_exit,
        "limit_request_line": 8190, "limit_request_fields": 100, "limit_request_field_size": 8190,
        "accesslog": None, "errorlog": "-", "loglevel": "warning",
    }

    class _App(BaseApplication):
        def load_config(self):
            for k, v in options.items():
                self.cfg.set(k, v)

        def load(self):
            return app

    master = os.getpid()
    try:
        _App().run()  # the arbiter exits the process (SystemExit 0 after a graceful stop)
    finally:
        if os.getpid() == master:  # a worker leaves through here too, by SystemExit
            shutil.rmtree(state, ignore_errors=True)


def _multiprocess_values() -> bool:
    from prometheus_client import values
    return values.ValueClass is not values.MutexValue


def _worker_class(limits: Limits, threads: int):
    """A gunicorn worker that serves with waitress on the sockets the master shares:
    gunicorn runs the processes (preload, signals, restarts, graceful stop), waitress
    reads each request whole in an event loop before a thread decides it, so idle and
    slow clients cost a connection slot, not a thread."""
    from gunicorn.workers.base import Worker

    class WaitressWorker(Worker):
        def run(self):
            sockmap: dict = {}
            srv = _waitress_server(self.wsgi, limits, threads, sockmap, sockets=[s.sock for s in self.sockets])
            ppid = self.ppid

            def running():
                return self.alive and os.getppid() == ppid

            _loop(sockmap, running, self.notify)
            self.wsgi.draining = True
            _drain(srv, sockmap, limits.grace)

    return WaitressWorker
