"""The embedding API: ``load`` a directory of workbooks, ``decide`` cases."""
from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from time import time as _time
from pathlib import Path
from typing import Any, Iterable, Mapping

from decide.model.asof import AS_OF, Dates, time_zone
from decide.model.errors import CaseError, WorkbookError, did_you_mean
from decide.model.ir import Book, DecisionService
from decide.runtime.decisionlog import record as log_record
from decide.runtime.native import compile_book, compile_validators, source as native_source
from decide.runtime.result import Result

ENGINES = ("native", "durable")
LABEL_FILE = "VERSION"  # beside the workbooks: its first line labels the rule set
_LABEL_OK = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")


class ReloadRefused(WorkbookError):
    """A reload would take decisions out of service; ``removed`` names them.
    ``Rulebook.reload(allow_removed=True)`` installs such a rule set anyway."""

    def __init__(self, removed: Iterable[str], missing: Iterable[str] = ()):
        self.removed = sorted(removed)
        self.missing = sorted(missing)  # workbooks of the version in service no longer there
        self.diagnostics = [_missing_diagnostic(m) for m in self.missing]
        gone = f" ({', '.join(self.missing)} missing)" if self.missing else ""
        Exception.__init__(self, "reload refused: the new workbooks lack decision"
                           f"{'s' if len(self.removed) != 1 else ''} {', '.join(self.removed)} that the "
                           f"version in service offers{gone} (reload with allow_removed to take them out)")

    def to_dict(self) -> dict:
        return {"error": "decisions_removed", "message": str(self), "removed": self.removed,
                "missing": self.missing}


def _missing_diagnostic(workbook: str):
    from decide.model.errors import Diagnostic
    from decide.model.ir import Loc
    return Diagnostic("E108", "error", Loc(workbook, "", ""),
                      "is missing: the version in service has it (deleted, renamed, or being saved "
                      "by a temporary file and a rename?)")


@dataclass(frozen=True)
class DecisionInfo:
    """What ``Rulebook.decisions`` lists: a decision's name, kind, inputs and outputs."""

    name: str
    kind: str  # "service" or "table"
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    tables: tuple[str, ...]


