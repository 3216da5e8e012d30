"""Issue 12: the partition function of ``decide.spark`` (``PartitionDecider``) on a Dask
local cluster of two worker processes equals ``decide batch``, bad rows kept."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("pyarrow")
dd = pytest.importorskip("dask.dataframe", reason="dask[distributed] is in the test extras")
distributed = pytest.importorskip("distributed")

import decide  # noqa: E402
import decide.atone  # noqa: E402
from decide.spark import PartitionDecider  # noqa: E402
from tests.batch_cases import arrow_table, assert_same_as_batch, batch_rows, random_cases, write_jsonl  # noqa: E402

DECIDE = str(Path(sys.executable).with_name("decide"))


def test_dask_map_partitions_equals_decide_batch(tmp_path):
    book = decide.load(decide.atone.tables_dir())
    decision = "card_eligibility"
    cases = random_cases(book, decision, 20_000, seed=7)
    p = subprocess.run([DECIDE, "batch", str(write_jsonl(cases, tmp_path / "c.jsonl")), "-d", decision],
                       capture_output=True, text=True)
    expected = batch_rows(p.stdout)
    import pandas as pd
    # Arrow-backed columns: Dask would turn object columns (booleans with nulls) into text
    pdf = arrow_table(book, decision, cases).to_pandas(types_mapper=pd.ArrowDtype)
    decider = PartitionDecider(book, decision, keep=["id"])
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster):
        ddf = dd.from_pandas(pdf, npartitions=4)
        result = ddf.map_partitions(decider, meta=decider.meta(ddf._meta)).compute()
    got = result.to_dict("records")
    for r in got:  # pandas: missing values are NaN/None, lists are arrays
        r["id"] = int(r["id"])
        for k, v in r.items():
            if isinstance(v, float) and v != v:
                r[k] = None
    errors = assert_same_as_batch(book, decision, got, expected)
    assert errors >= len(cases) // 50
