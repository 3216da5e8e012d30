"""``decide why`` (``COMMANDS``, added to the ``decide`` group by ``cli.py``): what
would change a decision — the fewest changes to a case's facts that give the wanted
outputs (``decide.tools.why``).

Exit codes as everywhere in ``decide``: 0 an answer (options, or "impossible" with
the rule that blocks it), 2 bad input (workbooks that do not load, a bad case or a
bad --want).
"""
from __future__ import annotations

import json
from decimal import Decimal

import click

from decide.app import casejson
from decide.app.casejson import CaseJSONError
from decide.app.cli_shared import AS_OF_OPT, TABLES_OPT, as_of_date, fail, load_rulebook
from decide.model.errors import CaseError


def parse_wants(items) -> dict:
    """``FIELD=VALUE`` pairs; VALUE is read as JSON when it is JSON (true, 3, ["a"]),
    else as text (``card_status=issuable``)."""
    want = {}
    for item in items:
        field, sep, raw = item.partition("=")
        field = field.strip()
        if not sep or not field:
            fail(f"--want {item}: write FIELD=VALUE, e.g. --want card_status=issuable")
        try:
            value = json.loads(raw, parse_float=Decimal)
        except ValueError:
            value = raw
        want[field] = value
    return want


@click.command("why")
@click.argument("case", type=click.Path(allow_dash=True))
@click.option("--want", "wants", multiple=True, required=True, metavar="FIELD=VALUE",
              help="An output wanted (repeatable), e.g. card_status=issuable or 'causes=[\"unknown\"]'.")
@click.option("--decision", "-d", default=None, help='Decision to run (else the case\'s "decision" key).')
@TABLES_OPT
@AS_OF_OPT
@click.option("--format", "fmt", type=click.Choice(["json", "text"]), default="json", show_default=True)
def why_cmd(case, wants, decision, tables, as_of, fmt):
    """What would change this decision: the fewest changes to the facts of CASE (a JSON
    file, or - for stdin) that make the decision give the wanted outputs.

    Only facts the Glossary marks Changeable take part (yes, up, down).  Each option
    lists the changes (from, to, and the range of values that work) and the rules that
    would then fire; when nothing works, the answer is "impossible", with the rule
    that blocks it.

    \b
    Example:
      decide why examples/eligibility_building_history.json --want card_status=issuable --format text
      decide why examples/decline_several_causes.json --want 'causes=["unknown"]'
    """
    from decide.tools.why import answer_lines, counterfactuals
    as_of = as_of_date(as_of)
    try:
        facts = casejson.load(case)
    except CaseJSONError as e:
        fail(str(e))
    name = decision or facts.get("decision")
    facts.pop("decision", None)
    if not name:
        fail(f'{case}: which decision? give --decision NAME or a "decision" key in the case')
    want = parse_wants(wants)
    book = load_rulebook(tables)
    try:
        answer = counterfactuals(book, name, facts, want, as_of=as_of)
    except CaseError as e:
        fail(f"{case}: {e}")
    if fmt == "text":
        click.echo("\n".join(answer_lines(book, answer)))
    else:
        click.echo(casejson.dumps(answer.to_dict()))


COMMANDS = (why_cmd,)
