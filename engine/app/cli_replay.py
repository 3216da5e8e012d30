"""``decide replay`` (``COMMANDS``, added to the ``decide`` group by ``cli.py``): decide
the cases of a decision log again (``decide.tools.replay``) — exactly, with the
version that decided each (``--archive DIR``), or with other tables (``--tables DIR``,
the shipped ones by default) to see what they would decide differently.

Exit codes as everywhere in ``decide``: 0 every line reproduced (decided the same),
1 some line not (different, its version not in the archive, not a log line), 2 bad
input (a log that cannot be read, no such archive, tables that do not load).
"""
from __future__ import annotations

import sys

import click

from decide.app.casejson import EXIT_FAIL, EXIT_OK, dumps
from decide.app.cli_shared import fail, load_rulebook, tables_dir


@click.command("replay")
@click.argument("logs", nargs=-1, required=True, type=click.Path())
@click.option("--archive", type=click.Path(), default=None,
              help="Archive of rule-set versions (DIR/<version>/): decide each line with its version, exactly.")
@click.option("--tables", type=click.Path(), default=None,
              help="Decide the logged cases with these tables and show what they decide differently "
                   "(default without --archive: the shipped tables).")
@click.option("--engine", "engine_name", type=click.Choice(["native", "durable"]), default=None,
              help="Runtime to decide with (default: the one each line names; native with --tables).")
@click.option("--limit", type=click.IntRange(0), default=50, show_default=True,
              help="Differences (and unreadable lines) shown; all are counted.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def replay_cmd(logs, archive, tables, engine_name, limit, fmt):
    """Decide the cases of decision logs (LOG… in order, e.g. LOG.2 LOG.1 LOG) again.

    With --archive DIR, every line is decided by the version that decided it (as of
    the logged date) and must reproduce it exactly: outputs and the rules that fired.
    With --tables DIR (or the shipped tables), the cases those tables decide
    differently, per decision, grouped by the rule that decides them now.

    \b
    Example:
      decide replay decisions.jsonl --archive archive/
      decide replay decisions.jsonl.1 decisions.jsonl --tables tables/
    """
    from decide.tools.replay import Archive, ReplayError, format_text, replay
    if archive and tables:
        fail("give --archive DIR (replay exactly) or --tables DIR (compare), not both")
    try:
        if archive:
            rep = replay(logs, archive=Archive(archive), engine=engine_name, limit=limit)
        else:
            path = tables_dir(tables)
            book = load_rulebook(path, engine_name or "native")
            rep = replay(logs, tables=book, tables_path=path, limit=limit)
    except ReplayError as e:
        fail(str(e))
    if fmt == "json":
        click.echo(dumps(rep.to_dict()))
    else:
        click.echo(format_text(rep, limit=limit))
    sys.exit(EXIT_OK if rep.ok else EXIT_FAIL)


COMMANDS = (replay_cmd,)
