"""Test-session setup shared by every test module.

The compile cache (decide.compile.cache) is on in the tests, as it is for users, but in
a fresh directory of this session: nothing is read from or written to the user's own
cache directory, and no run sees entries another run left.  The subprocesses the
tests start (``decide …``) inherit the variable.
"""
from __future__ import annotations

import os
import shutil
import tempfile

_CACHE_DIR = tempfile.mkdtemp(prefix="decide-test-cache-")
os.environ["DECIDE_CACHE_DIR"] = _CACHE_DIR
os.environ.pop("DECIDE_CACHE", None)


def pytest_unconfigure(config):
    shutil.rmtree(_CACHE_DIR, ignore_errors=True)
