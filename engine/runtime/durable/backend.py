"""The durable_rules backend: every table of the book as durable_rules rulesets
(``decide.runtime.durable.compile``), decisions forward-chained inside durable.

One decision = one fresh session id.  The caller asserts (or posts, for FIRST and
static PRIORITY tables) the first table's fact; each rule's action records its hit;
each table's finaliser rule (lowest priority, always matches) completes the table
(hit policy, outputs) and asserts the next table's fact, which carries the outputs
of the tables upstream, into the next table's ruleset — all synchronously inside
the first call.  Afterwards the session is deleted from every ruleset it touched,
whatever happened.

durable_rules is imported only when a backend is built, so the default runtime
works where it cannot be imported; here ``engine="durable"`` fails with one line.

Thread safety: durable's default ``Host`` runs a background dispatcher that may run
actions on its own thread (it segfaulted with 8 caller threads); ``_QuietHost``
never starts it.  The C extension holds the GIL, so decisions are serialised by one
process-wide lock at no cost in throughput (measured: 8 threads × 5,000 decisions
equal to the sequential run, 10 runs out of 10).

Limits (see ``decide.runtime.durable.compile``): a table that cannot be compiled within durable's
limits is a ``WorkbookError`` naming it, at load time; so is a decision that would
chain through more than ``MAX_HOPS`` rulesets (each hop nests a few Python frames).
durable cannot replace a registered ruleset: every backend registers its own, and
``close()`` (also run when the backend is collected) deletes them again.
"""
from __future__ import annotations

import itertools
import threading
import warnings
from bisect import bisect_left

from decide.runtime.durable.compile import DISCRIMINATOR, compile_for_durable
from decide.model.errors import Diagnostic, WorkbookError
from decide.model.ir import Book, Literal
from decide.runtime.reference import eval_expr, rule_outputs, table_result

warnings.filterwarnings("ignore", message=r".*utcfromtimestamp.*", category=DeprecationWarning)

_serial = itertools.count()
MAX_HOPS = 100  # rulesets one decision may chain through (7 Python frames each)
SHARED_RULES = 2000  # rules of the small tables that share one ruleset (durable's limit: 4,096; 0: none)
# One lock for every backend of the process: durable's C extension holds the GIL (no
# parallel speed-up to lose), and no two decisions ever interleave inside durable,
# even across a reload that leaves an old backend serving a last caller.
_LOCK = threading.RLock()


def _durable_engine():
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from durable import engine as durable_engine
        return durable_engine
    except BaseException as e:  # ImportError, or a broken build (e.g. Python 3.13)
        detail = " ".join(f"{type(e).__name__}: {e}".split())
        raise RuntimeError(f'engine="durable" needs durable_rules, which cannot be imported here '
                           f'({detail}); the default engine works without it') from None


def _host_class(durable_engine):
    class _QuietHost(durable_engine.Host):
        """A Host without the background dispatcher and timer threads."""

        def _run(self):
            pass

    return _QuietHost


