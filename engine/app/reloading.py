"""How a reload reaches every worker process: a shared generation stamp.

The service's processes share a directory (``decide serve --workers N`` makes one).
In it, ``generation.json`` holds ``{"generation": n, "version": v, "fingerprint": f}``
and ``lock`` serialises writers (``fcntl.flock``).  A worker that reloads (``POST
/reload``, or ``--watch`` seeing a changed workbook) does it under the lock and bumps
the generation; every worker checks the stamp every ``POLL`` seconds and reloads
itself when the generation moved, so all of them serve the same version within
about ``POLL`` plus the time to compile.  Each worker writes what it serves to
``worker-<pid>.json``, which ``GET /health`` shows.

``version`` of a set of workbooks is a short hash of their bytes: two processes that
loaded the same files report the same version.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
from pathlib import Path

POLL = 0.25  # seconds between two looks at the stamp


def workbook_files(root: Path) -> list[Path]:
    return [root] if root.is_file() else sorted(root.rglob("*.xlsx"))


def fingerprint(root: Path) -> tuple:
    """Names, sizes and modification times of the workbooks: cheap, changes on a save."""
    out = []
    for p in workbook_files(root):
        try:
            st = p.stat()
        except OSError:
            continue
        out.append((p.name, st.st_mtime_ns, st.st_size))
    return tuple(out)


def content_version(root: Path) -> str:
    """12 hex digits of a SHA-256 over the workbooks' names and bytes."""
    h = hashlib.sha256()
    for p in workbook_files(root):
        try:
            data = p.read_bytes()
        except OSError:
            continue
        h.update(str(p.relative_to(root) if root.is_dir() else p.name).encode() + b"\0")
        h.update(len(data).to_bytes(8, "big") + data)
    return h.hexdigest()[:12]


class Stamp:
    """The generation stamp in ``directory`` (created if missing)."""

    def __init__(self, directory: str | os.PathLike):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / "generation.json"
        self._seen = None  # (inode, mtime_ns, size) of the file last read
        self._last = {"generation": 0, "version": "", "fingerprint": []}

    @contextlib.contextmanager
    def lock(self):
        with open(self.dir / "lock", "a+") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def read(self) -> dict:
        """The stamp (generation 0 before any write); re-read only when the file changed."""
        try:
            st = self.path.stat()
        except OSError:
            return self._last
        key = (st.st_ino, st.st_mtime_ns, st.st_size)
        if key != self._seen:
            try:
                self._last = json.loads(self.path.read_text("utf-8"))
                self._seen = key
            except (OSError, ValueError):
                pass  # written at this instant: read next time
        return self._last

    def bump(self, version: str, fp: tuple) -> int:
        """Write generation + 1 (call under ``lock``); returns it."""
        self._seen = None
        n = int(self.read().get("generation", 0)) + 1
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"generation": n, "version": version, "fingerprint": list(map(list, fp))}),
                       "utf-8")
        os.replace(tmp, self.path)  # readers see the old stamp or the new one whole
        return n

    # -- what each worker serves
    def report(self, status: dict) -> None:
        path = self.dir / f"worker-{os.getpid()}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(status), "utf-8")
        os.replace(tmp, path)

    def workers(self) -> dict[str, dict]:
        out = {}
        for p in sorted(self.dir.glob("worker-*.json")):
            try:
                out[p.stem.removeprefix("worker-")] = json.loads(p.read_text("utf-8"))
            except (OSError, ValueError):
                continue
        return out

    def forget(self, pid: int) -> None:
        with contextlib.suppress(OSError):
            (self.dir / f"worker-{pid}.json").unlink()
