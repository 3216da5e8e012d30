"""The HTTP service: a small WSGI application over one Rulebook, served by waitress.

    GET  /health               {"status": "ok", "tables": N, "decisions": N, "loaded_at": "..."}
    GET  /decisions            every decision with its kind, inputs and outputs
    POST /decide/<decision>    body: a JSON object of facts → the Result as JSON
    POST /decide               body: facts with a "decision" key
    POST /reload               load the workbooks again (the old version stays on error)
    GET  /, GET /form, POST /why/<decision>   the support page (``page.py``)

Errors are JSON ``{"error": {...}}``: 400 bad JSON or a bad case, 404 an unknown
decision or path, 405 a wrong method, 413 a body over the limit, 422 an evaluation
error (UNIQUE/ANY violated) or workbooks that do not load on /reload.  The Rulebook
is thread-safe and swaps a reloaded version in whole, so no request is dropped or
sees half a table set.
"""
from __future__ import annotations

import datetime as _dt
import threading
from pathlib import Path
from typing import Callable

from decide import CaseError, EvaluationError, Rulebook, WorkbookError
from decide.app import casejson, page
from decide.model.errors import did_you_mean

MAX_BODY = casejson.MAX_BYTES

_STATUS = {200: "200 OK", 400: "400 Bad Request", 404: "404 Not Found", 405: "405 Method Not Allowed",
           413: "413 Payload Too Large", 422: "422 Unprocessable Entity", 500: "500 Internal Server Error"}


def _json(status: int, body, start_response) -> list[bytes]:
    data = casejson.dumps(body, pretty=False).encode("utf-8")
    start_response(_STATUS[status], [("Content-Type", "application/json; charset=utf-8"),
                                     ("Content-Length", str(len(data)))])
    return [data]


def _error(status: int, message: str, start_response, **extra) -> list[bytes]:
    return _json(status, {"error": {"message": message, **extra}}, start_response)


class Service:
    """The WSGI application.  ``watch`` (seconds) reloads the workbooks when a file
    under the tables directory changes."""

    def __init__(self, rulebook: Rulebook, watch: float | None = None):
        self.book = rulebook
        self.loaded_at = _now()
        self._stop = threading.Event()
        self._watcher = None
        if watch:
            self._watcher = threading.Thread(target=self._watch, args=(watch,), daemon=True,
                                             name="decide-watch")
            self._watcher.start()

    # -- reloading
    def reload(self) -> dict:
        self.book.reload()  # raises WorkbookError and keeps the old version on error
        self.loaded_at = _now()
        return self.health()

    def _fingerprint(self):
        root = Path(self.book.path)
        files = [root] if root.is_file() else sorted(root.rglob("*.xlsx"))
        return tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files if p.exists())

    def _watch(self, every: float):
        last = self._fingerprint()
        while not self._stop.wait(every):
            now = self._fingerprint()
            if now != last:
                last = now
                try:
                    self.reload()
                except WorkbookError as e:  # keep serving the version that loaded
                    print(f"decide serve: reload refused, still serving the {self.loaded_at} version:\n{e}",
                          flush=True)

    def close(self):
        self._stop.set()

    # -- requests
    def health(self) -> dict:
        ir = self.book.ir
        return {"status": "ok", "engine": self.book.engine, "tables": len(ir.tables),
                "decisions": len(ir.decisions), "loaded_at": self.loaded_at}

    def __call__(self, environ, start_response):
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "/").rstrip("/") or "/"
        try:
            if path == "/health":
                return self._only("GET", method, start_response) or _json(200, self.health(), start_response)
            if path == "/decisions":
                return self._only("GET", method, start_response) or _json(200, self._decisions(), start_response)
            if path == "/reload":
                if (bad := self._only("POST", method, start_response)):
                    return bad
                try:
                    return _json(200, self.reload(), start_response)
                except WorkbookError as e:
                    return _json(422, {"error": {"message": "the workbooks do not load; the previous version "
                                                             "is still in service", **e.to_dict()}}, start_response)
            if path == "/decide" or path.startswith("/decide/"):
                if (bad := self._only("POST", method, start_response)):
                    return bad
                return self._decide(environ, path[len("/decide/"):] if path != "/decide" else None,
                                    start_response)
            if page.handles(path):  # the support page: GET /, GET /form, POST /why/<decision> (app/page.py)
                return self._page(environ, method, path, start_response)
            return _error(404, f"no such path {path}: use /decide/<decision>, /decisions, /health or /reload",
                          start_response)
        except Exception as e:  # never a traceback to the client; the server keeps running
            return _error(500, f"internal error: {type(e).__name__}", start_response)

    def _only(self, allowed: str, method: str, start_response):
        if method != allowed:
            return _error(405, f"use {allowed}", start_response)
        return None

    def _decisions(self) -> dict:
        return {n: {"kind": i.kind, "inputs": list(i.inputs), "outputs": list(i.outputs)}
                for n, i in self.book.decisions.items()}

    def _decide(self, environ, name: str | None, start_response):
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return _error(400, "bad Content-Length", start_response)
        if length > MAX_BODY:
            return _error(413, f"the body is over {MAX_BODY} bytes", start_response)
        raw = environ["wsgi.input"].read(length) if length else b""
        try:
            facts = casejson.parse(raw or b"{}", noun="body")
        except casejson.CaseJSONError as e:  # bad UTF-8, bad JSON, over the limits, not an object
            if e.kind == "shape":
                return _error(400, "the body is a JSON object of facts (field: value)", start_response)
            return _error(400, f"the body is not valid JSON: {e.detail}", start_response)
        given = facts.pop("decision", None)
        name = name or given
        if not name:
            return _error(400, 'which decision? POST to /decide/<decision> or give a "decision" key',
                          start_response)
        if name not in self.book.decisions:
            return _error(404, f'unknown decision "{name}"{did_you_mean(str(name), self.book.decisions)}',
                          start_response, decisions=sorted(self.book.decisions))
        try:
            result = self.book.decide(name, facts)
        except CaseError as e:
            return _json(400, {"error": e.to_dict()}, start_response)
        except EvaluationError as e:
            return _json(422, {"error": e.to_dict()}, start_response)
        return _json(200, result.to_dict(), start_response)


    # -- the support page (decide.app.page)
    def _page(self, environ, method: str, path: str, start_response):
        body = b""
        if method == "POST":
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                return _error(400, "bad Content-Length", start_response)
            if length > MAX_BODY:
                return _error(413, f"the body is over {MAX_BODY} bytes", start_response)
            body = environ["wsgi.input"].read(length) if length else b""
        status, content_type, data = page.respond(self.book, method, path, body)
        start_response(_STATUS[status], [("Content-Type", content_type), ("Content-Length", str(len(data)))])
        return [data]


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def serve(rulebook: Rulebook, host: str = "127.0.0.1", port: int = 8080, threads: int = 8,
          watch: float | None = None, ready: Callable[[str], None] | None = None):
    """Serve until interrupted (waitress, ``threads`` worker threads)."""
    from waitress import create_server
    app = Service(rulebook, watch=watch)
    server = create_server(app, host=host, port=port, threads=threads, ident="decide")
    url = f"http://{server.effective_host}:{server.effective_port}"
    (ready or print)(f"decide serve: {url} ({len(rulebook.ir.decisions)} decisions, engine {rulebook.engine})")
    try:
        server.run()
    finally:
        app.close()
