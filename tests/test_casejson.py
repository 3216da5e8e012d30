"""decide.app.casejson: case JSON read within bounds (fast, one clear line when not),
results written with every Decimal's own digits; ``decide tables --source`` and
``python -m decide``."""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time
from decimal import Decimal as D
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings, strategies as st

import decide
from decide.app import casejson
from decide.app.casejson import MAX_DEPTH, MAX_DIGITS, MAX_EXPONENT, CaseJSONError, dumps, parse
from decide.app.cli import main
from decide.model.values import Version
from tests.workbooks import table, write_workbook

TABLES = Path(__file__).resolve().parents[1] / "tables"


def refused(data, *words, **kw) -> CaseJSONError:
    with pytest.raises(CaseJSONError) as e:
        parse(data, **kw)
    line = str(e.value)
    assert "\n" not in line
    for w in words:
        assert w in line, f"{w!r} not in {line!r}"
    return e.value


def fastest(fn, times=3) -> float:
    best = float("inf")
    for _ in range(times):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


# --------------------------------------------------------------------------- reading
def test_numbers_are_decimal_or_int_never_float():
    case = parse(b'{"a": 1.10, "b": 3, "c": 2e3, "d": -0.5, "e": [1.5]}')
    assert case == {"a": D("1.10"), "b": 3, "c": D("2E+3"), "d": D("-0.5"), "e": [D("1.5")]}
    assert type(case["b"]) is int and str(case["a"]) == "1.10"


@pytest.mark.parametrize("text", ["1e600000", "-1E+600000", "1e-600000", "1" + "0" * 100_000,
                                  "0." + "1" * 100_000, "1e" + "9" * 100_000])
def test_huge_numbers_are_refused_fast(text):
    data = ('{"amount_yen": ' + text + "}").encode()
    e = refused(data, "not a usable JSON case", "number")
    assert e.kind == "limit" and len(str(e)) < 300  # the number is shortened in the message
    assert fastest(lambda: refused(data)) < 0.010


def test_number_limits_are_exact():
    ok = {"9" * MAX_DIGITS, "-" + "9" * MAX_DIGITS, f"1e{MAX_EXPONENT}", f"1e-{MAX_EXPONENT}",
          "0." + "0" * (MAX_EXPONENT - 1) + "1", "1." + "2" * (MAX_DIGITS - 1)}
    for text in ok:
        assert parse(f'{{"x": {text}}}')["x"] == D(text)
    refused(f'{{"x": {"9" * (MAX_DIGITS + 1)}}}', f"more than {MAX_DIGITS} digits")
    refused(f'{{"x": 1.{"2" * MAX_DIGITS}}}', f"more than {MAX_DIGITS} digits")
    refused(f'{{"x": 1e{MAX_EXPONENT + 1}}}', "out of range")
    refused(f'{{"x": 1e-{MAX_EXPONENT + 1}}}', "out of range")
    refused('{"x": 2e3999999999999999999999999999999}', "out of range")  # past Decimal's own exponents


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json_numbers(text):
    refused('{"x": ' + text + "}", text, "not a JSON number")


@pytest.mark.parametrize("data", ['{"x": "\\ud800"}', '{"\\udfff": 1}', '{"x": ["a", "b\\udc00c"]}',
                                  '{"x": "\\ude00\\ud83d"}'])
def test_lone_surrogates_are_refused(data):
    e = refused(data, "lone surrogate", "not a character")
    assert e.kind == "limit"


def test_a_surrogate_pair_is_one_character():
    assert parse('{"x": "\\ud83d\\ude00"}') == {"x": "\U0001F600"}


def nested(depth: int) -> str:
    """A case object whose deepest list is at level ``depth``."""
    return '{"x": ' + "[" * (depth - 1) + "]" * (depth - 1) + "}"


def test_nesting_depth():
    assert parse(nested(MAX_DEPTH))
    refused(nested(MAX_DEPTH + 1), "nested too deeply", str(MAX_DEPTH))
    refused('{"x": ' + '{"y": ' * MAX_DEPTH + "1" + "}" * MAX_DEPTH + "}", "nested too deeply")
    data = nested(100_000)  # past the JSON scanner's own recursion limit
    refused(data, "nested too deeply")
    assert fastest(lambda: refused(data)) < 0.050


