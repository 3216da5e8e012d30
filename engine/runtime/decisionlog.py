"""The decision log: one JSON line per decision, appended, rotated by size.

    log = decide.DecisionLog("decisions.jsonl", max_bytes=100 << 20, backups=10)
    book = decide.load("tables/", decision_log=log)      # every decision of this book
    book.decide("card_eligibility", facts, decision_log=log, id="req-42")   # or one call

A line (docs/operations.md): ``{"time", "id", "decision", "version", "label",
"as_of", "engine", "facts", "outputs", "fired"}``; numbers are written digit for
digit as the case JSON writes them, so a log is a case corpus again (``decide diff
--cases``, ``decide replay``).  A sink is a ``DecisionLog`` or any callable that
takes the record dict; a sink that raises fails the decision (``Rulebook.decide``
lets the error through), so no decision is answered without its line.

Writing: each line is encoded whole and written with one ``os.write`` on a file
descriptor opened with ``O_APPEND``: the kernel puts it at the end of the file in
one piece, so lines of threads and of processes appending to the same file
(``decide serve --workers N``, ``decide batch --workers N``) never interleave, and a
process killed (even by ``kill -9``) leaves no part of a line: a ``write`` to a
regular file either happened or did not.  Nothing is buffered in the process, so
a line is in the operating system's hands when ``record`` returns (``fsync=True``
also forces it to the disk, at a cost, for power loss).

Recovery: a file whose last line has no ``\\n`` (a machine that crashed, a disk that
filled up mid-line) gets a ``\\n`` before the next line, so every complete line still
parses; ``read`` skips an unparseable line and reports it.

Rotation: when the file would grow past ``max_bytes``, it becomes ``PATH.1`` (``PATH.1``
becomes ``PATH.2`` …, ``PATH.<backups>`` is dropped) and a new ``PATH`` begins.
Processes sharing the file rotate under an exclusive ``fcntl.flock`` on
``PATH.lock``; before each line a writer checks that ``PATH`` is still the file it
holds (its inode) and opens the new one otherwise, so one process rotates and the
others follow.  A line written by another process in the instant between that check
and its write lands at the end of the file just rotated (``PATH.1``): never lost,
never torn, which is why a backup may exceed ``max_bytes`` by a few lines.
"""
from __future__ import annotations

import datetime as _dt
import fcntl
import json
import os
import random as _random
import stat
import threading
from decimal import Decimal
from json.encoder import c_make_encoder, encode_basestring
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping

from decide.model.errors import DecideError
from decide.model.values import to_json

Sink = Callable[[dict], Any]
_UTC = _dt.timezone.utc
_FORK_LOCK = threading.Lock()
_PLAIN = frozenset({str, int, bool, type(None)})  # written as they are: no to_json needed


class DecisionLogError(DecideError, OSError):
    """The decision log could not be written; ``str()`` says which file and why."""


# --------------------------------------------------------------------------- the record
_UUID4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID4_SET = (0x4000 << 64) | (0x8000 << 48)


def new_id() -> str:
    """A random uuid4 as 32 hex digits (``uuid.uuid4().hex``'s form), from ``random``'s
    generator: an id must be unique, not secret, and this costs a tenth of
    ``os.urandom`` (``random`` reseeds itself in a forked child, so workers differ)."""
    return "%032x" % ((_random.getrandbits(128) & _UUID4_CLEAR) | _UUID4_SET)


def record(book, name: str, facts: Mapping[str, Any], result, id: str | None = None,
           time: str | None = None) -> dict:
    """The log record of one decision (``result``, decided by ``book`` on ``facts``);
    ``time`` (ISO 8601) defaults to now."""
    version = result.version if result.version is not None else book.version
    label = version.rpartition("+")[0] or None
    as_of = getattr(result, "as_of", None)
    if "decision" in facts:
        facts = {k: v for k, v in facts.items() if k != "decision"}
    return {"time": time or _dt.datetime.now(_UTC).isoformat(), "id": id or new_id(), "decision": name,
            "version": version, "label": label,
            "as_of": as_of.isoformat() if hasattr(as_of, "isoformat") else as_of,
            "engine": book.engine, "facts": facts,
            "outputs": {k: v if v.__class__ in _PLAIN else to_json(v) for k, v in result.outputs.items()},
            "fired": [{"table": f.table, "rule": f.rule} for f in result.fired]}


