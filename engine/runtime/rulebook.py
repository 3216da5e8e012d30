"""The embedding API: ``load`` a directory of workbooks, ``decide`` cases."""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from decide.model.errors import CaseError, did_you_mean
from decide.model.ir import Book, DecisionService
from decide.compile.loader import load_book
from decide.runtime.native import compile_book, compile_validators, source as native_source
from decide.runtime.result import Result

ENGINES = ("native", "durable")


@dataclass(frozen=True)
class DecisionInfo:
    """What ``Rulebook.decisions`` lists: a decision's name, kind, inputs and outputs."""

    name: str
    kind: str  # "service" or "table"
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    tables: tuple[str, ...]


class Rulebook:
    """A loaded, checked and compiled set of workbooks.  Thread-safe: one instance
    serves any number of threads; ``reload()`` swaps in a new version atomically."""

    def __init__(self, path: str | os.PathLike, *, engine: str = "native",
                 services: Iterable[DecisionService] | None = None):
        if engine not in ENGINES:
            raise ValueError(f'engine must be one of {", ".join(ENGINES)}, not "{engine}"')
        self.path = Path(path)
        self.engine = engine
        self._services = None if services is None else list(services)
        self._lock = threading.Lock()
        self._install(self._compile())

    def _compile(self):
        book = load_book(self.path, self._services)
        if self.engine == "durable":
            from decide.runtime.durable.backend import DurableBackend  # imported only when asked for
            backend = DurableBackend(book)
            validators = compile_validators(book)
            fns = {name: _durable_decider(book, name, backend, validators[name]) for name in book.decisions}
        else:
            backend = None
            fns = compile_book(book)
        return book, fns, backend

    def _install(self, compiled):
        ir, fns, backend = compiled
        # One assignment: a thread sees either the old version whole or the new one whole.
        self._state = (ir, fns, backend)

    @property
    def ir(self) -> Book:
        """The checked IR (``decide.model.ir.Book``) of the version in service."""
        return self._state[0]

    def decide(self, name: str, facts: Mapping[str, Any]) -> Result:
        """Evaluate decision ``name`` (a decision service or a table) on ``facts``."""
        fns = self._state[1]
        try:
            fn = fns[name]
        except (KeyError, TypeError):
            raise _unknown(name, fns) from None
        return fn(facts)

    def source(self, name: str) -> str:
        """The Python source of the function the native runtime compiles for decision
        ``name`` (compiled on asking when this book runs on another engine)."""
        ir, fns, _ = self._state
        if not isinstance(name, str) or name not in fns:
            raise _unknown(name, fns)
        return getattr(fns[name], "source", None) or native_source(ir, name)

    def reload(self) -> None:
        """Load the workbooks again.  On error the current version stays in service
        (the WorkbookError propagates); on success the new one replaces it whole."""
        with self._lock:
            self._install(self._compile())

    @property
    def decisions(self) -> dict[str, DecisionInfo]:
        return {n: DecisionInfo(n, p.kind, p.inputs, p.outputs, p.tables)
                for n, p in self.ir.decisions.items()}

    def __repr__(self) -> str:
        return f"<Rulebook {self.path} ({self.engine}): {len(self.ir.tables)} tables, " \
               f"{len(self.ir.decisions)} decisions>"


def _unknown(name, decisions) -> CaseError:
    return CaseError(f'unknown decision "{name}"{did_you_mean(str(name), decisions)}; decisions: '
                     + ", ".join(sorted(decisions)))


def _durable_decider(book: Book, name: str, backend, validate):
    from decide.runtime.native import fired_rules
    plan = book.decisions[name]
    fired_by_table = {t: fired_rules(book, book.tables[t]) for t in plan.tables}
    run = backend.run

    def decide(facts):
        outputs, fired = run(name, validate(facts))
        return Result(name, outputs, tuple(fired_by_table[t][i] for t, i in fired))
    return decide


def load(path: str | os.PathLike = None, *, engine: str = "native",
         services: Iterable[DecisionService] | None = None) -> Rulebook:
    """Load every workbook under ``path`` (a directory or one .xlsx file).

    Raises ``WorkbookError`` listing every problem found.  ``services`` are the
    decision services to offer besides the tables; by default those that installed
    applications declare under the ``decide.services`` entry point."""
    if path is None:
        raise TypeError("decide.load() needs the directory of the workbooks")
    return Rulebook(path, engine=engine, services=services)