def test_size_limit():
    big = b'{"x": "' + b"a" * casejson.MAX_BYTES + b'"}'
    e = refused(big, "over", str(casejson.MAX_BYTES), noun="body")
    assert e.kind == "limit"


def test_encodings():
    assert parse(b"\xef\xbb\xbf" + '{"国": "日本"}'.encode()) == {"国": "日本"}  # a BOM is skipped
    assert parse("\ufeff{}") == {}
    e = refused(b"\xff\xfe{\x00}\x00", "the case file is not UTF-8 text", source="c.json", noun="case file")
    assert str(e).startswith("c.json: ") and e.kind == "encoding" and e.detail == "not UTF-8 text"
    refused('{"x": "caf\xe9"}'.encode("latin-1"), "not UTF-8 text")


def test_syntax_and_shape_messages():
    e = refused('{"country": ', "not valid JSON", "line 1, column 13", source="case.json")
    assert str(e).startswith("case.json: not valid JSON: ")
    e = refused("[1, 2]", "a line is a JSON object of facts", noun="line")
    assert e.kind == "shape" and e.to_dict() == {"error": "case", "message": e.reason}


def test_load_reads_a_file_and_names_it(tmp_path):
    p = tmp_path / "case.json"
    p.write_text('{"amount_yen": 12.50}', encoding="utf-8")
    assert casejson.load(str(p)) == {"amount_yen": D("12.50")}
    with pytest.raises(CaseJSONError) as e:
        casejson.load(str(tmp_path / "nope.json"))
    assert str(e.value).startswith(f"{tmp_path / 'nope.json'}: cannot read the case file: ")


# --------------------------------------------------------------------------- writing
def in_range_decimals():
    """Every finite Decimal a case may hold: at most MAX_DIGITS digits, exponent in range."""
    def build(sign, coefficient, adjusted):
        digits = tuple(int(c) for c in str(coefficient))
        return D((sign, digits, adjusted - len(digits) + 1))
    return st.builds(build, st.integers(0, 1), st.integers(0, 10 ** MAX_DIGITS - 1),
                     st.integers(-MAX_EXPONENT, MAX_EXPONENT))


@settings(max_examples=500, deadline=None)
@given(in_range_decimals())
def test_any_decimal_in_range_round_trips_exactly(d):
    text = dumps(d)
    back = parse('{"x": ' + text + "}")["x"]
    assert back == d
    if d.as_tuple().exponent != 0:
        assert isinstance(back, D) and back.as_tuple() == d.as_tuple()  # the same digits
    else:
        assert back == int(d) and text == str(int(d))


@pytest.mark.parametrize("d,text", [
    (D("0.30"), "0.30"), (D("0.1"), "0.1"), (D("5000"), "5000"), (D("5000.0"), "5000.0"),
    (D("1E+3"), "1E+3"), (D("-1.5E-7"), "-1.5E-7"), (D("0.30000000000000000000000000001"),
                                                   "0.30000000000000000000000000001"),
    (D("12345678901234567890.123456789"), "12345678901234567890.123456789"),
])
def test_decimals_keep_their_digits(d, text):
    assert dumps({"x": d}, pretty=False) == '{"x": ' + text + "}"
    assert dumps([d]) == "[\n  " + text + "\n]"


@pytest.mark.parametrize("bad", [D("NaN"), D("Infinity"), D("-Infinity"), float("nan"), object()])
def test_what_json_cannot_hold_is_refused(bad):
    with pytest.raises((ValueError, TypeError)):
        dumps({"x": [D("0.5"), bad]})  # the exact path
    with pytest.raises((ValueError, TypeError)):
        dumps({"x": bad})


def test_typed_values_are_written_as_text():
    obj = {"date": dt.date(2024, 2, 29), "version": Version("6.10.0"), "list": ("a", "ü"), "n": D("1.50")}
    assert json.loads(dumps(obj)) == {"date": "2024-02-29", "version": "6.10.0", "list": ["a", "ü"], "n": 1.5}
    assert '"ü"' in dumps(obj) and '"n": 1.50' in dumps(obj)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text() |
    st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(json_values, st.booleans())
