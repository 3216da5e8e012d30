"""``decide replay LOG…``: decide the cases of a decision log again.

A decision log is JSON Lines, one decision a line (time, id, decision, version,
as_of, engine, facts, outputs, fired; written by ``decide.runtime.decisionlog``).
Rotated files are read in the order given (``LOG.2 LOG.1 LOG``), line by line: the
memory used does not grow with the log.

- ``replay(logs, archive=Archive(DIR))``: each line is decided again by the version
  that decided it (``DIR/<version>/``, loaded once per version and engine), as of the
  logged date, and must reproduce it exactly: the outputs as JSON text (``0.30`` is
  not ``0.3``) and the ids of the rules that fired, in order.  A version the archive
  lacks, or whose archived workbooks load as another version (another engine), is
  reported by name and its lines are not replayed.
- ``replay(logs, tables=book)``: the cases the given tables decide differently from
  the log, per decision and grouped by what decides them now, with ``decide diff``'s
  grouping and text (``diff.compare_case``, ``diff.decision_lines``).

A line that is not a usable log line (a torn last line after a crash, text that is
not JSON) is counted and named with its line number, never fatal.  The report's
``ok`` is true only when every line was reproduced (decided the same).
"""
from __future__ import annotations

import inspect
import json
import os
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable, Iterator, Optional

from decide.model.errors import WorkbookError
from decide.model.values import to_json
from decide.tools.diff import CaseChange, case_change, compare_case, decide_case, decision_lines

ENGINES = ("native", "durable")
_VERSION = re.compile(r"(?:[A-Za-z0-9._-]{1,64}\+)?[0-9a-f]{12}")
_SHOWN = 50  # unreadable lines and differences listed (all are counted)


class ReplayError(ValueError):
    """Bad input: a log that cannot be read, an archive that is not there."""


# --------------------------------------------------------------------------- reading
@dataclass
class LogLine:
    source: str  # "line 7", or "LOG.1 line 7" when several files are read
    record: Optional[dict]  # the parsed line, or None
    problem: Optional[str] = None  # why the line is not usable


def check_logs(paths: Iterable[str | os.PathLike]) -> list[str]:
    """The log paths, each checked to be a readable file (else ReplayError)."""
    out = []
    for p in paths:
        p = str(p)
        try:
            with open(p, "rb") as fh:
                fh.read(1)
        except IsADirectoryError:
            raise ReplayError(f"{p}: is a directory, not a decision log") from None
        except OSError as e:
            raise ReplayError(f"{p}: cannot read the decision log ({e.strerror or e})") from None
        out.append(p)
    if not out:
        raise ReplayError("no decision log given")
    return out


def read_log(paths: list[str], *, need: tuple[str, ...] = ("outputs",)) -> Iterator[LogLine]:
    """Every non-blank line of the logs, in order, parsed (numbers with a fraction as
    Decimal, as a case file is read) and checked to have ``decision``, ``facts`` and
    the keys in ``need``."""
    for path in paths:
        name = f"{path} " if len(paths) > 1 else ""
        with open(path, "rb") as fh:
            for i, raw in enumerate(fh, 1):
                if not raw.strip():
                    continue
                source = f"{name}line {i}"
                torn = "" if raw.endswith(b"\n") else " (the line is cut short: torn by a crash?)"
                try:
                    rec = json.loads(raw.decode("utf-8"), parse_float=Decimal)
                except UnicodeDecodeError:
                    if torn:  # cut inside a character: it is the JSON that is broken
                        yield LogLine(source, None, f"not valid JSON: it ends inside a character{torn}")
                    else:
                        yield LogLine(source, None, "not UTF-8 text")
                    continue
                except ValueError as e:
                    yield LogLine(source, None, f"not valid JSON: {e}{torn}")
                    continue
                yield LogLine(source, rec, _problem(rec, need))


def _problem(rec: Any, need: tuple[str, ...]) -> Optional[str]:
    if not isinstance(rec, dict):
        return "not a JSON object"
    if not isinstance(rec.get("decision"), str):
        return 'no "decision" (text)'
    if not isinstance(rec.get("facts"), dict):
        return 'no "facts" (an object)'
    for key, kind, noun in (("outputs", dict, "an object"), ("fired", list, "a list"),
                            ("version", str, "text")):
        if key in need and not isinstance(rec.get(key), kind):
            return f'no "{key}" ({noun})'
    if "fired" in need and not all(isinstance(f, dict) and "table" in f and "rule" in f for f in rec["fired"]):
        return '"fired" is not a list of {"table", "rule"}'
    return None


