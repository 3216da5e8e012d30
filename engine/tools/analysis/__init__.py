"""Exact static analysis of decision tables: overlaps, gaps, shadowed rows,
redundant rows, columns that never change the outcome.

How it works
------------
Each input column of a table is a *variable*.  Its domain (the Glossary type,
narrowed by the field's allowed values) is cut into a finite partition of *cells*
by every boundary written in the column's tests: for an ordered type the points
``p1 < … < pk`` give the cells ``(-∞,p1) {p1} (p1,p2) … {pk} (pk,+∞)``; a list of
allowed values gives one cell per value; null (an absent field) is a cell of its own.
Every test whose values are constants gives the same answer for every value of a
cell, so a rule is exactly a *box*: one set of cells (a bit mask) per variable, and
a case is a point.  Questions about the table become questions about boxes
(intersection, cover by a union of boxes), answered exactly by splitting.

Field references and expression headers.  A column whose header is an arithmetic
expression over numeric fields that no other column tests (``amount_yen -
available_limit_yen``) is a variable of its own: its partition is over the value of
the expression, and each cell's value is solved back to field values (within their
allowed values) that produce it, so witnesses name real fields.  A numeric column
whose cells compare it with one other field only (``> available_limit_yen``, ``-``)
is the same thing: the difference of the two fields, compared with 0.

Soundness where the analysis cannot be exact.  Other field references, expressions
whose fields other columns also test, cells of an expression no field values reach,
and text-list columns are *approximate*: each rule gets two boxes, ``must`` (cases
where the rule certainly matches) and ``may`` (cases where it might).  A finding
that claims a case exists (overlap) is computed on ``must`` boxes; a finding that
claims no case exists (gap: no rule matches; shadowed: an earlier rule always
matches first) uses ``may`` for the rules that would have to match and ``must`` for
the rules that catch.  So a finding is never a false positive; lint says which
columns it treated approximately.

Every finding carries a witness: a concrete case (field → typed value) that
exhibits it when fed to the engine.  Null: a case where a field is absent.  Gaps and
useless columns are judged over cases where every tested field is present (an
absent field falls through almost every table, which is not news); overlaps and
shadowing consider null too, because they are exact statements about the rules.

Layout
------
``constants``    constants in tests, a test's three-valued result
``values``       representative values of a cell (``between``)
``solve``        field references and expression headers solved back to field values
``partition``    cells and variables (``Cell``, ``Variable``, ``build_variables``)
``boxes``        box algebra, ``uncovered``, ``Budget``, ``BoxIndex``
``rules``        rules as boxes, their order, witness cases and descriptions
``equivalence``  where two rule lists differ; columns that never change the outcome
``findings``     ``analyze_table``, ``Finding``, ``TableAnalysis``, ``analyze_book``
``regions``      ``table_diff``, ``RegionChange`` (two versions of a table)
"""
from __future__ import annotations

# the names callers import from ``decide.tools.analysis``
from decide.tools.analysis.boxes import BoxIndex, Budget, uncovered  # noqa: F401
from decide.tools.analysis.constants import UNKNOWN, const_value, status, test_consts, test_is_const  # noqa: F401
from decide.tools.analysis.equivalence import first_differ  # noqa: F401
from decide.tools.analysis.findings import Finding, TableAnalysis, analyze_book, analyze_table, overlapping_pairs  # noqa: F401
from decide.tools.analysis.partition import Cell, Variable, build_variables  # noqa: F401
from decide.tools.analysis.regions import RegionChange, table_diff  # noqa: F401
from decide.tools.analysis.rules import describe_box, rule_boxes, witness_case  # noqa: F401
from decide.tools.analysis.values import EMPTY, between  # noqa: F401

__all__ = ["Finding", "TableAnalysis", "analyze_table", "analyze_book", "table_diff"]