# --------------------------------------------------------------------------- encoding
class _Exact(Exception):
    """A Decimal the C encoder cannot write digit for digit."""


def _default(o: Any) -> Any:
    if isinstance(o, Decimal):
        if o.is_finite() and o.as_tuple().exponent == 0:
            return int(o)
        raise _Exact
    return _other(o)


def _other(o: Any) -> Any:
    v = to_json(o)
    if v is not o:
        return v
    if isinstance(o, (set, frozenset)):
        return sorted(o, key=str)
    return str(o)  # an API caller's object the case JSON has no form for: its text


def _number(d: Decimal) -> str:
    if not d.is_finite():
        return json.dumps(str(d))
    return str(int(d)) if d.as_tuple().exponent == 0 else str(d)


def _slow(o: Any) -> str:
    """What ``json.dumps(o, ensure_ascii=False)`` writes, Decimals digit for digit."""
    if isinstance(o, str) or o is None or isinstance(o, (bool, int)):
        return json.dumps(o, ensure_ascii=False)
    if isinstance(o, float):
        return json.dumps(o) if o == o and o not in (float("inf"), float("-inf")) else json.dumps(str(o))
    if isinstance(o, Decimal):
        return _number(o)
    if isinstance(o, dict):
        return "{" + ", ".join(f"{json.dumps(str(k) if not isinstance(k, str) else k, ensure_ascii=False)}: "
                               f"{_slow(v)}" for k, v in o.items()) + "}"
    if isinstance(o, (list, tuple)):
        return "[" + ", ".join(_slow(v) for v in o) + "]"
    return _slow(_other(o))


_C_ENCODE = c_make_encoder(None, _default, encode_basestring, None, ": ", ", ", False, False, False) \
    if c_make_encoder is not None else None  # json.dumps's own C encoder, made once


def encode(rec: Mapping[str, Any]) -> bytes:
    """One record as one line of UTF-8 (with its ``\\n``), written as the case JSON is
    (``decide.app.casejson.dumps(..., pretty=False)``: Decimals digit for digit,
    non-ASCII text as is); a ``\\n`` inside text is escaped, so a line is a line."""
    try:
        text = "".join(_C_ENCODE(rec, 0)) if _C_ENCODE is not None else \
            json.dumps(rec, ensure_ascii=False, default=_default, allow_nan=False)
    except (_Exact, ValueError, TypeError):  # a fraction, NaN, a key json refuses: the exact encoder
        text = _slow(rec)
    return (text + "\n").encode("utf-8", "backslashreplace")  # a lone surrogate as its JSON escape


