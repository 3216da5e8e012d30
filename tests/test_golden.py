"""Behaviour is unchanged by the reorganisation: the outputs recorded in tests/golden/
before any module moved (by ``python -m tests.golden_cases``) are reproduced exactly."""
from __future__ import annotations

import json

import pytest

from tests import golden_cases as g


def _recorded(name):
    return json.loads((g.GOLDEN / f"{name}.json").read_text(encoding="utf-8"))


def _now(value):
    return json.loads(json.dumps(value, ensure_ascii=False, sort_keys=True))


@pytest.mark.parametrize("name", ["examples", "tests_cases", "lint_shipped"])
def test_unchanged(name):
    assert _now(getattr(g, name)()) == _recorded(name)


def test_lint_corpus_unchanged(tmp_path):
    assert _now(g.lint_corpus(tmp_path)) == _recorded("lint_corpus")


def test_diff_of_two_edits_unchanged(tmp_path):
    assert _now(g.diffs(tmp_path)) == _recorded("diffs")


def test_golden_data_is_not_trivial():
    ex = _recorded("examples")
    assert len(ex) == 2 * len(g.EXAMPLES) >= 36
    assert all(v["exit"] == 0 and '"fired"' in v["stdout"] for v in ex.values())
    assert sum(v["passed"] for v in _recorded("tests_cases").values()) >= 226
    assert all(d["exit"] == 1 for d in _recorded("diffs").values())
