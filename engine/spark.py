"""Deciding a Spark DataFrame, or the partitions of Dask or Ray, with a set of workbooks.

    from decide.spark import decide_dataframe
    results = decide_dataframe(df, "card_eligibility", tables="/dbfs/rules/", keep=["member_id"])

``decide_dataframe`` runs ``PartitionDecider`` through ``DataFrame.mapInArrow``: one
output row per input row, with the columns of ``decide.runtime.batch.output_schema``
(the kept columns, the decision's outputs typed from the Glossary, ``fired``,
``error``).  A bad row is a row whose ``error`` holds the error as JSON text, never a
dropped row.  Every column of ``df`` must be a Glossary field or kept.

The rule set travels inside the ``PartitionDecider`` as the workbooks' bytes (a
pickled ``Rulebook``); each executor's Python process compiles them once and keeps
them, keyed by their SHA-256, for every task after.  The executors need decide
installed (``pip install decide[spark]``, or ``spark-submit --py-files`` with the
wheel) and, for decision services, the application that declares them.

The same ``PartitionDecider`` serves Dask (``ddf.map_partitions(d, meta=d.meta(ddf._meta))``
on pandas partitions) and Ray (``ds.map_batches(d, batch_format="pyarrow")``).  With
Dask, keep the columns Arrow-backed (``to_pandas(types_mapper=pd.ArrowDtype)``,
``dtype_backend="pyarrow"``): Dask turns object columns into text, and a boolean
column with nulls would then hold the texts "True" and "False".
"""
from __future__ import annotations

import os
from typing import Any, Iterable, Iterator, Sequence

from decide.runtime.batch import check_columns, decide_batch, output_schema, plan_of
from decide.runtime.rulebook import Rulebook, load


class PartitionDecider:
    """A picklable function deciding partitions: an iterator of Arrow RecordBatches
    (Spark ``mapInArrow``) gives an iterator of RecordBatches, a pandas DataFrame (Dask)
    a pandas DataFrame, an Arrow Table (Ray) an Arrow Table."""

    def __init__(self, book: Rulebook, decision: str, keep: Sequence[str] = (), kept_schema=None):
        plan_of(book, decision)  # a CaseError naming the decisions when it is not one
        self.book, self.decision, self.keep = book, decision, list(keep)
        self.kept_schema = kept_schema  # Arrow fields of the kept columns, when known

    def schema(self):
        """The Arrow schema of what a partition gives back."""
        return output_schema(self.book, self.decision, self.kept_schema)

    def meta(self, like=None):
        """An empty pandas DataFrame of the output's columns (Dask's ``meta``); ``like``,
        an empty frame of the input (``ddf._meta``), gives the kept columns their types."""
        if like is not None:
            return self(like.iloc[:0])
        return self.schema().empty_table().to_pandas()

    def __call__(self, data: Any):
        import pyarrow as pa
        if isinstance(data, pa.Table) or hasattr(data, "itertuples"):
            out = decide_batch(self.book, self.decision, data, keep=self.keep)
            return out if isinstance(data, pa.Table) else out.to_pandas()
        return self._batches(data)

    def _batches(self, batches: Iterable) -> Iterator:
        for b in batches:
            yield decide_batch(self.book, self.decision, b, keep=self.keep)


def _spark_types():
    try:
        from pyspark.sql.pandas.types import from_arrow_schema, to_arrow_type
    except ImportError:
        raise ImportError("decide.spark needs pyspark: pip install 'decide[spark]'") from None
    return from_arrow_schema, to_arrow_type


def decide_dataframe(df, decision: str, tables: str | os.PathLike | Rulebook | None = None, *,
                     keep: Sequence[str] = ()):
    """Decide every row of the Spark DataFrame ``df`` with ``decision`` of the workbooks
    under ``tables`` (a directory, or a loaded ``Rulebook``); the results as a Spark
    DataFrame (lazy, like any Spark transformation).  ``keep`` names columns carried
    through unchanged (an id to join the results back on)."""
    import pyarrow as pa
    from_arrow_schema, to_arrow_type = _spark_types()
    if tables is None:
        raise TypeError("decide_dataframe needs tables=: the directory of the workbooks")
    book = tables if isinstance(tables, Rulebook) else load(tables)
    check_columns(book, decision, df.columns, keep)
    kept = [pa.field(k, to_arrow_type(df.schema[k].dataType), df.schema[k].nullable) for k in keep]
    decider = PartitionDecider(book, decision, keep, kept)
    spark_schema = from_arrow_schema(decider.schema())
    return df.mapInArrow(decider, spark_schema)
