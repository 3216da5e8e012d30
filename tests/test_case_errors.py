"""Issue 2, acceptance item 5: bad case files through the CLI give one clear line on
stderr and exit code 2, never a traceback; ``decide batch`` goes on past bad lines and
reports each one."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import decide
from decide import CaseError
from tests.workbooks import table, write_workbook

DECIDE = str(Path(sys.executable).with_name("decide"))

GLOSSARY = [
    ("country", "text", '"JP","US","FR"', "国"),
    ("amount_yen", "number", "[0..1000000]", "金額"),
    ("age", "integer"),
    ("member", "boolean"),
    ("birth", "date"),
    ("app_version", "version"),
    ("tags", "text list", '"a","b"'),
    ("verdict", "text", '"ok","review","no"'),
]


@pytest.fixture(scope="module")
def tables_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("casebook")
    write_workbook(d / "book.xlsx", glossary=GLOSSARY, tables=[
        table("Verdict", "UNIQUE", ["INPUT country", "INPUT amount_yen", "INPUT age", "INPUT member",
                                    "INPUT birth", "INPUT app_version", "INPUT tags", "OUTPUT verdict"],
              [[1, '"JP"', "< 1000", "-", "-", "-", "-", "-", '"ok"'],
               [2, '"JP"', ">= 1000", "-", "-", "-", "-", "-", '"review"'],
               [3, 'not("JP")', "-", "-", "-", "-", "-", "-", '"no"'],
               [4, '"FR"', "-", "-", "-", "-", "-", "-", '"no"']]),  # FR: rules 3 and 4 → UNIQUE violated
    ])
    return d


class Ran:
    def __init__(self, returncode, stdout, stderr):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def run(args, tables_dir, stdin=None, real=False):
    """``decide ARGS --tables DIR``: in-process through click (fast), or as a real
    subprocess of the installed ``decide`` script when ``real``."""
    argv = [*args, "--tables", str(tables_dir)]
    if real:
        return subprocess.run([DECIDE, *argv], capture_output=True, text=True, input=stdin)
    from click.testing import CliRunner
    from decide.app.cli import main
    r = CliRunner().invoke(main, argv, input=stdin)
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        import traceback
        tb = "".join(traceback.format_exception(*r.exc_info))
        return Ran(99, r.stdout, r.stderr + tb)  # an uncaught exception: a traceback
    return Ran(r.exit_code, r.stdout, r.stderr)


def write_case(tmp_path, content, name="case.json") -> Path:
    p = tmp_path / name
    if isinstance(content, bytes):
        p.write_bytes(content)
    else:
        p.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return p


def assert_one_line_error(p, *must_contain):
    assert p.returncode == 2, (p.returncode, p.stdout, p.stderr)
    assert "Traceback" not in p.stderr
    assert p.stdout == ""
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    line = lines[0]
    assert line.startswith("error:"), line
    for s in must_contain:
        assert s in line, f"{s!r} not in {line!r}"
    return line


def test_good_case_works(tables_dir, tmp_path):
    p = run([str(write_case(tmp_path, {"decision": "Verdict", "country": "JP", "amount_yen": 999.5,
                                       "birth": "2000-01-31", "app_version": "6.10.0", "tags": ["a"]}))],
            tables_dir, real=True)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["decision"] == "Verdict" and out["outputs"] == {"verdict": "ok"}
    assert out["fired"] == [{"table": "Verdict", "rule": "1", "workbook": "book.xlsx", "sheet": "Verdict",
                             "row": 6}]


@pytest.mark.parametrize("content,hints", [
    ('{"country": "JP", ', ["not valid JSON", "line 1"]),
    ("", ["not valid JSON"]),
    ("{'country': 'JP'}", ["not valid JSON"]),
    ("[1, 2]", ["JSON object"]),
    ('"JP"', ["JSON object"]),
    ("42", ["JSON object"]),
    (b"\xff\xfe{\x00}\x00", ["UTF-8"]),
    ('{"country": ' + "[" * 100000 + "]" * 100000 + "}", []),
], ids=["truncated", "empty", "single-quotes", "array", "string", "number", "utf16", "nested-too-deep"])
def test_not_a_json_object(tables_dir, tmp_path, content, hints):
    path = write_case(tmp_path, content)
    line = assert_one_line_error(run([str(path), "--decision", "Verdict"], tables_dir), *hints)
    assert str(path) in line


@pytest.mark.parametrize("facts,hints", [
    ({"country": 81}, ["country", "81", "quote"]),
    ({"country": True}, ["country"]),
    ({"amount_yen": "3000"}, ["amount_yen", "number"]),
    ({"amount_yen": "3,000円"}, ["amount_yen", "number"]),
    ({"age": 3.5}, ["age", "whole number"]),
    ({"member": "yes"}, ["member", "true or false"]),
    ({"member": 1}, ["member", "true or false"]),
    ({"birth": "31/01/2000"}, ["birth", "2020-02-03"]),
    ({"birth": "2000-02-30"}, ["birth"]),
    ({"app_version": "six"}, ["app_version", "6.7.0"]),
    ({"tags": "a"}, ["tags", "list"]),
    ({"tags": ["a", 1]}, ["tags", "list"]),
    ({"country": {"code": "JP"}}, ["country"]),
], ids=lambda v: json.dumps(v, ensure_ascii=False) if isinstance(v, dict) else None)
def test_field_of_the_wrong_type(tables_dir, tmp_path, facts, hints):
    assert_one_line_error(run([str(write_case(tmp_path, facts)), "-d", "Verdict"], tables_dir), *hints)


@pytest.mark.parametrize("facts,hints", [
    ({"country": "DE"}, ["country", '"DE"', '"JP"', '"US"', '"FR"']),
    ({"amount_yen": 2000000}, ["amount_yen", "2000000", "[0..1000000]"]),
    ({"amount_yen": -1}, ["amount_yen", "-1"]),
    ({"tags": ["a", "z"]}, ["tags", '"z"', '"a"']),
])
def test_value_outside_the_allowed_values(tables_dir, tmp_path, facts, hints):
    assert_one_line_error(run([str(write_case(tmp_path, facts)), "-d", "Verdict"], tables_dir), *hints)


def test_unknown_field_did_you_mean(tables_dir, tmp_path):
    line = assert_one_line_error(run([str(write_case(tmp_path, {"contry": "JP"})), "-d", "Verdict"],
                                     tables_dir), "contry", 'did you mean "country"')
    assert "amount_yen" in line  # says which fields the decision takes


def test_unknown_decision(tables_dir, tmp_path):
    case = str(write_case(tmp_path, {"country": "JP"}))
    assert_one_line_error(run([case, "-d", "Verdikt"], tables_dir, real=True), "Verdikt",
                          'did you mean "Verdict"')
    assert_one_line_error(run([case, "-d", "Nothing_like_it"], tables_dir), "Nothing_like_it", "Verdict")
    case = str(write_case(tmp_path, {"decision": "Verdit", "country": "JP"}, "c2.json"))
    assert_one_line_error(run([case], tables_dir), "Verdit", "Verdict")


def test_case_file_with_utf8_bom_is_read(tables_dir, tmp_path):
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"country": "US"}).encode())
    p = run([str(path), "-d", "Verdict"], tables_dir)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["outputs"] == {"verdict": "no"}


def test_no_decision_given(tables_dir, tmp_path):
    assert_one_line_error(run([str(write_case(tmp_path, {"country": "JP"}))], tables_dir), "--decision")


def test_missing_case_file(tables_dir, tmp_path):
    assert_one_line_error(run([str(tmp_path / "nope.json"), "-d", "Verdict"], tables_dir), "nope.json")


def test_real_subprocess_bad_cases(tables_dir, tmp_path):
    assert_one_line_error(run([str(write_case(tmp_path, '{"country": ')), "-d", "Verdict"], tables_dir,
                              real=True), "not valid JSON")
    assert_one_line_error(run([str(write_case(tmp_path, {"amount_yen": "x"})), "-d", "Verdict"], tables_dir,
                              real=True), "amount_yen")
    assert_one_line_error(run([str(write_case(tmp_path, {"country": "DE"})), "-d", "Verdict"], tables_dir,
                              real=True), "country", '"DE"')


def test_case_from_stdin(tables_dir):
    p = run(["-", "-d", "Verdict"], tables_dir, stdin='{"country": "US"}')
    assert p.returncode == 0 and json.loads(p.stdout)["outputs"] == {"verdict": "no"}
    assert_one_line_error(run(["-", "-d", "Verdict"], tables_dir, stdin='{"country": 1}'), "country")


def test_api_case_error_carries_the_field(tables_dir):
    book = decide.load(tables_dir)
    with pytest.raises(CaseError) as e:
        book.decide("Verdict", {"country": "DE"})
    assert e.value.field == "country"
    assert e.value.to_dict()["error"] == "case" and e.value.to_dict()["field"] == "country"
    with pytest.raises(CaseError):
        book.decide("Verdict", ["country", "JP"])
    with pytest.raises(CaseError):
        book.decide("Nope", {})


# --------------------------------------------------------------------------- batch
BATCH_LINES = [
    '{"country": "JP", "amount_yen": 10}',  # 1 ok
    '{"country": "JP", ',  # 2 not JSON
    '{"country": 81}',  # 3 wrong type
    "",  # 4 blank: an error row
    '{"contry": "JP"}',  # 5 unknown field
    "[1, 2]",  # 6 not an object
    '{"country": "DE"}',  # 7 not allowed
    '{"country": "FR"}',  # 8 UNIQUE violated
    '{"decision": "Verdict", "country": "US"}',  # 9 ok (the decision key is ignored)
    '{"amount_yen": 5000, "country": "JP"}',  # 10 ok
]


def check_batch_output(text):
    rows = [json.loads(line) for line in text.splitlines()]
    assert len(rows) == 10  # one per line, blank ones too, in order
    assert [r["line"] for r in rows] == list(range(1, 11))
    assert rows[0]["outputs"] == {"verdict": "ok"}
    errors = {r["line"]: r["error"] for r in rows if "error" in r}
    assert [r.get("line") for r in rows if "error" in r] == [2, 3, 4, 5, 6, 7, 8]  # input order
    assert "blank line" in errors[4]["message"]
    assert "JSON" in errors[2]["message"]
    assert errors[3]["error"] == "case" and errors[3].get("field") == "country"
    assert 'did you mean "country"' in errors[5]["message"]
    assert "object" in errors[6]["message"]
    assert errors[7].get("field") == "country" and '"JP"' in errors[7]["message"]
    assert errors[8]["error"] == "evaluation" and [x["rule"] for x in errors[8]["rules"]] == ["3", "4"]
    assert rows[-2]["outputs"] == {"verdict": "no"}
    assert rows[-1]["outputs"] == {"verdict": "review"}


def test_batch_goes_on_and_reports_each_bad_line(tables_dir, tmp_path):
    cases = tmp_path / "cases.jsonl"
    cases.write_text("\n".join(BATCH_LINES) + "\n", encoding="utf-8")
    p = run(["batch", str(cases), "--decision", "Verdict"], tables_dir, real=True)
    assert "Traceback" not in p.stderr
    assert p.returncode != 0  # some lines failed
    check_batch_output(p.stdout)
    assert "7 of 10 cases failed" in p.stderr


def test_batch_to_output_file(tables_dir, tmp_path):
    cases = tmp_path / "cases.jsonl"
    cases.write_text("\n".join(BATCH_LINES), encoding="utf-8")  # no final newline
    out = tmp_path / "out.jsonl"
    p = run(["batch", str(cases), "--decision", "Verdict", "-o", str(out)], tables_dir)
    assert "Traceback" not in p.stderr and p.stdout == ""
    check_batch_output(out.read_text(encoding="utf-8"))


def test_batch_line_that_is_not_utf8(tables_dir, tmp_path):
    cases = tmp_path / "cases.jsonl"
    cases.write_bytes(b'{"country": "JP", "amount_yen": 1}\n{"country": "\xff\xfe"}\n{"country": "US"}\n')
    p = run(["batch", str(cases), "--decision", "Verdict"], tables_dir)
    assert "Traceback" not in p.stderr, p.stderr
    rows = [json.loads(line) for line in p.stdout.splitlines()]
    assert len(rows) == 3 and rows[1]["line"] == 2 and "error" in rows[1]
    assert rows[2]["outputs"] == {"verdict": "no"}


def test_batch_unknown_decision_exit_2(tables_dir, tmp_path):
    cases = tmp_path / "cases.jsonl"
    cases.write_text('{"country": "JP"}\n')
    p = run(["batch", str(cases), "--decision", "Verdikt"], tables_dir)
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert "Verdikt" in p.stderr and "Verdict" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1


def test_batch_missing_file_exit_2(tables_dir, tmp_path):
    p = run(["batch", str(tmp_path / "none.jsonl"), "--decision", "Verdict"], tables_dir)
    assert p.returncode == 2 and "Traceback" not in p.stderr and "none.jsonl" in p.stderr
