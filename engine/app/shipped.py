"""Where the installed tables are: the ``decide.tables`` entry point.

An application that ships workbooks declares a function returning their directory
(decide's own distribution declares the atone tables, ``decide.atone:tables_dir``); the
engine finds them without importing the application."""
from __future__ import annotations

from importlib.metadata import entry_points
from typing import Optional


def shipped_tables() -> Optional[str]:
    """The directory of the first installed application's workbooks, or None."""
    for ep in sorted(entry_points(group="decide.tables"), key=lambda e: e.name):
        try:
            return str(ep.load()())
        except Exception:  # an application that fails to import does not break the CLI
            continue
    return None
