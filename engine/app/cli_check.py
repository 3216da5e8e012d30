"""The analysts' commands of ``decide``: lint, verify, diff (``COMMANDS``, added to
the group by ``cli``).  Exit codes as everywhere in ``decide``: 0 ok, 1 findings or
failures, 2 bad input (workbooks that do not load, unreadable files).
"""
from __future__ import annotations

import sys

import click

from decide.app.casejson import EXIT_BAD, EXIT_FAIL, EXIT_OK, dumps
from decide.app.cli_shared import as_of_date, fail, load_rulebook, tables_dir


@click.command("lint")
@click.argument("directory", required=False, type=click.Path())
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--rules", "list_rules", is_flag=True, help="List the lint rules (code, name, severity, what it finds).")
def lint_cmd(directory, fmt, list_rules):
    """Check the tables: overlaps, gaps, rules that can never fire, redundant rules,
    columns that change nothing, unused fields, ignored sheets.

    Each finding has a stable code and name (L101 overlapping-rules…), its place
    (workbook › sheet › cell) and an example case that shows it.  Exit 1 when there
    is an error or a warning.

    \b
    Example:
      decide lint
      decide lint my_tables/ --format json
      decide lint --rules
    """
    from decide.tools.lint import format_text, lint_path, registered, rules_table
    if list_rules:
        click.echo(rules_table(registered()))
        sys.exit(EXIT_OK)
    path = tables_dir(directory)
    book, diags = lint_path(path)
    if fmt == "json":
        click.echo(dumps({"loaded": book is not None, "diagnostics": [d.to_dict() for d in diags]}))
    else:
        if diags:
            click.echo(format_text(diags))
        else:
            click.echo("No findings.")
    if book is None:
        sys.exit(EXIT_BAD)
    sys.exit(EXIT_FAIL if any(d.severity in ("error", "warning") for d in diags) else EXIT_OK)


@click.command("verify")
@click.argument("directory", required=False, type=click.Path())
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed of the search.")
@click.option("--examples", type=int, default=200, show_default=True,
              help="Cases tried per property.")
@click.option("--decision", "decisions", multiple=True, help="Only the Invariants of this decision.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def verify_cmd(directory, seed, examples, decisions, fmt):
    """Search for cases that break the Invariants sheets (with hypothesis).

    Cases are generated from the Glossary (types, allowed values, the boundary
    values written in the tables, absent fields); each failure is shown with the
    smallest counterexample found and the rules that fired.  Exit 1 on a failure.

    \b
    Example:
      decide verify
      decide verify my_tables/ --examples 1000 --seed 7
    """
    from decide.tools.verify import check_invariants
    rb = load_rulebook(directory)
    n_props = sum(len(s.properties) for s in rb.ir.invariants
                  if not decisions or s.target in decisions)
    failures = check_invariants(rb, examples=examples, seed=seed, decisions=list(decisions) or None)
    if fmt == "json":
        click.echo(dumps({"properties": n_props, "failures": [f.to_dict() for f in failures]}))
    else:
        for f in failures:
            click.echo(f.describe())
            click.echo("")
        click.echo(f"{n_props - len(failures)} of {n_props} invariants hold "
                   f"({examples} cases each, seed {seed}); {len(failures)} fail")
    sys.exit(EXIT_FAIL if failures else EXIT_OK)


@click.command("diff")
@click.argument("old", type=click.Path())
@click.argument("new", type=click.Path(), required=False)
@click.option("--cases", type=click.Path(), default=None,
              help="A JSONL corpus: one JSON object of facts per line (optional \"decision\" key).")
@click.option("--generate", type=int, default=None, help="Generate N cases per affected decision.")
@click.option("--decision", default=None, help="The decision to run the cases through.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--limit", type=int, default=50, show_default=True, help="Changed cases shown per decision.")
@click.option("--lint/--no-lint", "with_lint", default=None,
              help="List the lint findings only NEW has (default: with --format markdown).")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text",
              show_default=True, help="markdown: a summary for a pull request.")
@click.option("--as-of", "as_of", default=None, metavar="DATE",
              help="Decide every case as of DATE (YYYY-MM-DD); with one directory, compare the day "
                   "before DATE with DATE: what changes on the day.")
def diff_cmd(old, new, cases, generate, decision, seed, limit, with_lint, fmt, as_of):
    """Show what an edit changes: per table the rules and cells that changed (and the
    regions of cases it now decides differently), the Glossary, Tests and Invariants
    edits, per decision the cases whose outputs change, old → new, and (--lint) the
    lint findings the edit brings.  With one directory and --as-of DATE: what changes
    on DATE (the rules that start or end, the cases decided differently than the day
    before).

    Exit 0 when nothing changed, 1 when anything did (so a script or CI job can tell),
    2 when OLD or NEW does not load.

    \b
    Example:
      decide diff tables_before/ tables/ --generate 500
      decide diff tables_before/ tables/ --cases corpus.jsonl --decision purchase_restriction
      decide diff base/tables/ tables/ --generate 200 --format markdown > summary.md
      decide diff tables/ --as-of 2027-01-01 --generate 200
    """
    import datetime as _dt
    from decide.model.errors import WorkbookError
    from decide.tools.diff import diff, format_text
    day = as_of_date(as_of)
    old_day = None
    if new is None:
        if day is None:
            fail("diff needs OLD and NEW, or one directory and --as-of DATE (what changes on DATE)")
        new, old_day = old, day - _dt.timedelta(days=1)
    for p in (old, new):
        load_rulebook(p)  # a clear message and exit 2 when a side does not load
    if with_lint is None:
        with_lint = fmt == "markdown"
    try:
        rep = diff(old, new, cases=cases, generate=generate, decision=decision, seed=seed,
                   as_of=day, old_as_of=old_day)
    except WorkbookError:  # pragma: no cover (checked above)
        sys.exit(EXIT_BAD)
    except (OSError, ValueError) as e:
        fail(str(e))
    if with_lint:
        from decide.tools.diff_lint import add_new_lint
        add_new_lint(rep)
    if fmt == "json":
        click.echo(dumps(rep.to_dict()))
    elif fmt == "markdown":
        from decide.tools.diff_markdown import format_markdown
        click.echo(format_markdown(rep, old=old, new=new, limit=limit))
    else:
        click.echo(format_text(rep, limit=limit))
    sys.exit(EXIT_FAIL if rep.changed else EXIT_OK)


COMMANDS = (lint_cmd, verify_cmd, diff_cmd)
