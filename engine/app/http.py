"""The HTTP service: a WSGI application over one Rulebook (``decide.app.server`` serves it).

    GET  /health               liveness, the version (each worker's), reload and watch state
    GET  /ready                readiness: 200, or 503 while the server drains
    GET  /decisions            every decision with its kind, inputs and outputs
    GET  /openapi.json         the OpenAPI 3.1 contract, generated from the Glossary
    GET  /docs                 the contract as a page
    GET  /metrics              Prometheus metrics
    POST /decide/<decision>    body: a JSON object of facts → the Result as JSON
                               (?as_of=YYYY-MM-DD: decided as of that date; no other parameter)
    POST /decide               body: facts with a "decision" key
    POST /reload               admin: load the workbooks again (the old version stays on error;
                               body {"allow_removed": true} to take decisions out of service)
    GET  /, GET /form, POST /why/<decision>   the support page (``page.py``)

Every request is checked in this order: the Host header against the allow-list
(421), the route (404) and method (405), the bearer token (401; 403 for admin
endpoints when no admin token is configured), the Content-Type (415: JSON only), the
body's length before it is read (413), then the JSON (400, within casejson's bounds).
Errors are JSON ``{"error": {"message": ...}}`` and never name a file on the server.
Statuses: 400 bad JSON or a bad case, 404 an unknown decision or path, 422 an
evaluation error (UNIQUE/ANY violated) or workbooks that do not load on /reload.
The Rulebook swaps a reloaded version in whole, so no request sees half a table set,
and refuses a rule set that lacks a decision in service (a workbook missing or
half-saved) unless the reload says ``allow_removed``.  Every answer carries the
rule-set version in a ``Decide-Version`` header: for a decision, the version that
decided it (also the body's ``"version"``) — and an ``X-Request-Id`` header: the
request's own (1–200 visible ASCII characters) or a generated uuid4 hex, the id under
which ``decision_log`` (a sink, ``decide.DecisionLog``) logs the decision.  ``archive``
(a directory) keeps every version put into service (``runtime/archive.py``).
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import re
import threading
import time
from pathlib import Path
from typing import Callable

from decide import CaseError, DecisionLogError, EvaluationError, Rulebook, WorkbookError
from decide.app import casejson, page
from decide.app.http_security import Access
from decide.app.reloading import POLL, Stamp, Watch, fingerprint
from decide.model.asof import parse_as_of
from decide.model.errors import did_you_mean
from decide.runtime.decisionlog import new_id

MAX_BODY = casejson.MAX_BYTES

_STATUS = {200: "200 OK", 400: "400 Bad Request", 401: "401 Unauthorized", 403: "403 Forbidden",
           404: "404 Not Found", 405: "405 Method Not Allowed", 413: "413 Payload Too Large",
           415: "415 Unsupported Media Type", 421: "421 Misdirected Request",
           422: "422 Unprocessable Entity", 500: "500 Internal Server Error", 503: "503 Service Unavailable"}
_JSON = "application/json; charset=utf-8"
_COMMON = [("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff")]
_JSON_HEADER = (("Content-Type", _JSON),)

# route → (method, handler name, who may call: "open" | "client" | "admin")
ROUTES = {
    "/health": ("GET", "_health", "open"),
    "/ready": ("GET", "_ready", "open"),
    "/decisions": ("GET", "_decisions", "client"),
    "/openapi.json": ("GET", "_openapi", "client"),
    "/docs": ("GET", "_docs", "client"),
    "/metrics": ("GET", "_metrics", "client"),
    "/reload": ("POST", "_reload", "admin"),
    "/decide": ("POST", "_decide", "client"),
}


class Reply(Exception):
    """A finished answer raised from deep inside a handler: (status, JSON body, headers)."""

    def __init__(self, status: int, body, headers=(), decision: str = "", version: str | None = None):
        self.status, self.body, self.headers, self.decision = status, body, list(headers), decision
        self.version = version  # the rule-set version that decided, for the header


def _err(status: int, message: str, headers=(), **extra) -> Reply:
    return Reply(status, {"error": {"message": message, **extra}}, headers)


class Service:
    """The WSGI application.  ``watch`` (seconds) reloads the workbooks when a file
    under the tables directory changes; ``access`` (``http_security.Access``) says who
    may call what (by default: decisions open, admin endpoints off, any Host);
    ``max_body`` bounds request bodies; ``metrics`` False turns /metrics off;
    ``access_log`` receives one JSON line per request; ``stamp`` (a shared
    ``reloading.Stamp``) makes a reload reach every worker process.  ``start`` False
    defers the background thread (watch and stamp) to ``start()``, for a server that
    forks workers after creating the application."""

    def __init__(self, rulebook: Rulebook, watch: float | None = None, *, access: Access | None = None,
                 max_body: int = MAX_BODY, metrics: bool = True,
                 access_log: Callable[[str], None] | None = None, stamp: Stamp | None = None,
                 start: bool = True, decision_log=None, archive: str | None = None):
        self.book = rulebook
        rulebook.warm()  # the services' dictionaries: the first request costs what the rest do
        self.decision_log, self.archive = decision_log, archive
        if archive:
            self._archive(initial=True)
        self.access = access or Access()
        self.max_body = min(max_body, casejson.MAX_BYTES)
        self.access_log = access_log
        self.stamp = stamp
        self.watch = watch
        self.draining = False
        self.root = Path(rulebook.path)
        self._fp, self.loaded_at = fingerprint(self.root), _now()
        self.watching = Watch(self._fp, watch) if watch else None
        self.generation = int(stamp.read().get("generation", 0)) if stamp else 0
        self.follow_error: str | None = None  # why this worker could not load another's reload
        self._follow_retry_at = 0.0
        self._failure: dict | None = None  # the last refused POST /reload, until a reload succeeds
        self._spec = None
        self._stop = threading.Event()
        self._thread = None
        if metrics:
            from decide.app.metrics import Metrics
            self.metrics = Metrics()
        else:
            self.metrics = None
        if start:
            self.start()

    @property
    def version(self) -> str:
        """The rule-set version in service (``Rulebook.version``)."""
        return self.book.version

    # -- background: watching the workbooks, following the other workers' reloads
    def start(self):
        """Report this process's version and start the background thread, if needed
        (after a fork: threads do not survive one).  A worker started after a reload
        (a restart) loads the version in service before it answers."""
        if self.stamp:
            self._follow()
        if self.metrics:
            self.metrics.serving(self.version, self.book.engine)
        if self.stamp:
            self._report()
        if (self.watch or self.stamp) and self._thread is None:
            self._thread = threading.Thread(target=self._background, daemon=True, name="decide-reload")
            self._thread.start()

    def close(self):
        self._stop.set()
        if self.stamp:
            self.stamp.forget(os.getpid())

    def _background(self):
        every = min(self.watch or POLL, POLL) if self.stamp else self.watch
        next_watch = time.monotonic() + (self.watch or 0)
        while not self._stop.wait(every):
            if self.watch and time.monotonic() >= next_watch:
                next_watch = time.monotonic() + self.watch
                self._look()
            if self.stamp:
                try:
                    self._follow()
                except Exception as e:  # the thread must not die: the next generation may load
                    self._refused(e)

    def _look(self):
        """One look at the files: reload them once they differ from the version in
        service and are stable.  Never raises: a failure is kept for /health and
        retried (``reloading.Watch``)."""
        w, now = self.watching, ()
        try:
            now = fingerprint(self.root)
            if w.look(now, self._fp):
                self._watched_change(now)  # with a stamp, _follow may load them instead
        except Exception as e:  # WorkbookError, ReloadRefused, OSError, anything: keep serving
            w.failed(now, self._refused(e))

    def _refused(self, e: Exception) -> str:
        text = self._public_text(str(e)) if isinstance(e, WorkbookError) else \
            f"{type(e).__name__}: {self._public_text(str(e))}"[:2000]
        print(f"decide serve: reload refused, still serving version {self.version} "
              f"({self.loaded_at}):\n{text}", flush=True)
        return text

    def _watched_change(self, now: tuple):
        if self.stamp is None:
            self._reload_here()
            return
        with self.stamp.lock():
            if [list(x) for x in now] == self.stamp.read().get("fingerprint"):
                return  # another worker reloaded these files already; _follow catches up
            self._reload_here()
            self.generation = self.stamp.bump(self.book, self._fp)
        self._report()

    def _follow(self):
        """Serve the version another worker published (its copy of the workbooks)."""
        if int(self.stamp.read().get("generation", 0)) <= self.generation \
                or time.monotonic() < self._follow_retry_at:
            return
        with self.stamp.lock(shared=True):  # no bump (nor removal of the copy) meanwhile
            stamp = self.stamp.read()
            g = int(stamp.get("generation", 0))
            if g <= self.generation:
                return  # this process published it, or followed it already
            try:
                self._reload_here(source=self.stamp.dir / stamp["book"],
                                  fp=tuple(map(tuple, stamp.get("fingerprint", ()))))
                self.generation, self.follow_error = g, None
            except Exception as e:  # kept for /health (printed once); retried a second later
                self.follow_error = self.follow_error or self._refused(e)
                self._follow_retry_at = time.monotonic() + 1.0
            finally:
                self._report()

    def _report(self):
        self.stamp.report({"version": self.version, "generation": self.generation,
                           "loaded_at": self.loaded_at})

    # -- reloading
    def reload(self, *, allow_removed: bool = False) -> dict:
        """Load the workbooks again (raises WorkbookError and keeps the old version;
        ``ReloadRefused`` if decisions in service would go, unless ``allow_removed``);
        with a stamp, under its lock and then in every worker."""
        if self.stamp is None:
            self._reload_or_record(allow_removed)
        else:
            with self.stamp.lock():
                self._reload_or_record(allow_removed)
                self.generation = self.stamp.bump(self.book, self._fp, allow_removed)
            self._report()
        return self.health()

    def _reload_or_record(self, allow_removed: bool):
        try:
            self._reload_here(allow_removed)
        except WorkbookError as e:  # /health says so (in every worker) until a reload succeeds
            failure = {"last_error": self._public_text(str(e))[:2000], "last_error_at": _now()}
            if self.stamp:
                self.stamp.failed(failure)
            else:
                self._failure = failure
            raise

    def _reload_here(self, allow_removed: bool = False, source: Path | None = None, fp: tuple | None = None):
        """Reload the tables directory, or (``source``, ``fp``) the copy another worker
        published of the files whose fingerprint was ``fp``."""
        if source is None:
            fp = fingerprint(self.root)  # before reading: a later change makes the next look differ
        try:
            self.book.reload(allow_removed=allow_removed or source is not None, source=source)
        except WorkbookError:
            if self.metrics:
                self.metrics.reloaded(False)
            raise
        self._fp, self.loaded_at, self._spec = fp, _now(), None
        self._failure = None  # the workbooks load again (with a stamp: bump clears the shared one)
        if self.watching and fingerprint(self.root) == fp:
            self.watching.succeeded()
        if self.archive:
            self._archive()
        if self.metrics:
            self.metrics.reloaded(True)
            self.metrics.serving(self.version, self.book.engine)

    def _archive(self, initial: bool = False):
        """Put the version in service into the archive (``runtime/archive.py``); at
        start a failure is raised (nothing is served), after a reload it is printed."""
        from decide.runtime.archive import ArchiveError, put
        try:
            put(self.book, self.archive)
        except ArchiveError as e:
            if initial:
                raise
            print(f"decide serve: {e}", flush=True)

    # -- the WSGI entry point
    def __call__(self, environ, start_response):
        t0 = time.perf_counter()
        route, decision, outcome = "other", "", None
        rid = environ.get("HTTP_X_REQUEST_ID", "")
        if not _REQUEST_ID.fullmatch(rid):
            rid = new_id()
        try:
            if (why := self.access.host_refused(environ)):
                raise _err(421, why)
            raw_path = environ.get("PATH_INFO", "/")
            try:
                path = raw_path.encode("latin-1").decode("utf-8").rstrip("/") or "/"
            except (UnicodeError, UnicodeDecodeError):
                raise _err(404, "no such path") from None
            name = None
            if path.startswith("/decide/"):
                path, name = "/decide", path[len("/decide/"):]
            spec = ROUTES.get(path)
            if spec is None and page.handles(path):  # the support page (app/page.py)
                spec = ("GET" if path in page.ROUTES else "POST", "_page", "client")
            if spec is None:
                raise _err(404, f"no such path: the service answers {', '.join(ROUTES)} and "
                                "/decide/<decision>")
            method, handler, who = spec
            route = "page" if handler == "_page" else path.lstrip("/")
            if environ.get("REQUEST_METHOD", "GET") != method:
                raise _err(405, f"use {method}", [("Allow", method)])
            if who != "open" and (refused := (self.access.admin(environ) if who == "admin"
                                              else self.access.client(environ))):
                status, message = refused
                raise _err(status, message, [("WWW-Authenticate", "Bearer")] if status == 401 else ())
            if handler == "_page":
                reply = self._page(environ, method, path)
            elif handler == "_decide":
                facts = self._body(environ, required=True)
                decision, reply = self._decide(name, facts, rid, _as_of_param(environ))
                outcome = "decided"
            else:
                reply = getattr(self, handler)(environ)
        except Reply as r:
            reply = r
            if (decision := r.decision):
                outcome = {400: "bad_case", 422: "evaluation_error"}.get(r.status)
        except Exception as e:  # never a traceback to the client; the server keeps running
            reply = _err(500, f"internal error: {type(e).__name__}")
        status, headers = reply.status, reply.headers
        if isinstance(reply.body, bytes):
            data = reply.body
        else:
            data = casejson.dumps(reply.body, pretty=False).encode("utf-8")
            headers = headers + [("Content-Type", _JSON)]
        version = reply.version or self.book.version
        start_response(_STATUS[status], headers + _COMMON + [("Decide-Version", version), ("X-Request-Id", rid),
                                                             ("Content-Length", str(len(data)))])
        seconds = time.perf_counter() - t0
        if self.metrics:
            self.metrics.request(route, decision, status, outcome, seconds)
        if self.access_log:
            self._log(environ, status, decision, seconds, len(data), rid)
        return [data]

    def _log(self, environ, status, decision, seconds, size, rid=None):
        self.access_log(json.dumps({
            "time": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds"),
            "pid": os.getpid(), "method": environ.get("REQUEST_METHOD", "")[:16],
            "path": environ.get("PATH_INFO", "")[:200], "status": status, "decision": decision or None,
            "ms": round(seconds * 1000, 3), "bytes": size, "client": environ.get("REMOTE_ADDR"), "id": rid}))

    # -- the body
    def _body(self, environ, required: bool) -> dict:
        """The JSON object in the body; the length is checked before a byte is read."""
        raw = self._raw_body(environ, required)
        try:
            return casejson.parse(raw or b"{}", noun="body")
        except casejson.CaseJSONError as e:  # bad UTF-8, bad JSON, over the limits, not an object
            if e.kind == "shape":
                raise _err(400, "the body is a JSON object of facts (field: value)") from None
            raise _err(400, f"the body is not valid JSON: {e.detail}") from None

    def _raw_body(self, environ, required: bool) -> bytes:
        """The body's bytes, JSON by its Content-Type, within the limit."""
        ctype = environ.get("CONTENT_TYPE", "")
        text_length = environ.get("CONTENT_LENGTH") or ""
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if not required and not chunked and text_length in ("", "0"):
            return b""
        if not _is_json(ctype):
            raise _err(415, "send JSON: Content-Type: application/json")
        stream = environ["wsgi.input"]
        if text_length and not chunked:
            if not text_length.isdigit():
                raise _err(400, "bad Content-Length")
            length = int(text_length)
            if length > self.max_body:
                raise _err(413, f"the body is over {self.max_body} bytes")
            raw = stream.read(length) if length else b""
        else:  # chunked, or no length: read at most one byte past the limit
            raw = stream.read(self.max_body + 1)
            if len(raw) > self.max_body:
                raise _err(413, f"the body is over {self.max_body} bytes")
        return raw

    # -- handlers
    def health(self) -> dict:
        ir = self.book.ir
        reload = self._reload_state()
        failing = (self.watching and self.watching.failing) or self.follow_error or reload["status"] != "ok"
        out = {"status": "degraded" if failing else "ok", "engine": self.book.engine, "tables": len(ir.tables),
               "decisions": len(ir.decisions), "loaded_at": self.loaded_at, "version": self.version,
               "pid": os.getpid(), "reload": reload}
        if self.watching:
            out["watch"] = self.watching.to_dict()
        if self.stamp:
            out["generation"] = self.generation
            out["follow_error"] = self.follow_error  # this worker could not load another's reload
            out["workers"] = self.stamp.workers()
        return out

    def _health(self, environ):
        return Reply(200, self.health())

    def _ready(self, environ):
        if self.draining:
            return Reply(503, {"error": {"message": "shutting down: not taking new work"}})
        return Reply(200, {"ready": True, "version": self.version})

    def _decisions(self, environ):
        return Reply(200, {n: {"kind": i.kind, "inputs": list(i.inputs), "outputs": list(i.outputs)}
                           for n, i in self.book.decisions.items()})

    def _openapi(self, environ):
        if self._spec is None:
            from decide.app.openapi import openapi
            self._spec = casejson.dumps(openapi(self.book.ir, version=self.version,
                                                   tokens=bool(self.access.tokens)), pretty=False).encode()
        return Reply(200, self._spec, [("Content-Type", _JSON)])

    def _docs(self, environ):
        from decide.app.openapi import docs_html
        spec = json.loads(self._openapi(environ).body)
        return Reply(200, docs_html(spec).encode("utf-8"), [("Content-Type", "text/html; charset=utf-8")])

    def _metrics(self, environ):
        if not self.metrics:
            raise _err(404, "metrics are off")
        from decide.app.metrics import CONTENT_TYPE
        return Reply(200, self.metrics.render(), [("Content-Type", CONTENT_TYPE)])

    def _reload(self, environ):
        body = self._body(environ, required=False)  # JSON if any, within the limit
        allow_removed = body.get("allow_removed", False)
        if not isinstance(allow_removed, bool):
            raise _err(400, '"allow_removed" is true or false')
        try:
            return Reply(200, self.reload(allow_removed=allow_removed))
        except WorkbookError as e:
            return Reply(422, {"error": {"message": "the workbooks do not load; the previous version "
                                                    "is still in service", **self._public(e.to_dict())}})

    def _reload_state(self) -> dict:
        failure = self.stamp.failure() if self.stamp else self._failure
        return {"status": "failing" if failure else "ok", "last_error": None, "last_error_at": None,
                **(failure or {})}

    def _page(self, environ, method: str, path: str):
        body = self._raw_body(environ, required=True) if method == "POST" else b""
        status, content_type, data = page.respond(self.book, method, path, body)
        return Reply(status, data, [("Content-Type", content_type)])

    def _decide(self, name: str | None, facts: dict, rid: str | None = None, as_of=None):
        given = facts.pop("decision", None)
        if given is not None and not isinstance(given, str):
            raise _err(400, 'the "decision" key is the name of a decision (text)')
        name = name or given
        if not name:
            raise _err(400, 'which decision? POST to /decide/<decision> or give a "decision" key')
        decisions = self.book.ir.decisions  # a Mapping already: Rulebook.decisions builds a dict
        if name not in decisions:
            shown = name if len(name) <= 80 else name[:80] + "…"
            raise _err(404, f'unknown decision "{shown}"{did_you_mean(name[:200], decisions)}',
                       decisions=sorted(decisions))
        try:
            result = self.book.decide(name, facts, as_of=as_of, decision_log=self.decision_log, id=rid)
        except CaseError as e:
            raise Reply(400, {"error": e.to_dict()}, decision=name) from None
        except EvaluationError as e:
            raise Reply(422, {"error": self._public(e.to_dict())}, decision=name) from None
        except DecisionLogError:  # decided but not logged: not answered either
            raise _err(500, "the decision could not be written to the decision log") from None
        return name, Reply(200, casejson.result_json(result), _JSON_HEADER, version=result.version)

    # -- no file paths in answers
    def _public(self, obj):
        if isinstance(obj, str):
            return self._public_text(obj)
        if isinstance(obj, dict):
            return {k: self._public(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [self._public(v) for v in obj]
        return obj

    def _public_text(self, text: str) -> str:
        for root in {str(self.root.resolve()), str(self.root)}:
            text = text.replace(root + os.sep, "").replace(root, "the tables")
        return _ABSOLUTE.sub(lambda m: m.group(1) + "…" + os.sep + m.group(2), text)


_REQUEST_ID = re.compile(r"[!-~]{1,200}")  # a client's X-Request-Id: visible ASCII, else one is made
_ABSOLUTE = re.compile(r"(^|[\s\"'(=:])/(?:[^\s\"'/]+/)+([^\s\"'/]*)")


def _as_of_param(environ) -> str | None:
    """The ``as_of`` query parameter (``/decide/NAME?as_of=2027-01-01``), None when absent;
    another parameter, as_of given twice, or not a date is a 400."""
    query = environ.get("QUERY_STRING") or ""
    if not query:
        return None
    from urllib.parse import parse_qsl
    pairs = parse_qsl(query[:4096], keep_blank_values=True, errors="replace")
    other = next((k for k, _ in pairs if k != "as_of"), None)
    if other is not None:
        shown = other if len(other) <= 40 else other[:40] + "…"
        raise _err(400, f'unknown query parameter "{shown}": /decide takes only as_of (YYYY-MM-DD)')
    values = [v for _, v in pairs]
    if len(values) > 1:
        raise _err(400, "the as_of parameter is given twice: give one date, YYYY-MM-DD")
    if not values:
        return None
    try:
        parse_as_of(values[0])
    except CaseError as e:
        raise Reply(400, {"error": {**e.to_dict(), "message": f"the as_of parameter: {e}"}}) from None
    return values[0]


def _is_json(ctype: str) -> bool:
    known = _JSON_TYPES.get(ctype)
    if known is None:
        media = ctype.split(";", 1)[0].strip().lower()
        known = media == "application/json" or (media.startswith("application/") and media.endswith("+json"))
        if len(_JSON_TYPES) < 64:
            _JSON_TYPES[ctype] = known
    return known


_JSON_TYPES: dict[str, bool] = {}  # Content-Type as sent → JSON or not (a few: bounded)


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")

