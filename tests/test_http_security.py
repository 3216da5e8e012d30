"""The service's defences, over real sockets: admin token, bearer tokens, JSON only,
the Host allow-list, the body limit before buffering, bounded parsing, no paths in
errors, and `decide serve`'s security options."""
from __future__ import annotations

import io
import json
import shutil
import socket
import threading
import time

import pytest

import decide
from decide.app.http import Service
from decide.app.http_security import Access, LOOPBACK_NAMES, TokenError, admin_token, host_name
from tests.http_helpers import ADMIN, Server, copy_tables, request

CLIENT = "client-token-for-the-tests-abcdef"
BOOKS = {"category": "books", "amount_yen": 1200}


def _run(app):
    from waitress import create_server
    srv = create_server(app, host="127.0.0.1", port=0, threads=4, max_request_body_size=app.max_body + 1024)
    t = threading.Thread(target=lambda: _quiet(srv.run), daemon=True)
    t.start()
    return srv, t


def _quiet(fn):
    try:
        fn()
    except OSError:
        pass


@pytest.fixture()
def served(tmp_path):
    """A service with an admin token, client tokens and the loopback Host list."""
    copy = copy_tables(tmp_path)
    app = Service(decide.load(copy), access=Access(admin_token=ADMIN, tokens=(CLIENT,),
                                                   allowed_hosts=LOOPBACK_NAMES))
    srv, t = _run(app)
    yield srv.effective_port, copy, app
    srv.close()
    t.join(5)
    app.close()


def auth(token=CLIENT):
    return {"Authorization": f"Bearer {token}"}


# ----------------------------------------------------------------- tokens
def test_admin_reload_needs_the_admin_token(served):
    port, _, _ = served
    assert request(port, "POST", "/reload", b"")[0] == 401
    assert request(port, "POST", "/reload", b"", auth("wrong-token-wrong-token"))[0] == 401
    assert request(port, "POST", "/reload", b"", auth(CLIENT))[0] == 401  # a client token is no admin token
    status, headers, body = request(port, "POST", "/reload", b"", auth(ADMIN))
    assert status == 200 and body["status"] == "ok"


def test_admin_endpoints_are_off_without_an_admin_token(tmp_path):
    app = Service(decide.load(copy_tables(tmp_path)))
    srv, t = _run(app)
    try:
        status, _, body = request(srv.effective_port, "POST", "/reload", b"", auth(ADMIN))
        assert status == 403 and "admin endpoints are off" in body["error"]["message"]
    finally:
        srv.close()
        t.join(5)


def test_decisions_need_a_bearer_token_when_tokens_are_configured(served):
    port, _, _ = served
    status, headers, body = request(port, "POST", "/decide/purchase_restriction", BOOKS)
    assert status == 401 and headers.get("WWW-Authenticate") == "Bearer"
    assert request(port, "POST", "/decide/purchase_restriction", BOOKS, auth("x" * 40))[0] == 401
    assert request(port, "POST", "/decide/purchase_restriction", BOOKS, {"Authorization": CLIENT})[0] == 401
    assert request(port, "POST", "/decide/purchase_restriction", BOOKS, auth())[0] == 200
    assert request(port, "GET", "/decisions", None, auth())[0] == 200
    assert request(port, "GET", "/health")[0] == 200  # probes stay open


def test_tokens_are_read_from_a_file_or_the_environment(tmp_path):
    f = tmp_path / "admin"
    f.write_text("from-the-file-0123456789\n")
    assert admin_token(str(f), {}) == "from-the-file-0123456789"
    assert admin_token(None, {"DECIDE_ADMIN_TOKEN": "from-the-env-0123456789"}) == "from-the-env-0123456789"
    assert admin_token(None, {}) is None
    f.write_text("short\n")
    with pytest.raises(TokenError, match="at least 16"):
        admin_token(str(f), {})
    with pytest.raises(TokenError, match="cannot read"):
        admin_token(str(tmp_path / "missing"), {})


# ----------------------------------------------------------------- requests
def test_only_json_bodies_are_taken(served):
    port, _, _ = served
    for ctype in ("application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x"):
        status, _, body = request(port, "POST", "/decide/purchase_restriction", BOOKS,
                                  {**auth(), "Content-Type": ctype})
        assert status == 415 and "application/json" in body["error"]["message"]
    assert request(port, "POST", "/decide/purchase_restriction", BOOKS,
                   {**auth(), "Content-Type": "application/json; charset=utf-8"})[0] == 200


@pytest.mark.parametrize("host,code", [("localhost:8080", 200), ("127.0.0.1", 200), ("[::1]:80", 200),
                                       ("evil.example", 421), ("localhost.evil.example:8080", 421),
                                       ("", 421)])
def test_the_host_header_is_checked(served, host, code):
    port, _, _ = served
    assert request(port, "GET", "/health", None, {"Host": host})[0] == code