class Rulebook:
    """A loaded, checked and compiled set of workbooks.  Thread-safe: one instance
    serves any number of threads; ``reload()`` swaps in a new version atomically.

    Picklable, to ship to worker processes (``multiprocessing``, Spark, Dask): the
    pickle holds the bytes of the workbooks of the version in service (not their
    path, which a worker may not see), and unpickling compiles them again, once per
    process for the same bytes (a cache keyed by their SHA-256)."""

    def __init__(self, path: str | os.PathLike, *, engine: str = "native",
                 services: Iterable[DecisionService] | None = None, decision_log=None):
        if engine not in ENGINES:
            raise ValueError(f'engine must be one of {", ".join(ENGINES)}, not "{engine}"')
        self.path = Path(path)
        self.engine = engine
        self._services = None if services is None else list(services)
        self._lock = threading.Lock()
        self.decision_log = decision_log  # a sink every decision is logged to (runtime/decisionlog.py)
        self._install(self._compile())

    def _compile(self, directory: str | os.PathLike | None = None):
        from decide.compile.loader import collector_paused, load_workbooks  # openpyxl: only on a cache miss
        where = directory or self.path
        for attempt in range(_ATTEMPTS):  # a save during the read: read again, so one version is what was read
            before = _file_keys(where)
            try:
                book, files = load_workbooks(where, self._services)  # files: the bytes parsed
            except WorkbookError:  # of files that changed meanwhile: read them again
                if attempt + 1 < _ATTEMPTS and _changed(before, _file_keys(where)):
                    continue
                raise
            label = read_label(where)
            changed = _changed(before, _file_keys(where))
            if not changed:
                break
        else:
            raise _changing_error(changed)
        if self.engine == "durable":
            from decide.runtime.durable.backend import DurableBackend  # imported only when asked for
            backend = DurableBackend(book)
            validators = compile_validators(book)
            fns = {name: _durable_decider(book, name, backend, validators[name]) for name in book.decisions}
        else:
            backend = None
            with collector_paused():  # many objects, few cycles: about 2× faster on large tables
                fns = compile_book(book)
        dated = frozenset(n for n, p in book.decisions.items() if AS_OF in p.inputs)  # they read the date
        dates = Dates(time_zone(book.time_zone), dated)
        return book, fns, backend, files, make_version(_digest(files), label), dates

    def _install(self, compiled):
        # One assignment: a thread sees either the old version whole or the new one whole.
        self._state = compiled

    @property
    def ir(self) -> Book:
        """The checked IR (``decide.model.ir.Book``) of the version in service."""
        return self._state[0]

    def decide(self, name: str, facts: Mapping[str, Any], *, as_of=None, decision_log=None,
               id: str | None = None) -> Result:
        """Evaluate decision ``name`` (a decision service or a table) on ``facts`` as of
        the date ``as_of`` (a ``datetime.date`` or ISO text; default: the case's own
        ``as_of`` fact, else today in the rule set's time zone).  ``decision_log`` (else
        the book's, from ``load``) receives the decision's record (``decide.DecisionLog``
        or any callable; ``id`` names it, else a uuid4)."""
        state = self._state  # read once: a reload between two reads mixes versions
        try:
            fn = state[1][name]
        except (KeyError, TypeError):
            raise _unknown(name, state[1]) from None
        dates = state[5]
        if as_of is None and type(facts) is dict and AS_OF not in facts and name not in dates.dated:
            t, span = _time(), dates.span  # the common case: today, kept with its bounds
            day = span[2] if span[0] <= t < span[1] else dates.today(t)
        else:
            facts, day = dates.supply(name, facts, as_of)
        result = fn(facts, state[4])  # a compiled decision takes the version its Result carries
        result.as_of = day
        if decision_log is not None or self.decision_log is not None:
            (decision_log or self.decision_log)(log_record(self, name, facts, result, id))
        return result

    def warm(self) -> None:
        """Load what the decision services load on first use (``DecisionService.warm``:
        a dictionary, a model) now, so that the first decision costs what the others
        do.  ``decide serve`` and ``decide batch`` call it at start."""
        for service in self._state[0].services.values():
            if service.warm is not None:
                service.warm()

    @property
    def time_zone(self) -> str:
        """The time zone whose today is the default as-of date (a Settings sheet's, else UTC)."""
        return self._state[0].time_zone

    @property
    def version(self) -> str:
        """The rule-set version in service: ``LABEL+ID`` (``ID`` alone without a label),
        ID = 12 hex digits of a SHA-256 over the workbooks' bytes (sorted by relative
        path) and the engine's distribution version; LABEL = the first line of a
        ``VERSION`` file beside the workbooks.  Every ``Result`` carries it."""
        return self._state[4]

    def source(self, name: str) -> str:
        """The Python source of the function the native runtime compiles for decision
        ``name`` (compiled on asking when this book runs on another engine)."""
        ir, fns = self._state[:2]
        if not isinstance(name, str) or name not in fns:
            raise _unknown(name, fns)
        return getattr(fns[name], "source", None) or native_source(ir, name)

    def reload(self, *, allow_removed: bool = False, source: str | os.PathLike | None = None) -> None:
        """Load the workbooks again.  On error the current version stays in service
        (the WorkbookError propagates); on success the new one replaces it whole.
        A rule set that lacks a decision the version in service offers (a workbook
        missing, half-saved, renamed) is refused with ``ReloadRefused``, a
        WorkbookError, unless ``allow_removed``.  ``source``: load the copy that
        ``write_files`` made (another process's version) instead of ``path``."""
        with self._lock:
            try:
                compiled = self._compile(source)
            except WorkbookError as e:  # a missing workbook first: it explains the rest
                if source is not None:
                    raise
                present = set(_read_files(self.path, names_only=True))  # none: E100 says why
                missing = set(self._state[3]) - present
                if present and missing and not isinstance(e, ReloadRefused):
                    raise WorkbookError([*map(_missing_diagnostic, sorted(missing)), *e.diagnostics]) from None
                raise
            removed = set(self._state[0].decisions) - set(compiled[0].decisions)
            if removed and not allow_removed:
                raise ReloadRefused(removed, set(self._state[3]) - set(compiled[3]))
            self._install(compiled)

    def write_files(self, directory: str | os.PathLike) -> None:
        """Write the workbooks of the version in service, and its label, into the
        (new) ``directory``: ``reload(source=directory)`` in another process then
        serves this very version, whatever the tables directory holds by then."""
        d = Path(directory)
        files, version = self._state[3], self._state[4]
        for rel, data in files.items():
            target = d / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        if "+" in version:
            (d / LABEL_FILE).write_text(version.partition("+")[0] + "\n", "utf-8")

    def snapshot(self) -> tuple[str, dict[str, bytes]]:
        """The version in service and the workbooks' bytes it was computed from
        ({name relative to the tables: bytes}), read together (never of two versions)."""
        state = self._state
        return state[4], dict(state[3])

    @property
    def decisions(self) -> dict[str, DecisionInfo]:
        return {n: DecisionInfo(n, p.kind, p.inputs, p.outputs, p.tables)
                for n, p in self.ir.decisions.items()}

    @property
    def digest(self) -> str:
        """SHA-256 (hex) of the workbooks of the version in service: their names and bytes."""
        return _digest(self._state[3])

    def __getstate__(self) -> dict:
        return {"path": str(self.path), "engine": self.engine, "services": self._services,
                "files": self._state[3], "version": self._state[4]}

    def __setstate__(self, state: dict) -> None:
        self.path, self.engine = Path(state["path"]), state["engine"]
        self._services = state["services"]
        self._lock = threading.Lock()
        self.decision_log = None  # a sink does not travel with the pickle
        files = state["files"]
        version = state.get("version")  # the label file does not travel: the version does
        key = (_digest(files), self.engine, version) if self.engine == "native" and self._services is None \
            else None
        with _UNPICKLED_LOCK:
            compiled = _UNPICKLED.get(key) if key else None
            if compiled is None:
                import tempfile  # only here: a few ms of imports that a plain load does without
                with tempfile.TemporaryDirectory(prefix="decide-book-") as d:
                    for rel, data in files.items():
                        target = Path(d, rel)
                        target.parent.mkdir(parents=True, exist_ok=True)
                        target.write_bytes(data)
                    compiled = self._compile(d)
                    if version:
                        compiled = (*compiled[:4], version, *compiled[5:])
                if key:
                    _UNPICKLED[key] = compiled
        self._install(compiled)

    def __repr__(self) -> str:
        return f"<Rulebook {self.path} ({self.engine}) version {self.version}: {len(self.ir.tables)} " \
               f"tables, {len(self.ir.decisions)} decisions>"


