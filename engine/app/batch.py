"""``decide batch``: decide every case of a file, one result row per input line, in order.

Input and output are JSON Lines, CSV or Parquet (``batch_formats``), by extension or
``--format``/``--output-format``; ``--workers N`` decides pieces of the input in N
processes (the Rulebook pickled to them) and writes them back in input order.

Every output row carries the number of its input line (``"line": N``); a blank, bad or
over-long line (over ``casejson.MAX_BYTES``) is an error row, never skipped, and the
run goes on.  Lines are read in bounded pieces, so memory stays flat whatever the
size of the file or of one line.

An output file is written as ``OUT.partial`` beside it, under an exclusive lock
(``OUT.lock``: a second writer to the same ``OUT`` is refused), and renamed to ``OUT``
when the run ends; an interrupted run leaves ``OUT.partial``, which ``--resume``
continues from its last complete row (JSON Lines or CSV; a Parquet run starts again).
``--keep COL`` carries input columns (an id) to every output row, not as facts.  An ``OUT`` that is the input (by name, symlink
or hard link) is refused.  A device or a pipe (``/dev/stdout``, a FIFO) is written in
place.  Failing to write is one line on stderr and exit 2.

Exit codes: 0 every line decided, 1 some lines failed (their rows say why), 2 bad
input or output (nothing decided, or the output could not be written)."""
from __future__ import annotations

import fcntl
import os
import stat
import sys
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from typing import BinaryIO

import click

from decide.app import batch_formats, casejson
from decide.app.casejson import EXIT_FAIL, CaseJSONError
from decide.app.cli_shared import AS_OF_OPT, ENGINE_OPT, TABLES_OPT, as_of_date, fail, load_rulebook, log_options, open_logs
from decide.model.errors import CaseError, did_you_mean
from decide.runtime.batch import check_columns
from decide.runtime.decisionlog import DecisionLogError

class WriteFailed(Exception):
    """The output could not be written: ``str()`` is the CLI's line."""


