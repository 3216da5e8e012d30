"""The file formats of ``decide batch``: JSON Lines, CSV and Parquet, in and out.

Reading gives pieces: ``(first line, bytes of whole lines)`` of JSON Lines or CSV, read
in blocks of about 64 kB (a line over ``casejson.MAX_BYTES`` cut and refused), or
``(first row, RecordBatch)`` of Parquet; ``decide_piece`` (in a worker process or in
line) splits a piece into lines and turns it into output in the chosen format.  "line"
is the line of the file (a CSV's header is line 1) or, in Parquet, the row (from 1).

CSV cells are typed by the Glossary: an empty cell is null; numbers as JSON writes
them; booleans ``true``/``false``; dates ISO (``2020-02-03``); text lists as JSON
(``["a", "b"]``); a CSV record is one line.  Written CSV holds the same forms, and
``fired`` and ``error`` as JSON text.  Parquet and CSV outputs have the columns of
``decide.runtime.batch.output_schema`` after ``line`` (outputs, ``fired``, ``version``,
``error``); JSON Lines rows are ``Result.to_dict()`` plus ``"line"``."""
from __future__ import annotations

import csv
import io
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO, Iterator

from decide.app import casejson
from decide.app.casejson import CaseJSONError
from decide.model.errors import CaseError, EvaluationError
from decide.model.ir import Type
from decide.model.values import to_json
from decide.runtime.batch import FIRED, VERSION, Outcome, decide_rows, fired_names
from decide.runtime.decisionlog import log_outcomes

FORMATS = ("jsonl", "csv", "parquet")
EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv",
              ".parquet": "parquet", ".pq": "parquet"}
BLOCK_BYTES = 64 << 10  # lines decided as one piece (one task for a worker process)
PARQUET_ROWS = 10_000  # rows of a Parquet input decided as one piece
BLANK = "blank line: a case is one JSON object of facts"
_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?")


def format_of(path: str, given: str | None, default: str = "jsonl") -> str:
    """``given``, else the format of ``path``'s extension, else ``default``."""
    return given or EXTENSIONS.get(Path(path).suffix.lower(), default) if path != "-" else given or default


# --------------------------------------------------------------------------- reading
def blocks(stream: BinaryIO, first: int = 1, size: int = BLOCK_BYTES,
           limit: int = casejson.MAX_BYTES) -> Iterator[tuple[int, bytes]]:
    """(number of its first line, bytes) of whole lines, about ``size`` bytes at a time.
    A line over ``limit`` bytes is cut at ``limit + 1`` bytes (which ``casejson.parse``
    refuses as over its limit) and the rest of it read and dropped in bounded pieces,
    so memory stays within a few blocks whatever the file or its lines."""
    lineno = first
    while data := stream.read(size):
        if not data.endswith(b"\n"):
            tail = stream.readline(limit + 1)  # the rest of the last line, up to the limit
            data += tail
            start = data.rfind(b"\n") + 1
            if tail and not tail.endswith(b"\n") and len(data) - start > limit:  # it goes on
                while (rest := stream.readline(1 << 16)) and not rest.endswith(b"\n"):
                    pass
                data = data[:start + limit + 1]
                yield lineno, data
                lineno += data.count(b"\n") + 1
                continue
        yield lineno, data
        lineno += data.count(b"\n") + (not data.endswith(b"\n"))


def lines_of(first: int, data: bytes) -> Iterator[tuple[int, bytes]]:
    """The (line number, bytes) of a block, line ends (``\\n``, ``\\r\\n``) removed."""
    parts = data.split(b"\n")
    if data.endswith(b"\n"):
        parts.pop()
    for i, raw in enumerate(parts):
        yield first + i, raw[:-1] if raw.endswith(b"\r") else raw