# --------------------------------------------------------------------------- exactness
def canon(value: Any) -> Any:
    """A JSON-shaped value as the JSON text it prints as, for exact comparison: a
    number is its digits (``5`` and ``Decimal("5")`` alike, ``0.30`` ≠ ``0.3``);
    keys keep their order."""
    if isinstance(value, dict):
        return [(k, canon(v)) for k, v in value.items()]
    if isinstance(value, (list, tuple)):
        return ["list", *(canon(v) for v in value)]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, Decimal):
        return ("number", str(int(value)) if value.is_finite() and value.as_tuple().exponent == 0
                else str(value))
    if isinstance(value, (int, float)):
        return ("number", repr(value))
    return canon(to_json(value)) if to_json(value) is not value else ("other", repr(value))


def json_outputs(outputs: dict) -> dict:
    """Outputs as the CLI's JSON holds them (dates and versions as text, lists)."""
    return {k: to_json(v) for k, v in outputs.items()}


def _options(book, rec: dict) -> dict:
    as_of = rec.get("as_of")
    if as_of is None:
        return {}
    if not accepts_as_of(book):
        raise TypeError(f'the line was decided as of {as_of} and this engine has no "as_of"')
    return {"as_of": as_of}


def accepts_as_of(book) -> bool:
    try:
        return "as_of" in inspect.signature(book.decide).parameters
    except (TypeError, ValueError):  # pragma: no cover (a builtin)
        return False


def _decide(book, rec: dict) -> tuple[dict, tuple]:
    """(JSON outputs or {"error": message}, fired) of a logged case decided by ``book``."""
    try:
        options = _options(book, rec)
    except TypeError as e:
        return {"error": str(e)}, ()
    outputs, fired = decide_case(book, rec["decision"], dict(rec["facts"]), **options)
    return json_outputs(outputs), fired


# --------------------------------------------------------------------------- archive
class Archive:
    """``DIR/<version>/``: the workbooks of every version put into service, loaded on
    first use (once per version and engine) and kept."""

    def __init__(self, directory: str | os.PathLike):
        self.path, self.where = Path(directory), str(directory)
        if not self.path.is_dir():
            raise ReplayError(f"{directory}: no such archive directory")
        self._books: dict[tuple[str, str], Any] = {}

    def book(self, version: str, engine: str = "native"):
        """The Rulebook of ``version``, or the sentence saying why there is none."""
        key = (version, engine)
        if key not in self._books:
            self._books[key] = self._load(version, engine)
        return self._books[key]

    def _load(self, version: str, engine: str):
        from decide.runtime.rulebook import load
        if not _VERSION.fullmatch(version):
            return f'"{version[:80]}" is not a rule-set version'
        d = self.path / version
        if not d.is_dir():
            return "not in the archive"
        try:
            book = load(d, engine=engine)
        except WorkbookError as e:
            first = e.diagnostics[0] if getattr(e, "diagnostics", None) else e
            return f"the archived workbooks under {d} do not load: {first}"
        except (ImportError, RuntimeError, OSError) as e:
            return f"the archived workbooks under {d} do not load: {e}"
        if book.version != version:
            from decide.runtime.rulebook import engine_version
            was = _manifest(d).get("engine_version")
            why = (f"archived with decide {was}, this is decide {engine_version()}" if was and was != engine_version()
                   else "the files differ from those that made it")
            return f"the archived workbooks under {d} load as version {book.version} ({why}): " \
                   "they cannot reproduce it"
        return book


def _manifest(d: Path) -> dict:
    try:
        m = json.loads((d / "manifest.json").read_text(encoding="utf-8"))
        return m if isinstance(m, dict) else {}
    except (OSError, ValueError):
        return {}


# --------------------------------------------------------------------------- report
@dataclass
class Difference:
    """A logged decision the archived version decides otherwise."""
    source: str
    id: Any
    decision: str
    version: str
    change: CaseChange  # old: the logged outputs, new: the outputs now (JSON values)
    fired_logged: list[tuple[str, str]]
    fired_now: list[tuple[str, str]]

    def describe(self) -> str:
        what = []
        if self.change.fields:
            what.append(case_change(self.change))
        if self.fired_logged != self.fired_now:
            what.append(f"fired {_rules(self.fired_logged)} → {_rules(self.fired_now)}")
        ident = f"id {self.id}, " if self.id is not None else ""
        return f"{self.source} ({ident}{self.decision}, version {self.version}): " + "; ".join(what)

    def to_dict(self) -> dict:
        return {"line": self.source, "id": self.id, "decision": self.decision, "version": self.version,
                "fields": self.change.fields,
                "logged": {"outputs": self.change.old, "fired": _rule_dicts(self.fired_logged)},
                "now": {"outputs": self.change.new, "fired": _rule_dicts(self.fired_now)}}