# --------------------------------------------------------------------------- the writer
class DecisionLog:
    """An append-only JSON Lines decision log at ``path`` (created with its directory
    if missing).  ``max_bytes`` (0: never) rotates it to ``PATH.1`` … ``PATH.<backups>``;
    ``fsync`` forces every line to the disk.  Thread-safe, safe across processes
    appending to the same file, and survives a fork (the child opens its own
    descriptor).  Picklable: a copy in another process opens the same file."""

    def __init__(self, path: str | os.PathLike, *, max_bytes: int = 0, backups: int = 5,
                 fsync: bool = False):
        if max_bytes < 0:
            raise ValueError("max_bytes is 0 (no rotation) or more")
        if backups < 1:
            raise ValueError("backups is 1 or more (PATH.1 … PATH.<backups>)")
        self.path = os.fspath(path)
        self.max_bytes, self.backups, self.fsync = int(max_bytes), int(backups), fsync
        self._lock = threading.Lock()
        self._fd, self._pid = None, os.getpid()
        self._torn = False  # our last write was cut short: start the next line afresh
        with self._lock:
            self._open(recover=True)

    # -- pickling and forks
    def __getstate__(self) -> dict:
        return {"path": self.path, "max_bytes": self.max_bytes, "backups": self.backups, "fsync": self.fsync}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["path"], max_bytes=state["max_bytes"], backups=state["backups"],
                      fsync=state["fsync"])

    def __repr__(self) -> str:
        return f"<DecisionLog {self.path} max_bytes={self.max_bytes} backups={self.backups}>"

    # -- writing
    def __call__(self, rec: Mapping[str, Any]) -> None:
        self.write([encode(rec)])

    record = __call__

    def record_many(self, recs: Iterable[Mapping[str, Any]]) -> None:
        """Several records, in as few writes as rotation allows (one without it);
        each a whole line, with the same guarantees."""
        lines = [encode(r) for r in recs]
        if lines:
            self.write(lines)

    def write(self, lines: list[bytes]) -> None:
        """Append encoded lines (each ending in a newline), as many per ``os.write`` as fit
        before ``max_bytes`` (rotating when the next would pass it; a line longer than
        ``max_bytes`` goes whole into a file of its own).  Raises ``DecisionLogError``."""
        if self._pid != os.getpid():  # forked: the parent's lock and descriptor are not ours
            self._forked()
        with self._lock:
            if not self.max_bytes:
                self._append(b"".join(lines))
                return
            i = 0
            while i < len(lines):
                try:
                    size = self._current().st_size
                    if size and size + len(lines[i]) > self.max_bytes and self._regular:
                        size = self._rotate(len(lines[i])).st_size
                except OSError as e:
                    raise DecisionLogError(f"cannot write the decision log {self.path}: "
                                           f"{e.strerror or e}") from None
                j, room = i, self.max_bytes - size
                while j < len(lines) and (j == i or len(lines[j]) <= room):
                    room -= len(lines[j])
                    j += 1
                self._append(b"".join(lines[i:j]), checked=True)
                i = j

    def _append(self, data: bytes, checked: bool = False) -> None:
        """One ``os.write`` of ``data`` (under ``_lock``)."""
        try:
            if not checked:
                self._current()
            if self._torn:
                data = b"\n" + data
            n = os.write(self._fd, data)
            if n != len(data):
                self._torn = True
                raise OSError(f"only {n} of {len(data)} bytes written (is the disk full?)")
            self._torn = False
            if self.fsync:
                os.fsync(self._fd)
        except OSError as e:
            raise DecisionLogError(f"cannot write the decision log {self.path}: "
                                   f"{e.strerror or e}") from None

    def _forked(self) -> None:
        with _FORK_LOCK:
            if self._pid != os.getpid():
                if self._fd is not None:
                    try:
                        os.close(self._fd)  # this process's copy of the parent's descriptor
                    except OSError:
                        pass
                self._lock, self._fd, self._pid = threading.Lock(), None, os.getpid()

    def close(self) -> None:
        with self._lock:
            if self._fd is not None and self._pid == os.getpid():
                os.close(self._fd)
            self._fd = None

    # -- the file
    def _open(self, recover: bool = False) -> None:
        """Open ``path`` for appending (after a rotation by another process, or a fork);
        ``recover``: end a torn last line first, under the rotation lock."""
        if self._fd is not None:
            os.close(self._fd)
        self._fd, self._pid = None, os.getpid()
        try:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as e:
            raise DecisionLogError(f"cannot open the decision log {self.path}: {e.strerror or e}") from None
        self._fd = fd
        st = os.fstat(fd)
        self._ino = (st.st_dev, st.st_ino)
        try:  # rotation and recovery only for a regular file at PATH itself: never a device,
            # a pipe, or a symbolic link (renaming /dev/stdout would rename the link)
            self._regular = stat.S_ISREG(os.lstat(self.path).st_mode)
        except OSError:
            self._regular = False
        if recover and st.st_size and self._regular:
            try:
                with self._flock():
                    if not _ends_with_newline(self.path):
                        os.write(fd, b"\n")
            except OSError as e:
                raise DecisionLogError(f"cannot write the decision log {self.path}: {e.strerror or e}") from None

    def _current(self) -> os.stat_result:
        """The stat of ``path`` once this writer holds that very file (reopened if another
        process rotated it or someone moved it away)."""
        if self._fd is None:
            self._open()
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            st = None
        if st is None or (st.st_dev, st.st_ino) != self._ino:
            self._open()
            st = os.fstat(self._fd)
        return st

    def _flock(self):
        return _FileLock(self.path + ".lock")

    def _rotate(self, incoming: int) -> os.stat_result:
        with self._flock():
            st = self._current()  # another process may have rotated while we waited
            if not (st.st_size and st.st_size + incoming > self.max_bytes and self._regular):
                return st
            for i in range(self.backups - 1, 0, -1):
                src = f"{self.path}.{i}"
                if os.path.exists(src):
                    os.replace(src, f"{self.path}.{i + 1}")
            os.replace(self.path, f"{self.path}.1")
            self._open()
            return os.fstat(self._fd)


