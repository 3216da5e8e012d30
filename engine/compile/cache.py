"""The compile cache: the checked IR (``ir.Book``) of a set of workbooks, kept on disk
so that loading the same workbooks again skips reading them with openpyxl, parsing
every cell and checking the sheets.

An entry is keyed by everything the Book is made from: the workbooks' bytes (and their
names), the decision services offered, the reading limits, the engine (its distribution
version and the size and time of every source file of ``decide.model`` and
``decide.compile``, so an edited checkout misses too), the openpyxl installed (where,
and its files' sizes and times) and Python's version.
So an entry is never stale: anything that could change the Book changes the key.
Workbooks with errors are never stored (``WorkbookError`` is raised before ``put``).

- Where: ``$DECIDE_CACHE_DIR`` if set, else the user's cache directory
  (``$XDG_CACHE_HOME/decide``, ``~/.cache/decide`` on Linux), in a sub-directory
  ``books-1`` that this user owns and no one else may write to (else the cache is
  not used: an entry is a pickle).
- Off: ``DECIDE_CACHE=0`` (or ``false``, ``no``, ``off``); ``decide --no-cache``.
- Safe to delete at any time, whole or entry by entry.  An entry that is truncated,
  damaged, unreadable or from another format is ignored (a miss) and written again.
- Writes are atomic (a temporary file renamed into place): concurrent writers of the
  same entry each write a whole file and the last rename wins; a reader sees either
  no entry or a whole one.  At most ``MAX_ENTRIES`` entries and ``MAX_BYTES`` are kept
  (least recently used go first).
"""
from __future__ import annotations

import hashlib
import os
import pickle
import sys
from pathlib import Path
from typing import Any, Iterable, Mapping

FORMAT = 1  # bump when the entry layout changes
MAGIC = b"decide compile cache %d\n" % FORMAT
SUBDIR = f"books-{FORMAT}"
MAX_ENTRIES = 64  # rule sets kept
MAX_BYTES = 512 * 1_000_000  # and at most this much of them (a 10,000-rule Book is about 5 MB)
CODE_MAGIC = b"decide code cache %d\n" % FORMAT
MAX_CODES = 4096  # compiled decision functions kept (a few kB each)
_OFF = ("0", "false", "no", "off")
_PACKAGES = ("model", "compile")  # the sub-packages whose code makes the Book


