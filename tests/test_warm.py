"""Rulebook.warm(): a decision service's first-use loading (a dictionary) happens when a
server or a batch starts, not in the first decision, and not in a one-shot decide."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import decide
from decide.model.ir import DecisionService

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = r"""
import sys, decide
from decide.app.shipped import shipped_tables
book = decide.load(shipped_tables())
print("pykakasi" in sys.modules)
book.warm()
print("pykakasi" in sys.modules)
"""


def test_the_shipped_romanisation_loads_on_warm_not_on_load(tmp_path):
    r = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120,
                       env={"DECIDE_CACHE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["False", "True"]


def test_warm_runs_each_services_warm_once_per_call():
    calls = []
    services = [s if s.name != "purchase_restriction" else
                DecisionService(s.name, s.inputs, s.outputs, s.derived, s.derive, s.description,
                                warm=lambda: calls.append(1))
                for s in decide.load(ROOT / "tables").ir.services.values()]
    book = decide.load(ROOT / "tables", services=services)
    assert calls == []  # loading does not warm
    book.warm()
    assert calls == [1]
    assert book.decide("purchase_restriction", {"merchant": "amazon", "category": "books", "amount_yen": 100,
                                                "recurring": False}).outputs["allowed"] is True