def test_the_exact_path_writes_what_json_writes(value, pretty):
    """With a fraction in it, an object is written by casejson's own encoder: its text is
    the standard library's, the fraction's digits aside."""
    indent = 2 if pretty else None
    expected = json.dumps([value, 0.25], ensure_ascii=False, indent=indent)
    assert dumps([value, D("0.25")], pretty=pretty) == expected
    assert dumps({"v": value, "k": D("0.25")}, pretty=pretty) == \
        json.dumps({"v": value, "k": 0.25}, ensure_ascii=False, indent=indent)
    assert dumps(value, pretty=pretty) == json.dumps(value, ensure_ascii=False, indent=indent)


# --------------------------------------------------------------------------- msgspec and json agree
def _outcome(fn, data):
    try:
        value = fn(data)
    except CaseJSONError as e:
        return ("refused", str(e), e.kind, e.detail)
    return ("read", repr(value))  # repr: Decimal("1.50") is not Decimal("1.5"), nor 1


json_texts = st.one_of(
    json_values.map(lambda v: json.dumps({"v": v})),
    st.dictionaries(st.text(max_size=4), json_values, max_size=4).map(lambda v: json.dumps(v, ensure_ascii=False)),
    in_range_decimals().map(lambda d: '{"v": %s}' % dumps(d)),
    st.integers(-10 ** 60, 10 ** 60).map(lambda i: '{"v": [%d]}' % i),
    st.lists(st.sampled_from(['{', '}', '[', ']', '"a"', ':', ',', '1', '-0', '1.50', '2e3', 'true', 'null',
                              '"\\ud800"', '"\\ud83d\\ude00"', '"\\u00e9"', 'NaN', ' ', '\t', '\ufeff', '\x01',
                              '9' * 30, '.', 'e', '"\u3042"']), max_size=40).map("".join))


@settings(max_examples=1500, deadline=None)
@given(json_texts, st.booleans())
def test_the_quick_reader_reads_what_the_checked_reader_reads(text, as_bytes):
    """msgspec reads a case only where json with every check reads the same dict, the
    same types (Decimal, never float); otherwise the checked reader answers, message and all."""
    data = text.encode("utf-8", "surrogatepass") if as_bytes else text
    assert _outcome(parse, data) == _outcome(casejson.checked, data)


@pytest.mark.parametrize("data", [b'\xef\xbb\xbf{"a": 1.50}', '{"a": [[["x"]]]}', b'{"a": ' + b'[' * 31 + b']' * 31 + b'}',
                                  b'{"a": ' + b'[' * 32 + b']' * 32 + b'}', b'{"a": 1, "a": 2.0}',
                                  b'{"a": "\\ud83d\\ude00"}', b'{"a": 1' + b'0' * 49 + b'}',
                                  b'{"a": 1' + b'0' * 50 + b'}', b'{"a": "\xff"}', b'[1]', b'{"a": 1e101}'])
def test_the_quick_reader_on_the_edges(data):
    assert _outcome(parse, data) == _outcome(casejson.checked, data)


def test_the_quick_reader_reads_plain_cases():
    for data in (b'\xef\xbb\xbf{"a": 1.50}', b'{"a": [{"b": -0}], "c": "\\u00e9"}', '{"a": "\u3042", "b": 2e3}'):
        assert repr(casejson._quick(data)) == repr(casejson.checked(data))


# --------------------------------------------------------------------------- results written fast
def _fired(i):
    from decide.runtime.result import FiredRule
    return FiredRule(f"T{i % 3}", str(i), "w\u00e9.xlsx", 'sheet "q"', i + 6, i)


output_values = st.one_of(st.none(), st.booleans(), st.integers(-10 ** 30, 10 ** 30), st.text(),
                          in_range_decimals(), st.dates(), st.lists(st.text(max_size=3), max_size=3).map(tuple),
                          st.sampled_from([Version("1.2.3"), Version("10.0")]))


@settings(max_examples=500, deadline=None)
@given(st.text(min_size=1), st.dictionaries(st.text(max_size=6), output_values, max_size=5),
       st.lists(st.integers(0, 20), max_size=6), st.none() | st.text(max_size=20), st.none() | st.integers(1, 10 ** 9))
def test_result_json_writes_what_dumps_writes(decision, outputs, fired, version, line):
    from decide.runtime.result import Result
    r = Result(decision, outputs, tuple(_fired(i) for i in fired), version)
    row = r.to_dict()
    more = b""
    if line is not None:
        row["line"], more = line, b', "line": %d' % line
    assert casejson.result_json(r, more) == dumps(row, pretty=False).encode("utf-8")
    assert casejson.result_json(r, more) == dumps(row, pretty=False).encode("utf-8")  # from the caches