def _rules(fired) -> str:
    return "[" + ", ".join(f"{t} {r}" for t, r in fired) + "]"


def _rule_dicts(fired) -> list[dict]:
    return [{"table": t, "rule": r} for t, r in fired]


@dataclass
class VersionTally:
    lines: int = 0
    reproduced: int = 0
    problem: Optional[str] = None  # why its lines were not replayed


@dataclass
class Group:
    count: int = 0
    cases: list[CaseChange] = field(default_factory=list)  # the first few


@dataclass
class ReplayReport:
    mode: str  # "archive" or "tables"
    logs: list[str]
    where: str  # the archive directory or the tables' directory
    version: Optional[str] = None  # tables mode: the tables' version
    lines: int = 0
    reproduced: int = 0  # archive: identical; tables: decided the same
    differing: int = 0
    not_replayed: int = 0  # archive: lines of a version it cannot give; tables: of a decision it lacks
    unreadable: int = 0
    unreadable_lines: list[tuple[str, str]] = field(default_factory=list)
    versions: dict[str, VersionTally] = field(default_factory=dict)
    differences: list[Difference] = field(default_factory=list)
    evaluated: dict[str, int] = field(default_factory=dict)
    changed: dict[str, int] = field(default_factory=dict)
    groups: dict[str, dict[str, Group]] = field(default_factory=dict)
    lacking: dict[str, int] = field(default_factory=dict)  # tables mode: decision → lines

    @property
    def ok(self) -> bool:
        return self.reproduced == self.lines

    def to_dict(self) -> dict:
        out = {"mode": self.mode, "logs": self.logs, self.mode: self.where, "lines": self.lines,
               ("reproduced" if self.mode == "archive" else "same"): self.reproduced,
               ("differing" if self.mode == "archive" else "different"): self.differing,
               "not_replayed": self.not_replayed, "unreadable": self.unreadable,
               "unreadable_lines": [{"line": s, "problem": p} for s, p in self.unreadable_lines]}
        if self.mode == "archive":
            out["versions"] = {v: {"lines": t.lines, "reproduced": t.reproduced, "problem": t.problem}
                               for v, t in self.versions.items()}
            out["differences"] = [d.to_dict() for d in self.differences]
        else:
            out["version"] = self.version
            out["decisions_lacking"] = self.lacking
            out["decisions"] = {d: {"evaluated": n, "changed": self.changed.get(d, 0), "groups": [
                {"now": label, "count": g.count, "cases": [
                    {"line": c.source, "case": c.case, "old": c.old, "new": c.new, "fields": c.fields}
                    for c in g.cases]} for label, g in self.groups.get(d, {}).items()]}
                for d, n in self.evaluated.items()}
        return out


# --------------------------------------------------------------------------- replay
def replay(logs: Iterable[str | os.PathLike], *, archive: Optional[Archive] = None, tables=None,
           tables_path: str = "", engine: Optional[str] = None, limit: int = _SHOWN) -> ReplayReport:
    """Replay the logs with the ``archive`` (exactly) or against the Rulebook
    ``tables`` (what it decides differently).  ``engine``: the runtime to decide
    with (default: the one each line names, native for the tables)."""
    paths = check_logs(logs)
    if (archive is None) == (tables is None):
        raise ValueError("replay needs an archive or tables, not both")
    if archive is not None:
        rep = ReplayReport("archive", paths, archive.where)
        for line in read_log(paths, need=("outputs", "fired", "version")):
            if _usable(rep, line, limit):
                _exact(rep, line, archive, engine, limit)
    else:
        rep = ReplayReport("tables", paths, tables_path, version=tables.version)
        for line in read_log(paths, need=("outputs",)):
            if _usable(rep, line, limit):
                _against(rep, line, tables, limit)
    return rep


def _usable(rep: ReplayReport, line: LogLine, limit: int) -> bool:
    rep.lines += 1
    if line.problem is None:
        return True
    rep.unreadable += 1
    if len(rep.unreadable_lines) < limit:
        rep.unreadable_lines.append((line.source, line.problem))
    return False


