"""The archive of rule-set versions, content-addressed: ``DIR/<version>/``.

    path = decide.archive(book, "archive/")     # archive/<book.version>/
    old = decide.load(path)                      # the same version again

``DIR/<version>/`` holds the workbooks of that version byte for byte (under their
names relative to the tables directory), the ``VERSION`` label file when the version
has a label, and ``manifest.json``: ``{"version", "label", "engine_version",
"workbooks": {name: sha256}, "archived_at"}``.  A version is written into a
temporary directory inside ``DIR`` and renamed into place, so ``DIR/<version>``
is whole or absent; an existing one is left as it is (the same name means the same
bytes).  Several processes may archive at once (``decide serve --workers N``): the
first rename wins and the others drop their copy.

The bytes archived are those the Rulebook computed its version from
(``Rulebook.snapshot``), checked again against the version before anything is
written: a mismatch is refused (``ArchiveError``), never archived under a wrong name.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from decide.model.errors import DecideError
from decide.runtime.rulebook import LABEL_FILE, _digest, engine_version, make_version

MANIFEST = "manifest.json"


class ArchiveError(DecideError):
    """A version could not be archived; ``str()`` says which and why."""


def path_for(directory: str | os.PathLike, version: str) -> Path:
    """Where ``version`` is (or would be) archived under ``directory``."""
    if not version or "/" in version or version in (".", "..") or version.startswith("."):
        raise ValueError(f'"{version}" is not a rule-set version')
    return Path(directory) / version


def put(book, directory: str | os.PathLike) -> Path:
    """Archive the version ``book`` has in service under ``directory`` (created if
    missing); returns ``directory/<version>``.  Raises ``ArchiveError``."""
    version, files = book.snapshot()
    label = version.rpartition("+")[0] or None
    if make_version(_digest(files), label) != version:
        raise ArchiveError(f"version {version}: the workbooks' bytes do not give this version; "
                           "not archived")
    target = path_for(directory, version)
    if target.is_dir():
        return target
    try:
        Path(directory).mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{version}.", dir=directory))
    except OSError as e:
        raise ArchiveError(f"cannot archive version {version} in {directory}: {e.strerror or e}") from None
    try:
        for rel, data in files.items():
            dest = tmp / rel
            if not dest.resolve().is_relative_to(tmp.resolve()):
                raise ArchiveError(f"version {version}: {rel} is not a name under the tables")
            dest.parent.mkdir(parents=True, exist_ok=True)
            _write(dest, data)
        if label:
            _write(tmp / LABEL_FILE, f"{label}\n".encode())
        manifest = {"version": version, "label": label, "engine_version": engine_version(),
                    "workbooks": {rel: hashlib.sha256(files[rel]).hexdigest() for rel in sorted(files)},
                    "archived_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}
        _write(tmp / MANIFEST, (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
        _fsync_dir(tmp)
        try:
            os.rename(tmp, target)  # atomic; fails if another process put the version first
        except OSError:
            if not target.is_dir():
                raise
        else:
            _fsync_dir(Path(directory))
    except OSError as e:
        raise ArchiveError(f"cannot archive version {version} in {directory}: {e.strerror or e}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _write(path: Path, data: bytes) -> None:
    with open(path, "xb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