_UNPICKLED: dict = {}  # (digest, engine, version) → compiled version: one compile per process
_UNPICKLED_LOCK = threading.Lock()


def _read_files(path: str | os.PathLike, names_only: bool = False) -> dict[str, bytes]:
    """The workbooks under ``path`` as {name relative to it: bytes} (what a pickle ships)."""
    d = Path(path)
    files = {}
    from decide.compile.source import workbook_paths
    for p in workbook_paths(d) if d.exists() else ():
        try:
            files[p.name if d.is_file() else str(p.relative_to(d))] = b"" if names_only else p.read_bytes()
        except OSError:
            continue  # the loader reports it
    return files


_ATTEMPTS = 3  # reads of workbooks that keep changing while being read


def _file_keys(path: str | os.PathLike) -> dict[str, tuple]:
    """Identity and state of each file a load reads (workbooks and ``VERSION``): a file
    renamed over, rewritten or touched during a load changes its key."""
    from decide.compile.source import workbook_paths
    d = Path(path)
    paths = list(workbook_paths(d)) if d.exists() else []
    paths.append((d.parent if d.is_file() else d) / LABEL_FILE)
    keys = {}
    for p in paths:
        try:
            st = os.stat(p)
        except OSError:
            continue
        keys[p.name if d.is_file() else str(p.relative_to(d))] = \
            (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    return keys


def _changed(before: dict, after: dict) -> list[str]:
    return sorted(n for n in before.keys() | after.keys() if before.get(n) != after.get(n))


def _changing_error(names: list[str]) -> WorkbookError:
    from decide.model.errors import Diagnostic
    from decide.model.ir import Loc
    return WorkbookError([Diagnostic("E100", "error", Loc(n, "", ""),
                                     f"changed while it was being read ({_ATTEMPTS} times): it is still "
                                     "being saved; load it again when the save is done") for n in names])


def _digest(files: dict[str, bytes]) -> str:
    h = hashlib.sha256()
    for rel in sorted(files):
        data = files[rel]
        h.update(rel.encode("utf-8") + b"\0" + len(data).to_bytes(8, "big") + data)
    return h.hexdigest()


def engine_version() -> str:
    """The installed distribution version of decide (part of every rule-set version)."""
    global _ENGINE_VERSION
    if _ENGINE_VERSION is None:
        from importlib.metadata import PackageNotFoundError, version
        try:
            _ENGINE_VERSION = version("decide")
        except PackageNotFoundError:
            _ENGINE_VERSION = "0+unknown"
    return _ENGINE_VERSION


_ENGINE_VERSION = None


def read_label(path: str | os.PathLike) -> str | None:
    """The human label of the rule set: the first line of ``VERSION`` in the
    directory of the workbooks (beside the file, for one workbook); letters, digits,
    ``.``, ``_``, ``-``, at most 64.  None without the file; WorkbookError if unusable."""
    d = Path(path)
    f = (d.parent if d.is_file() else d) / LABEL_FILE
    try:
        raw = f.read_bytes()[:4096]
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    except OSError as e:
        raise _label_error(f"cannot read it ({e.strerror or e})") from None
    text = raw.decode("utf-8", "replace").strip().splitlines()
    label = text[0].strip() if text else ""
    if not label:
        return None
    if len(label) > 64 or not set(label) <= _LABEL_OK:
        raise _label_error(f'"{label[:64]}" is not a label: use letters, digits, ".", "_" and "-", '
                           "at most 64 (e.g. 2027.01-rc1)")
    return label


def _label_error(message: str) -> WorkbookError:
    from decide.model.errors import Diagnostic
    from decide.model.ir import Loc
    return WorkbookError([Diagnostic("E109", "error", Loc(LABEL_FILE, "", ""), f"{LABEL_FILE}: {message}")])


def make_version(digest: str, label: str | None) -> str:
    """``LABEL+ID`` or ``ID``: ID = 12 hex digits of SHA-256(workbooks' digest, engine version)."""
    ident = hashlib.sha256(f"{digest}\0{engine_version()}".encode()).hexdigest()[:12]
    return f"{label}+{ident}" if label else ident


def _unknown(name, decisions) -> CaseError:
    return CaseError(f'unknown decision "{name}"{did_you_mean(str(name), decisions)}; decisions: '
                     + ", ".join(sorted(decisions)))


def _durable_decider(book: Book, name: str, backend, validate):
    from decide.runtime.native import fired_rules
    plan = book.decisions[name]
    fired_by_table = {t: fired_rules(book, book.tables[t]) for t in plan.tables}
    run = backend.run

    def decide(facts, version=None):
        outputs, fired = run(name, validate(facts))
        return Result(name, outputs, tuple(fired_by_table[t][i] for t, i in fired), version)
    return decide


def load(path: str | os.PathLike = None, *, engine: str = "native",
         services: Iterable[DecisionService] | None = None, decision_log=None) -> Rulebook:
    """Load every workbook under ``path`` (a directory or one .xlsx file).

    Raises ``WorkbookError`` listing every problem found.  ``services`` are the
    decision services to offer besides the tables; by default those that installed
    applications declare under the ``decide.services`` entry point.  ``decision_log``:
    a sink that receives every decision of this book (``decide.DecisionLog``)."""
    if path is None:
        raise TypeError("decide.load() needs the directory of the workbooks")
    return Rulebook(path, engine=engine, services=services, decision_log=decision_log)