def test_host_names_lose_their_port():
    assert host_name("LocalHost:8080") == "localhost"
    assert host_name("[::1]:8080") == "::1"
    assert host_name("::1") == "::1"


def raw_exchange(port: int, head: bytes, body_chunks=(), wait: float = 10) -> tuple[int, float]:
    """Send ``head`` and then ``body_chunks`` while reading; (status, seconds to the answer)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=wait)
    t0 = time.perf_counter()
    try:
        s.sendall(head)
        for chunk in body_chunks:
            try:
                s.sendall(chunk)
            except OSError:  # the server answered and closed: fine
                break
        data = s.recv(200)
        return int(data.split()[1]), time.perf_counter() - t0
    finally:
        s.close()


def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_sent(served):
    port, _, _ = served
    head = (b"POST /decide/purchase_restriction HTTP/1.1\r\nHost: localhost\r\n"
            b"Content-Type: application/json\r\nAuthorization: Bearer " + CLIENT.encode() +
            b"\r\nContent-Length: 1000000000\r\n\r\n")
    status, seconds = raw_exchange(port, head)  # no body byte is ever sent
    assert status == 413 and seconds < 5


def test_a_chunked_body_over_the_limit_is_refused(served):
    port, _, _ = served
    head = (b"POST /decide/purchase_restriction HTTP/1.1\r\nHost: localhost\r\n"
            b"Content-Type: application/json\r\nAuthorization: Bearer " + CLIENT.encode() +
            b"\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"10000\r\n" + b" " * 0x10000 + b"\r\n"
    status, _ = raw_exchange(port, head, [chunk] * 40)  # 2.5 MB offered, 1 MB allowed
    assert status == 413


def _answer(port: int, head: bytes, body_chunks=()) -> tuple[bytes, dict]:
    """Send ``head`` and ``body_chunks``; the status line, headers and body of the answer."""
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    try:
        s.sendall(head)
        for chunk in body_chunks:
            try:
                s.sendall(chunk)
            except OSError:  # the server answered and closed
                break
        data = b""
        while (more := s.recv(65536)):
            data += more
    finally:
        s.close()
    top, _, body = data.partition(b"\r\n\r\n")
    status, *lines = top.split(b"\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.decode().partition(":") for line in lines)}
    return status, headers, json.loads(body)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_every_413_is_the_services_json_over_a_real_server(tmp_path, workers):
    """Over ``decide serve``: a declared length far over the limit (refused before a body
    byte is sent), one byte over, a chunked body far over: each a JSON 413 naming the
    limit, as the application's own 413 is."""
    srv = Server("--tables", str(copy_tables(tmp_path)), "--max-body", "1000", "--workers", workers)
    try:
        head = (b"POST /decide/purchase_restriction HTTP/1.1\r\nHost: localhost\r\n"
                b"Content-Type: application/json\r\nConnection: close\r\n")
        # the answer comes before the body is sent (a body left unread would make the
        # server's close a reset, which may discard the answer before it is read)
        cases = [(head + b"Content-Length: 1000000000\r\n\r\n", ()),
                 (head + b"Content-Length: 1001\r\n\r\n", ()),
                 (head + b"Transfer-Encoding: chunked\r\n\r\n", [b"1000\r\n" + b" " * 0x1000 + b"\r\n"])]
        for request_head, chunks in cases:
            status, headers, body = _answer(srv.port, request_head, chunks)
            assert status.split()[1] == b"413", status
            assert headers["content-type"].startswith("application/json")
            assert body == {"error": {"message": "the body is over 1000 bytes"}}
        status, _, body = _answer(srv.port, head + b"Content-Length: 1000\r\n\r\n", [b" " * 1000])
        assert status.split()[1] == b"400" and "error" in body  # at the limit: read, and parsed
        status, headers, body = _answer(srv.port, b"GET / HTTP/1.1\r\nHost: localhost\r\nContent-Length: x\r\n\r\n")
        assert status.split()[1] == b"400" and headers["content-type"].startswith("application/json")
        assert body["error"]["message"]  # waitress's other refusals are JSON too
    finally:
        assert srv.stop() == 0


def test_the_app_reads_at_most_the_limit_from_a_body_without_length():
    """Under a server that streams the body (gunicorn), the app stops one byte past the limit."""
    app = Service(decide.load(copy_tables_once()), max_body=1000)

    class Stream(io.RawIOBase):
        asked = 0

        def read(self, n=-1):
            Stream.asked += n
            return b" " * n

    env = {"REQUEST_METHOD": "POST", "PATH_INFO": "/decide/purchase_restriction",
           "CONTENT_TYPE": "application/json", "HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input": Stream()}
    got = []
    app(env, lambda status, headers: got.append(status))
    assert got == ["413 Payload Too Large"] and Stream.asked == 1001


_COPY = []


