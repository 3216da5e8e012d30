"""``decide batch``: decide every case of a file, one result row per input line, in order.

Every output row carries the number of its input line (``"line": N``); a blank, bad or
over-long line (over ``casejson.MAX_BYTES``) is an error row, never skipped, and the
run goes on.  Lines are read in bounded pieces, so memory stays flat whatever the
size of the file or of one line.

An output file is written as ``OUT.partial`` beside it, under an exclusive lock
(``OUT.lock``: a second writer to the same ``OUT`` is refused), and renamed to ``OUT``
when the run ends; an interrupted run leaves ``OUT.partial``, which ``--resume``
continues from its last complete line.  An ``OUT`` that is the input (by name, symlink
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
from typing import BinaryIO, Iterator

import click

from decide.app import casejson
from decide.app.casejson import EXIT_BAD, EXIT_FAIL, CaseJSONError
from decide.app.cli_shared import ENGINE_OPT, TABLES_OPT, fail, load_rulebook
from decide.model.errors import CaseError, EvaluationError, did_you_mean

CHUNK_LINES = 1000  # lines decided as one piece (one task for a worker process)
CHUNK_BYTES = 4 << 20  # … or fewer lines when they add up to this many bytes
BLANK = "blank line: a case is one JSON object of facts"


class WriteFailed(Exception):
    """The output could not be written: ``str()`` is the CLI's line."""


# --------------------------------------------------------------------------- reading
def read_lines(stream: BinaryIO, limit: int = casejson.MAX_BYTES) -> Iterator[tuple[int, bytes]]:
    """(line number, bytes) of every line, the line end removed.  A line over ``limit``
    bytes is cut at ``limit + 1`` bytes (what ``casejson.parse`` refuses as over its
    limit) and the rest of it read and dropped in bounded pieces."""
    lineno = 0
    while True:
        raw = stream.readline(limit + 1)
        if not raw:
            return
        lineno += 1
        if raw.endswith(b"\n"):
            raw = raw[:-1]
        elif len(raw) > limit:  # the line goes on: skip the rest of it
            while (rest := stream.readline(1 << 16)) and not rest.endswith(b"\n"):
                pass
        yield lineno, raw


def chunks(lines: Iterator[tuple[int, bytes]], after: int = 0) -> Iterator[list[tuple[int, bytes]]]:
    """The lines numbered over ``after`` in pieces of at most CHUNK_LINES lines / CHUNK_BYTES."""
    piece, size = [], 0
    for lineno, raw in lines:
        if lineno <= after:
            continue
        piece.append((lineno, raw))
        size += len(raw)
        if len(piece) >= CHUNK_LINES or size >= CHUNK_BYTES:
            yield piece
            piece, size = [], 0
    if piece:
        yield piece


# --------------------------------------------------------------------------- deciding
def decide_json_lines(book, decision: str, piece: list[tuple[int, bytes]]) -> tuple[bytes, int, int]:
    """(the output lines, how many failed, bytes read) of a piece of JSON Lines."""
    decide = book.decide
    out, failed, size = [], 0, 0
    for lineno, raw in piece:
        size += len(raw) + 1
        try:
            if not raw.strip():
                raise CaseJSONError(BLANK, kind="shape")
            facts = casejson.parse(raw, noun="line")
            facts.pop("decision", None)
            row = decide(decision, facts).to_dict()
        except (CaseJSONError, CaseError, EvaluationError) as e:
            row = {"error": e.to_dict()}
            failed += 1
        row["line"] = lineno
        out.append(casejson.dumps(row, pretty=False))
    return ("\n".join(out) + "\n").encode("utf-8"), failed, size


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

    def __init__(self, path: str, input_stat: os.stat_result | None, resume: bool):
        self.path, self.resume = path, resume
        self.name = "standard output" if path == "-" else path
        self.stream: BinaryIO | None = None
        self.partial = self.lockfile = None
        self.lock_fd = None
        self.after = self.done = self.failed = 0  # what a resumed partial already holds
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
        if pst is not None:
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


# --------------------------------------------------------------------------- the command
@click.command("batch")
@click.argument("cases", type=click.Path(allow_dash=True))
@click.option("--decision", "-d", required=True, help="Decision or table to run on every case.")
@click.option("--output", "-o", type=click.Path(allow_dash=True), default="-",
              help="Where to write results (default stdout); written as OUT.partial, renamed at the end.")
@click.option("--resume", is_flag=True, help="Continue OUT.partial left by an interrupted run.")
@TABLES_OPT
@ENGINE_OPT
def batch(cases, decision, output, resume, tables, engine_name):
    """Decide every line of a JSON Lines file; one result line per input line, in order.

    Each result carries its input line number ("line": N).  A blank or bad line yields
    {"error": {...}, "line": N} and the run goes on.  Exit code 1 when any line failed,
    2 when the input or the output is unusable.

    \b
    Example:
      decide batch cases.jsonl --decision card_eligibility -o results.jsonl
      decide batch cases.jsonl -d card_eligibility -o results.jsonl --resume
    """
    book = load_rulebook(tables, engine_name)
    if decision not in book.decisions:
        fail(f'unknown decision "{decision}"{did_you_mean(decision, book.decisions)}; '
             f'decisions: {", ".join(sorted(book.decisions))}')
    try:
        src = sys.stdin.buffer if cases == "-" else open(cases, "rb")
    except OSError as e:
        fail(f"{cases}: {e.strerror or e}")
    out = Output(output, _input_stat(cases), resume)
    total = None if cases == "-" else os.path.getsize(cases)
    show_bar = sys.stderr.isatty() and total
    failed, done = out.failed, out.done
    try:
        with click.progressbar(length=total or 0, file=sys.stderr, label="deciding") if show_bar \
                else _NullBar() as bar:
            for piece in chunks(read_lines(src), after=out.after):
                data, bad, size = decide_json_lines(book, decision, piece)
                out.write(data)
                failed += bad
                done += len(piece)
                bar.update(size)
        out.commit()
    except WriteFailed as e:
        out.abandon()
        fail(str(e))
    except KeyboardInterrupt:
        out.abandon()
        where = f"; {out.partial} holds the rows so far: run again with --resume to continue" \
            if out.partial else ""
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


__all__ = ["batch", "read_lines", "decide_json_lines", "EXIT_BAD"]
