"""Issue 12: ``decide batch`` never loses or misaligns a line.  Every bad input and
output case through the real command: blank lines, ``-o`` = the input (by name,
symlink, hard link), two writers, an unwritable ``-o``, ``/dev/full``, a huge line
(in bounded memory), kill -9 then ``--resume``; the line number on every row."""
from __future__ import annotations

import fcntl
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

DECIDE = str(Path(sys.executable).with_name("decide"))
DECISION = "purchase_restriction"
CATEGORIES = ["general_goods", "books", "gift_card", "kindle", "fashion", "subscription"]


def batch(*args, stdin=None, **kw):
    return subprocess.run([DECIDE, "batch", *map(str, args)], capture_output=True, text=True,
                          stdin=stdin, **kw)


def kill_9_midway(args: list[str], partial: Path, size: int) -> None:
    """Run ``decide ARGS`` and kill it with -9 once ``partial`` holds ``size`` bytes."""
    run = subprocess.Popen([DECIDE, *args], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not (partial.exists() and partial.stat().st_size > size):
        assert run.poll() is None and time.monotonic() < deadline, "the run ended before it could be killed"
        time.sleep(0.01)
    os.kill(run.pid, signal.SIGKILL)
    run.wait()


def case_line(rng: random.Random) -> str:
    return json.dumps({"category": rng.choice(CATEGORIES), "amount_yen": rng.randrange(0, 60000),
                       "recurring": rng.random() < 0.1})


def write_cases(path: Path, n: int, seed: int = 1, bad_every: int = 0) -> Path:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as f:
        for i in range(1, n + 1):
            f.write(("not json" if bad_every and i % bad_every == 0 else case_line(rng)) + "\n")
    return path


def rows(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def one_error_line(p) -> str:
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert "Traceback" not in p.stderr and p.stderr.count("\n") == 1, p.stderr
    return p.stderr


# --------------------------------------------------------------------------- lines
def test_blank_lines_are_error_rows_and_every_row_has_its_line(tmp_path):
    cases = tmp_path / "c.jsonl"
    cases.write_text('{"category": "books", "amount_yen": 100}\n\n   \n'
                     '{"category": "gift_card", "amount_yen": 5000}\n\n', encoding="utf-8")
    p = batch(cases, "-d", DECISION)
    out = rows(p.stdout)
    assert [r["line"] for r in out] == [1, 2, 3, 4, 5]
    assert [("error" in r) for r in out] == [False, True, True, False, True]
    assert all("blank line" in out[i]["error"]["message"] for i in (1, 2, 4))
    assert out[3]["outputs"]["restriction"] == "cashable"
    assert p.returncode == 1 and "3 of 5 cases failed" in p.stderr


def test_crlf_lines_and_no_final_newline(tmp_path):
    cases = tmp_path / "c.jsonl"
    cases.write_bytes(b'{"category": "books"}\r\n{"category": "kindle"}')
    p = batch(cases, "-d", DECISION)
    assert p.returncode == 0, p.stderr
    assert [r["line"] for r in rows(p.stdout)] == [1, 2]


def test_huge_line_is_an_error_row_in_bounded_memory(tmp_path):
    cases = tmp_path / "c.jsonl"
    with cases.open("wb") as f:
        f.write(b'{"category": "books"}\n')
        f.write(b'{"category": "' + b"x" * (200 << 20) + b'"}\n')  # a 200 MB line
        f.write(b'{"category": "gift_card"}\n')
    out = tmp_path / "out.jsonl"
    # the child's peak RSS, measured by a parent of its own
    probe = ("import resource, subprocess, sys; p = subprocess.run(sys.argv[1:]); "
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024); sys.exit(p.returncode)")
    p = subprocess.run([sys.executable, "-c", probe, DECIDE, "batch", str(cases), "-d", DECISION, "-o", str(out)],
                       capture_output=True, text=True)
    assert p.returncode == 1, p.stderr
    peak_mb = int(p.stdout.strip())
    assert peak_mb < 150, f"peak RSS {peak_mb} MB for a 200 MB line"
    got = rows(out.read_text(encoding="utf-8"))
    assert [r["line"] for r in got] == [1, 2, 3]
    assert "over 1048576 bytes" in got[1]["error"]["message"]
    assert got[2]["outputs"]["restriction"] == "cashable"


# --------------------------------------------------------------------------- the output file
@pytest.mark.parametrize("how", ["same name", "symlink", "hard link", "via stdin"])
def test_output_that_is_the_input_is_refused(tmp_path, how):
    cases = write_cases(tmp_path / "c.jsonl", 5)
    before = cases.read_bytes()
    if how == "same name":
        p = batch(cases, "-d", DECISION, "-o", cases)
    elif how == "symlink":
        (tmp_path / "link.jsonl").symlink_to(cases)
        p = batch(cases, "-d", DECISION, "-o", tmp_path / "link.jsonl")
    elif how == "hard link":
        os.link(cases, tmp_path / "hard.jsonl")
        p = batch(tmp_path / "hard.jsonl", "-d", DECISION, "-o", cases)
    else:
        with cases.open("rb") as f:
            p = batch("-", "-d", DECISION, "-o", cases, stdin=f)
    assert "is the input file" in one_error_line(p)
    assert cases.read_bytes() == before
    assert not list(tmp_path.glob("*.partial")) and not list(tmp_path.glob("*.lock"))


def test_written_beside_and_renamed_on_success(tmp_path):
    cases = write_cases(tmp_path / "c.jsonl", 50)
    out = tmp_path / "out.jsonl"
    p = batch(cases, "-d", DECISION, "-o", out)
    assert p.returncode == 0 and p.stdout == "", p.stderr
    assert [r["line"] for r in rows(out.read_text(encoding="utf-8"))] == list(range(1, 51))
    assert sorted(x.name for x in tmp_path.iterdir()) == ["c.jsonl", "out.jsonl"]  # no partial, no lock


def test_two_writers_to_one_output_the_second_is_refused(tmp_path):
    out = tmp_path / "out.jsonl"
    first = subprocess.Popen([DECIDE, "batch", "-", "-d", DECISION, "-o", str(out)],
                             stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        first.stdin.write(b'{"category": "books"}\n')
        first.stdin.flush()
        deadline = time.monotonic() + 30
        while not (tmp_path / "out.jsonl.partial").exists():  # the first holds the lock now
            assert time.monotonic() < deadline and first.poll() is None
            time.sleep(0.05)
        cases = write_cases(tmp_path / "c.jsonl", 3)
        second = batch(cases, "-d", DECISION, "-o", out)
        assert "being written by another decide batch" in one_error_line(second)
        first.stdin.write(b'{"category": "kindle"}\n')
        first.stdin.close()
        assert first.wait(30) == 0, first.stderr.read()
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
        first.stderr.close()
    assert [r["line"] for r in rows(out.read_text(encoding="utf-8"))] == [1, 2]  # only the first's rows
    assert batch(cases, "-d", DECISION, "-o", out).returncode == 0  # the lock is free again


def test_a_lock_held_by_another_process_refuses(tmp_path):
    cases = write_cases(tmp_path / "c.jsonl", 3)
    out = tmp_path / "out.jsonl"
    with open(tmp_path / "out.jsonl.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        p = batch(cases, "-d", DECISION, "-o", out)
        assert "out.jsonl.lock" in one_error_line(p)
    assert not out.exists()


@pytest.mark.parametrize("where", ["missing directory", "a directory"])
def test_unwritable_output_is_one_line_exit_2(tmp_path, where):
    cases = write_cases(tmp_path / "c.jsonl", 3)
    target = tmp_path / "nope" / "out.jsonl" if where == "missing directory" else tmp_path
    p = batch(cases, "-d", DECISION, "-o", target)
    assert "cannot write" in one_error_line(p) and str(target) in p.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_read_only_directory_is_one_line_exit_2(tmp_path):
    cases = write_cases(tmp_path / "c.jsonl", 3)
    ro = tmp_path / "ro"
    ro.mkdir(mode=0o500)
    assert "cannot write" in one_error_line(batch(cases, "-d", DECISION, "-o", ro / "out.jsonl"))


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full on this system")
@pytest.mark.parametrize("how", ["-o", "stdout"])
def test_full_disk_is_one_line_exit_2(tmp_path, how):
    cases = write_cases(tmp_path / "c.jsonl", 2000)
    if how == "-o":
        p = batch(cases, "-d", DECISION, "-o", "/dev/full")
    else:
        with open("/dev/full", "w") as full:
            p = subprocess.run([DECIDE, "batch", str(cases), "-d", DECISION], stdout=full,
                               stderr=subprocess.PIPE, text=True)
    assert "No space left on device" in one_error_line(p)


# --------------------------------------------------------------------------- kill -9 and --resume
def test_kill_9_then_resume_equals_an_uninterrupted_run(tmp_path):
    cases = write_cases(tmp_path / "c.jsonl", 200_000, bad_every=997)
    whole = tmp_path / "whole.jsonl"
    ref = batch(cases, "-d", DECISION, "-o", whole)
    assert ref.returncode == 1, ref.stderr

    out = tmp_path / "out.jsonl"
    partial = tmp_path / "out.jsonl.partial"
    kill_9_midway(["batch", str(cases), "-d", DECISION, "-o", str(out)], partial, 5_000_000)
    assert not out.exists() and partial.exists()
    assert partial.stat().st_size < whole.stat().st_size

    again = batch(cases, "-d", DECISION, "-o", out)  # without --resume: refused, the partial kept
    assert "--resume" in one_error_line(again) and partial.exists()
    resumed = batch(cases, "-d", DECISION, "-o", out, "--resume")
    assert resumed.returncode == ref.returncode and resumed.stderr == ref.stderr
    assert out.read_bytes() == whole.read_bytes()
    assert not partial.exists() and not (tmp_path / "out.jsonl.lock").exists()


def test_resume_of_a_row_cut_mid_write(tmp_path):
    cases = write_cases(tmp_path / "c.jsonl", 30)
    whole = tmp_path / "whole.jsonl"
    batch(cases, "-d", DECISION, "-o", whole)
    data = whole.read_bytes()
    cut = data.index(b"\n", len(data) // 2) + 40  # mid-row
    (tmp_path / "out.jsonl.partial").write_bytes(data[:cut])
    p = batch(cases, "-d", DECISION, "-o", tmp_path / "out.jsonl", "--resume")
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "out.jsonl").read_bytes() == data


# --------------------------------------------------------------------------- the batch API (decide.runtime.batch)
pa = pytest.importorskip("pyarrow", reason="pyarrow is in the test extras: pip install -e '.[test]'")

import datetime as dt  # noqa: E402
import pickle  # noqa: E402
from decimal import Decimal as D  # noqa: E402

import decide  # noqa: E402
from decide.runtime.batch import decide_batch, input_schema, output_schema  # noqa: E402
from tests.workbooks import table, write_workbook  # noqa: E402

TYPED_GLOSSARY = [("price", "number"), ("qty", "integer"), ("member", "boolean"), ("since", "date"),
                  ("app", "version"), ("tags", "text list", '"a","b","c"'), ("fee", "number"),
                  ("total", "integer"), ("until", "date"), ("labels", "text list", '"a","b","c","vip"'),
                  ("min_app", "version"), ("note", "text")]


@pytest.fixture(scope="module")
def typed_tables(tmp_path_factory):
    """One FIRST table with an input and an output of every Glossary type."""
    d = tmp_path_factory.mktemp("typed")
    write_workbook(d / "typed.xlsx", glossary=TYPED_GLOSSARY, tables=[table(
        "Typed", "FIRST", ["INPUT price", "INPUT member", "INPUT tags", "OUTPUT fee", "OUTPUT total",
                           "OUTPUT until", "OUTPUT labels", "OUTPUT min_app", "OUTPUT note"],
        [[1, ">= 100", "true", "-", "price * 0.035", "qty * 2", "since", "tags", "app", '"big member"'],
         [2, "-", "-", "-", "price * 0.10", "qty", 'date("2030-01-31")', '["vip"]', '"1.2.3"', '"other"']])])
    return d


@pytest.fixture(scope="module")
def shipped():
    import decide.atone
    return decide.load(decide.atone.tables_dir())


def test_api_rows_in_order_bad_rows_kept_with_their_errors(shipped):
    rows = [{"category": "books", "amount_yen": 100}, {"category": 3}, "not a dict", {"contry": "JP"},
            {"category": "gift_card", "recurring": None}]
    t = decide_batch(shipped, DECISION, rows)
    assert t.num_rows == 5
    assert t.column("restriction").to_pylist() == ["none", None, None, None, "cashable"]
    errors = [None if e is None else json.loads(e) for e in t.column("error").to_pylist()]
    assert errors[0] is None and errors[4] is None
    assert errors[1]["field"] == "category" and "expected text" in errors[1]["message"]
    assert "JSON object" in errors[2]["message"] and 'unknown field "contry"' in errors[3]["message"]
    assert t.column("fired").to_pylist()[4] == [f"{f.table}#{f.rule}" for f in
                                                 shipped.decide(DECISION, rows[4]).fired]
    assert t.schema.names == ["allowed", "restriction", "message", "fired", "version", "error"]
    assert set(t.column("version").to_pylist()) <= {shipped.version, None}


def test_api_every_type_in_and_out(typed_tables):
    book = decide.load(typed_tables)
    assert input_schema(book, "Typed").field("since").type == pa.date32()
    schema = output_schema(book, "Typed")
    assert [str(schema.field(n).type) for n in ("fee", "total", "until", "labels", "min_app", "note")] == \
        ["decimal128(38, 10)", "int64", "date32[day]", "list<item: string>", "string", "string"]
    data = pa.table({"price": pa.array([D("200.00"), D("5"), D("1e30"), None], pa.decimal128(38, 2)),
                     "qty": pa.array([3, 4, 5, 1], pa.int64()),
                     "member": [True, False, True, True],
                     "since": pa.array([dt.date(2020, 2, 3)] * 4, pa.date32()),
                     "app": ["6.7", "1.0", "2", "x.y"],
                     "tags": [["a"], [], ["b", "c"], ["zz"]],
                     "id": ["r1", "r2", "r3", "r4"]})
    t = decide_batch(book, "Typed", data, keep=["id"])
    r = t.to_pylist()
    assert [x["id"] for x in r] == ["r1", "r2", "r3", "r4"] and t.schema.field("id").type == pa.string()
    assert r[0]["fee"] == D("7.000") and r[0]["total"] == 6 and r[0]["until"] == dt.date(2020, 2, 3)
    assert r[0]["labels"] == ["a"] and r[0]["min_app"] == "6.7" and r[0]["error"] is None
    assert r[1]["fee"] == D("0.5") and r[1]["until"] == dt.date(2030, 1, 31) and r[1]["labels"] == ["vip"]
    assert "does not fit decimal(38, 10)" in json.loads(r[2]["error"])["message"]  # 1e30 * 0.035: too wide
    assert r[2]["fee"] is None and r[2]["fired"] is None
    assert json.loads(r[3]["error"])["field"] in ("app", "tags")


def test_api_pandas_nan_and_numpy_values(shipped):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"member_id": [7, 8, 9], "category": ["books", None, "gift_card"],
                       "amount_yen": [100.0, float("nan"), 5000.0], "recurring": [False, True, None]})
    t = decide_batch(shipped, DECISION, df, keep=["member_id"])
    assert t.column("member_id").to_pylist() == [7, 8, 9]
    assert t.column("restriction").to_pylist()[0] == "none" and t.column("restriction")[2].as_py() == "cashable"
    expected = [shipped.decide(DECISION, {"category": "books", "amount_yen": 100, "recurring": False}).outputs,
                None, shipped.decide(DECISION, {"category": "gift_card", "amount_yen": 5000}).outputs]
    got = [None if e else {k: r[k] for k in ("allowed", "restriction", "message")}
           for r, e in zip(t.to_pylist(), t.column("error").to_pylist())]
    assert got[0] == expected[0] and got[2] == expected[2]


def test_api_unknown_column_refused_up_front(shipped):
    with pytest.raises(decide.CaseError, match='column "categry".*did you mean "category"'):
        decide_batch(shipped, DECISION, pa.table({"categry": ["books"]}))
    with pytest.raises(decide.CaseError, match="unknown decision"):
        decide_batch(shipped, "nope", [{}])
    batch_ = pa.record_batch({"category": ["books"]})
    assert isinstance(decide_batch(shipped, DECISION, batch_), pa.RecordBatch)


def test_rulebook_pickles_as_workbook_bytes_and_decides_the_same(tmp_path, typed_tables):
    import shutil
    copy = tmp_path / "copy"
    shutil.copytree(typed_tables, copy)
    book = decide.load(copy)
    data = pickle.dumps(book)
    shutil.rmtree(copy)  # the worker never sees the directory
    code = ("import pickle, sys; b = pickle.loads(sys.stdin.buffer.read()); "
            "r = b.decide('Typed', {'price': 200, 'member': True, 'tags': ['a'], 'qty': 3, 'since': '2020-02-03', "
            "'app': '6.7'}); print(r.outputs['fee'], r.outputs['until'], b.digest == %r)" % book.digest)
    p = subprocess.run([sys.executable, "-c", code], input=data, capture_output=True)
    assert p.returncode == 0, p.stderr.decode()
    assert p.stdout.decode().split() == ["7.000", "2020-02-03", "True"]
    twice = pickle.loads(data), pickle.loads(data)  # the second from the per-process cache
    assert twice[0].decide("Typed", {"price": 1}) == twice[1].decide("Typed", {"price": 1}) == \
        book.decide("Typed", {"price": 1})


# --------------------------------------------------------------------------- --workers, CSV, Parquet
def test_workers_keep_the_input_order(tmp_path):
    cases = write_cases(tmp_path / "c.jsonl", 20_000, seed=5, bad_every=101)
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    p1 = batch(cases, "-d", DECISION, "-o", one)
    p2 = batch(cases, "-d", DECISION, "-o", two, "--workers", "2")
    assert p1.returncode == p2.returncode == 1 and p1.stderr == p2.stderr
    assert one.read_bytes() == two.read_bytes()


def test_csv_in_typed_by_the_glossary_and_csv_out(tmp_path, typed_tables):
    cases = tmp_path / "c.csv"
    cases.write_text('price,qty,member,since,app,tags\n'
                     '200.50,3,true,2020-02-03,6.7,"[""a"", ""b""]"\n'
                     '\n'
                     '5,,FALSE,,,\n'
                     'abc,1,true,,,\n'
                     '"unclosed,1\n', encoding="utf-8")
    p = batch(cases, "-d", "Typed", "--tables", typed_tables)
    got = rows(p.stdout)
    assert [r["line"] for r in got] == [2, 3, 4, 5, 6]
    assert got[0]["outputs"] == {"fee": 7.0175, "total": 6, "until": "2020-02-03", "labels": ["a", "b"],
                                 "min_app": "6.7", "note": "big member"}
    assert "blank line" in got[1]["error"]["message"]
    assert got[2]["outputs"]["fee"] == 0.5 and got[2]["outputs"]["total"] is None
    assert "expected a number" in got[3]["error"]["message"] and "CSV" in got[4]["error"]["message"]
    out = tmp_path / "out.csv"
    p = batch(cases, "-d", "Typed", "--tables", typed_tables, "-o", out)
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "line,fee,total,until,labels,min_app,note,fired,version,error"
    version = decide.load(typed_tables).version
    assert lines[1] == f'2,7.01750,6,2020-02-03,"[""a"", ""b""]",6.7,big member,"[""Typed#1""]",{version},'
    assert lines[2].endswith(',,,"{""error"": ""case"", ""message"": ""blank line: a CSV line holds one case""}"')


def test_csv_header_with_an_unknown_column_is_refused(tmp_path):
    cases = tmp_path / "c.csv"
    cases.write_text("categry,amount_yen\nbooks,1\n", encoding="utf-8")
    p = batch(cases, "-d", DECISION)
    assert 'column "categry"' in one_error_line(p) and 'did you mean "category"' in p.stderr


def test_format_option_for_stdin_and_resume_only_for_json_lines_and_csv(tmp_path):
    p = subprocess.run([DECIDE, "batch", "-", "-d", DECISION, "--format", "csv"], input="category\nbooks\n",
                       capture_output=True, text=True)
    assert p.returncode == 0 and rows(p.stdout)[0]["line"] == 2, p.stderr
    cases = write_cases(tmp_path / "c.jsonl", 3)
    assert "--resume" in one_error_line(batch(cases, "-d", DECISION, "-o", tmp_path / "o.parquet", "--resume"))


def test_kill_9_then_resume_a_csv_output_equals_an_uninterrupted_run(tmp_path):
    cases = write_cases(tmp_path / "c.jsonl", 200_000, bad_every=997)
    whole = tmp_path / "whole.csv"
    ref = batch(cases, "-d", DECISION, "-o", whole, "--keep", "recurring")
    assert ref.returncode == 1, ref.stderr
    out, partial = tmp_path / "out.csv", tmp_path / "out.csv.partial"
    kill_9_midway(["batch", str(cases), "-d", DECISION, "-o", str(out), "--keep", "recurring"], partial, 3_000_000)
    assert not out.exists() and 0 < partial.stat().st_size < whole.stat().st_size
    data = partial.read_bytes()  # its records hold no line ends: cut at the last one, then
    partial.write_bytes(data[:data.rindex(b"\n") + 1] + b'12345,"half a record\nwith a line end inside')
    resumed = batch(cases, "-d", DECISION, "-o", out, "--resume", "--keep", "recurring")
    assert resumed.returncode == ref.returncode and resumed.stderr == ref.stderr
    assert out.read_bytes() == whole.read_bytes()
    assert not partial.exists() and not (tmp_path / "out.csv.lock").exists()


def test_resume_of_a_csv_written_with_other_columns_is_refused(tmp_path):
    cases = write_cases(tmp_path / "c.jsonl", 5)
    (tmp_path / "o.csv.partial").write_text("line,allowed\n1,true\n", encoding="utf-8")
    p = batch(cases, "-d", DECISION, "-o", tmp_path / "o.csv", "--resume")
    assert "other columns" in one_error_line(p)


def test_keep_carries_input_columns_to_every_format(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    jl = tmp_path / "c.jsonl"
    jl.write_text('{"member_id": 7, "category": "books", "amount_yen": 100}\n\n'
                  '{"member_id": "m\\n2", "category": "nope"}\n', encoding="utf-8")
    got = rows(batch(jl, "-d", DECISION, "--keep", "member_id").stdout)
    assert [(r["line"], r["member_id"], "error" in r) for r in got] == [(1, 7, False), (2, None, True),
                                                                        (3, "m\n2", True)]
    assert got[0]["outputs"]["allowed"] is True  # member_id is not a fact: no unknown-field error
    p = batch(jl, "-d", DECISION, "--keep", "member_id", "-o", tmp_path / "o.csv")
    lines = (tmp_path / "o.csv").read_text(encoding="utf-8").split("\n")
    assert lines[0] == "line,member_id,allowed,restriction,message,fired,version,error" and lines[1].startswith("1,7,true,")
    batch(jl, "-d", DECISION, "--keep", "member_id", "-o", tmp_path / "o.parquet")
    t = pq.read_table(tmp_path / "o.parquet")
    assert t.schema.names[:2] == ["line", "member_id"] and t.column("member_id").to_pylist() == ["7", None, "m\n2"]
    src = tmp_path / "in.parquet"
    pq.write_table(pa.table({"member_id": pa.array([10, 11], pa.int32()), "category": ["books", "gift_card"]}), src)
    batch(src, "-d", DECISION, "--keep", "member_id", "-o", tmp_path / "p.parquet", "--workers", "2")
    t = pq.read_table(tmp_path / "p.parquet")
    assert str(t.schema.field("member_id").type) == "int32" and t.column("member_id").to_pylist() == [10, 11]
    assert [r["member_id"] for r in rows(batch(src, "-d", DECISION, "--keep", "member_id").stdout)] == [10, 11]
    csv_in = tmp_path / "c.csv"
    csv_in.write_text("member_id,category\n007,books\n", encoding="utf-8")
    assert rows(batch(csv_in, "-d", DECISION, "--keep", "member_id").stdout)[0]["member_id"] == "007"
    assert "member" in one_error_line(batch(csv_in, "-d", DECISION, "--keep", "member"))
    assert '"allowed"' in one_error_line(batch(jl, "-d", DECISION, "--keep", "allowed"))


def test_parquet_round_trips_dates_decimals_and_lists(tmp_path, typed_tables):
    pq = pytest.importorskip("pyarrow.parquet")
    data = pa.table({"price": pa.array([D("200.50"), D("5"), None, D("123456789.123")], pa.decimal128(20, 3)),
                     "qty": pa.array([3, None, 1, 2], pa.int32()),
                     "member": [True, False, None, True],
                     "since": pa.array([dt.date(2020, 2, 3), None, dt.date(1999, 12, 31), dt.date(2024, 2, 29)]),
                     "app": ["6.7", None, "1.0", "bad"],
                     "tags": [["a", "b"], [], None, ["c"]]})
    src, out = tmp_path / "in.parquet", tmp_path / "out.parquet"
    pq.write_table(data, src)
    p = batch(src, "-d", "Typed", "--tables", typed_tables, "-o", out, "--workers", "2")
    assert p.returncode == 1 and "1 of 4 cases failed" in p.stderr, p.stderr
    t = pq.read_table(out)
    assert [str(t.schema.field(n).type) for n in ("line", "fee", "total", "until", "labels")] == \
        ["int64", "decimal128(38, 10)", "int64", "date32[day]", "list<element: string>"]
    r = t.to_pylist()
    assert [x["line"] for x in r] == [1, 2, 3, 4]
    assert r[0]["fee"] == D("7.0175") and r[0]["until"] == dt.date(2020, 2, 3) and r[0]["labels"] == ["a", "b"]
    assert r[0]["total"] == 6 and r[0]["min_app"] == "6.7" and r[0]["fired"] == ["Typed#1"]
    assert r[1]["fee"] == D("0.5") and r[1]["total"] is None and r[1]["until"] == dt.date(2030, 1, 31)
    assert r[2]["fee"] is None and r[2]["labels"] == ["vip"]  # price null: rule 2 with a null fee
    assert r[3]["error"] and json.loads(r[3]["error"])["field"] == "app" and r[3]["fee"] is None
    # the same cases as JSON Lines give the same values
    jl = tmp_path / "in.jsonl"
    jl.write_text("\n".join(casejson_line(x) for x in data.to_pylist()) + "\n", encoding="utf-8")
    js = rows(batch(jl, "-d", "Typed", "--tables", typed_tables).stdout)
    assert [j.get("outputs", {}).get("until") for j in js] == \
        [None if x["error"] else (x["until"].isoformat() if x["until"] else None) for x in r]
    assert [str(j["outputs"]["fee"]) if "outputs" in j and j["outputs"]["fee"] is not None else None
            for j in js] == [str(D(x["fee"]).normalize()) if x["fee"] is not None else None for x in r]


def casejson_line(row: dict) -> str:
    from decide.app import casejson
    return casejson.dumps({k: v.isoformat() if isinstance(v, dt.date) else v for k, v in row.items()},
                          pretty=False)
