"""The workbooks under a directory, each file read once into memory (bounded by
xlsxguard's checks on the file): what the reader parses, what the compile cache is
keyed by, and what the rule-set version names.  No openpyxl here: a load that the
compile cache answers never imports it."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from decide.compile.xlsxguard import OTHER_FORMATS, Limits, Refused, read_file
from decide.model.errors import Diagnostic
from decide.model.loc import Loc

SUFFIXES = (".xlsx",) + tuple(OTHER_FORMATS)  # listed so that a wrong format is reported, not missed


def workbook_paths(directory: str | os.PathLike) -> list[Path]:
    d = Path(directory)
    if d.is_file():
        return [d]
    return sorted(p for p in d.rglob("*") if p.suffix.lower() in SUFFIXES
                  and not p.name.startswith(("~$", ".~")))


def refused(name: str, r: Refused) -> Diagnostic:
    return Diagnostic(r.code, "error", Loc(name, r.sheet), r.message)


@dataclass
class Source:
    """The workbooks under a directory, each read once into memory: what the loader
    parses, what the compile cache is keyed by and what the rule-set version names."""

    entries: list[tuple[str, bytes | Diagnostic]]  # (name relative to the directory, bytes or
    #                                                why it was not read), in the order read
    problems: list[Diagnostic]  # the directory's own (no such directory, no workbook, limits)
    limits: Limits | None = None

    @property
    def files(self) -> dict[str, bytes]:
        return {rel: data for rel, data in self.entries if isinstance(data, bytes)}

    @property
    def complete(self) -> bool:
        """Every workbook was read (nothing refused before parsing)."""
        return not self.problems and all(isinstance(data, bytes) for _, data in self.entries)


def read_source(directory: str | os.PathLike, limits: Limits | None = None) -> Source:
    """Read the bytes of every workbook under ``directory`` (or of the one file)."""
    d = Path(directory)
    if limits is None:
        try:
            limits = Limits.from_env()
        except ValueError as e:
            return Source([], [Diagnostic("E100", "error", Loc(str(directory)), str(e))])
    if not d.exists():
        return Source([], [Diagnostic("E100", "error", Loc(str(directory)), "no such directory or file")], limits)
    paths = workbook_paths(d)
    if not paths:
        return Source([], [Diagnostic("E100", "error", Loc(str(directory)), "contains no .xlsx workbook")],
                      limits)
    entries: list[tuple[str, bytes | Diagnostic]] = []
    for p in paths:
        rel = p.name if d.is_file() else str(p.relative_to(d))
        try:
            entries.append((rel, read_file(p, None if d.is_file() else d, limits)))
        except Refused as r:
            entries.append((rel, refused(rel, r)))
    return Source(entries, [], limits)
