"""The atone app-only card domain, built on the decide engine: decision services
(``services``), cardholder-name romanisation (``names``) and the analysts' workbooks
(``tables``, shipped as package data).  The engine never imports this package; it
finds it through the ``decide.services`` and ``decide.tables`` entry points."""
from __future__ import annotations

from importlib import resources
from pathlib import Path


def tables_dir() -> Path:
    """The directory of the shipped workbooks, wherever the package is installed."""
    return Path(str(resources.files("decide.atone.tables")))