def test_result_json_refuses_what_dumps_refuses():
    from decide.runtime.result import Result
    for bad in (D("NaN"), D("-Infinity"), float("nan")):
        with pytest.raises(ValueError):
            casejson.result_json(Result("d", {"x": bad}, ()))


# --------------------------------------------------------------------------- through the CLI
@pytest.fixture(scope="module")
def fee_tables(tmp_path_factory):
    d = tmp_path_factory.mktemp("fee")
    write_workbook(d / "fee.xlsx", glossary=[("price", "number"), ("fee", "number"), ("label", "text")], tables=[
        table("Fee", "FIRST", ["INPUT price", "OUTPUT fee", "OUTPUT label"],
              [[1, "< 100", "price * 0.10", '"small"'], [2, "-", "price * 0.035", '"ストア"']])])
    return d


def cli(*args, input=None):
    return CliRunner().invoke(main, [str(a) for a in args], input=input)


def test_cli_and_batch_write_exact_digits(fee_tables, tmp_path):
    r = cli("-", "-d", "Fee", "--tables", fee_tables, input='{"price": 12345678901234567890.1}')
    assert r.exit_code == 0, r.output
    assert '"fee": 432098761543209876.1535,' in r.stdout  # float would give 4.320987115432099e+17
    assert '"label": "ストア"' in r.stdout
    cases = tmp_path / "cases.jsonl"
    cases.write_text('{"price": 0.30}\n{"price": 1e600000}\n', encoding="utf-8")
    r = cli("batch", cases, "-d", "Fee", "--tables", fee_tables)
    assert r.exit_code == casejson.EXIT_FAIL
    ok, bad = (json.loads(line, parse_float=D) for line in r.stdout.splitlines())
    assert ok["outputs"]["fee"] == D("0.0300") and '"fee": 0.0300' in r.stdout.splitlines()[0]
    assert bad["line"] == 2 and "out of range" in bad["error"]["message"]


def test_cli_case_over_the_limits_is_one_line_exit_2(fee_tables, tmp_path):
    p = tmp_path / "big.json"
    p.write_text('{"price": ' + "9" * 100_000 + "}", encoding="utf-8")
    r = cli(p, "-d", "Fee", "--tables", fee_tables)
    assert r.exit_code == casejson.EXIT_BAD and r.stdout == ""
    assert r.stderr.count("\n") == 1 and r.stderr.startswith(f"error: {p}: not a usable JSON case: ")


# --------------------------------------------------------------------------- tables --source
def test_tables_source_prints_the_compiled_function(fee_tables):
    r = cli("tables", fee_tables, "--source", "Fee")
    assert r.exit_code == 0, r.output
    src = r.stdout
    assert src.startswith("def decide(facts):") and "Fee" in src and "fee.xlsx" in src
    ns = {}
    exec(compile(src, "<Fee>", "exec"), ns)  # it compiles and defines the function
    assert callable(ns["decide"])
    assert src == decide.load(fee_tables).source("Fee")


def test_tables_source_of_a_service_names_its_tables():
    book = decide.load(TABLES)
    src = book.source("purchase_restriction")
    compile(src, "<purchase_restriction>", "exec")
    for t in book.decisions["purchase_restriction"].tables:
        assert f"# table {t} (" in src
    # a book served by durable_rules still shows what the native runtime compiles
    assert decide.load(TABLES, engine="durable").source("purchase_restriction") == src


def test_tables_source_of_an_unknown_decision(fee_tables):
    r = cli("tables", fee_tables, "--source", "Fe")
    assert r.exit_code == 2 and r.stdout == ""
    assert r.stderr.strip() == 'error: unknown decision "Fe" (did you mean "Fee"?); decisions: Fee'
    with pytest.raises(decide.CaseError):
        decide.load(fee_tables).source("Fe")


def test_python_dash_m_decide(fee_tables):
    p = subprocess.run([sys.executable, "-m", "decide", "-", "-d", "Fee", "--tables", str(fee_tables)],
                       input='{"price": 10}', capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["outputs"] == {"fee": 1, "label": "small"}
    p = subprocess.run([sys.executable, "-m", "decide", "--help"], capture_output=True, text=True)
    assert p.returncode == 0 and p.stdout.startswith("Usage: decide ")
