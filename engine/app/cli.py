"""The ``decide`` command: a thin click layer over the engine's API.

The group and the commands that decide cases (run, test, tables, serve) are
here; ``decide batch`` in ``batch``; the analysts' commands (lint, verify, diff) in
``cli_check``; what they share (options, loading the workbooks, failing) in
``cli_shared``; case JSON in and out and the exit codes in ``casejson``.  Exit codes:
0 ok, 1 an evaluation or test failure, 2 bad input (workbook or case)."""
from __future__ import annotations

import importlib
import os
import sys

import click

from decide.app import casejson
from decide.app.casejson import EXIT_FAIL, EXIT_OK, CaseJSONError
from decide.app.cli_shared import AS_OF_OPT, ENGINE_OPT, TABLES_OPT, as_of_date, fail, load_rulebook, log_options, open_logs
from decide.model.errors import CaseError, EvaluationError


#: Commands defined in other modules, imported only when named (or listed by --help):
#: ``decide CASE.json`` imports none of them.  A module's COMMANDS not named here still
#: work (every module is imported to look for a name that is not a case file).
LAZY_COMMANDS = {
    "batch": "decide.app.batch",
    "lint": "decide.app.cli_check", "verify": "decide.app.cli_check", "diff": "decide.app.cli_check",
    "why": "decide.app.cli_why",
    "show": "decide.app.cli_show",
    "replay": "decide.app.cli_replay",
}
LAZY_MODULES = ("decide.app.batch", "decide.app.cli_check", "decide.app.cli_why", "decide.app.cli_show",
                "decide.app.cli_replay")
_GROUP_FLAGS = ("--no-cache",)


class DefaultGroup(click.Group):
    """``decide CASE.json`` runs the default command; ``decide tables`` etc. are subcommands."""

    def parse_args(self, ctx, args):
        i = 0
        while i < len(args) and args[i] in _GROUP_FLAGS:
            i += 1
        if i < len(args) and args[i] not in ("--help", "-h", "--version") and not self._is_command(args[i]):
            args = [*args[:i], "run", *args[i:]]
        return super().parse_args(ctx, args)

    def _is_command(self, word: str) -> bool:
        if word in self.commands or word in LAZY_COMMANDS:
            return True
        if word.startswith("-") or word.lower().endswith((".json", ".jsonl")) or os.path.exists(word):
            return False  # a case (or an option of run)
        self._load(*LAZY_MODULES)
        return word in self.commands

    def _load(self, *modules: str) -> None:
        for name in modules:
            mod = importlib.import_module(name)
            cmds = getattr(mod, "COMMANDS", None) or [c for c in vars(mod).values() if isinstance(c, click.Command)]
            for cmd in cmds:
                if cmd.name not in self.commands:
                    self.add_command(cmd)

    def get_command(self, ctx, name):
        if name not in self.commands and name in LAZY_COMMANDS:
            self._load(LAZY_COMMANDS[name])
        return self.commands.get(name)

    def list_commands(self, ctx):
        self._load(*LAZY_MODULES)
        return super().list_commands(ctx)


@click.group(cls=DefaultGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="decide")
@click.option("--no-cache", is_flag=True,
              help="Compile the workbooks afresh: neither read nor write the compile cache (also DECIDE_CACHE=0).")
@click.pass_context
def main(ctx, no_cache):
    """Decision tables in Excel, compiled and served.

    \b
    Example:
      decide examples/eligibility_issuable.json
      decide examples/decline_several_causes.json --explain
      decide test
    """
    if no_cache:
        before = os.environ.get("DECIDE_CACHE")
        os.environ["DECIDE_CACHE"] = "0"  # child processes (workers) too; restored when the command ends
        ctx.call_on_close(lambda: os.environ.pop("DECIDE_CACHE", None) if before is None
                          else os.environ.__setitem__("DECIDE_CACHE", before))