# --------------------------------------------------------------------------- writing
def _same_file(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _stat(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except OSError:
        return None


def _input_stat(cases: str) -> os.stat_result | None:
    if cases == "-":
        try:
            return os.fstat(sys.stdin.fileno())
        except (OSError, ValueError, AttributeError):
            return None
    return _stat(cases)


class Output:
    """Where the results go: standard output, a device or pipe written in place, or a
    regular file written as ``PATH.partial`` under the lock ``PATH.lock`` and renamed
    to ``PATH`` by ``commit()``."""

    def __init__(self, path: str, input_stat: os.stat_result | None, resume: bool, csv_header: bytes = b""):
        self.path, self.resume = path, resume
        self.name = "standard output" if path == "-" else path
        self.stream: BinaryIO | None = None
        self.partial = self.lockfile = None
        self.lock_fd = None
        self.after = self.done = self.failed = 0  # what a resumed partial already holds
        self.resumed = False  # the partial holds a CSV header already
        if path == "-":
            self.stream = sys.stdout.buffer
            if resume:
                fail("--resume needs an output file (-o OUT)")
            return
        st = _stat(path)
        if st is not None and input_stat is not None and _same_file(st, input_stat):
            fail(f"{path} is the input file: give another -o (the results would overwrite the cases)")
        if st is not None and stat.S_ISDIR(st.st_mode):
            fail(f"cannot write {path}: it is a directory")
        if st is not None and not stat.S_ISREG(st.st_mode):  # a device or a pipe: written in place
            if resume:
                fail(f"--resume needs an output file, and {path} is a device or a pipe")
            self.stream = self._open(path, "ab")
            return
        self.partial, self.lockfile = path + ".partial", path + ".lock"
        self._lock()
        pst = _stat(self.partial)
        if pst is not None and input_stat is not None and _same_file(pst, input_stat):
            fail(f"{self.partial} is the input file: give another -o")
        if pst is not None and not resume:
            self._unlock()
            fail(f"{self.partial} is left from an interrupted run: add --resume to continue it, "
                 "or delete it to start again")
        if pst is not None and csv_header:
            self.after, self.done, self.failed = _csv_resume_point(self.partial, csv_header)
            self.resumed = True
        elif pst is not None:
            self.after, self.done, self.failed = resume_point(self.partial)
        self.stream = self._open(self.partial, "ab" if pst is not None else "wb")

    def _open(self, path: str, mode: str) -> BinaryIO:
        try:
            return open(path, mode)
        except OSError as e:
            self._unlock()
            fail(f"cannot write {path}: {e.strerror or e}")

    def _lock(self) -> None:
        """Hold ``PATH.lock`` exclusively (released by the kernel if this process dies)."""
        while True:
            try:
                fd = os.open(self.lockfile, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as e:
                fail(f"cannot write {self.path}: {e.strerror or e} ({self.lockfile})")
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                fail(f"{self.path} is being written by another decide batch (it holds {self.lockfile}); "
                     "wait for it to end")
            st = _stat(self.lockfile)
            if st is not None and _same_file(st, os.fstat(fd)):  # not a lock file unlinked meanwhile
                self.lock_fd = fd
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}\n".encode())
                return
            os.close(fd)

    def _unlock(self) -> None:
        if self.lock_fd is not None:
            try:
                os.unlink(self.lockfile)
            except OSError:
                pass
            os.close(self.lock_fd)
            self.lock_fd = None

    def write(self, data: bytes) -> None:
        try:
            self.stream.write(data)
        except OSError as e:
            raise WriteFailed(f"cannot write {self.name}: {e.strerror or e}") from None

    def commit(self) -> None:
        """Flush (to disk, for a file) and put the file in place of ``PATH``."""
        try:
            self.stream.flush()
            if self.partial is not None:
                os.fsync(self.stream.fileno())
                self.stream.close()
                os.replace(self.partial, self.path)
            elif self.stream is not sys.stdout.buffer:
                self.stream.close()
        except OSError as e:
            raise WriteFailed(f"cannot write {self.name}: {e.strerror or e}") from None
        finally:
            self._unlock()

    def abandon(self) -> None:
        """After a failure: close without renaming (the partial file stays)."""
        try:
            if self.stream is sys.stdout.buffer:  # nothing more may reach a broken stdout
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
            elif self.stream is not None:
                self.stream.close()
        except (OSError, ValueError):
            pass
        self._unlock()


def resume_point(partial: str) -> tuple[int, int, int]:
    """(the input line of the last complete row, rows, failed rows) of a partial JSON
    Lines output; a last row cut off mid-write is removed."""
    with open(partial, "r+b") as f:
        end = f.seek(0, os.SEEK_END)
        pos, keep = end, 0
        while pos > 0:  # the last newline, read backwards in blocks
            step = min(pos, 1 << 16)
            pos -= step
            f.seek(pos)
            block = f.read(step)
            i = block.rfind(b"\n")
            if i >= 0:
                keep = pos + i + 1
                break
        if keep < end:
            f.truncate(keep)
        f.seek(0)
        done = failed = 0
        last = b""
        for row in f:
            done += 1
            failed += row.startswith(b'{"error"')
            last = row
    if not last:
        return 0, 0, 0
    try:
        return int(casejson.parse(last, noun="row")["line"]), done, failed
    except (CaseJSONError, KeyError, TypeError, ValueError):
        fail(f"{partial} does not end with a row of decide batch: delete it to start again")


def _csv_resume_point(partial: str, header: bytes) -> tuple[int, int, int]:
    """``resume_point`` of a partial CSV output: a record cut off mid-write is removed
    (and with no complete header, everything)."""
    try:
        with open(partial, "r+b") as f:
            after, done, failed, size = batch_formats.csv_resume_point(f, header)
            f.truncate(size)
    except (CaseJSONError, ValueError, IndexError, UnicodeDecodeError) as e:
        fail(f"{partial} is not a partial CSV output of this run ({e}): delete it to start again")
    return after, done, failed


# --------------------------------------------------------------------------- formats out
class Sink:
    """Writes decided pieces to an ``Output`` in a format: JSON Lines and CSV as bytes,
    Parquet through a ``pyarrow.parquet.ParquetWriter`` on the output stream."""

    def __init__(self, out: Output, fmt: str, book, decision: str, csv_header: bytes = b"", kept=()):
        self.out, self.fmt, self._parquet = out, fmt, None
        if fmt == "csv":
            if not out.resumed or out.stream.tell() == 0:  # a resumed partial holds it already
                out.write(csv_header or batch_formats.csv_header(book, decision))
        elif fmt == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq
            from decide.runtime.batch import output_schema
            schema = output_schema(book, decision, [pa.field("line", pa.int64()), *kept])
            try:
                self._parquet = pq.ParquetWriter(out.stream, schema)
            except OSError as e:
                raise WriteFailed(f"cannot write {out.name}: {e.strerror or e}") from None

    def write(self, data) -> None:
        if self._parquet is None:
            self.out.write(data)
            return
        try:
            self._parquet.write_batch(data)
        except OSError as e:
            raise WriteFailed(f"cannot write {self.out.name}: {e.strerror or e}") from None

    def close(self) -> None:
        if self._parquet is not None:
            try:
                self._parquet.close()
            except OSError as e:
                raise WriteFailed(f"cannot write {self.out.name}: {e.strerror or e}") from None


# --------------------------------------------------------------------------- worker processes
_WORK: tuple = ()
_LOG = None


def _init_worker(log, *args) -> None:
    global _WORK, _LOG
    _WORK, _LOG = args, log
    _exit_with_parent(os.getppid())


def _exit_with_parent(parent: int, every: float = 0.5) -> None:
    """A worker whose parent is gone (killed with -9: no pool shutdown ever comes) ends
    too, instead of waiting for work for ever."""
    import threading
    import time

    def watch():
        while os.getppid() == parent:
            time.sleep(every)
        os._exit(1)

    threading.Thread(target=watch, name="decide-batch-parent-watch", daemon=True).start()


def _work(piece):
    return batch_formats.decide_piece(*_WORK, piece, log=_LOG)


def decided(pieces, workers: int, args: tuple, log=None):
    """(piece, its output, how many failed) for each piece, in input order: in this
    process, or in ``workers`` processes with at most 2 pieces each in flight.
    ``log``: (decision log, input name), written by whichever process decides."""
    if workers <= 1:
        for piece in pieces:
            yield (piece, *batch_formats.decide_piece(*args, piece, log=log))
        return
    pool = ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(log, *args))
    pending: deque = deque()
    try:
        for piece in pieces:
            pending.append((piece, pool.submit(_work, piece)))
            if len(pending) >= 2 * workers:
                p, f = pending.popleft()
                yield (p, *f.result())
        while pending:
            p, f = pending.popleft()
            yield (p, *f.result())
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


# --------------------------------------------------------------------------- the command
FORMAT_CHOICE = click.Choice(batch_formats.FORMATS)


@click.command("batch")
@click.argument("cases", type=click.Path(allow_dash=True))
@click.option("--decision", "-d", required=True, help="Decision or table to run on every case.")
@click.option("--output", "-o", type=click.Path(allow_dash=True), default="-",
              help="Where to write results (default stdout); written as OUT.partial, renamed at the end.")
@click.option("--format", "in_fmt", type=FORMAT_CHOICE, default=None,
              help="Format of CASES (default: by its extension, else jsonl).")
@click.option("--output-format", "out_fmt", type=FORMAT_CHOICE, default=None,
              help="Format of the output (default: by its extension, else jsonl).")
@click.option("--workers", "-w", type=click.IntRange(1, 256), default=1, show_default=True,
              help="Processes deciding in parallel (input order kept).")
@click.option("--resume", is_flag=True,
              help="Continue OUT.partial left by an interrupted run (JSON Lines or CSV).")
@click.option("--keep", "keep", multiple=True, metavar="COL",
              help="An input column carried to every output row (an id), not a fact; repeatable.")
@TABLES_OPT
@ENGINE_OPT
@log_options
@AS_OF_OPT
def batch(cases, decision, output, in_fmt, out_fmt, workers, resume, keep, tables, engine_name,
          decision_log, decision_log_max, decision_log_backups, archive_dir, as_of):
    """Decide every case of a file (JSON Lines, CSV or Parquet); one result row per
    input line, in order.

    Each result carries its input line number ("line": N; a CSV header is line 1, a
    Parquet row counts from 1).  A blank or bad line yields an error row
    ({"error": {...}, "line": N}) and the run goes on.  Exit code 1 when any line
    failed, 2 when the input or the output is unusable.

    \b
    Example:
      decide batch cases.jsonl --decision card_eligibility -o results.jsonl
      decide batch cases.jsonl -d card_eligibility -o results.jsonl --resume
      decide batch cases.parquet -d card_eligibility -o results.parquet --workers 4
      decide batch cases.jsonl -d card_eligibility -o out.jsonl --decision-log decisions.jsonl
    """
    in_fmt = batch_formats.format_of(cases, in_fmt)
    out_fmt = batch_formats.format_of(output, out_fmt)
    if "parquet" in (in_fmt, out_fmt):
        try:
            import pyarrow.parquet  # noqa: F401
        except ImportError:
            fail("Parquet needs pyarrow: pip install 'decide[arrow]'")
    if resume and out_fmt == "parquet":
        fail("--resume continues a JSON Lines or CSV output; a Parquet run starts again")
    keep = tuple(dict.fromkeys(keep))
    as_of = as_of_date(as_of)
    book = load_rulebook(tables, engine_name)
    book.warm()  # the services' dictionaries, before the first line (inherited by forked workers)
    if decision not in book.decisions:
        fail(f'unknown decision "{decision}"{did_you_mean(decision, book.decisions)}; '
             f'decisions: {", ".join(sorted(book.decisions))}')
    taken = {"line", "decision", "outputs", "fired", "error", "version", "as_of",
             *book.ir.decisions[decision].outputs}
    if (clash := [k for k in keep if k in taken]):
        fail(f'--keep {clash[0]}: the output has a "{clash[0]}" of its own; rename the column')
    try:
        src = sys.stdin.buffer if cases == "-" else open(cases, "rb")
        source = batch_formats.Input(in_fmt, src, None if cases == "-" else os.path.getsize(cases))
        if source.columns is not None:
            check_columns(book, decision, source.columns, keep)
    except OSError as e:
        fail(f"{cases}: {e.strerror or e}")
    except (CaseJSONError, CaseError) as e:
        fail(f"{cases}: {e}")
    except Exception as e:  # pyarrow's errors on a file that is not Parquet
        fail(f"{cases}: not a readable {in_fmt} file: {e}")
    kept = batch_formats.kept_fields(in_fmt, keep, source._file.schema_arrow if in_fmt == "parquet" else None) \
        if out_fmt == "parquet" else ()
    header = batch_formats.csv_header(book, decision, keep) if out_fmt == "csv" else b""
    log = open_logs(book, decision_log, decision_log_max, decision_log_backups, archive_dir)
    log = (log, "stdin" if cases == "-" else os.path.basename(cases)) if log is not None else None
    out = Output(output, _input_stat(cases), resume, header)
    show_bar = sys.stderr.isatty() and source.total
    failed, done = out.failed, out.done
    args = (book, decision, in_fmt, out_fmt, source.columns, out.after, keep, as_of)
    try:
        sink = Sink(out, out_fmt, book, decision, header, kept)
        with click.progressbar(length=source.total or 0, file=sys.stderr, label="deciding") if show_bar \
                else _NullBar() as bar:
            for piece, data, bad, n in decided(source.pieces(), workers, args, log):
                sink.write(data)
                failed += bad
                done += n
                bar.update(source.cost(piece))
        sink.close()
        out.commit()
    except (WriteFailed, DecisionLogError) as e:
        out.abandon()
        fail(str(e))
    except KeyboardInterrupt:
        out.abandon()
        where = f"; {out.partial} holds the rows so far: run again with --resume to continue" \
            if out.partial and out_fmt != "parquet" else ""
        fail(f"interrupted{where}", 130)
    if failed:
        click.echo(f"{failed} of {done} cases failed", err=True)
        sys.exit(EXIT_FAIL)


class _NullBar:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False

    def update(self, n):
        pass
