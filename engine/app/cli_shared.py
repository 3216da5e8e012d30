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