# --------------------------------------------------------------------------- per table
class _Stage:
    """A table as the runtime sees it: rulesets, encoder, output rules."""

    def __init__(self, book: Book, t, ct, prefix: str, shared: str | None = None, disc: int = 1):
        self.t = t
        self.ct = ct
        self.post = ct.mode == "post"
        # a small table (one part, no index) lives in a ruleset shared with other small
        # tables, its rules and its facts told apart by the discriminator's value
        self.disc = disc
        self.names = [shared] if shared is not None else [f"{prefix}_p{p}" for p in range(len(ct.parts))]
        self.route_all = tuple(self.names)
        self.index_key = ct.index_key
        self.buckets = {c: tuple(self.names[p] for p in ps) + tuple(self.names[p] for p in ct.wild)
                        for c, ps in ct.buckets.items()}
        self.wild = tuple(self.names[p] for p in ct.wild)
        self.fields = t.output_fields
        self.name = t.name
        hp = t.hit_policy
        self.single = hp.single
        # literal outputs are computed once
        self.const_outputs = []
        for r in t.rules:
            if all(isinstance(o.expr, Literal) for o in r.outputs):
                self.const_outputs.append(rule_outputs(t, r.index, {}))
            else:
                self.const_outputs.append(None)
        # encoder: (fast single-term groups, multi-term groups, text-list terms)
        code = ct.code
        self.one, self.multi, self.listy = [], [], []
        for g in code.groups:
            plain = [x for x in g.terms if not x.listy]
            if len(plain) == 1:
                x = plain[0]
                self.one.append((x.key, x.name, x.expr, g.index.get, g.consts, len(g.consts), x.mix_key, g))
            elif plain:
                self.multi.append(([(x.key, x.name, x.expr, x.mix_key) for x in plain], g))
            for x in g.terms:
                if x.listy:
                    self.listy.append((x.key, x.name, x.expr, tuple(x.members.items()), x.mix_key))

    def outputs_of(self, i, env):
        c = self.const_outputs[i]
        if c is not None:
            return c
        return rule_outputs(self.t, i, env)  # the reference's own output typing

    def fact(self, env: dict, sid: str) -> dict:
        f = {"sid": sid, DISCRIMINATOR: self.disc}
        for key, name, expr, get, consts, n, mix, g in self.one:
            v = env.get(name) if name is not None else eval_expr(expr, env)
            if v is not None:
                c = get(v)  # a value written in the cells
                if c is None:
                    try:
                        i = bisect_left(consts, v)
                        c = 2 * i + 1 if i < n and consts[i] == v else 2 * i
                    except TypeError:
                        if mix is None:
                            raise
                        f[mix] = 1
                        continue
                f[key] = c
        for terms, g in self.multi:
            vals = []
            for key, name, expr, mix in terms:
                v = env.get(name) if name is not None else eval_expr(expr, env)
                if v is not None:
                    if mix is not None:
                        try:
                            g.static(v)
                            for w, _ in vals:
                                w < v  # noqa: B015 (comparable with the others?)
                        except TypeError:
                            f[mix] = 1
                            continue
                    vals.append((v, key))
            vals.sort(key=lambda p: p[0])
            prev_s = prev_v = None
            rank = 0
            for v, key in vals:
                s = g.static(v)
                if s != prev_s:
                    rank = 0
                elif v != prev_v:
                    rank += 1
                prev_s, prev_v = s, v
                f[key] = s * g.K + rank
        for key, name, expr, members, mix in self.listy:
            v = env.get(name) if name is not None else eval_expr(expr, env)
            if v is not None:
                if v.__class__ is not tuple and mix is not None:
                    f[mix] = 1
                    continue
                f[key] = 1
                for text, mk in members:
                    f[mk] = 1 if text in v else 0
        return f

    def route(self, fact: dict) -> tuple:
        """The rulesets this table's fact visits, in order."""
        if self.index_key is None:
            return self.route_all
        return self.buckets.get(fact.get(self.index_key), self.wild)

    def result(self, book: Book, matched: list, env: dict):
        """The table's outputs and fired rules from its matching rules (rule order):
        the reference's hit policy, with this stage's precomputed literal outputs."""
        if self.single and len(matched) == 1:  # the common case, the same under U, A, P and F
            return dict(zip(self.fields, self.outputs_of(matched[0], env))), matched
        return table_result(book, self.t, matched, env, lambda i: self.outputs_of(i, env))


# --------------------------------------------------------------------------- one decision
class _Decision:
    __slots__ = ("stages", "pos", "env", "fired", "hits", "error", "touched", "sid", "done", "fact",
                 "route", "step", "inside")

    def __init__(self, stages, env, sid):
        self.stages = stages
        self.pos = 0
        self.env = env
        self.fired = []
        self.hits = []
        self.error = None
        self.touched = []
        self.sid = sid
        self.done = False
        self.fact = None
        self.route = ()
        self.step = 0
        self.inside = None  # the ruleset whose action is running (a fact for it is queued, not nested)