@click.command("run")
@click.argument("case", type=click.Path(allow_dash=True))
@click.option("--decision", "-d", default=None, help='Decision or table to run (else the case\'s "decision" key).')
@TABLES_OPT
@ENGINE_OPT
@AS_OF_OPT
@click.option("--explain", is_flag=True, help="Say which rules fired and why, in the workbook's terms.")
@click.option("--format", "fmt", type=click.Choice(["json", "text"]), default="json", show_default=True)
def run(case, decision, tables, engine_name, as_of, explain, fmt):
    """Decide one case: CASE is a JSON file of facts (or - for stdin).

    \b
    Example:
      decide examples/purchase_gift_card_amazon.json
      decide case.json --decision purchase_restriction --explain
      decide examples/eligibility_issuable.json --as-of 2027-01-01
      echo '{"category": "books", "amount_yen": 1200}' | decide - -d purchase_restriction
    """
    as_of = as_of_date(as_of)
    try:
        facts = casejson.load(case)
    except CaseJSONError as e:
        fail(str(e))
    name = decision or facts.pop("decision", None)
    facts.pop("decision", None)
    if not name:
        fail(f'{case}: which decision? give --decision NAME or a "decision" key in the case')
    book = load_rulebook(tables, engine_name)
    try:
        result = book.decide(name, facts, as_of=as_of)
    except CaseError as e:
        fail(f"{case}: {e}")
    except EvaluationError as e:
        fail(str(e), EXIT_FAIL)
    if explain:
        from decide.tools.explain import explain as explain_lines, why_not_lines
        facts = {**facts, "as_of": result.as_of}  # the date it was decided as of, like any fact
        click.echo("\n".join(explain_lines(book.ir, name, facts, result) + why_not_lines(book.ir, name, facts)))
        return
    if fmt == "text":
        from decide.tools.explain import label
        from decide.tools.testing import show_value
        click.echo(f"Decision {name}")
        for f, v in result.outputs.items():
            click.echo(f"  {label(book.ir, f)}: {show_value(v)}")
        return
    click.echo(casejson.dumps(result.to_dict()))


@click.command("test")
@click.argument("directory", required=False, type=click.Path())
@ENGINE_OPT
@click.option("--report", type=click.Path(), default=None, help="Write a copy of the workbooks with results (xlsx).")
def test_cmd(directory, engine_name, report):
    """Run every Tests sheet; print each failure with its case, expected and actual value.

    \b
    Example:
      decide test
      decide test tables/ --engine durable
    """
    from decide.tools.testing import run_tests
    book = load_rulebook(directory, engine_name)
    outcomes = run_tests(book)
    failed = [o for o in outcomes if not o.passed]
    for o in failed:
        click.echo(o.describe())
    from decide.tools import coverage
    extra = coverage.after_tests(book, outcomes, report=report)
    if extra:
        click.echo(extra)
    click.echo(f"{len(outcomes) - len(failed)} passed, {len(failed)} failed")
    sys.exit(EXIT_FAIL if failed else EXIT_OK)


@click.command("tables")
@click.argument("directory", required=False, type=click.Path())
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--source", "source_of", metavar="NAME", default=None,
              help="Print the Python source the native runtime compiled for decision NAME.")
def tables_cmd(directory, fmt, source_of):
    """List the decisions and tables with their inputs and outputs, and the
    rule-set version (JSON: {"version", "label", "id", "decisions"}).

    \b
    Example:
      decide tables
      decide tables my_tables/ --format json
      decide tables --source purchase_restriction
    """
    from decide.tools.explain import label
    book = load_rulebook(directory)
    if source_of is not None:
        try:
            click.echo(book.source(source_of), nl=False)
        except CaseError as e:
            fail(str(e))
        return
    infos = book.decisions
    if fmt == "json":
        label, _, ident = book.version.rpartition("+")  # LABEL+ID, or ID without a VERSION file
        click.echo(casejson.dumps({"version": book.version, "label": label or None, "id": ident,
                                   "decisions": {n: {"kind": i.kind, "inputs": list(i.inputs),
                                                     "outputs": list(i.outputs), "tables": list(i.tables)}
                                                 for n, i in infos.items()}}))
        return
    for kind, title in (("service", "Decision services"), ("table", "Tables")):
        items = [i for i in infos.values() if i.kind == kind]
        if not items:
            continue
        click.echo(f"{title}:")
        for i in items:
            where = ""
            if kind == "table":
                t = book.ir.tables[i.name]
                where = f"  [{t.loc.workbook} › {t.loc.sheet}, {t.hit_policy.name.replace('_', ' ')}" \
                        f"{t.aggregator.value if t.aggregator else ''}, {len(t.rules)} rules]"
            click.echo(f"  {i.name}{where}")
            click.echo(f"    inputs:  {', '.join(label(book.ir, f) for f in i.inputs) or '-'}")
            click.echo(f"    outputs: {', '.join(label(book.ir, f) for f in i.outputs)}")
    click.echo(f"Version: {book.version}")


