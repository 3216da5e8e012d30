"""Findings of one table (``analyze_table``): rules that never match, overlaps and
conflicts, gaps, shadowed, redundant and mergeable rows, columns that never change the
outcome; each with a witness case.  ``analyze_book`` runs it on every table of a book."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from decide.runtime import reference as _ref
from decide.model.ir import Book, Table
from decide.tools.analysis.boxes import Budget, BoxIndex, bits_of, meet, subset, uncovered
from decide.tools.analysis.equivalence import useless_columns
from decide.tools.analysis.partition import Variable, build_variables
from decide.tools.analysis.rules import rule_keys, rule_order, outputs_const, describe_box, rule_boxes, witness_case


@dataclass
class Finding:
    kind: str  # overlap | conflict | gap | never | shadowed | redundant | mergeable | useless
    table: str
    rules: tuple[int, ...] = ()  # rule indices; the subject first
    others: tuple[int, ...] = ()  # the rules that explain it (cover, overlap partner…)
    column: Optional[int] = None  # input column index (useless)
    witness: dict = field(default_factory=dict)  # field → typed value (absent = null)
    witness2: Optional[dict] = None  # a second case (useless column: same outcome)
    region: str = ""  # the set of cases, described per column
    detail: str = ""
    # for a table fed by other tables: a case of the table's decision (raw facts) whose
    # upstream results put the table in the witness's situation, when one was found
    decision_case: Optional[dict] = None


@dataclass
class TableAnalysis:
    table: Table
    variables: list[Variable]
    must: list[tuple]
    may: list[tuple]
    findings: list[Finding]
    notes: list[tuple[int, str]]  # (input column index, note) for approximate columns
    skipped: list[str]  # analyses given up (budget), for the report


def analyze_table(table: Table, book: Optional[Book] = None, *, max_pairs: int = 200,
                  budget: int = 3_000_000) -> TableAnalysis:
    variables = build_variables(table, book)
    must, may = rule_boxes(table, variables)
    notes = []
    for v in variables:
        for note in v.notes:
            notes.append((v.columns[0], note))
    res = TableAnalysis(table, variables, must, may, [], notes, [])
    n = len(table.rules)
    if n == 0:
        if table.hit_policy.gaps:
            univ = tuple(v.gap_dom if not v.opaque else v.full for v in variables)
            if all(univ):
                res.findings.append(Finding("gap", table.name, (), witness=witness_case(variables, univ),
                                            region="every case"))
        return res
    hp = table.hit_policy
    keys = rule_keys(table)
    f = res.findings
    univ = tuple(v.gap_dom if not v.opaque else v.full for v in variables)
    exact = all(not v.opaque and not v.notes for v in variables)

    # rules that can never match any case
    never = set()
    for i in range(n):
        if not all(may[i]):
            never.add(i)
            f.append(Finding("never", table.name, (i,), witness={}))

    # overlaps (UNIQUE: any; ANY: with different outputs, a conflict)
    if hp.overlap is not None:
        conflict = hp.overlap == "conflict"
        count = 0
        for i, j in overlapping_pairs(must):
            if conflict and keys[i] == keys[j]:
                continue
            box = meet(must[i], must[j])
            w = witness_case(variables, box)
            if conflict and not _outputs_differ(table, i, j, w):
                continue
            count += 1
            if count > max_pairs:
                res.skipped.append(f"more than {max_pairs} overlapping pairs; the first are listed")
                break
            f.append(Finding(hp.overlap, table.name,
                             (j, i), (i,), witness=w, region=describe_box(variables, box, table)))

    # gaps
    if hp.gaps and all(univ):
        bud = [budget]
        try:
            gap_boxes = []
            boxes = list(may)
            for _ in range(5):
                g = uncovered(univ, range(len(boxes)), boxes, bud)
                if g is None:
                    break
                gap_boxes.append(g)
                boxes.append(g)
            for g in gap_boxes:
                f.append(Finding("gap", table.name, (), witness=witness_case(variables, g),
                                 region=describe_box(variables, g, table)))
        except Budget:
            res.skipped.append("gap analysis (too many combinations)")

    # shadowed rows (FIRST, PRIORITY: the first match in an order wins): the rule never
    # decides the outcome
    order = rule_order(book, table)
    # positional (FIRST): a rule's place in the order, and the rules strictly between two places
    pos = {r: p for p, r in enumerate(order)} if hp.positional else None
    upto: list[int] = []  # upto[p]: the rules at places before p (built when first needed)

    def between(a, b):
        if not upto:
            upto.append(0)
            for r in order:
                upto.append(upto[-1] | (1 << r))
        lo, hi = sorted((pos[a], pos[b]))
        return upto[hi] & ~upto[lo + 1]

    shadowed = set()
    idx_must = BoxIndex(must)
    idx_may = BoxIndex(may)
    if order is not None:
        bud = [budget]
        before = 0
        for r in order:
            if r in never:
                before |= 1 << r
                continue
            touch = idx_must.touching(may[r]) & before
            before |= 1 << r
            if not touch:
                continue
            earlier = [s for s in order if (touch >> s) & 1]
            try:
                g = uncovered(may[r], earlier, must, bud)
            except Budget:
                res.skipped.append(f"shadowing of rule {table.rules[r].id}")
                continue
            if g is None:
                shadowed.add(r)
                cover = _minimal_cover(may[r], earlier, must)
                box = must[r] if all(must[r]) else may[r]
                w = witness_case(variables, box)
                f.append(Finding("shadowed", table.name, (r,), tuple(cover), witness=w))

    # redundant rows: same outputs, covered by another rule that would take over (single-hit
    # policies where two rules may match one case)
    if hp.single and hp.overlap != "overlap":
        for r in range(n):
            if r in never or r in shadowed or not all(must[r]):
                continue
            touch_r = idx_may.touching(may[r])
            for s in bits_of(idx_must.touching(may[r])):
                if s == r or keys[s] != keys[r] or not subset(may[r], must[s]):
                    continue
                if hp.positional:
                    if pos[s] < pos[r] or s in shadowed:
                        continue  # that is shadowing
                    if any(keys[t] != keys[r] for t in bits_of(touch_r & between(r, s))):
                        continue
                if hp.ranked and not outputs_const(table):
                    continue
                if not hp.positional and s > r and subset(may[s], must[r]):
                    continue  # identical rows: report the later one only
                f.append(Finding("redundant", table.name, (r,), (s,),
                                 witness=witness_case(variables, must[r])))
                break

    # mergeable pairs: same outputs, boxes differ in exactly one column
    if hp.single and exact:
        reported = set()
        done = {x.rules[0] for x in f if x.kind in ("redundant", "shadowed", "never")}
        by_key: dict = {}
        for r in range(n):
            if r not in done:
                by_key.setdefault(keys[r], []).append(r)
        for group in by_key.values():
            if len(group) < 2 or len(group) > 400:
                continue
            for a_i, a in enumerate(group):
                for b in group[a_i + 1:]:
                    if a in reported or b in reported:
                        continue
                    diff = [k for k in range(len(variables)) if must[a][k] != must[b][k]]
                    if len(diff) != 1:
                        continue
                    if hp.positional:
                        later = b if pos[b] > pos[a] else a
                        if any(keys[t] != keys[a] for t in bits_of(idx_may.touching(may[later]) & between(a, b))):
                            continue
                    reported.add(a)
                    reported.add(b)
                    k = diff[0]
                    v = variables[k]
                    merged = must[a][k] | must[b][k]
                    if v.ordered and v.runs(merged) > 1:
                        continue  # the union is not one interval: not simpler
                    f.append(Finding("mergeable", table.name, (b,), (a,), column=v.columns[0],
                                     witness=witness_case(variables, must[b]),
                                     region=v.describe(merged)))

    # columns that never change the outcome
    ordr = order if hp.order is not None else list(range(n))
    if hp.single and ordr is not None and not any(x.kind in ("overlap", "conflict") for x in f):
        for k, v in enumerate(variables):
            try:
                u = useless_columns(table, variables, must, may, keys, ordr, k, budget)
            except Budget:
                res.skipped.append(f"whether column {table.inputs[v.columns[0]].header} matters")
                continue
            if u is not None:
                w1, w2 = u
                f.append(Finding("useless", table.name, (), column=v.columns[0], witness=w1,
                                 witness2=w2))
    return res


def _outputs_differ(table: Table, i: int, j: int, case: dict) -> bool:
    try:
        a = _ref.rule_outputs(table, i, case)
        b = _ref.rule_outputs(table, j, case)
    except Exception:
        return False
    return a != b


def _minimal_cover(box, cands, boxes) -> list[int]:
    """A small subset of ``cands`` that still covers ``box`` (greedy, exact check)."""
    cover = list(cands)
    if len(cover) > 24:
        return cover
    for r in list(cover):
        trial = [x for x in cover if x != r]
        if trial and uncovered(box, trial, boxes, [200_000]) is None:
            cover = trial
    return cover


def overlapping_pairs(boxes: list[tuple]):
    """Every (i, j), i < j, whose boxes intersect; via per-column indexes."""
    n = len(boxes)
    if n < 2:
        return
    ncols = len(boxes[0])
    if ncols == 0:
        for j in range(n):
            for i in range(j):
                yield i, j
        return
    col_hits = []  # per column: mask → bitset of rules intersecting it
    for k in range(ncols):
        groups: dict[int, int] = {}
        for r in range(n):
            groups[boxes[r][k]] = groups.get(boxes[r][k], 0) | (1 << r)
        ms = list(groups)
        # cell → rules containing it
        maxbit = max(ms).bit_length() if ms else 0
        cell_rules = [0] * maxbit
        for m, rs in groups.items():
            mm = m
            while mm:
                low = mm & -mm
                cell_rules[low.bit_length() - 1] |= rs
                mm ^= low
        hits = {}
        for m in ms:
            acc = 0
            if bin(m).count("1") <= len(ms):
                mm = m
                while mm:
                    low = mm & -mm
                    acc |= cell_rules[low.bit_length() - 1]
                    mm ^= low
            else:
                for m2, rs in groups.items():
                    if m & m2:
                        acc |= rs
            hits[m] = acc
        col_hits.append(hits)
    for j in range(n):
        acc = (1 << j) - 1
        for k in range(ncols):
            acc &= col_hits[k][boxes[j][k]]
            if not acc:
                break
        while acc:
            low = acc & -acc
            yield low.bit_length() - 1, j
            acc ^= low


def analyze_book(book: Book, **kw) -> dict[str, TableAnalysis]:
    return {name: analyze_table(t, book, **kw) for name, t in book.tables.items()}