def _exact(rep: ReplayReport, line: LogLine, archive: Archive, engine: Optional[str], limit: int) -> None:
    rec = line.record
    version = rec["version"]
    tally = rep.versions.setdefault(version, VersionTally())
    tally.lines += 1
    use = engine or (rec.get("engine") if rec.get("engine") in ENGINES else "native")
    book = archive.book(version, use)
    if isinstance(book, str):
        tally.problem = book
        rep.not_replayed += 1
        return
    logged = rec["outputs"]
    now, fired = _decide(book, rec)
    fired_logged = [(str(f["table"]), str(f["rule"])) for f in rec["fired"]]
    fired_now = [(f.table, f.rule) for f in fired]
    if canon(now) == canon(logged) and fired_now == fired_logged:
        tally.reproduced += 1
        rep.reproduced += 1
        return
    rep.differing += 1
    if len(rep.differences) < limit:
        keys = list(dict.fromkeys([*logged, *now]))
        fields = [k for k in keys if k not in logged or k not in now or canon(logged[k]) != canon(now[k])]
        change = CaseChange(rec["decision"], line.source, rec["facts"], logged, now, fields)
        rep.differences.append(Difference(line.source, rec.get("id"), rec["decision"], version, change,
                                          fired_logged, fired_now))


def _against(rep: ReplayReport, line: LogLine, book, limit: int) -> None:
    rec = line.record
    d = rec["decision"]
    if d not in book.decisions:
        rep.lacking[d] = rep.lacking.get(d, 0) + 1
        rep.not_replayed += 1
        return
    rep.evaluated[d] = rep.evaluated.get(d, 0) + 1
    now, fired = _decide(book, rec)
    logged_fired = [(f.get("table"), f.get("rule")) for f in rec.get("fired") or () if isinstance(f, dict)]
    change = compare_case(book.ir, d, line.source, rec["facts"], rec["outputs"], logged_fired, now, fired)
    if change is None:
        rep.reproduced += 1
        return
    rep.differing += 1
    rep.changed[d] = rep.changed.get(d, 0) + 1
    group = rep.groups.setdefault(d, {}).setdefault(change.now, Group())
    group.count += 1
    if len(group.cases) < limit:
        group.cases.append(change)


# --------------------------------------------------------------------------- text
def format_text(rep: ReplayReport, *, limit: int = _SHOWN) -> str:
    logs = ", ".join(rep.logs)
    lines = []
    if rep.mode == "archive":
        lines.append(f"Replayed {logs} with the archive {rep.where}:")
        for v, t in rep.versions.items():
            if t.problem:
                lines.append(f"  version {v}: {t.lines} line{'s' if t.lines != 1 else ''} not replayed: {t.problem}")
            else:
                lines.append(f"  version {v}: {t.reproduced} of {t.lines} reproduced")
        if rep.differences:
            lines.append("Differences:")
            lines += [f"  {d.describe()}" for d in rep.differences]
            if rep.differing > len(rep.differences):
                lines.append(f"  … and {rep.differing - len(rep.differences)} more")
    else:
        lines.append(f"Decided the cases of {logs} with the tables {rep.where} (version {rep.version}):")
        if rep.evaluated:
            lines.append("Decisions:")
            for d, n in rep.evaluated.items():
                groups = [(label, g.count, g.cases) for label, g in rep.groups.get(d, {}).items()]
                lines += decision_lines(d, n, rep.changed.get(d, 0), groups, limit=limit)
        for d, n in rep.lacking.items():
            lines.append(f"  {d}: {n} line{'s' if n != 1 else ''} not decided: the tables have no such decision")
    if rep.unreadable:
        lines.append("Lines that are not decision log lines:")
        lines += [f"  {s}: {p}" for s, p in rep.unreadable_lines]
        if rep.unreadable > len(rep.unreadable_lines):
            lines.append(f"  … and {rep.unreadable - len(rep.unreadable_lines)} more")
    lines.append(summary(rep))
    return "\n".join(lines)


def summary(rep: ReplayReport) -> str:
    same, differ = ("reproduced", "differ") if rep.mode == "archive" else ("decided the same", "decided differently")
    parts = [f"{rep.reproduced} {same}", f"{rep.differing} {differ}"]
    if rep.not_replayed:
        parts.append(f"{rep.not_replayed} not replayed"
                     + (" (version not available)" if rep.mode == "archive" else " (decision not in the tables)"))
    if rep.unreadable:
        parts.append(f"{rep.unreadable} unreadable")
    verdict = "every line reproduced" if rep.mode == "archive" else "every case decided the same"
    return f"{rep.lines} line{'s' if rep.lines != 1 else ''}: " + ", ".join(parts) + \
        (f" — {verdict}" if rep.ok and rep.lines else "")