class Input:
    """An opened input: ``columns`` (CSV, Parquet; None for JSON Lines), ``total`` (its
    size, for a progress bar), ``pieces()`` → (first line, bytes of whole lines) or,
    for Parquet, (first row, an Arrow RecordBatch)."""

    def __init__(self, fmt: str, stream: BinaryIO, total: int | None):
        self.fmt, self.stream, self.total = fmt, stream, total
        self.columns: list[str] | None = None
        if fmt == "csv":
            header = _csv_cells(stream.readline(casejson.MAX_BYTES + 1).rstrip(b"\r\n"))
            if isinstance(header, CaseJSONError) or not header or not all(header):
                raise CaseJSONError("the first line of a CSV input names its columns: "
                                    "a header such as category,amount_yen", kind="shape")
            self.columns = header
        elif fmt == "parquet":
            import pyarrow.parquet as pq
            self._file = pq.ParquetFile(stream)
            self.columns = list(self._file.schema_arrow.names)
            self.total = self._file.metadata.num_rows

    def pieces(self) -> Iterator[tuple[int, Any]]:
        if self.fmt == "parquet":
            n = 1
            for b in self._file.iter_batches(batch_size=PARQUET_ROWS):
                yield n, b
                n += b.num_rows
        else:
            yield from blocks(self.stream, 2 if self.fmt == "csv" else 1)

    def cost(self, piece) -> int:
        return piece[1].num_rows if self.fmt == "parquet" else len(piece[1])


def _csv_cells(raw: bytes) -> list[str] | CaseJSONError:
    if len(raw) > casejson.MAX_BYTES:
        return CaseJSONError(f"the line is over {casejson.MAX_BYTES} bytes", kind="limit")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return CaseJSONError("the line is not UTF-8 text", kind="encoding")
    try:
        return next(csv.reader([text.rstrip("\r")], strict=True), [])
    except csv.Error as e:
        return CaseJSONError(f"not a CSV line: {e}", kind="json")


def _from_text(text: str, t: Type | None) -> Any:
    """A CSV cell as the raw value of a field of type ``t`` (what coercion then checks)."""
    if text == "":
        return None
    if t is Type.NUMBER or t is Type.INTEGER:
        s = text.strip()
        if _NUMBER.fullmatch(s):
            return casejson.parse('{"v": %s}' % s, noun="cell")["v"]
    elif t is Type.BOOLEAN:
        low = text.strip().lower()
        if low in ("true", "false"):
            return low == "true"
    elif t is Type.TEXT_LIST and text.lstrip().startswith("["):
        return casejson.parse('{"v": %s}' % text, noun="cell")["v"]
    return text


# --------------------------------------------------------------------------- deciding a piece
def _facts(fmt: str, payload: Any, columns, fields, keep=()) -> Any:
    if fmt == "jsonl":
        if not payload.strip():
            raise CaseJSONError(BLANK, kind="shape")
        facts = casejson.parse(payload, noun="line")
        facts.pop("decision", None)
        return {k: v for k, v in facts.items() if k not in keep} if keep else facts
    if keep:
        return {k: v for k, v in _facts(fmt, payload, columns, fields).items() if k not in keep}
    if fmt == "csv":
        cells = _csv_cells(payload)
        if isinstance(cells, CaseJSONError):
            raise cells
        if not any(cells):
            raise CaseJSONError("blank line: a CSV line holds one case", kind="shape")
        if len(cells) != len(columns):
            raise CaseJSONError(f"{len(cells)} cells where the header has {len(columns)} columns", kind="shape")
        return {c: _from_text(v, fields[c].type if c in fields else None) for c, v in zip(columns, cells)}
    return payload


def _keep(kept: dict, fmt: str, payload: Any, columns, facts) -> None:
    """Append each kept column's value of one line (null where the line has none):
    JSON Lines and Parquet values as they are, CSV cells as text."""
    if fmt == "jsonl":
        try:
            row = casejson.parse(payload, noun="line") if payload.strip() else {}
        except CaseJSONError:
            row = {}
    elif fmt == "csv":
        cells = _csv_cells(payload)
        row = dict(zip(columns, cells)) if isinstance(cells, list) and len(cells) == len(columns) else {}
        row = {k: v if v != "" else None for k, v in row.items()}
    else:
        row = payload
    for k, values in kept.items():
        values.append(row.get(k))


