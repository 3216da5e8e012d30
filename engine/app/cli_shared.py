"""What every ``decide`` command shares: the --tables and --engine options, loading
the workbooks (or exiting with a clear message), and failing with one line on stderr."""
from __future__ import annotations

import sys
from typing import NoReturn

import click

import decide
from decide.app.casejson import EXIT_BAD
from decide.model.errors import WorkbookError

TABLES_OPT = click.option("--tables", "tables", type=click.Path(), default=None,
                          help="Directory of workbooks (default: the shipped tables/).")
ENGINE_OPT = click.option("--engine", "engine_name", type=click.Choice(["native", "durable"]),
                          default="native", show_default=True,
                          help="Runtime: the compiled native one, or durable_rules (Rete).")
AS_OF_OPT = click.option("--as-of", "as_of", default=None, metavar="DATE",
                         help="Decide as of this date, YYYY-MM-DD (default: today in the tables' time zone).")


def fail(message: str, code: int = EXIT_BAD) -> NoReturn:
    """``error: message`` on stderr, then exit with ``code`` (2, bad input, by default)."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def as_of_date(value: str | None):
    """The --as-of value as a date (None when not given); exit 2 with one line if it is not one."""
    if value is None:
        return None
    from decide.model.asof import parse_as_of
    from decide.model.errors import CaseError
    try:
        return parse_as_of(value)
    except CaseError as e:
        fail(f"--as-of: {e}")


def tables_dir(directory: str | None) -> str:
    """The directory given, else the installed application's tables, else exit 2."""
    from decide.app.shipped import shipped_tables  # importlib.metadata: only when no --tables
    return directory or shipped_tables() or fail(
        "no tables given and none installed: name a directory of workbooks with --tables DIR")


def load_rulebook(tables: str | None, engine_name: str = "native") -> decide.Rulebook:
    """The workbooks under ``tables`` loaded; when they do not load, every problem on
    stderr and exit 2."""
    path = tables_dir(tables)
    try:
        return decide.load(path, engine=engine_name)
    except WorkbookError as e:
        for d in e.diagnostics:
            click.echo(f"{d.severity}: {d} [{d.code}]", err=True)
        n = sum(d.severity == "error" for d in e.diagnostics)
        fail(f"{n} error{'s' if n != 1 else ''} in the workbooks under {path}; nothing was loaded")
    except (ImportError, RuntimeError) as e:
        fail(str(e))


# --------------------------------------------------------------------------- decision log, archive
class _Size(click.ParamType):
    name = "SIZE"

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        text = str(value).strip().upper().removesuffix("B")
        scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:], 1)
        digits = text[:-1] if scale > 1 else text
        if not digits.isdigit():
            self.fail(f"{value!r} is not a size: bytes, or a number with K, M or G (e.g. 100M)", param, ctx)
        return int(digits) * scale


def log_options(f):
    """--decision-log PATH, its rotation, and --archive DIR (serve and batch)."""
    for opt in reversed((
        click.option("--decision-log", "decision_log", type=click.Path(dir_okay=False), default=None,
                     metavar="PATH", help="Append one JSON line per decision to PATH (docs/operations.md)."),
        click.option("--decision-log-max", "decision_log_max", type=_Size(), default="0", show_default=True,
                     help="Rotate the decision log when it would pass this size (e.g. 100M; 0: never)."),
        click.option("--decision-log-backups", "decision_log_backups", type=click.IntRange(1, 1000), default=5,
                     show_default=True, help="Rotated files kept: PATH.1 … PATH.N."),
        click.option("--archive", "archive_dir", type=click.Path(file_okay=False), default=None, metavar="DIR",
                     help="Archive every version put into service in DIR/<version>/ (for decide replay)."),
    )):
        f = opt(f)
    return f


def open_logs(book, decision_log: str | None, max_bytes: int, backups: int, archive_dir: str | None):
    """The ``DecisionLog`` (or None), after archiving the version in service; exit 2 with
    one line if either cannot be written."""
    from decide.runtime.archive import ArchiveError, put
    from decide.runtime.decisionlog import DecisionLog, DecisionLogError
    if archive_dir:
        try:
            put(book, archive_dir)
        except ArchiveError as e:
            fail(str(e))
    if not decision_log:
        return None
    try:
        return DecisionLog(decision_log, max_bytes=max_bytes, backups=backups)
    except DecisionLogError as e:
        fail(str(e))