def copy_tables_once():
    if not _COPY:
        import tempfile
        from pathlib import Path
        d = Path(tempfile.mkdtemp(prefix="decide-test-"))
        _COPY.append(copy_tables(d))
    return _COPY[0]


@pytest.mark.parametrize("body,words", [
    (b'{"category": "books", "amount_yen": 1e600000}', "out of range"),
    (b'{"category": "books", "amount_yen": 1e1000000}', "out of range"),
    (b'{"category": "books", "amount_yen": ' + b"9" * 5000 + b"}", "digits"),
    (b'{"category": "\\ud800"}', "surrogate"),
    (b'{"decision": ["purchase_restriction"]}', "name of a decision"),
    (b'{"decision": {"a": 1}}', "name of a decision"),
    (b"[" * 50 + b"]" * 50, "nested too deeply"),
    (b'{"category": NaN}', "not a JSON number"),
])
def test_malformed_bodies_are_400_within_10_ms(body, words):
    app = Service(decide.load(copy_tables_once()))
    env = {"REQUEST_METHOD": "POST", "PATH_INFO": "/decide", "CONTENT_TYPE": "application/json",
           "CONTENT_LENGTH": str(len(body))}
    best = 1.0
    for _ in range(5):
        got = []
        t0 = time.perf_counter()
        out = app({**env, "wsgi.input": io.BytesIO(body)}, lambda s, h: got.append(s))
        best = min(best, time.perf_counter() - t0)
        assert got[0].startswith("400"), (got, out)
    assert words in out[0].decode()
    assert best < 0.010, f"{best * 1000:.1f} ms"


def test_a_huge_exponent_over_http_is_400_within_10_ms(served):
    port, _, _ = served
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    best = 1.0
    try:
        for _ in range(5):
            t0 = time.perf_counter()
            conn.request("POST", "/decide/purchase_restriction", body=b'{"category":"books","amount_yen":1e600000}',
                         headers={"Content-Type": "application/json", **auth()})
            r = conn.getresponse()
            r.read()
            best = min(best, time.perf_counter() - t0)
            assert r.status == 400
    finally:
        conn.close()
    assert best < 0.010, f"{best * 1000:.1f} ms"


@pytest.mark.parametrize("method,path,code", [
    ("GET", "/decide/purchase_restriction", 405), ("DELETE", "/decisions", 405), ("PUT", "/reload", 405),
    ("GET", "/nowhere", 404), ("GET", "/decide/%ff%fe", 404), ("POST", "/decide/%E3%81%82", 404),
])
def test_wrong_methods_and_routes_are_4xx(served, method, path, code):
    port, _, _ = served
    status, headers, body = request(port, method, path, b"{}", auth())
    assert status == code and "message" in body["error"]
    if code == 405:
        assert headers["Allow"] in ("GET", "POST")


def test_no_error_names_a_file_on_the_server(served):
    port, copy, app = served
    moved = copy.parent / "elsewhere"
    shutil.move(copy, moved)  # the tables directory is gone: the reload fails
    try:
        status, _, body = request(port, "POST", "/reload", b"", auth(ADMIN))
    finally:
        shutil.move(moved, copy)
    assert status == 422
    text = str(body)
    assert str(copy.parent) not in text and "/tmp" not in text and str(copy) not in text, text
    assert body["error"]["diagnostics"][0]["code"] == "E100"
    assert request(port, "POST", "/decide/purchase_restriction", BOOKS, auth())[0] == 200  # still serving


# ----------------------------------------------------------------- the command's options
def test_serve_options_tokens_and_default_hosts(tmp_path):
    f = tmp_path / "admin-token"
    f.write_text(ADMIN + "\n")
    clients = tmp_path / "tokens"
    clients.write_text("# decision clients\n" + CLIENT + "\n")
    srv = Server("--tables", str(copy_tables(tmp_path)), "--admin-token-file", str(f),
                 "--token-file", str(clients))
    try:
        assert srv.request("POST", "/reload", b"")[0] == 401
        assert srv.request("POST", "/reload", b"", auth(ADMIN))[0] == 200
        assert srv.request("POST", "/decide/purchase_restriction", BOOKS)[0] == 401
        assert srv.request("POST", "/decide/purchase_restriction", BOOKS, auth())[0] == 200
        assert srv.request("GET", "/health", None, {"Host": "rebound.example"})[0] == 421
    finally:
        assert srv.stop() == 0


def test_serve_takes_the_admin_token_from_the_environment(tmp_path):
    srv = Server("--tables", str(copy_tables(tmp_path)), "--allowed-host", "decide.internal",
                 env={"DECIDE_ADMIN_TOKEN": ADMIN})
    try:
        assert srv.request("POST", "/reload", b"", {**auth(ADMIN), "Host": "decide.internal"})[0] == 200
        assert srv.request("GET", "/health", None, {"Host": "localhost"})[0] == 421
    finally:
        assert srv.stop() == 0