def kept_fields(in_fmt: str, keep, schema=None) -> list:
    """The Arrow fields of the kept columns: a Parquet input's own types, else text
    (CSV cells; JSON Lines values other than text as their JSON)."""
    import pyarrow as pa
    if in_fmt == "parquet" and schema is not None:
        return [schema.field(k) for k in keep]
    return [pa.field(k, pa.string()) for k in keep]


def _text(v: Any) -> str | None:
    return v if v is None or isinstance(v, str) else casejson.dumps(v, pretty=False)


def _plain(v: Any) -> Any:
    """A kept value as JSON data (a Parquet date as ISO text, a list item by item)."""
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    return v.isoformat() if hasattr(v, "isoformat") else v


def _items(in_fmt: str, piece) -> Iterator[tuple[int, Any]]:
    first, data = piece
    if in_fmt == "parquet":
        return enumerate(data.to_pylist(), first)
    return lines_of(first, data)


def decide_piece(book, decision: str, in_fmt: str, out_fmt: str, columns, after: int, keep,
                 as_of, piece, log=None) -> tuple[Any, int, int]:
    """(the output of a piece in ``out_fmt``, how many of its lines failed, how many
    lines it held); lines numbered ``after`` or less are left out (resuming); ``keep``:
    the input columns carried to the output (``kept_fields``), not facts; ``as_of``:
    the date every line is decided as of (None: each line's own, else today); ``log``:
    (a decision log sink, the input's name), each decision logged as ``name:line``
    before the piece's output is returned."""
    if out_fmt == "jsonl":
        return _jsonl_piece(book, decision, in_fmt, columns, after, keep, as_of, piece, log)
    fields = book.ir.fields
    lines, inputs, early = [], [], {}
    kept: dict[str, list] = {k: [] for k in keep}
    for lineno, payload in _items(in_fmt, piece):
        if lineno <= after:
            continue
        lines.append(lineno)
        try:
            facts = _facts(in_fmt, payload, columns, fields, keep)
        except (CaseJSONError, CaseError) as e:
            early[len(inputs)] = e.to_dict()
            facts = None
        if keep:
            _keep(kept, in_fmt, payload, columns, facts)
        inputs.append(facts)
    good = [f for i, f in enumerate(inputs) if i not in early]
    decided = iter(decide_rows(book, decision, good, as_of=as_of))
    outcomes = [Outcome(None, early[i]) if i in early else next(decided) for i in range(len(inputs))]
    failed = sum(o.error is not None for o in outcomes)
    if log is not None:
        log_outcomes(log[0], book, decision, (f"{log[1]}:{n}" for n in lines), inputs, (o.result for o in outcomes))
    if out_fmt == "csv":
        return csv_rows(book, decision, lines, outcomes, kept), failed, len(lines)
    import pyarrow as pa
    from decide.runtime.batch import to_arrow
    kept_types = kept_fields(in_fmt, keep, piece[1].schema if in_fmt == "parquet" else None)
    arrays = {f.name: pa.array(kept[f.name] if in_fmt == "parquet" else [_text(v) for v in kept[f.name]], f.type)
              for f in kept_types}
    batch = to_arrow(book, decision, outcomes, {"line": pa.array(lines, pa.int64()), **arrays},
                     [pa.field("line", pa.int64()), *kept_types])
    return batch, batch.num_rows - batch.column(batch.num_columns - 1).null_count, len(lines)


