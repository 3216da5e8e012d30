"""Helpers of the HTTP tests: a `decide serve` subprocess on a free loopback port,
stopped by its pid (and its workers' pids), and raw requests over http.client."""
from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

TABLES = Path(__file__).resolve().parents[1] / "tables"
DECIDE = [sys.executable, "-m", "decide.app.cli"]
ADMIN = "admin-token-for-the-tests-0123456789"
JSON = {"Content-Type": "application/json"}


def copy_tables(tmp_path: Path) -> Path:
    copy = tmp_path / "tables"
    shutil.copytree(TABLES, copy, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return copy


class Server:
    """``decide serve ARGS`` on 127.0.0.1, port 0; ``url``, ``port``, ``stop()``."""

    def __init__(self, *args: str, env: dict | None = None, timeout: float = 60):
        self.log = open(os.devnull, "w")
        self.proc = subprocess.Popen([*DECIDE, "serve", "--port", "0", *args], stderr=subprocess.PIPE,
                                     stdout=subprocess.DEVNULL, env={**os.environ, **(env or {})},
                                     text=True)
        self.lines: list[str] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                break
            self.lines.append(line)
            if (m := re.search(r"http://127\.0\.0\.1:(\d+) ", line)):
                self.port = int(m.group(1))
                self.url = f"http://127.0.0.1:{self.port}"
                return
        self.stop()
        raise RuntimeError("decide serve did not start:\n" + "".join(self.lines))

    def request(self, method: str, path: str, body=None, headers=None, timeout: float = 30):
        return request(self.port, method, path, body, headers, timeout)

    def stop(self, sig=signal.SIGTERM, wait: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(wait)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc_stderr_rest = self.proc.stderr.read()
        self.proc.stderr.close()
        self.log.close()
        return self.proc.returncode


def request(port: int, method: str, path: str, body=None, headers=None, timeout: float = 30):
    """(status, headers, parsed JSON or raw bytes) of one request on a new connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
        conn.request(method, path, body=data, headers={**JSON, **(headers or {})})
        r = conn.getresponse()
        raw = r.read()
        try:
            out = json.loads(raw)
        except ValueError:
            out = raw
        return r.status, r.headers, out  # headers: case-insensitive
    finally:
        conn.close()


def wait_for(predicate, timeout: float = 30, every: float = 0.05):
    """Poll ``predicate`` until it returns something true (returned) or ``timeout``
    seconds pass (then its last value)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (value := predicate()):
            return value
        time.sleep(every)
    return predicate()


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is gone for our purposes
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False
