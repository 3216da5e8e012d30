"""Lint on the random books of the engine's own property tests (every type, hit
policy, unary-test form, field references, text lists, chained tables): it never
fails, every witness shows its finding, and the universal claims (no case falls
through; a rule never fires; a column never matters) hold on every case drawn from
the types' sample domains."""
from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings, strategies as st

from decide.runtime import reference
from decide.tools.analysis import analyze_table
from decide.model.errors import EvaluationError
from decide.tools.lint import lint
from decide.model.values import in_allowed

from .strategies import DOMAINS, case_for, make_book, tables_and_fields


def _eval(book, t, case):
    try:
        return reference.eval_table(book, t, case)
    except EvaluationError:
        return "error", None


def _cases(book, t, with_null=True, limit=4000):
    fields = list(dict.fromkeys(c.field for c in t.inputs))
    pools = []
    for f in fields:
        fl = book.fields[f]
        vals = [v for v in DOMAINS.get(fl.type, []) if in_allowed(v, fl.allowed)]
        if isinstance(fl.allowed, tuple):
            vals += [v for v in fl.allowed if v not in vals]
        pools.append(vals + ([None] if with_null else []))
    if any(not p for p in pools):
        return []
    out = []
    for combo in itertools.islice(itertools.product(*pools), limit):
        out.append({f: v for f, v in zip(fields, combo) if v is not None})
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(tables_and_fields())
def test_lint_on_random_books(ft):
    fields, tables = ft
    book = make_book(fields, tables)
    lint(book)  # never raises
    for t in book.tables.values():
        a = analyze_table(t, book)
        for f in a.findings:
            w = f.witness
            if f.kind == "overlap":
                m = reference.matching_rules(t, w)
                assert f.rules[0] in m and f.others[0] in m, f
            elif f.kind == "conflict":
                assert _eval(book, t, w)[0] == "error", f
            elif f.kind == "gap":
                assert reference.matching_rules(t, w) == [], f
            elif f.kind == "shadowed":
                fired = _eval(book, t, w)[1]
                assert fired is None or f.rules[0] not in fired, f
            elif f.kind == "redundant":
                m = reference.matching_rules(t, w)
                assert f.rules[0] in m and f.others[0] in m, f
            elif f.kind == "useless":
                assert _eval(book, t, w)[0] == _eval(book, t, f.witness2)[0], f
        # universal claims, on every case of the sample domains
        present = _cases(book, t, with_null=False)
        every = _cases(book, t, with_null=True)
        # "no gap" is a claim only where every column is analysed exactly
        if t.hit_policy.single and not a.notes and not any(x.kind == "gap" for x in a.findings) \
                and not any("gap" in s for s in a.skipped):
            for c in present:
                assert reference.matching_rules(t, c), ("lint said no gap", c)
        dead = {x.rules[0] for x in a.findings if x.kind in ("shadowed", "never")}
        if dead:
            for c in every:
                fired = _eval(book, t, c)[1] or []
                assert not dead & set(fired), ("lint said never fires", c)
        for x in a.findings:
            if x.kind != "useless":
                continue
            col = t.inputs[x.column].field
            others = [c for c in present if col in c]
            seen = {}
            for c in others:
                key = tuple(sorted((k, repr(v)) for k, v in c.items() if k != col))
                out = _eval(book, t, c)[0]
                if key in seen:
                    assert seen[key] == out, ("lint said the column never matters", col, c)
                seen.setdefault(key, out)


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(tables_and_fields(), st.data())
def test_why_not_on_random_books(ft, data):
    from decide.tools.explain import why_not, why_not_lines
    fields, tables = ft
    book = make_book(fields, tables)
    for name in book.decisions:
        case = case_for(data.draw, book, name)
        try:
            env = reference.evaluate_env(book, name, case)
            _, fired = reference.evaluate(book, name, case)
        except EvaluationError:
            continue
        traces = why_not(book, name, case, typed=True)
        why_not_lines(book, name, case, typed=True)
        for tt in traces:
            t = book.tables[tt.table]
            matched = reference.matching_rules(t, env)
            hit = [i for tn, i in fired if tn == tt.table]
            assert tt.fired == [str(t.rules[i].id) for i in hit]
            for r in tt.rules:
                assert r.fired == (r.index in hit)
                if r.fired:
                    continue
                if r.failure is not None:
                    assert r.index not in matched
                    k = r.failure.index
                    assert reference.unary(t.rules[r.index].inputs[k].test, r.failure.value, env) is not True
                    # every cell before it matched
                    for j in range(k):
                        x = reference.eval_expr(t.inputs[j].expr, env)
                        assert reference.unary(t.rules[r.index].inputs[j].test, x, env) is True
                else:
                    assert r.index in matched  # all cells match: lost on the hit policy
            if t.hit_policy.name == "FIRST" and hit:
                assert tt.rules[-1].index == hit[0]