def _jsonl_piece(book, decision: str, in_fmt: str, columns, after: int, keep, as_of,
                 piece, log=None) -> tuple[bytes, int, int]:
    """``decide_piece`` into JSON Lines: each row ``Result.to_dict()`` (through
    ``casejson.result_json``) or ``{"error": ...}``, then ``"line"`` and the kept columns."""
    fields, decide, result_json = book.ir.fields, book.decide, casejson.result_json
    kept: dict[str, list] = {k: [] for k in keep}
    rows, failed = [], 0
    logged: list = []  # (line, facts, result) for the decision log
    for lineno, payload in _items(in_fmt, piece):
        if lineno <= after:
            continue
        error = None
        try:
            facts = _facts(in_fmt, payload, columns, fields, keep)
            result = decide(decision, facts, as_of=as_of)
            if log is not None:
                logged.append((lineno, facts, result))
        except (CaseJSONError, CaseError, EvaluationError) as e:
            error, failed = e.to_dict(), failed + 1
        if keep:
            _keep(kept, in_fmt, payload, columns, None)
            tail = {"line": lineno, **{k: _plain(v[-1]) for k, v in kept.items()}}
        if error is not None:
            rows.append(casejson.dumps({"error": error, **tail} if keep else {"error": error, "line": lineno},
                                       pretty=False).encode("utf-8"))
        elif keep:
            rows.append(result_json(result, b", " + casejson.dumps(tail, pretty=False)[1:-1].encode("utf-8")))
        else:
            rows.append(result_json(result, b', "line": %d' % lineno))
    if logged:
        log_outcomes(log[0], book, decision, (f"{log[1]}:{n}" for n, _, _ in logged),
                     (f for _, f, _ in logged), (r for _, _, r in logged))
    rows.append(b"")
    return b"\n".join(rows) if len(rows) > 1 else b"", failed, len(rows) - 1


# --------------------------------------------------------------------------- writing
def csv_header(book, decision: str, keep=()) -> bytes:
    plan = book.ir.decisions[decision]
    return _csv_line(["line", *keep, *plan.outputs, FIRED, VERSION, "error"])


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, Decimal):
        return casejson.number_text(v)
    v = to_json(v)
    if isinstance(v, (list, dict)):
        return json.dumps(_plain(v), ensure_ascii=False, default=str)
    return str(v)


def _csv_line(cells: list[str]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(cells)
    return buf.getvalue().encode("utf-8")


def csv_rows(book, decision: str, lines: list[int], outcomes: list[Outcome], kept=None) -> bytes:
    outputs = book.ir.decisions[decision].outputs
    kept = kept or {}
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    for i, (lineno, (result, error)) in enumerate(zip(lines, outcomes)):
        carried = [_cell(v[i]) for v in kept.values()]
        if result is None:
            w.writerow([lineno, *carried, *([""] * len(outputs)), "", "", json.dumps(error, ensure_ascii=False)])
        else:
            w.writerow([lineno, *carried, *(_cell(result.outputs.get(n)) for n in outputs),
                        json.dumps(fired_names(result)), _cell(result.version), ""])
    return buf.getvalue().encode("utf-8")


def csv_resume_point(partial: BinaryIO, header: bytes) -> tuple[int, int, int, int]:
    """(the input line of the last complete record, records, failed records, the bytes
    they fill) of a partial CSV output written with ``header``; a record is complete
    when its final line end is outside quotes (an even count of quotes so far)."""
    partial.seek(0)
    ends, pos, quotes, record = [], 0, 0, b""
    last, done, failed = 0, 0, 0
    for raw in partial:
        pos += len(raw)
        quotes += raw.count(b'"')
        record += raw
        if not raw.endswith(b"\n") or quotes % 2:
            continue
        if not ends:  # the header
            if record != header:
                raise CaseJSONError("was written with other columns (another decision or --keep)", kind="shape")
        else:
            cells = next(csv.reader([record.decode("utf-8")[:-1]]))
            last, done, failed = int(cells[0]), done + 1, failed + (cells[-1] != "")
        ends.append(pos)
        quotes, record = 0, b""
    return last, done, failed, ends[-1] if ends else 0


