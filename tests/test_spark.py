"""Issue 12: ``decide.spark.decide_dataframe`` on a real local Spark (local[2]) equals
``decide batch`` on 100,000 cases of the shipped tables, bad rows kept with their
errors.  Needs Java 17 (CI installs openjdk-17-jre-headless)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("pyspark", reason="pyspark is in the test extras: pip install -e '.[test]'")
pq = pytest.importorskip("pyarrow.parquet")
if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
    pytest.skip("Spark needs Java 17: apt-get install -y openjdk-17-jre-headless", allow_module_level=True)

import decide  # noqa: E402
import decide.atone  # noqa: E402
from decide.spark import PartitionDecider, decide_dataframe  # noqa: E402
from tests.batch_cases import (arrow_table, assert_same_as_batch, batch_rows, random_cases,  # noqa: E402
                               write_jsonl)

DECIDE = str(Path(sys.executable).with_name("decide"))
N = 100_000


@pytest.fixture(scope="module")
def spark():
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    from pyspark.sql import SparkSession
    s = (SparkSession.builder.master("local[2]").appName("decide-tests")
         .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2")
         .config("spark.driver.memory", "1g").getOrCreate())
    s.sparkContext.setLogLevel("ERROR")
    yield s
    s.stop()


@pytest.fixture(scope="module")
def book():
    return decide.load(decide.atone.tables_dir())


@pytest.mark.parametrize("decision, n", [("card_eligibility", N), ("decline_diagnosis", 5_000)])
def test_spark_equals_decide_batch(spark, book, tmp_path, decision, n):
    cases = random_cases(book, decision, n, seed=12)
    jsonl = write_jsonl(cases, tmp_path / "cases.jsonl")
    p = subprocess.run([DECIDE, "batch", str(jsonl), "-d", decision], capture_output=True, text=True)
    assert p.returncode == 1, p.stderr  # the bad rows failed
    expected = batch_rows(p.stdout)
    pq.write_table(arrow_table(book, decision, cases), tmp_path / "cases.parquet")
    df = spark.read.parquet(str(tmp_path / "cases.parquet")).repartition(4)
    t0 = time.perf_counter()
    out = decide_dataframe(df, decision, tables=decide.atone.tables_dir(), keep=["id"])
    out.write.parquet(str(tmp_path / "results"))
    secs = time.perf_counter() - t0
    got = pq.read_table(tmp_path / "results").to_pylist()
    errors = assert_same_as_batch(book, decision, got, expected)
    assert errors >= n // 50  # every bad row is there, with its error
    print(f"\n{decision}: {n:,} rows in {secs:.1f} s on local[2]")


def test_output_schema_comes_from_the_glossary(spark, book):
    df = spark.createDataFrame([(1, "books", 100)], "member_id long, category string, amount_yen long")
    out = decide_dataframe(df, "purchase_restriction", tables=book, keep=["member_id"])
    assert [(f.name, f.dataType.simpleString()) for f in out.schema.fields] == [
        ("member_id", "bigint"), ("allowed", "boolean"), ("restriction", "string"), ("message", "string"),
        ("fired", "array<string>"), ("version", "string"), ("error", "string")]
    assert out.collect()[0]["restriction"] == "none"


def test_unknown_column_refused_on_the_driver(spark, book):
    df = spark.createDataFrame([("books",)], "categry string")
    with pytest.raises(decide.CaseError, match='did you mean "category"'):
        decide_dataframe(df, "purchase_restriction", tables=book)


def test_one_compile_per_executor_process(book):
    import pickle
    d = PartitionDecider(book, "purchase_restriction")
    data = pickle.dumps(d)
    assert len(data) < 200_000 and b"purchase_restriction.xlsx" in data  # the workbooks' bytes travel
    a, b = pickle.loads(data), pickle.loads(data)
    assert a.book._state is b.book._state  # the second task reuses the first one's compiled rules