@click.command("serve")
@TABLES_OPT
@ENGINE_OPT
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=int, help="Port (0 picks a free one).")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Worker processes: 1 serves with waitress in this process, 2 or more with gunicorn.")
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 256),
              help="Threads (per worker process).")
@click.option("--watch", default=None, type=float, metavar="SECONDS",
              help="Reload the workbooks when one changes (checked every SECONDS).")
@click.option("--admin-token-file", type=click.Path(dir_okay=False), default=None,
              help="File whose first line is the admin token (else $DECIDE_ADMIN_TOKEN); "
                   "without one, POST /reload is off.")
@click.option("--token-file", type=click.Path(dir_okay=False), default=None,
              help="File of bearer tokens (one a line) that decision requests must carry.")
@click.option("--allowed-host", "allowed_hosts", multiple=True, metavar="NAME",
              help="Host header names to answer (repeatable; '*' for any). "
                   "Default: the loopback names when bound to loopback, else any.")
@click.option("--max-body", default=1 << 20, show_default=True, type=click.IntRange(2, 1 << 20),
              help="Largest request body, in bytes.")
@click.option("--connection-limit", default=1000, show_default=True, type=click.IntRange(1, 100000),
              help="Open connections (per worker process).")
@click.option("--idle-timeout", default=30.0, show_default=True, type=click.FloatRange(1, 3600),
              help="Seconds before an idle connection is closed.")
@click.option("--access-log", is_flag=True, help="One JSON line per request on stderr.")
@click.option("--server", "server_name", type=click.Choice(["waitress", "gunicorn"]), default=None,
              help="HTTP server (default: waitress for 1 worker, gunicorn for more).")
@log_options
def serve_cmd(tables, engine_name, host, port, workers, threads, watch, admin_token_file, token_file,
              allowed_hosts, max_body, connection_limit, idle_timeout, access_log, server_name,
              decision_log, decision_log_max, decision_log_backups, archive_dir):
    """Serve decisions over HTTP (JSON in, JSON out).

    \b
    POST /decide/<decision>  a JSON object of facts → the result
    GET  /decisions, /openapi.json, /metrics, /health, /ready
    POST /reload  (admin: needs --admin-token-file or $DECIDE_ADMIN_TOKEN)
    \b
    Example:
      decide serve --port 8080 --watch 2 --workers 2
      decide serve --decision-log decisions.jsonl --decision-log-max 100M --archive archive/
      curl -s localhost:8080/decide/purchase_restriction -H 'Content-Type: application/json' \\
           -d '{"category": "gift_card", "amount_yen": 5000}'
    """
    from decide.app.http_security import Access, TokenError, admin_token, default_hosts, read_tokens
    from decide.app.server import Limits, serve
    try:
        access = Access(admin_token=admin_token(admin_token_file),
                        tokens=read_tokens(token_file) if token_file else (),
                        allowed_hosts=(None if "*" in allowed_hosts else tuple(allowed_hosts))
                        if allowed_hosts else default_hosts(host))
    except TokenError as e:
        fail(str(e))
    book = load_rulebook(tables, engine_name)
    log = open_logs(book, decision_log, decision_log_max, decision_log_backups, archive_dir)
    limits = Limits(connection_limit=connection_limit, idle_timeout=idle_timeout, max_body=max_body)
    try:
        serve(book, host=host, port=port, threads=threads, watch=watch,
              ready=lambda msg: click.echo(msg, err=True), access=access, limits=limits,
              workers=workers, server=server_name, access_log=access_log, decision_log=log, archive=archive_dir)
    except OSError as e:
        fail(f"cannot listen on {host}:{port}: {e.strerror or e}")
    except KeyboardInterrupt:
        pass


COMMANDS = (run, test_cmd, tables_cmd, serve_cmd)  # and LAZY_MODULES' COMMANDS, imported when used
for _cmd in COMMANDS:
    main.add_command(_cmd)


if __name__ == "__main__":
    main()
