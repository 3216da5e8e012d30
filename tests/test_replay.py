"""decide replay (issue 10, item 3): a decision log decided again — exactly, by the
archived version that decided each line, or by other tables (what they decide
differently, grouped by the rule that decides now) — and a log as a corpus for
``decide diff --cases``.

The logs are written here by ``log_line`` and the archive by ``archive_tables``, two
small fixtures in the format of the shared contract (the real writer and archive
come with the decision-log work)."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import decide
from decide.app import casejson
from decide.app.cli import main
from decide.model.errors import CaseError
from decide.tools.replay import Archive, accepts_as_of, canon, format_text, replay
from tests.strategies import glossary_cases

ROOT = Path(__file__).resolve().parents[1]
TABLES = ROOT / "tables"
EXAMPLES = sorted((ROOT / "examples").glob("*.json"))
DECIDE = str(Path(sys.executable).with_name("decide"))
BOOK = decide.load(TABLES)


# --------------------------------------------------------------------------- fixtures
def log_line(book, decision: str, facts: dict, ident: str, **options) -> str:
    """One decision log line as the shared contract has it (the lead switches this to
    the real writer, decide.runtime.decisionlog, when both are merged)."""
    r = book.decide(decision, facts, **options)
    d = r.to_dict()
    as_of = getattr(r, "as_of", None)
    return casejson.dumps({
        "time": dt.datetime.now(dt.timezone.utc).isoformat(), "id": ident, "decision": decision,
        "version": r.version, "label": None, "as_of": as_of.isoformat() if as_of else None,
        "engine": book.engine, "facts": facts, "outputs": d["outputs"],
        "fired": [{"table": f["table"], "rule": f["rule"]} for f in d["fired"]]}, pretty=False) + "\n"


def archive_tables(archive: Path, tables: Path, book=None) -> Path:
    """``tables`` copied into ``archive/<version>/`` with a manifest, as the contract says."""
    book = book or decide.load(tables)
    d = archive / book.version
    d.mkdir(parents=True)
    files = {}
    for p in sorted(tables.iterdir()):
        if p.suffix == ".xlsx" or p.name == "VERSION":
            shutil.copy2(p, d / p.name)
            files[p.name] = hashlib.sha256(p.read_bytes()).hexdigest()
    from decide.runtime.rulebook import engine_version
    (d / "manifest.json").write_text(json.dumps({
        "version": book.version, "label": None, "engine_version": engine_version(),
        "workbooks": {k: v for k, v in files.items() if k.endswith(".xlsx")},
        "archived_at": dt.datetime.now(dt.timezone.utc).isoformat()}), encoding="utf-8")
    return d


def example_cases() -> list[tuple[str, dict]]:
    out = []
    for p in EXAMPLES:
        facts = casejson.load(str(p))
        out.append((facts.pop("decision"), facts))
    return out


def write_log(path: Path, cases, book=BOOK) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        for i, (d, facts) in enumerate(cases, 1):
            fh.write(log_line(book, d, facts, f"case-{i}"))
    return path


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    a = tmp_path_factory.mktemp("archive")
    archive_tables(a, TABLES, BOOK)
    return a


@pytest.fixture(scope="module")
def shared_archive(archive) -> Archive:
    return Archive(archive)  # one load of the version for all the hypothesis examples


def _cli(*args):
    return CliRunner().invoke(main, ["replay", *map(str, args)])


# --------------------------------------------------------------------------- exact replay
def test_the_examples_replay_exactly_through_the_decide_command(tmp_path, archive):
    log = write_log(tmp_path / "decisions.jsonl", example_cases())
    r = subprocess.run([DECIDE, "replay", str(log), "--archive", str(archive), "--format", "json"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["lines"] == data["reproduced"] == len(EXAMPLES) == 18
    assert data["differing"] == data["unreadable"] == data["not_replayed"] == 0
    assert data["versions"] == {BOOK.version: {"lines": 18, "reproduced": 18, "problem": None}}
    r = subprocess.run([DECIDE, "replay", str(log), "--archive", str(archive)], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0 and "18 lines: 18 reproduced, 0 differ — every line reproduced" in r.stdout
    # the other runtime reproduces the native one's log exactly too (outputs and fired rules)
    rep = replay([log], archive=Archive(archive), engine="durable")
    assert rep.ok and rep.reproduced == 18, format_text(rep)


DECISIONS = ("card_eligibility", "purchase_restriction", "decline_diagnosis")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(DECISIONS).flatmap(
    lambda d: st.tuples(st.just(d), glossary_cases(BOOK.ir, d))), min_size=1, max_size=12))
def test_generated_cases_replay_exactly(shared_archive, tmp_path, cases):
    decided = []
    for d, facts in cases:
        try:
            BOOK.decide(d, facts)
        except CaseError:  # refused (contradictory facts): nothing to log
            continue
        decided.append((d, facts))
    log = write_log(tmp_path / "generated.jsonl", decided)
    rep = replay([log], archive=shared_archive)
    assert rep.ok, format_text(rep)
    assert rep.lines == rep.reproduced == len(decided) and not rep.differences


def test_outputs_are_compared_as_the_json_text_they_print_as():
    """0.30 and 0.3 are the same number but not the same output; 5 and Decimal 5 print
    alike; a list's order and an object's key order count."""
    assert canon(Decimal("0.30")) != canon(Decimal("0.3"))
    assert canon(5) == canon(Decimal("5")) == canon(json.loads("5", parse_float=Decimal))
    assert canon(json.loads('{"a": 1E+2}', parse_float=Decimal)) == canon({"a": Decimal("1E+2")})
    assert canon(["a", "b"]) != canon(["b", "a"]) and canon({"a": 1, "b": 2}) != canon({"b": 2, "a": 1})
    assert canon(dt.date(2027, 1, 1)) == canon("2027-01-01") and canon(True) != canon(1)


def test_a_tampered_output_is_one_difference_with_its_line(tmp_path, archive):
    cases = example_cases()
    log = write_log(tmp_path / "decisions.jsonl", cases)
    lines = log.read_text(encoding="utf-8").splitlines(keepends=True)
    k = next(i for i, (d, _) in enumerate(cases) if d == "card_eligibility")
    rec = json.loads(lines[k])
    was = rec["outputs"]["card_status"]
    rec["outputs"]["card_status"] = "declined_by_tamper"
    lines[k] = json.dumps(rec, ensure_ascii=False) + "\n"
    log.write_text("".join(lines), encoding="utf-8")
    rep = replay([log], archive=Archive(archive))
    assert (rep.lines, rep.reproduced, rep.differing) == (18, 17, 1) and not rep.ok
    diff = rep.differences[0]
    assert diff.source == f"line {k + 1}" and diff.id == f"case-{k + 1}" and diff.change.fields == ["card_status"]
    r = _cli(log, "--archive", archive)
    assert r.exit_code == 1, r.output
    assert f'line {k + 1} (id case-{k + 1}, card_eligibility, version {BOOK.version}): ' \
           f'card_status "declined_by_tamper" → "{was}"' in r.output
    assert "18 lines: 17 reproduced, 1 differ" in r.output


def test_a_tampered_fired_rule_is_a_difference(tmp_path, archive):
    log = write_log(tmp_path / "decisions.jsonl", example_cases()[:3])
    lines = log.read_text(encoding="utf-8").splitlines(keepends=True)
    rec = json.loads(lines[2])
    rec["fired"][0]["rule"] = "999"
    lines[2] = json.dumps(rec, ensure_ascii=False) + "\n"
    log.write_text("".join(lines), encoding="utf-8")
    rep = replay([log], archive=Archive(archive))
    assert rep.differing == 1 and rep.differences[0].source == "line 3"
    assert rep.differences[0].change.fields == [] and rep.differences[0].fired_logged[0][1] == "999"
    assert "fired [" in rep.differences[0].describe()


def test_a_torn_last_line_is_reported_not_a_traceback(tmp_path, archive):
    log = write_log(tmp_path / "decisions.jsonl", example_cases()[:4])
    whole = log.read_bytes()
    last = whole.splitlines(keepends=True)[-1]
    log.write_bytes(whole + last[: len(last) // 2])  # a crash in the middle of a write
    r = _cli(log, "--archive", archive)
    assert r.exit_code == 1, r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)
    assert "Lines that are not decision log lines:\n  line 5: not valid JSON" in r.output
    assert "cut short" in r.output
    assert "5 lines: 4 reproduced, 0 differ, 1 unreadable" in r.output
    # cut inside a multi-byte character too
    log.write_bytes(whole + "{\"decision\": \"カ".encode()[:-1])
    rep = replay([log], archive=Archive(archive))
    assert rep.unreadable == 1 and rep.unreadable_lines[0][0] == "line 5"


def test_a_version_the_archive_lacks_is_named(tmp_path, archive):
    log = write_log(tmp_path / "decisions.jsonl", example_cases()[:3])
    extra = json.loads(log.read_text().splitlines()[0])
    for version in ("2027.01+0123456789ab", "../../etc"):
        log.open("a").write(json.dumps({**extra, "version": version}) + "\n")
    r = _cli(log, "--archive", archive)
    assert r.exit_code == 1, r.output
    assert "version 2027.01+0123456789ab: 1 line not replayed: not in the archive" in r.output
    assert 'version ../../etc: 1 line not replayed: "../../etc" is not a rule-set version' in r.output
    assert f"version {BOOK.version}: 3 of 3 reproduced" in r.output
    assert "5 lines: 3 reproduced, 0 differ, 2 not replayed (version not available)" in r.output


def test_an_archived_version_that_loads_as_another_is_reported(tmp_path):
    """The archive holds the version's name over other files (or a newer engine hashes
    them otherwise): its lines are not replayed and the report says what it loads as."""
    edited = edit_spend_threshold(tmp_path / "edited")
    archive = tmp_path / "archive"
    d = archive_tables(archive, TABLES, BOOK)
    for p in d.glob("*.xlsx"):
        shutil.copy2(edited / p.name, p)
    manifest = json.loads((d / "manifest.json").read_text())
    (d / "manifest.json").write_text(json.dumps({**manifest, "engine_version": "0.0.1"}))
    log = write_log(tmp_path / "decisions.jsonl", example_cases()[:2])
    rep = replay([log], archive=Archive(archive))
    assert rep.not_replayed == 2 and rep.reproduced == 0 and not rep.ok
    problem = rep.versions[BOOK.version].problem
    assert f"load as version {decide.load(edited).version}" in problem
    assert "archived with decide 0.0.1, this is decide" in problem


def test_rotated_logs_are_read_in_the_order_given(tmp_path, archive):
    cases = example_cases()
    older = write_log(tmp_path / "decisions.jsonl.1", cases[:10])
    newer = write_log(tmp_path / "decisions.jsonl", cases[10:])
    (tmp_path / "decisions.jsonl").open("a").write("not json\n")
    rep = replay([older, newer], archive=Archive(archive))
    assert (rep.lines, rep.reproduced) == (19, 18)
    assert rep.unreadable_lines == [(f"{newer} line 9", rep.unreadable_lines[0][1])]


def test_what_is_kept_is_bounded_whatever_the_log(tmp_path, archive):
    """Lines are streamed; only the first ``limit`` differences are kept, all counted."""
    one = write_log(tmp_path / "one.jsonl", example_cases()[:1]).read_text()
    rec = json.loads(one)
    rec["outputs"] = {"tampered": True}
    (tmp_path / "big.jsonl").write_text((json.dumps(rec) + "\n") * 300)
    rep = replay([tmp_path / "big.jsonl"], archive=Archive(archive), limit=5)
    assert rep.differing == 300 and len(rep.differences) == 5
    assert "… and 295 more" in format_text(rep, limit=5)


def test_the_logged_as_of_date_is_used(tmp_path, archive):
    log = write_log(tmp_path / "decisions.jsonl", example_cases()[:1])
    rec = json.loads(log.read_text())
    rec["as_of"] = "2027-01-01"
    log.write_text(json.dumps(rec, ensure_ascii=False) + "\n")
    rep = replay([log], archive=Archive(archive))
    if accepts_as_of(BOOK):  # effective dates in the engine: decided as of that day
        assert rep.ok, format_text(rep)
    else:  # not yet: the line cannot be replayed as of its date, and says so
        assert rep.differing == 1 and 'this engine has no "as_of"' in rep.differences[0].change.new["error"]


def test_bad_input_exits_2(tmp_path, archive):
    log = write_log(tmp_path / "decisions.jsonl", example_cases()[:1])
    for args, message in (((tmp_path / "nope.jsonl", "--archive", archive), "cannot read the decision log"),
                          ((tmp_path, "--archive", archive), "is a directory"),
                          ((log, "--archive", tmp_path / "no-archive"), "no such archive directory"),
                          ((log, "--archive", archive, "--tables", TABLES), "not both")):
        r = _cli(*args)
        assert r.exit_code == 2 and message in r.output, (args, r.output)
        assert r.exception is None or isinstance(r.exception, SystemExit)


# --------------------------------------------------------------------------- --tables
def edit_spend_threshold(d: Path) -> Path:
    """Section 4 of the analyst guide: the spend threshold raised from 3,000 to 5,000 yen."""
    shutil.copytree(TABLES, d, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    wb = openpyxl.load_workbook(d / "card_eligibility.xlsx")
    assert wb["5 実績-金額"]["B7"].value == ">= 3000"
    wb["5 実績-金額"]["B7"] = ">= 5000"
    wb.save(d / "card_eligibility.xlsx")
    return d


def spend_cases() -> list[tuple[str, dict]]:
    base = casejson.load(str(ROOT / "examples" / "eligibility_issuable.json"))
    base.pop("decision")
    cases = [("card_eligibility", {**base, "total_spent_yen": a}) for a in (2999, 3000, 4000, 4999, 5000, 8000)]
    cases += [("card_eligibility", {**base, "use_count": 1, "total_spent_yen": a}) for a in (1000, 4000, 6000)]
    return cases + example_cases()


def test_edited_tables_report_the_changed_cases_grouped_by_the_rule_now_deciding(tmp_path):
    edited = edit_spend_threshold(tmp_path / "edited")
    cases = spend_cases()
    log = write_log(tmp_path / "decisions.jsonl", cases)
    new = decide.load(edited)
    # what changes, found independently: each case decided by both versions
    expected = {}
    for i, (d, facts) in enumerate(cases, 1):
        a, b = BOOK.decide(d, facts), new.decide(d, facts)
        if a.to_dict()["outputs"] != b.to_dict()["outputs"]:
            expected[f"line {i}"] = b
    assert set(expected) == {"line 2", "line 3", "line 4", "line 8"}  # 3000 ≤ spend < 5000
    r = _cli(log, "--tables", edited, "--format", "json")
    assert r.exit_code == 1, r.output
    data = json.loads(r.output)
    assert (data["lines"], data["same"], data["different"]) == (len(cases), len(cases) - 4, 4)
    groups = data["decisions"]["card_eligibility"]["groups"]
    assert sum(g["count"] for g in groups) == 4 and len(groups) == 2
    assert {c["line"] for g in groups for c in g["cases"]} == set(expected)
    for g in groups:
        # every case of a group has the group's rules firing now, and the groups differ
        for c in g["cases"]:
            fired = {f"{f.table} rule {f.rule}" for f in expected[c["line"]].fired}
            named = [part.split(" (")[0] for part in g["now"].removeprefix("decided by ").split("; ")]
            assert named and set(named) <= fired, (g["now"], fired)
    labels = sorted(g["now"] for g in groups)
    assert labels[0].startswith("decided by CardStatus rule ") and "EligibilityReasons rule low_spend" in labels[0]
    assert labels[1].startswith("decided by EligibilityReasons rule low_spend")
    assert data["decisions"]["purchase_restriction"] == {"evaluated": 4, "changed": 0, "groups": []}
    # the text: grouped under the decision, as decide diff shows it
    text = _cli(log, "--tables", edited).output
    assert "  card_eligibility: 4 of 18 cases change\n    now decided by " in text
    assert '      line 3 {' in text and 'card_status "issuable" → "building_history"' in text
    assert f"{len(cases)} lines: {len(cases) - 4} decided the same, 4 decided differently" in text
    # the same log with the tables that decided it: nothing differs, exit 0
    r = _cli(log, "--tables", TABLES)
    assert r.exit_code == 0 and "every case decided the same" in r.output


def test_a_decision_the_tables_lack_is_named(tmp_path):
    log = write_log(tmp_path / "decisions.jsonl", example_cases()[:2])
    rec = json.loads(log.read_text().splitlines()[0])
    log.open("a").write(json.dumps({**rec, "decision": "retired_decision"}) + "\n")
    r = _cli(log, "--tables", TABLES)
    assert r.exit_code == 1, r.output
    assert "  retired_decision: 1 line not decided: the tables have no such decision" in r.output
    assert "3 lines: 2 decided the same, 0 decided differently, 1 not replayed (decision not in the tables)" \
        in r.output


def test_a_decision_log_is_a_corpus_for_diff_cases(tmp_path):
    edited = edit_spend_threshold(tmp_path / "edited")
    log = write_log(tmp_path / "decisions.jsonl", spend_cases())
    r = CliRunner().invoke(main, ["diff", str(TABLES), str(edited), "--cases", str(log), "--format", "json"])
    assert r.exit_code == 1, r.output
    changed = json.loads(r.output)["decisions"]["card_eligibility"]["changed"]
    assert [c["source"] for c in changed] == ["line 2", "line 3", "line 4", "line 8"]
    assert all("outputs" not in c["case"] and "total_spent_yen" in c["case"] for c in changed)
    text = CliRunner().invoke(main, ["diff", str(TABLES), str(edited), "--cases", str(log)]).output
    assert "  card_eligibility: 4 of 18 cases change\n    now decided by CardStatus rule " in text


def test_a_log_line_that_is_not_json_is_one_clear_diff_error(tmp_path):
    log = write_log(tmp_path / "decisions.jsonl", example_cases()[:2])
    log.open("a").write('{"decision": "card_el')
    r = CliRunner().invoke(main, ["diff", str(TABLES), str(TABLES), "--cases", str(log)])
    assert r.exit_code == 2 and f"{log}: line 3 is not valid JSON" in r.output
