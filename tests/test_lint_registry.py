"""The lint rules are a registry: one module per rule in decide/tools/lint/rules/, all
listed in ``RULES``.  A rule added to ``RULES`` (here from the test, without editing
the package) is run by ``lint()`` and ``decide lint``, and its diagnostics carry its
code and symbolic name in the text and JSON outputs."""
from __future__ import annotations

import importlib
import json
import pkgutil
import re

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings

import decide
from decide.app.cli import main
from decide.model.ir import HitPolicy
from decide.tools import lint as lint_pkg
from decide.tools.analysis import analyze_table
from decide.tools.lint import SEVERITY_ORDER, FindingRule, TableRule, format_text, lint
from decide.tools.lint import rules as registry

from .strategies import make_book, tables_and_fields
from .workbooks import table, write_workbook


class TooManyRules(TableRule):
    """A toy rule: a FIRST table with more than ``limit`` rules."""

    code = "L199"
    name = "too-many-rules"
    severity = "warning"
    summary = "a FIRST table with many rules"
    hit_policies = frozenset({HitPolicy.FIRST})

    def __init__(self, limit: int):
        self.limit = limit

    def detect(self, a):
        n = len(a.table.rules)
        return [n] if n > self.limit else []

    def message(self, a, n):
        return f"table {a.table.name} has {n} rules (more than {self.limit}): split it."

    def cell(self, a, n):
        return a.table.loc


GLOSSARY = [("category", "text", '"books","gift_card","kindle"'), ("level", "text"), ("grade", "text")]
# clean tables (no other finding): three rules each, one FIRST, one UNIQUE
BIG_FIRST = table("Big", "FIRST", ["INPUT category", "OUTPUT level"],
                  [[1, '"gift_card"', '"deny"'], [2, '"kindle"', '"review"'], [3, "-", '"allow"']])
BIG_UNIQUE = table("Exact", "UNIQUE", ["INPUT category", "OUTPUT grade"],
                   [[1, '"gift_card"', '"c"'], [2, '"kindle"', '"b"'], [3, '"books"', '"a"'],
                    [4, "null", '"none"']])  # a missing category too (else L123 notes it)


def _book(tmp_path):
    write_workbook(tmp_path / "b" / "book.xlsx", glossary=GLOSSARY, tables=[BIG_FIRST, BIG_UNIQUE])
    return tmp_path / "b"


def test_a_rule_added_to_the_registry_is_run_with_its_code_and_name(tmp_path, monkeypatch):
    path = _book(tmp_path)
    book = decide.load(path).ir
    assert lint(book) == []  # the shipped rules find nothing here
    monkeypatch.setattr(registry, "RULES", registry.RULES + (TooManyRules(limit=2),))
    diags = lint(book)
    # only the FIRST table: the rule's hit policies say where it applies
    assert [(d.code, d.name, d.table, str(d.loc)) for d in diags] == \
        [("L199", "too-many-rules", "Big", "book.xlsx › Big › B1")]
    assert diags[0].message == "table Big has 3 rules (more than 2): split it."
    assert lint(book, rules=[TooManyRules(limit=3)]) == []
    assert "WARNING L199 too-many-rules  book.xlsx › Big › B1" in format_text(diags)

    r = CliRunner().invoke(main, ["lint", str(path)])
    assert r.exit_code == 1  # a warning
    assert "WARNING L199 too-many-rules  book.xlsx › Big › B1" in r.output
    r = CliRunner().invoke(main, ["lint", str(path), "--format", "json"])
    assert r.exit_code == 1
    (d,) = json.loads(r.output)["diagnostics"]
    assert (d["code"], d["name"], d["severity"], d["sheet"], d["cell"], d["table"]) == \
        ("L199", "too-many-rules", "warning", "Big", "B1", "Big")
    assert list(d)[:2] == ["code", "name"]
    r = CliRunner().invoke(main, ["lint", "--rules"])
    assert r.exit_code == 0 and re.search(r"^L199 +too-many-rules +warning +F +a FIRST table", r.output, re.M)


def test_every_rule_has_a_unique_code_and_name_and_a_module_of_its_own():
    rules = registry.RULES
    assert len(rules) >= 13
    assert len({r.code for r in rules}) == len(rules)
    assert len({r.name for r in rules}) == len(rules)
    for r in rules:
        assert re.fullmatch(r"L1\d\d", r.code), r
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*", r.name), r
        assert r.severity in SEVERITY_ORDER and r.summary, r
        assert type(r).__module__ == f"{registry.__name__}.{r.name.replace('-', '_')}", r
    # every module of the rules folder is registered
    modules = [m.name for m in pkgutil.iter_modules(registry.__path__)]
    assert sorted(modules) == sorted(r.name.replace("-", "_") for r in rules)
    for m in modules:
        assert importlib.import_module(f"{registry.__name__}.{m}").RULE in rules


def test_the_reference_lists_every_rule():
    r = CliRunner().invoke(main, ["lint", "--rules"])
    assert r.exit_code == 0
    lines = r.output.splitlines()
    assert [ln.split()[:3] for ln in lines] == [[x.code, x.name, x.severity] for x in registry.RULES]
    assert "L104  shadowed-rule" in r.output and "L120  unused-field" in r.output


def test_diagnostics_carry_the_name_of_their_code(tmp_path):
    write_workbook(tmp_path / "s" / "book.xlsx", glossary=GLOSSARY, tables=[
        table("T", "FIRST", ["INPUT category", "OUTPUT level"],
              [[1, '"gift_card"', '"deny"'], [2, '"gift_card"', '"allow"'], [3, '"books"', '"allow"']])])
    diags = lint(decide.load(tmp_path / "s").ir)
    names = {r.code: r.name for r in registry.RULES}
    assert {(d.code, d.name) for d in diags} == \
        {("L104", "shadowed-rule"), ("L103", "uncovered-cases"), ("L120", "unused-field")}  # grade
    assert all(d.name == names[d.code] and d.to_dict()["name"] == d.name for d in diags)


FINDING_RULES = {r.kind: r for r in registry.RULES if isinstance(r, FindingRule)}


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(tables_and_fields())
def test_every_finding_of_the_analysis_is_reported_by_a_rule(ft):
    """The hit policies a rule declares cover every table the analysis finds its kind in
    (else lint would drop the finding)."""
    fields, tables = ft
    book = make_book(fields, tables)
    for t in book.tables.values():
        for x in analyze_table(t, book).findings:
            assert x.kind in FINDING_RULES and FINDING_RULES[x.kind].applies_to(t), (x.kind, t.hit_policy)


def test_the_package_keeps_its_entry_points():
    for name in ("lint", "lint_path", "format_text", "LintDiagnostic", "sort_diagnostics",
                 "table_diagnostics", "book_diagnostics", "analyses", "find_decision_cases"):
        assert callable(getattr(lint_pkg, name)), name
