"""``decide show``: a workbook as text, for reading and for ``git diff`` (``COMMANDS``,
added to the group by ``cli``)."""
from __future__ import annotations

import sys

import click

from decide.app.casejson import EXIT_BAD, EXIT_OK


@click.command("show")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
def show_cmd(paths):
    """Print workbooks as text: each sheet the engine reads, one line per row, every
    filled cell with its address (A7: 1 | B7: >= 3000 | C7: true).

    A directory prints every workbook under it.  Stable line by line, and it never
    names the file, so it serves as git's textconv driver: with
    `*.xlsx diff=decide` in .gitattributes and
    `git config diff.decide.textconv "decide show"`, `git diff` shows the rows whose
    cells changed (docs/reviewing-changes.md).  Exit 2 when a workbook cannot be read.

    \b
    Example:
      decide show tables/card_eligibility.xlsx
      git diff main -- tables/
    """
    from decide.tools.show import show
    bad = False
    for path in paths:
        try:
            text, diags = show(path)
        except ValueError as e:  # a limit set wrongly in the environment
            click.echo(f"error: {e}", err=True)
            sys.exit(EXIT_BAD)
        if text:
            click.echo(text)
        for d in diags:
            click.echo(f"{d.severity}: {d} [{d.code}]", err=True)
            bad = True
    sys.exit(EXIT_BAD if bad else EXIT_OK)


COMMANDS = (show_cmd,)