def enabled(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the cache is on (it is unless DECIDE_CACHE says 0, false, no or off)."""
    return environ.get("DECIDE_CACHE", "").strip().lower() not in _OFF


def directory(environ: Mapping[str, str] = os.environ, sub: str = SUBDIR) -> Path:
    """Where the entries are: $DECIDE_CACHE_DIR, else the user's cache directory for decide."""
    given = environ.get("DECIDE_CACHE_DIR", "").strip()
    if given:
        base = Path(given).expanduser()
    elif sys.platform.startswith("linux"):  # the XDG rule, as platformdirs applies it (5 ms less to import)
        xdg = environ.get("XDG_CACHE_HOME", "").strip()
        base = Path(xdg if os.path.isabs(xdg) else Path.home() / ".cache") / "decide"
    else:
        from platformdirs import user_cache_dir
        base = Path(user_cache_dir("decide", appauthor=False))
    return base / sub


def engine_version() -> str:
    """The installed distribution version of decide."""
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("decide")
    except PackageNotFoundError:
        return "0+unknown"


def _openpyxl_stamp() -> str:
    """Which openpyxl is installed, without importing it or reading its metadata (17 ms on
    a cold start): where its package is and the size and time of its ``__init__`` and
    ``_constants`` (the version) files, which an install or upgrade rewrites."""
    from importlib.util import find_spec
    try:
        spec = find_spec("openpyxl")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.origin:
        return "?"
    parts = [spec.origin]
    for name in ("__init__.py", "_constants.py"):
        try:
            st = os.stat(os.path.join(os.path.dirname(spec.origin), name))
            parts.append(f"{name}:{st.st_size}:{st.st_mtime_ns}")
        except OSError:
            parts.append(f"{name}:-")
    return " ".join(parts)


_ENGINE: str | None = None


def engine_fingerprint() -> str:
    """What of the engine a Book depends on, as one string (computed once per process)."""
    global _ENGINE
    if _ENGINE is None:
        root = Path(__file__).resolve().parent.parent
        parts = [engine_version(), _openpyxl_stamp(), sys.implementation.cache_tag or "", sys.version]
        for pkg in _PACKAGES:
            with os.scandir(root / pkg) as it:
                for e in sorted(it, key=lambda e: e.name):
                    if e.name.endswith(".py"):
                        st = e.stat()
                        parts.append(f"{pkg}/{e.name}:{st.st_size}:{st.st_mtime_ns}")
        _ENGINE = "\n".join(parts)
    return _ENGINE


def key(files: Mapping[str, bytes], services: Iterable[Any], limits: Any) -> str | None:
    """The entry's name for a Book built from ``files`` (name → bytes) with ``services``
    and ``limits``; None when the services cannot be fingerprinted (then nothing is cached)."""
    try:
        svc = pickle.dumps(list(services), protocol=4)
    except Exception:  # a lambda or a local function as a derive hook: not cacheable
        return None
    h = hashlib.sha256()
    for part in (MAGIC, engine_version().encode(), engine_fingerprint().encode(), repr(limits).encode(), svc):
        h.update(len(part).to_bytes(8, "big") + part)
    for rel in sorted(files):
        data = files[rel]
        h.update(rel.encode("utf-8") + b"\0" + len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()


_USABLE: set[Path] = set()  # directories found usable in this process


def _usable(d: Path, create: bool) -> bool:
    """The directory exists (made if ``create``), is a real directory this user owns,
    and only this user may write to it."""
    if d in _USABLE and not create:  # a write makes sure again (it may have been deleted)
        return True
    try:
        if create:
            d.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = os.lstat(d)
    except OSError:
        return False
    import stat
    if not stat.S_ISDIR(st.st_mode):
        return False
    if hasattr(os, "getuid") and (st.st_uid != os.getuid() or st.st_mode & 0o022):
        return False
    _USABLE.add(d)
    return True


def get(key: str | None, environ: Mapping[str, str] = os.environ):
    """The Book stored under ``key``, or None (off, absent, unreadable or damaged)."""
    if key is None or not enabled(environ):
        return None
    d = directory(environ)
    path = d / f"{key}.pickle"
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    if not _usable(d, create=False):
        return None
    n = len(MAGIC)
    if not data.startswith(MAGIC) or hashlib.sha256(data[n + 32:]).digest() != data[n:n + 32]:
        return None
    try:
        stored_key, book = pickle.loads(data[n + 32:])
    except Exception:  # a class that moved, a truncated stream: a miss
        return None
    if stored_key != key:
        return None
    try:
        os.utime(path)  # recently used: pruned last
    except OSError:
        pass
    return book


def put(key: str | None, book: Any, environ: Mapping[str, str] = os.environ) -> bool:
    """Store ``book`` under ``key``, atomically; False if it could not be (never raises)."""
    if key is None or not enabled(environ):
        return False
    d = directory(environ)
    if not _usable(d, create=True):
        return False
    try:
        payload = pickle.dumps((key, book), protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:
        return False
    if not _write(d, d / f"{key}.pickle", MAGIC + hashlib.sha256(payload).digest() + payload):
        return False
    _prune(d)
    return True


def _prune(d: Path, keep: int | None = None, budget: int | None = None) -> None:
    """Remove the least recently used entries beyond ``keep`` entries or ``budget`` bytes
    (the newest is always kept), and temporary files left by a writer that died, once
    they are an hour old."""
    keep = MAX_ENTRIES if keep is None else keep
    budget = MAX_BYTES if budget is None else budget
    try:
        with os.scandir(d) as it:
            entries = []
            for e in it:
                if e.is_file(follow_symlinks=False):
                    st = e.stat(follow_symlinks=False)
                    entries.append((st.st_mtime, st.st_size, e.path, e.name))
    except OSError:
        return
    import time
    now = time.time()
    books = sorted((e for e in entries if not e[3].startswith(".tmp-")), reverse=True)
    stale = [e for e in entries if e[3].startswith(".tmp-") and now - e[0] > 3600]
    total, drop = 0, []
    for i, e in enumerate(books):
        total += e[1]
        if i and (i >= keep or total > budget):
            drop.append(e)
    for _, _, path, _ in drop + stale:
        try:
            os.unlink(path)
        except OSError:
            pass


def compile_code(source: str, filename: str, mode: str = "exec", environ: Mapping[str, str] = os.environ):
    """``compile(source, filename, mode)``, through the cache: the native runtime's generated
    functions are compiled by Python once per source text and Python version (the code
    object is kept marshalled, keyed by both).  Python's own errors propagate as they would."""
    if not enabled(environ):
        return compile(source, filename, mode)
    import marshal
    h = hashlib.sha256(CODE_MAGIC)
    for part in (sys.version, sys.implementation.cache_tag or "", filename, mode, source):
        data = part.encode("utf-8", "surrogatepass")
        h.update(len(data).to_bytes(8, "big") + data)
    d = directory(environ, f"code-{FORMAT}")
    path = d / f"{h.hexdigest()}.marshal"
    try:
        with open(path, "rb") as f:
            data = f.read()
        n = len(CODE_MAGIC)
        if data.startswith(CODE_MAGIC) and hashlib.sha256(data[n + 32:]).digest() == data[n:n + 32] \
                and _usable(d, create=False):
            return marshal.loads(data[n + 32:])
    except (OSError, ValueError, EOFError, TypeError):
        pass
    code = compile(source, filename, mode)
    payload = marshal.dumps(code)
    if _usable(d, create=True) and _write(d, path, CODE_MAGIC + hashlib.sha256(payload).digest() + payload):
        if os.urandom(1) < b"\x05":  # now and then (2 %): the directory stays bounded
            _prune(d, MAX_CODES, MAX_BYTES)
    return code


def _write(d: Path, path: Path, data: bytes) -> bool:
    """``data`` into ``path`` atomically (a temporary file in ``d`` renamed over it)."""
    import tempfile
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
        tmp = None
        return True
    except OSError:
        return False
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def clear(environ: Mapping[str, str] = os.environ) -> int:
    """Delete every entry (Books and compiled code); the number deleted."""
    names = []
    for sub in (SUBDIR, f"code-{FORMAT}"):
        try:
            with os.scandir(directory(environ, sub)) as it:
                names += [e.path for e in it if e.name.endswith((".pickle", ".marshal"))]
        except OSError:
            pass
    n = 0
    for p in names:
        try:
            os.unlink(p)
            n += 1
        except OSError:
            pass
    return n