class _FileLock:
    def __init__(self, path: str):
        self.path = path

    def __enter__(self):
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)
        return False


def _ends_with_newline(path: str) -> bool:
    with open(path, "rb") as f:
        end = f.seek(0, os.SEEK_END)
        if not end:
            return True
        f.seek(end - 1)
        return f.read(1) == b"\n"


# --------------------------------------------------------------------------- reading
def files(path: str | os.PathLike) -> list[Path]:
    """The files of a log, oldest first: ``PATH.N`` … ``PATH.1``, ``PATH`` (those that exist)."""
    p = Path(path)
    backups = []
    for q in p.parent.glob(p.name + ".*"):
        suffix = q.name[len(p.name) + 1:]
        if suffix.isdigit():
            backups.append((int(suffix), q))
    return [q for _, q in sorted(backups, reverse=True)] + ([p] if p.exists() else [])


def read(path: str | os.PathLike, *, rotated: bool = False,
         bad: Callable[[str, int, str], None] | None = None) -> Iterator[dict]:
    """The records of the log at ``path`` (with ``rotated``, of its backups first,
    oldest first), numbers as ``int``/``Decimal``.  A line that does not parse (the
    torn tail a crash left) is skipped and passed to ``bad(file, line number, why)``."""
    for f in files(path) if rotated else [Path(path)]:
        with open(f, "rb") as stream:
            for lineno, raw in enumerate(stream, 1):
                if not raw.strip():
                    continue
                try:
                    rec = json.loads(raw, parse_float=Decimal)
                    if not raw.endswith(b"\n"):
                        raise ValueError("the last line has no end: a write was cut short")
                    if not isinstance(rec, dict):
                        raise ValueError("not a JSON object")
                except ValueError as e:
                    if bad:
                        bad(str(f), lineno, str(e))
                    continue
                yield rec


def log_outcomes(sink: Sink, book, name: str, ids: Iterable[str], facts: Iterable[Any], results: Iterable[Any]) -> None:
    """Log a batch's decisions: one record per result that is not None (errors are not
    decisions), with its id; a ``DecisionLog`` writes them all in one ``write``."""
    now = _dt.datetime.now(_UTC).isoformat()  # a piece of a batch is decided within milliseconds
    recs = [record(book, name, f, r, i, now) for i, f, r in zip(ids, facts, results) if r is not None]
    if not recs:
        return
    many = getattr(sink, "record_many", None)
    if many is not None:
        many(recs)
    else:
        for r in recs:
            sink(r)