class DurableBackend:
    """The durable_rules backend of a loaded book.

    ``DurableBackend(book)`` compiles and registers every table (``WorkbookError``
    naming the tables that cannot be compiled); ``run(plan, facts)`` returns
    ``(outputs, fired)`` as ``decide.runtime.reference.evaluate`` does for the same facts
    (already validated, typed and derived)."""

    def __init__(self, book: Book):
        durable_engine = _durable_engine()
        self.book = book
        self._host = _host_class(durable_engine)()
        self._lock = _LOCK
        self._closed = False
        self._names: list[str] = []
        self._sids = itertools.count()
        self._cur: _Decision | None = None
        prefix = f"decide{next(_serial)}"
        problems = []
        compiled = {}
        for name, t in book.tables.items():
            try:
                compiled[name] = compile_for_durable(book, t)
            except WorkbookError as e:
                problems.extend(e.diagnostics)
        if problems:
            raise WorkbookError(problems)
        # the small tables (one part, no index) of a decision share one ruleset: one
        # session to create and delete instead of one per table, facts chained inside
        # durable's own loop.  durable's cost per session grows with the rules of the
        # ruleset, so each decision gets its own (a table used by several decisions
        # goes with the largest), split at SHARED_RULES rules.
        owner = {}
        for plan_name, plan in sorted(book.decisions.items(), key=lambda p: -len(p[1].tables)):
            for t in plan.tables:
                owner.setdefault(t, plan_name)
        self._stages = {}
        shared: dict[str, list[_Stage]] = {}  # shared ruleset → its tables
        groups: dict[str, tuple[str, int]] = {}  # decision → (its current ruleset, rules in it)
        for n, (name, ct) in enumerate(compiled.items()):
            t = book.tables[name]
            if SHARED_RULES and name in owner and len(ct.parts) == 1 and ct.index_key is None:
                rules = len(ct.parts[0].rules) + 1
                group, size = groups.get(owner[name], (None, 0))
                if group is None or size + rules > SHARED_RULES:
                    group, size = f"{prefix}_s{len(shared)}", 0
                    shared[group] = []
                groups[owner[name]] = (group, size + rules)
                stage = _Stage(book, t, ct, f"{prefix}_t{n}", shared=group, disc=n + 1)
                shared[group].append(stage)
            else:
                stage = _Stage(book, t, ct, f"{prefix}_t{n}")
            self._stages[name] = stage
        self._plans = {name: (tuple(self._stages[t] for t in plan.tables), plan.outputs)
                       for name, plan in book.decisions.items()}
        self._check_depth()
        for stage in self._stages.values():
            if len(stage.names) > 1 or stage.names[0] not in shared:
                self._register([stage], stage.names)
        for group, stages in shared.items():
            self._register(stages, [group])
        self._rulesets = {name: self._host.get_ruleset(name) for name in self._names}
        self._handle = self._host._handle_function

    def _check_depth(self):
        """Chaining nests one Python call per ruleset visited: keep a decision's
        worst case well inside the recursion limit, or say which table is too large."""
        problems = {}
        for name, (stages, _) in self._plans.items():
            hops = [max([len(s.route_all) if s.index_key is None else
                         max([len(r) for r in s.buckets.values()] + [len(s.wild)])]) for s in stages]
            if sum(hops) > MAX_HOPS:
                worst = stages[hops.index(max(hops))]
                problems[worst.name] = Diagnostic(
                    "E903", "error", worst.t.loc,
                    f"table {worst.name} cannot run on the durable_rules engine: decision {name} would chain "
                    f"{sum(hops)} rulesets (at most {MAX_HOPS}); its rules overlap too much to be split "
                    "further (split the table)")
        if problems:
            raise WorkbookError(list(problems.values()))

    # ---- registration
    def _register(self, stages: list, names: list):
        """Register the rulesets ``names``: one per part of a single table, or one
        shared by small tables (each rule and finaliser tests its table's
        discriminator value; priorities only order rules of the same table, because a
        decision has one table's fact in play at a time)."""
        definitions = {}
        for stage in stages:
            ct = stage.ct
            tag = f"t{stage.disc}_" if len(stages) > 1 or stage.disc != 1 else ""
            for p, part in enumerate(ct.parts):
                rules = definitions.setdefault(names[p if len(names) > 1 else 0], {})
                rs = names[p if len(names) > 1 else 0]
                for pri, (i, cond) in enumerate(zip(part.rules, part.conds)):
                    if stage.disc != 1:
                        cond = {"$and": [{DISCRIMINATOR: stage.disc}] + cond["$and"][1:]}
                    rules[f"{tag}r{i}"] = {"all": [{"m": cond}], "pri": pri, "run": self._rule_action(stage, i, rs)}
                rules[f"{tag}end"] = {"all": [{"m": {DISCRIMINATOR: stage.disc}}], "pri": len(part.rules) + 1,
                                      "run": self._end_action(stage, rs)}
        try:
            with self._lock:
                self._host.register_rulesets(definitions)
            self._names.extend(definitions)
        except Exception as e:
            t = stages[0].t if len(stages) == 1 else None
            what = (f"table {t.name}" if t is not None else
                    "tables " + ", ".join(s.t.name for s in stages))
            raise WorkbookError([Diagnostic("E902", "error", stages[0].t.loc,
                                            f"{what} cannot run on the durable_rules engine: "
                                            f"durable_rules refused its rules ({e})")]) from None

    def _rule_action(self, stage: _Stage, index: int, rs: str):
        if stage.post:
            def act(c):  # the first match in priority order: the table's single hit
                d = self._cur
                if d.error is None:
                    outer, d.inside = d.inside, rs
                    try:
                        self._complete(d, stage, [index])
                    except BaseException as e:
                        d.error = e
                    finally:
                        d.inside = outer
        else:
            def act(c):  # every match fires, in priority order
                d = self._cur
                if index not in d.hits:  # an $or may fire a rule twice
                    d.hits.append(index)
        return act

    def _end_action(self, stage: _Stage, rs: str):
        def act(c):  # the finaliser: lowest priority, fires after every match of the part
            d = self._cur
            if d.error is not None:
                return
            outer, d.inside = d.inside, rs
            try:
                if d.step < len(d.route):  # the table's next ruleset
                    name = d.route[d.step]
                    d.step += 1
                    self._send(d, name, stage.post, d.fact)
                else:
                    hits = d.hits
                    d.hits = []
                    self._complete(d, stage, sorted(hits))
            except BaseException as e:
                d.error = e
            finally:
                d.inside = outer
        return act

    # ---- chaining
    def _send(self, d: _Decision, ruleset: str, post: bool, fact: dict):
        # Host.post / Host.assert_fact without their per-call ruleset lookup
        rs = self._rulesets[ruleset]
        if rs not in d.touched:
            d.touched.append(rs)
        if ruleset == d.inside:
            # the ruleset running this action: queue the fact in the session (what an
            # action's own c.post/c.assert_fact does); durable runs its matches once
            # this action completes, in the same loop, no nesting
            (rs.assert_event if post else rs.assert_fact)(fact)
            return
        state = self._handle(rs, rs.assert_event if post else rs.assert_fact, fact, None)
        if state and "exception" in state:  # durable swallows what escapes an action
            raise RuntimeError(f"durable_rules action failed: {state['exception'][:300]}")

    def _complete(self, d: _Decision, stage: _Stage, matched: list):
        outs, fired = stage.result(self.book, matched, d.env)
        env = d.env
        for k, v in outs.items():
            env[k] = tuple(v) if v.__class__ is list else v
        name = stage.name
        for i in fired:
            d.fired.append((name, i))
        d.pos += 1
        self._start(d)

    def _start(self, d: _Decision):
        if d.pos == len(d.stages):
            d.done = True
            return
        stage = d.stages[d.pos]
        d.fact = fact = stage.fact(d.env, d.sid)
        d.route = route = stage.route(fact)
        d.step = 1
        self._send(d, route[0], stage.post, fact)

    # ---- the API
    def run(self, plan_name: str, facts: dict) -> tuple[dict, list[tuple[str, int]]]:
        stages, outputs = self._plans[plan_name]
        env = dict(facts)
        with self._lock:
            if self._closed:
                raise RuntimeError("this durable_rules backend was closed (the workbooks were reloaded)")
            d = _Decision(stages, env, str(next(self._sids)))
            self._cur = d
            try:
                self._start(d)
            finally:
                self._cur = None
                for rs in d.touched:
                    try:
                        rs.delete_state(d.sid)
                    except Exception:
                        pass
        if d.error is not None:
            raise d.error
        if not d.done:
            raise RuntimeError(f"durable_rules did not complete decision {plan_name} "
                               f"(stopped at table {stages[d.pos].t.name})")
        out = {}
        for f in outputs:
            v = env.get(f)
            out[f] = list(v) if v.__class__ is tuple else v
        return out, d.fired

    # ---- cleanup
    def close(self) -> None:
        """Free the rulesets inside durable (a reload would otherwise leak them)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            import durable_rules_engine
            directory = getattr(self._host, "_ruleset_directory", {})
            for name in self._names:
                rs = directory.pop(name, None)
                if rs is not None:
                    try:
                        durable_rules_engine.delete_ruleset(rs._handle)
                    except Exception:
                        pass
            self._host._ruleset_list = []

    def __del__(self):
        try:
            if not getattr(self, "_closed", True):
                self.close()
        except Exception:
            pass
