"""How a reload reaches every worker process: a shared generation stamp.

The service's processes share a directory (``decide serve --workers N`` makes one).
In it, ``generation.json`` holds ``{"generation": n, "version": v, "fingerprint": f}``
and ``lock`` serialises writers (``fcntl.flock``).  A worker that reloads (``POST
/reload``, or ``--watch`` seeing a changed workbook) does it under the lock and bumps
the generation, with a copy of the workbooks it loaded (``book-<n>/``); every worker
checks the stamp every ``POLL`` seconds and, when the generation moved, loads that
copy under a shared lock — not the tables directory, which may have changed again —
so all of them serve the very same version within about ``POLL`` plus the time to
compile (a worker started later, too, before its first answer).  A refused ``POST
/reload`` leaves ``failed.json`` until the next bump.  Each worker writes what it
serves to ``worker-<pid>.json``, which ``GET /health`` shows.

``version`` is the Rulebook's (``Rulebook.version``: a hash of the workbooks' bytes
and the engine version): two processes that loaded the same files report the same.

``Watch`` is what ``--watch`` knows: it reloads only files that stayed the same
(names, sizes, modification times) over two looks, sees only what the reader reads
(lock files ``~$…`` and ``.~lock…#``, editors' and rsync's temporary names are not
workbooks) plus the ``VERSION`` label, retries a failed reload when the files change
or after a backoff, and says since when the files differ from the version in service.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import time
from pathlib import Path

from decide.compile.source import workbook_paths
from decide.runtime.rulebook import LABEL_FILE

POLL = 0.25  # seconds between two looks at the stamp
MAX_BACKOFF = 60.0  # seconds between two retries of the same files that failed


def workbook_files(root: Path) -> list[Path]:
    """What a reload reads: the reader's workbooks (no lock files) and the label file."""
    try:
        paths = workbook_paths(root) if root.exists() else []
    except OSError:
        paths = []
    label = (root.parent if root.is_file() else root) / LABEL_FILE
    return paths + [label] if label.exists() else paths


def fingerprint(root: Path) -> tuple:
    """Names, sizes and modification times of the workbooks: cheap, changes on a save."""
    out = []
    for p in workbook_files(root):
        try:
            st = p.stat()
            name = p.name if root.is_file() else str(p.relative_to(root))
        except (OSError, ValueError):
            continue
        out.append((name, st.st_mtime_ns, st.st_size))
    return tuple(out)


def _utc() -> str:
    import datetime as dt
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class Watch:
    """The watcher's state.  ``look(now, served)`` says whether to reload now: the
    files ``now`` differ from those of the version in service (``served``), and they
    are stable (equal to the previous look), and they were not tried already (unless
    the backoff elapsed).  ``failed``/``succeeded`` record an attempt's outcome."""

    def __init__(self, served: tuple, every: float):
        self.every = every
        self.sample = served
        self.differs_since: str | None = None
        self.error: str | None = None
        self.error_at: str | None = None
        self.checked_at: str | None = None
        self._tried, self._retry_at, self._backoff = None, 0.0, every

    def look(self, now: tuple, served: tuple) -> bool:
        self.checked_at = _utc()
        if now == served:
            self.differs_since = self.error = self.error_at = None
            self.sample, self._tried = now, None
            return False
        if self.differs_since is None:
            self.differs_since = self.checked_at
        if now != self.sample:  # still being written: look again
            self.sample = now
            return False
        return now != self._tried or time.monotonic() >= self._retry_at

    def failed(self, tried: tuple, message: str) -> None:
        if tried != self._tried:
            self._backoff = self.every
        self._tried, self.error, self.error_at = tried, message, _utc()
        self._retry_at = time.monotonic() + self._backoff
        self._backoff = min(self._backoff * 2, MAX_BACKOFF)

    def succeeded(self) -> None:
        self.error = self.error_at = self.differs_since = None
        self._tried = None

    @property
    def failing(self) -> bool:
        return self.error is not None

    def to_dict(self) -> dict:
        return {"status": "failing" if self.failing else ("pending" if self.differs_since else "ok"),
                "every": self.every, "checked_at": self.checked_at, "differs_since": self.differs_since,
                "last_error": self.error, "last_error_at": self.error_at}


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
    def lock(self, shared: bool = False):
        """Exclusive: to reload and bump; shared: to load a published copy (no bump meanwhile)."""
        with open(self.dir / "lock", "a+") as f:
            fcntl.flock(f, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
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

    def bump(self, book, fp: tuple, allow_removed: bool = False) -> int:
        """Publish the version ``book`` (a Rulebook) serves as generation + 1 (call
        under ``lock``); returns it.  Its workbooks are copied to ``book-<n>/``, which
        the other workers load (``Rulebook.reload(source=...)``): they serve exactly
        this version even if the tables change meanwhile.  ``allow_removed``: the
        operator let this reload take decisions out."""
        self._seen = None
        n = int(self.read().get("generation", 0)) + 1
        snapshot = f"book-{n}"
        shutil.rmtree(self.dir / snapshot, ignore_errors=True)  # a leftover of a crash
        book.write_files(self.dir / snapshot)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"generation": n, "version": book.version, "fingerprint": list(map(list, fp)),
                                   "allow_removed": allow_removed, "book": snapshot}), "utf-8")
        os.replace(tmp, self.path)  # readers see the old stamp or the new one whole
        with contextlib.suppress(OSError):
            (self.dir / "failed.json").unlink()  # the workbooks load again
        for old in self.dir.glob("book-*"):  # none is being loaded: that takes the lock, shared
            if old.name != snapshot:
                shutil.rmtree(old, ignore_errors=True)
        return n

    # -- a refused POST /reload, shown by every worker's /health until the next bump
    def failed(self, failure: dict) -> None:
        tmp = self.dir / "failed.tmp"
        tmp.write_text(json.dumps(failure), "utf-8")
        os.replace(tmp, self.dir / "failed.json")

    def failure(self) -> dict | None:
        try:
            return json.loads((self.dir / "failed.json").read_text("utf-8"))
        except (OSError, ValueError):
            return None

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
