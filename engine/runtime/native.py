"""The native runtime: each decision compiled into one Python function.

At load time every decision plan becomes the source of a single function that
validates the case, runs the derive hook, evaluates each table of the plan with
its tests inlined as Python comparisons (constants bound once), and builds the
Result.  Nothing is parsed or looked up per call.  Large tables get an index on
their most selective column (a dict for equality tests, a bisect over the
interval boundaries for range tests) so only candidate rules are tested.

The generated functions use only locals and immutable constants, so one compiled
book serves any number of threads.  ``reference.py`` defines the semantics; the
property tests check this module against it.
"""
from __future__ import annotations

import datetime as _dt
from bisect import bisect_left
from decimal import Decimal
from typing import Any, Callable

from decide.runtime import reference as ref
from decide.runtime.facts import as_mapping, derived_values, field_coercer, unknown_fields
from decide.runtime.index import choose_index, emit_every, emit_first, emit_lookup, emit_slots, eq_keys, eq_skips
from decide.model.errors import Diagnostic, WorkbookError
from decide.model.functions import FUNCTIONS
from decide.model.ir import (
    Aggregator, AnyTest, Book, HitPolicy, Literal, Loc, Name, Plan, RangeTest, Table, Type,
)
from decide.model.walk import Visitor
from decide.compile.cache import compile_code
from decide.compile.resolve import referenced_fields
from decide.model.types import TOO_BIG, TYPES
from decide.model.values import Version
from decide.runtime.result import FiredRule, Result

SMALL_TABLE = 16  # rules; above this a table is indexed when an index helps
INLINE_TABLE = 256  # rules; an unindexed table above this runs as a loop over its rules' entries


def _neg(v):
    v = ref._num(v)
    return None if v is None else -v


MEMO_SIZE = 4096  # texts remembered per field whose raw values all need parsing


def _memo(coerce: Callable[[Any], Any], cache: dict) -> Callable[[str], Any]:
    """``coerce`` of a text, remembered in ``cache`` (at most MEMO_SIZE texts; a refused
    text is not remembered, its error raised each time)."""
    def memo(raw: str):
        v = coerce(raw)
        if len(cache) < MEMO_SIZE:
            cache[raw] = v
        return v
    return memo


def fired_rules(book: Book, t: Table) -> tuple[FiredRule, ...]:
    return tuple(FiredRule(t.name, r.id, r.loc.workbook, r.loc.sheet, r.row, r.index) for r in t.rules)


# --------------------------------------------------------------------------- code generation
class _Gen:
    def __init__(self, book: Book, plan: Plan):
        self.book = book
        self.plan = plan
        self.lines: list[str] = []
        self.ns: dict[str, Any] = {
            "Decimal": Decimal, "_date": _dt.date, "Version": Version, "bisect_left": bisect_left,
            "RESULT": Result, "AS_MAPPING": as_mapping, "_U": ref.unary, "_EVAL": ref.eval_expr, "_AR": ref.arith, "_NEG": _neg,
             "_CMP": ref.compare, "_PKEY": ref.priority_key,
            "_VIOL": ref.violation, "BOOK": book,
        }
        self.n = 0
        self.vars: dict[str, str] = {}  # field → local variable
        self.in_lambda = False  # inside a per-rule function, other fields come from _e
        self.kbuf = None  # constants of the rule being compiled into a shared shape
        self.checks: dict[int, str] = {}  # output column → its compiled conformance check
        self.one_fired: set[int] = set()  # tables whose f{k} is one FiredRule (not a tuple)
        self.list_fired: set[int] = set()  # tables whose f{k} is a list of FiredRules
        self.expr_gen = _ExprCode(self)
        self.true_code = _TrueCode(self)
        self.false_code = _FalseCode(self)

    def const(self, value) -> str:
        if self.kbuf is not None:  # inside a shared rule shape: constants are data
            self.kbuf.append(value)
            return f"_k[{len(self.kbuf) - 1}]"
        if value is None or isinstance(value, (bool, str)) or (isinstance(value, int)):
            return repr(value)
        name = f"K{self.n}"
        self.n += 1
        self.ns[name] = value
        return name

    def bind(self, value, prefix="X") -> str:
        name = f"{prefix}{self.n}"
        self.n += 1
        self.ns[name] = value
        return name

    def function(self, name: str) -> str:
        """The local name of a function of the table, bound once per decision."""
        key = "F_" + "_".join(name.split())
        if key not in self.ns:
            self.ns[key] = FUNCTIONS[name]
        return key

    def emit(self, line: str, depth: int = 1):
        self.lines.append("    " * depth + line)

    def var(self, field: str) -> str:
        if field not in self.vars:
            self.vars[field] = f"v_{field}"
        return self.vars[field]

    def env(self, node) -> str:
        """A dict literal of the fields an expression or test refers to."""
        if self.in_lambda:
            return "_e"
        return "{" + ", ".join(f"{f!r}: {self.var(f)}" for f in sorted(referenced_fields(node))) + "}"

    # -- tests
    def is_literal_test(self, t) -> bool:
        return _LITERAL.visit(t)

    def true_expr(self, t, x: str, type_: Type) -> str:
        """A Python expression that is true exactly when the reference says True."""
        return self.true_code.visit(t, x, type_)

    def false_expr(self, t, x: str, type_: Type) -> str:
        """True exactly when the reference says False (not null)."""
        return self.false_code.visit(t, x, type_)

    def field_operand(self, e, type_: Type) -> str | None:
        """The local of the field ``e`` names when a test may compare the column with it
        in plain Python (both numbers, or both dates, or both texts), else None."""
        if self.in_lambda or not isinstance(e, Name) or e.name not in self.book.fields:
            return None
        other = self.book.fields[e.name].type
        numeric = (Type.NUMBER, Type.INTEGER)
        if (type_ in numeric and other in numeric) or (type_ is other and type_ in (Type.DATE, Type.TEXT)):
            return self.var(e.name)
        return None

    def reference_test(self, t, x: str) -> str:
        """The reference's verdict on test ``t`` (bound as a constant) for value ``x``."""
        return f"_U({self.bind(t, 'T')}, {x}, {self.env(t)})"

    def condition(self, t: Table, rule, cols: list[str], skip: int | None = None) -> str:
        """The rule's cells as one Python condition (column ``skip`` left out)."""
        parts = [self.true_expr(e.test, cols[i], t.inputs[i].type)
                 for i, e in enumerate(rule.inputs) if not isinstance(e.test, AnyTest) and i != skip]
        return " and ".join(parts) if parts else "True"

    # -- outputs
    def literal_outputs(self, t: Table) -> bool:
        return all(isinstance(o.expr, Literal) for r in t.rules for o in r.outputs)

    def outputs_of(self, t: Table, i: int) -> str:
        """An expression giving rule i's output tuple."""
        r = t.rules[i]
        parts = []
        for col, o in zip(t.outputs, r.outputs):
            if isinstance(o.expr, Literal):
                parts.append(self.const(o.expr.value))
            else:
                parts.append(f"{self.output_check(col)}({self.expr_code(o.expr)})")
        return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"

    def output_check(self, col) -> str:
        """The name of the compiled conformance check of an output column (one per column)."""
        if id(col) not in self.checks:
            self.checks[id(col)] = self.bind(ref.output_checker(col), "OC")
        return self.checks[id(col)]

    def expr_code(self, e) -> str:
        """A Python expression computing ``e`` as the reference does (see ``_ExprCode``)."""
        return self.expr_gen.visit(e)

    # -- a whole table
    def table(self, t: Table, k: int):
        where = " ".join(f"{t.loc.workbook} › {t.loc.sheet}".splitlines())
        self.emit(f"# table {t.name} ({where}, {t.hit_policy.name}): {len(t.rules)} rules")
        cols = []
        for j, col in enumerate(t.inputs):
            if col.field is not None:
                cols.append(self.var(col.field))
            else:
                name = f"c{k}_{j}"
                self.emit(f"{name} = {self.expr_code(col.expr)}")
                cols.append(name)
        outs = [self.var(f) for f in t.output_fields]
        fr = self.bind(fired_rules(self.book, t), "FR")
        if not t.rules:
            self._no_match(t, outs, k)
            return
        order = self._win_order(t) if len(t.rules) > SMALL_TABLE else None
        try:
            index = choose_index(t, order) if len(t.rules) > SMALL_TABLE else None
        except (MemoryError, RecursionError):  # an index too large to build: the flat loop below
            index = None
        if index is None and len(t.rules) > INLINE_TABLE:
            # An if/elif chain this long overflows Python's compiler (it nests each elif):
            # every rule becomes an entry of one flat tuple, tested in a loop.
            index = ("all", None, None)
        chain = self._chain_order(t) if index is None else None
        if chain is not None:
            self._chain(t, chain, cols, outs, k, fr)
            return
        if index is None and self._in_rule_order(t):
            self._collect_inline(t, cols, outs, k, fr)
            return
        if index is None:
            self.emit(f"m{k} = []")
            for i, r in enumerate(t.rules):
                self.emit(f"if {self.condition(t, r, cols)}:")
                self.emit(f"m{k}.append({i})", 2)
        else:
            # One flat entry per rule: (test, outputs, fired rule, index, *constants).  Rules
            # of the same shape share one compiled test, which reads its constants from the
            # entry; a rule reached through its own key in an equality index skips that test,
            # one the multi index decides whole has none (None).
            args = ", ".join(cols) or ""
            params = ", ".join(f"a{j}" for j in range(len(cols)))
            multi = index[2] if index[0] == "multi" else None
            literal_rows = self._rows(t) if self.literal_outputs(t) else None
            rows = self.ns[literal_rows.split("[")[0]] if literal_rows else None
            fired = fired_rules(self.book, t)
            shapes: dict[str, Any] = {}
            entries = []
            self.in_lambda = True
            for p, i in enumerate(multi.order if multi else range(len(t.rules))):
                r = t.rules[i]
                if multi is not None and multi.exact[p]:
                    entries.append((None, rows[i] if rows else None, fired[i], i))
                    continue
                self.kbuf = [None, None, None, None]  # the entry's head: test, outputs, fired, index
                body = self.condition(t, r, [f"a{j}" for j in range(len(cols))], eq_skips(index, r))
                consts, self.kbuf = tuple(self.kbuf[4:]), None
                if body not in shapes:
                    src = f"lambda {params}{', ' if params else ''}_e, _k: {body}"
                    shapes[body] = eval(self.compile_for(t, src, f"<{t.name} rule shape>", "eval"), self.ns)
                entries.append((shapes[body], rows[i] if rows else None, fired[i], i) + consts)
            self.in_lambda = False
            used = set().union(*(referenced_fields(e.test) for r in t.rules for e in r.inputs))
            envx = "{" + ", ".join(f"{f!r}: {self.var(f)}" for f in sorted(used)) + "}" if used else "None"
            call = f"e[0]({args}{', ' if args else ''}_e, e)"
            row = "e[1]" if rows else self._rows(t).replace("@I@", "e[3]")
            if multi is not None:
                self._multi(t, multi, cols, k, entries, outs, call, row, envx, order is not None, fr)
                return
            emit_lookup(self, index, cols, k, entries)
            self.emit(f"_e = {envx}")
            if t.hit_policy is HitPolicy.FIRST:
                self.emit(f"for e in cand{k}:")
                self.emit(f"if {call}:", 2)
                self.emit(f"{self._unpack(outs)} = {row}", 3)
                self.emit(f"f{k} = (e[2],)", 3)
                self.emit("break", 3)
                self.emit("else:")
                self._no_match(t, outs, k, 2)
                return
            self.emit(f"m{k} = [e[3] for e in cand{k} if {call}]")
        self._policy(t, outs, k, fr)

    def _win_order(self, t: Table) -> list[int] | None:
        """The order in which the first matching rule wins, when one is fixed: FIRST's
        rows; PRIORITY's ranks when every output is a literal (ties: the rows)."""
        if t.hit_policy is HitPolicy.FIRST:
            return list(range(len(t.rules)))
        if t.hit_policy is HitPolicy.PRIORITY and self.literal_outputs(t):
            keys = [(ref.priority_key(self.book, t, tuple(o.expr.value for o in r.outputs)), r.index)
                    for r in t.rules]
            return sorted(range(len(t.rules)), key=keys.__getitem__)
        return None

    def _multi(self, t: Table, multi, cols, k, entries, outs, call, row, envx, positional, fr):
        """A table indexed on several columns: the first match in the winning order
        (FIRST, PRIORITY), or every match in rule order for the policy's code."""
        s = emit_slots(self, multi, cols, k)
        mi, ent = self.bind(multi, "MI"), self.bind(tuple(entries), "EN")
        self.emit(f"_e = {envx}")
        test = f"e[0] is None or {call}"
        if positional:
            self.emit(f"i = {emit_first(self, multi, k)}")
            self.emit("while i >= 0:")
            self.emit(f"e = {ent}[i]", 2)
            self.emit(f"if {test}:", 2)
            self.emit(f"{self._unpack(outs)} = {row}", 3)
            self.emit(f"f{k} = (e[2],)", 3)
            self.emit("break", 3)
            self.emit(f"i = {mi}.first({s}, i + 1)", 2)
            self.emit("else:")
            self._no_match(t, outs, k, 2)
            return
        found = emit_every(self, multi, k)
        if all(multi.exact) and list(multi.order) == list(range(len(t.rules))):
            self.emit(f"m{k} = {found}")
        else:
            self.emit(f"m{k} = [e[3] for e in map({ent}.__getitem__, {found}) if {test}]")
        self._policy(t, outs, k, fr)

    def _chain_order(self, t: Table):
        """The order in which an unindexed single-hit table can try its rules, the first
        match winning (FIRST: the rows; PRIORITY with literal outputs: by rank; UNIQUE and
        ANY when no two rules can match one case: the rows), or None."""
        if t.hit_policy is HitPolicy.FIRST:
            return list(range(len(t.rules)))
        p = t.hit_policy
        if p in (HitPolicy.UNIQUE, HitPolicy.ANY) and _disjoint(t):
            return list(range(len(t.rules)))  # at most one rule can match: the first that does
        if not p.single or p.order is None or not self.literal_outputs(t):
            return None
        order = p.order(self.book, t, [tuple(o.expr.value for o in r.outputs) for r in t.rules])
        return list(order) if order is not None else None

    def _in_rule_order(self, t: Table) -> bool:
        """A list per output of every matching rule's outputs in rule order (RULE ORDER,
        COLLECT without aggregator)."""
        return t.hit_policy is HitPolicy.RULE_ORDER or (t.hit_policy is HitPolicy.COLLECT and t.aggregator is None)

    def _collect_inline(self, t: Table, cols, outs, k, fr):
        """Each matching rule appends its outputs and fired rule where it is tested (a
        rule's computed outputs are all evaluated before any is appended)."""
        for v in outs:
            self.emit(f"{v} = []")
        self.emit(f"f{k} = []")
        self.list_fired.add(k)
        for i, r in enumerate(t.rules):
            self.emit(f"if {self.condition(t, r, cols)}:")
            if all(isinstance(o.expr, Literal) for o in r.outputs):
                for v, o in zip(outs, r.outputs):
                    self.emit(f"{v}.append({self.const(o.expr.value)})", 2)
            else:  # computed outputs, in one go (as the reference computes them)
                self.emit(f"_o = {self.outputs_of(t, i)}", 2)
                for j, v in enumerate(outs):
                    self.emit(f"{v}.append(_o[{j}])", 2)
            self.emit(f"f{k}.append({fr}[{i}])", 2)

    def _chain(self, t: Table, order, cols, outs, k, fr):
        """One if/elif chain over the rules in ``order``.  A rule with no test ends it
        (what follows never fires); then exactly one rule fires and f{k} is that
        FiredRule itself, not a tuple (``build`` splices the fired rules)."""
        conds = []
        for i in order:
            c = self.condition(t, t.rules[i], cols)
            conds.append((i, c))
            if c == "True":
                break
        catch_all = conds[-1][1] == "True"
        if catch_all:
            self.one_fired.add(k)
        for n, (i, c) in enumerate(conds):
            if n == 0:
                self.emit("if True:" if c == "True" else f"if {c}:")
            elif c == "True":
                self.emit("else:")
            else:
                self.emit(f"elif {c}:")
            self._assign(outs, t, i, 2)
            self.emit(f"f{k} = {fr}[{i}]" if catch_all else f"f{k} = {self.bind((self.ns[fr][i],), 'F')}", 2)
        if not catch_all:
            self.emit("else:")
            self._no_match(t, outs, k, 2)

    def _assign(self, outs, t: Table, i: int, depth: int):
        expr = self.outputs_of(t, i)
        if len(outs) == 1 and expr.endswith(",)"):
            self.emit(f"{outs[0]} = {expr[1:-2]}", depth)
        else:
            self.emit(f"{self._unpack(outs)} = {expr}", depth)

    def _unpack(self, outs) -> str:
        return ", ".join(outs) + ("," if len(outs) == 1 else "")

    def _no_match(self, t: Table, outs, k, depth=1):
        """Outputs when no rule matches: what the policy returns for no match (null, an
        empty list, a count of 0)."""
        empty, _ = t.hit_policy.finalize(self.book, t, [], None)
        for f, v in zip(t.output_fields, outs):
            self.emit(f"{v} = {'[]' if empty[f] == [] else self.const(empty[f])}", depth)
        self.emit(f"f{k} = ()", depth)

    def _rows(self, t: Table) -> str:
        """A name bound to a function i → output tuple (or a tuple of tuples)."""
        if self.literal_outputs(t):
            rows = tuple(tuple(o.expr.value for o in r.outputs) for r in t.rules)
            return self.bind(rows, "O") + "[@I@]"
        # one small function per rule over the fields its outputs use
        fields = sorted(set().union(*(referenced_fields(o.expr) for r in t.rules for o in r.outputs)))
        params = ", ".join(self.var(f) for f in fields)
        src = "(" + ", ".join(f"lambda {params}: {self.outputs_of(t, i)}" for i in range(len(t.rules))) + ",)"
        rows = self.bind(eval(self.compile_for(t, src, f"<{t.name} outputs>", "eval"), self.ns), "RW")
        return f"{rows}[@I@]({params})"

    def _policy(self, t: Table, outs, k, fr):
        """Emit the hit policy over m{k} (the matching rules, in rule order): the
        policy's own code when this module has one, else its ``finalize``."""
        m = f"m{k}"
        row = self._rows(t)
        self.emit(f"if not {m}:")
        self._no_match(t, outs, k, 2)
        self.emit("else:")
        emit = POLICY_CODE.get(t.hit_policy, _Gen._finalize)
        emit(self, t, outs, k, fr, m, row)

    def _finalize(self, t: Table, outs, k, fr, m, row):
        """Any hit policy: its ``finalize`` over the matching rules."""
        tb = self.bind(t, "TB")
        self.emit(f"_o, _f = {tb}.hit_policy.finalize(BOOK, {tb}, {m}, lambda i: {row.replace('@I@', 'i')})", 2)
        for f, v in zip(t.output_fields, outs):
            self.emit(f"{v} = _o[{f!r}]", 2)
        self.emit(f"f{k} = tuple({fr}[i] for i in _f)", 2)

    def _first(self, t: Table, outs, k, fr, m, row):
        self.emit(f"{self._unpack(outs)} = {row.replace('@I@', m + '[0]')}", 2)
        self.emit(f"f{k} = ({fr}[{m}[0]],)", 2)

    def _unique(self, t: Table, outs, k, fr, m, row):
        tb = self.bind(t, "TB")
        self.emit(f"if len({m}) > 1: raise _VIOL({tb}, {m}, 'UNIQUE', 'match this case; exactly one may')", 2)
        self.emit(f"{self._unpack(outs)} = {row.replace('@I@', m + '[0]')}", 2)
        self.emit(f"f{k} = ({fr}[{m}[0]],)", 2)

    def _any(self, t: Table, outs, k, fr, m, row):
        tb = self.bind(t, "TB")
        self.emit(f"if len({{{row.replace('@I@', 'i')} for i in {m}}}) > 1: "
                  f"raise _VIOL({tb}, {m}, 'ANY', 'match this case with different outputs')", 2)
        self.emit(f"{self._unpack(outs)} = {row.replace('@I@', m + '[0]')}", 2)
        self.emit(f"f{k} = tuple({fr}[i] for i in {m})", 2)

    def _priority_key(self, t: Table, row) -> str:
        return f"(lambda i: (_PKEY(BOOK, {self.bind(t, 'TB')}, {row.replace('@I@', 'i')}), i))"

    def _priority(self, t: Table, outs, k, fr, m, row):
        if self.literal_outputs(t):  # each rule's rank, computed once
            order = t.hit_policy.order(self.book, t, [tuple(o.expr.value for o in r.outputs) for r in t.rules])
            rank = [0] * len(t.rules)
            for n, i in enumerate(order):
                rank[i] = n
            self.emit(f"i = min({m}, key={self.bind(tuple(rank), 'RK')}.__getitem__)", 2)
        else:
            self.emit(f"i = min({m}, key={self._priority_key(t, row)})", 2)
        self.emit(f"{self._unpack(outs)} = {row.replace('@I@', 'i')}", 2)
        self.emit(f"f{k} = ({fr}[i],)", 2)

    def _collect(self, t: Table, outs, k, fr, m, row):
        """COLLECT (with its aggregators), RULE ORDER and OUTPUT ORDER."""
        if t.hit_policy is HitPolicy.OUTPUT_ORDER:
            self.emit(f"{m} = sorted({m}, key={self._priority_key(t, row)})", 2)
        self.emit(f"rows = [{row.replace('@I@', 'i')} for i in {m}]", 2)
        for j, v in enumerate(outs):
            vals = f"[r[{j}] for r in rows if r[{j}] is not None]"
            agg = t.aggregator
            if agg is None:  # one entry per matched rule, null included (DMN)
                self.emit(f"{v} = [r[{j}] for r in rows]", 2)
            elif agg is Aggregator.COUNT:
                self.emit(f"{v} = len(set({vals}))", 2)
            else:
                fn = {Aggregator.SUM: "sum", Aggregator.MIN: "min", Aggregator.MAX: "max"}[agg]
                self.emit(f"_vals = {vals}", 2)
                self.emit(f"{v} = {fn}(_vals) if _vals else None", 2)
        self.emit(f"f{k} = tuple({fr}[i] for i in {m})", 2)

    # -- the whole decision
    def prologue(self) -> None:
        """Validate and type the case's facts into locals, then run the derive hook."""
        book, plan = self.book, self.plan
        self.ns["NAME"] = plan.name
        self.ns["KNOWN"] = frozenset(book.fields)
        self.ns["UNKNOWN"] = lambda facts: unknown_fields(book, plan, facts)
        self.emit("if facts.__class__ is not dict: facts = AS_MAPPING(facts)")
        self.emit("if not KNOWN.issuperset(facts): raise UNKNOWN(facts)")
        for name in plan.inputs:
            f = book.fields[name]
            v = self.var(name)
            self.emit(f"{v} = facts.get({name!r})")
            norm = self.bind(field_coercer(f), "N")
            if TYPES[f.type].fast_check(v, self.bind) is None:
                # no canonical raw form (versions): a text's typed value is remembered
                cache, memo = self.bind({}, "VC"), self.bind(None, "NC")
                self.ns[memo] = _memo(field_coercer(f), self.ns[cache])
                self.emit(f"if {v} is not None: {v} = {cache}.get({v}) or {memo}({v}) "
                          f"if {v}.__class__ is str else {norm}({v})")
                continue
            if f.type in (Type.INTEGER, Type.NUMBER):
                # a float (JSON without Decimal, Python callers): typed here as the parser
                # types it (Decimal(repr(x)); a whole float below 2**53 is that int), the
                # parser only for what this does not settle (errors keep the raw value)
                self.emit(f"if {v} is not None and not ({self.fast_check(f, v)}):")
                if f.type is Type.INTEGER:
                    self.emit(f"_n = int({v}) if {v}.__class__ is float and {v}.is_integer() and "
                              f"-9007199254740992.0 < {v} < 9007199254740992.0 else None", 2)
                else:
                    self.emit(f"_n = Decimal(repr({v})) if {v}.__class__ is float and -1e99 < {v} < 1e99 "
                              "else None", 2)
                self.emit(f"{v} = _n if _n is not None and ({self.fast_check(f, '_n')}) else {norm}({v})", 2)
                continue
            self.emit(f"if {v} is not None and not ({self.fast_check(f, v)}): {v} = {norm}({v})")
        if plan.derive is not None:
            # The hook gets a fresh dict of the typed inputs given (built straight-line: no
            # copies, no tuples); an empty answer costs one test.
            self.ns["DERIVE"] = plan.derive
            self.ns["DERIVED"] = lambda extra: derived_values(book, plan, extra)
            self.emit("_t = {}")
            for n in plan.inputs:
                self.emit(f"if {self.var(n)} is not None: _t[{n!r}] = {self.var(n)}")
            self.emit("_x = DERIVE(_t)")
            if plan.derived:
                # an undeclared name: derived_values raises the error it meets first
                self.ns["DECLARED"] = frozenset(plan.derived)
                self.emit("if _x:")
                self.emit("if not DECLARED.issuperset(_x): DERIVED(_x)", 2)
                for n in plan.derived:
                    v = self.var(n)
                    if n in plan.inputs:
                        self.emit(f"if {n!r} in _x: {v} = _x[{n!r}]", 2)
                    else:
                        self.emit(f"{v} = _x.get({n!r})", 2)
                    self.emit(f"if {v} is not None and not ({self.fast_check(book.fields[n], v)}): "
                              f"{v} = {self.bind(field_coercer(book.fields[n]), 'N')}({v})", 2)
            else:
                self.emit("if _x: DERIVED(_x)")  # refuses any name: the decision declares none

    def build(self) -> Callable:
        book, plan = self.book, self.plan
        self.prologue()
        for k, tname in enumerate(plan.tables):
            self.table(book.tables[tname], k)
        fired = self._fired(len(plan.tables))
        outs = []
        for f in plan.outputs:
            v = self.var(f)
            if book.fields[f].type is Type.TEXT_LIST:
                outs.append(f"{f!r}: list({v}) if {v}.__class__ is tuple else {v}")
            else:
                outs.append(f"{f!r}: {v}")
        self.emit(f"return RESULT(NAME, {{{', '.join(outs)}}}, {fired}, _version)")
        return self._finish("decide")

    def _fired(self, n: int) -> str:
        """The decision's fired rules: f{k} is a FiredRule for a table in ``one_fired``,
        else a tuple of them."""
        if n == 1 and not self.one_fired:
            return "tuple(f0)" if self.list_fired else "f0"
        parts = [f"f{k}" if k in self.one_fired else f"*f{k}" for k in range(n)]
        return "(" + ", ".join(parts) + ("," if n == 1 else "") + ")" if parts else "()"

    def build_validator(self) -> Callable:
        """facts → the validated, typed and derived facts (absent ones left out): what
        another backend (durable) evaluates, validated as fast as the native runtime does."""
        plan = self.plan
        self.prologue()
        names = list(plan.inputs) + [n for n in plan.derived if n not in plan.inputs]
        items = ", ".join(f"({n!r}, {self.var(n)})" for n in names)
        self.emit(f"return {{k: v for k, v in ({items}{',' if len(names) == 1 else ''}) if v is not None}}"
                  if names else "return {}")
        return self._finish("validate")

    def _finish(self, name: str) -> Callable:
        # fields never assigned (absent inputs of no table) are null
        pre = [f"    {v} = None" for f, v in self.vars.items() if f not in self.plan.inputs]
        params = "facts, _version=None" if name == "decide" else "facts"  # the Result's version
        src = f"def {name}({params}):\n" + "\n".join(pre + self.lines) + "\n"
        self.source = src
        tables = [self.book.tables[n] for n in self.plan.tables]
        biggest = max(tables, key=lambda t: len(t.rules), default=None)
        exec(self.compile_for(biggest, src, f"<decision {self.plan.name}>", "exec"), self.ns)
        fn = self.ns[name]
        fn.source = src
        return fn

    def compile_for(self, t: Table | None, src: str, filename: str, mode: str):
        """Python's ``compile`` of generated code; code too large or too deeply nested for
        Python's compiler is a WorkbookError naming the table, never a raw exception."""
        try:
            return compile_code(src, filename, mode)  # Python's compile, through the compile cache
        except (RecursionError, MemoryError, SyntaxError) as e:  # SyntaxError: "too many statically nested blocks"
            what = type(e).__name__
            if t is None:
                raise WorkbookError([Diagnostic("E904", "error", Loc("", "", ""), f"decision {self.plan.name}: "
                                                f"too large for the native runtime to compile ({what})")]) from None
            raise WorkbookError([Diagnostic("E904", "error", t.loc, f"table {t.name} ({len(t.rules)} rules) is "
                                            f"too large for the native runtime to compile ({what}); "
                                            "split it into smaller tables")]) from None

    def fast_check(self, f, v: str) -> str:
        """An expression true when ``v`` is already a valid typed value (no conversion
        needed): the type's canonical-form check, then the field's allowed values."""
        allowed = f.allowed
        if f.type is Type.INTEGER and isinstance(allowed, RangeTest) and \
                all(isinstance(b.value, int) and abs(b.value) < TOO_BIG for b in (allowed.low, allowed.high)):
            base = f"{v}.__class__ is int"  # the allowed range is within the size limit
        else:
            base = TYPES[f.type].fast_check(v, self.bind)
        if base is None:
            return "False"
        if isinstance(allowed, tuple):
            return f"{base} and {v} in {self.bind(frozenset(allowed), 'A')}"
        if isinstance(allowed, RangeTest):
            lo, hi = self.const(allowed.low.value), self.const(allowed.high.value)
            return (f"{base} and {lo} {'<=' if allowed.low_closed else '<'} {v} "
                    f"{'<=' if allowed.high_closed else '<'} {hi}")
        return base


# The shipped hit policies' specialised code; any other policy runs its ``finalize``.
POLICY_CODE = {
    HitPolicy.FIRST: _Gen._first, HitPolicy.UNIQUE: _Gen._unique, HitPolicy.ANY: _Gen._any,
    HitPolicy.PRIORITY: _Gen._priority, HitPolicy.COLLECT: _Gen._collect,
    HitPolicy.RULE_ORDER: _Gen._collect, HitPolicy.OUTPUT_ORDER: _Gen._collect,
}
# --------------------------------------------------------------------------- expressions and tests
class _ExprCode(Visitor):
    """Python source computing an expression as the reference does: field names are
    locals, arithmetic goes through FEEL's number rules, a function call calls the
    table's implementation; anything rarer is evaluated by the reference over the
    fields it names."""

    def __init__(self, gen: _Gen):
        self.gen = gen

    def Literal(self, e):
        return self.gen.const(e.value)

    def Name(self, e):
        return self.gen.var(e.name)

    def Arith(self, e):
        return f"_AR({e.op!r}, {self.visit(e.left)}, {self.visit(e.right)})"

    def Neg(self, e):
        return f"_NEG({self.visit(e.operand)})"

    def Call(self, e):
        return f"{self.gen.function(e.func)}({', '.join(self.visit(a) for a in e.args)})"

    def __default__(self, e):
        return f"_EVAL({self.gen.bind(e, 'E')}, {self.gen.env(e)})"


class _Literal(Visitor):
    """Is a test written with literals only (so it compiles to inline comparisons)?"""

    def AnyTest(self, t):
        return True

    NullTest = AnyTest

    def CompareTest(self, t):
        return isinstance(t.value, Literal)

    def RangeTest(self, t):
        return isinstance(t.low, Literal) and isinstance(t.high, Literal)

    def OrTests(self, t):
        return all(self.visit(s) for s in t.tests)

    NotTests = OrTests

    def __default__(self, t):
        return False


_LITERAL = _Literal()


class _TrueCode(Visitor):
    """A Python condition on ``x`` that holds exactly when the reference says True.
    A test with a field or an expression in it, or of a kind this compiler has no
    rule for, asks the reference."""

    def __init__(self, gen: _Gen):
        self.gen = gen

    def AnyTest(self, t, x, type_):
        return "True"

    def NullTest(self, t, x, type_):
        return f"{x} is None"

    def CompareTest(self, t, x, type_):
        if not isinstance(t.value, Literal):
            y = self.gen.field_operand(t.value, type_)
            if y is None:
                return self.__default__(t, x, type_)
            return f"({x} is not None and {y} is not None and {x} {'==' if t.op == '=' else t.op} {y})"
        v = t.value.value
        k = self.gen.const(v)
        if t.op == "=":
            if type_ is Type.TEXT_LIST:
                if isinstance(v, tuple):
                    return f"({x} is not None and tuple({x}) == {k})"
                return f"({x} is not None and {k} in {x})"
            if isinstance(v, bool):
                return f"{x} is {k}"
            if isinstance(v, Version) and type_ is Type.VERSION:
                return f"({x} is not None and {x}.key == {self.gen.const(v.key)})"
            return f"{x} == {k}"
        if isinstance(v, Version) and type_ is Type.VERSION:
            return f"({x} is not None and {x}.key {t.op} {self.gen.const(v.key)})"
        return f"({x} is not None and {x} {t.op} {k})"

    def RangeTest(self, t, x, type_):
        if not _LITERAL.visit(t):
            return self.__default__(t, x, type_)
        lo, hi = self.gen.const(t.low.value), self.gen.const(t.high.value)
        return (f"({x} is not None and {lo} {'<=' if t.low_closed else '<'} {x} "
                f"{'<=' if t.high_closed else '<'} {hi})")

    def OrTests(self, t, x, type_):
        if not _LITERAL.visit(t):
            return self.__default__(t, x, type_)
        keys = eq_keys(t)
        if type_ is not Type.TEXT_LIST and keys is not None and len(keys) >= 3 and \
                all(k.__class__ is str for k in keys) and self.gen.kbuf is None:
            return f"{x} in {self.gen.bind(frozenset(keys), 'S')}"  # one hash lookup
        return "(" + " or ".join(self.visit(s, x, type_) for s in t.tests) + ")"

    def NotTests(self, t, x, type_):
        if not _LITERAL.visit(t):
            return self.__default__(t, x, type_)
        return "(" + " and ".join(self.gen.false_expr(s, x, type_) for s in t.tests) + ")"

    def __default__(self, t, x, type_):
        return f"({self.gen.reference_test(t, x)} is True)"


class _FalseCode(Visitor):
    """A Python condition on ``x`` that holds exactly when the reference says False
    (not null); the literal tests inside ``not(...)``."""

    def __init__(self, gen: _Gen):
        self.gen = gen

    def AnyTest(self, t, x, type_):
        return "False"

    def NullTest(self, t, x, type_):
        return f"{x} is not None"

    def CompareTest(self, t, x, type_):
        if not isinstance(t.value, Literal):
            y = self.gen.field_operand(t.value, type_)
            if y is None:
                return self.__default__(t, x, type_)
            if t.op == "=":
                return f"({x} is None or {y} is None or {x} != {y})"
            return f"({x} is not None and {y} is not None and not ({x} {t.op} {y}))"
        v = t.value.value
        k = self.gen.const(v)
        if t.op == "=":
            if type_ is Type.TEXT_LIST:
                if isinstance(v, tuple):
                    return f"({x} is None or tuple({x}) != {k})"
                return f"({x} is None or {k} not in {x})"
            if isinstance(v, bool):
                return f"{x} is not {k}"
            if isinstance(v, Version) and type_ is Type.VERSION:
                return f"({x} is None or {x}.key != {self.gen.const(v.key)})"
            return f"({x} is None or {x} != {k})"
        if isinstance(v, Version) and type_ is Type.VERSION:
            return f"({x} is not None and not ({x}.key {t.op} {self.gen.const(v.key)}))"
        return f"({x} is not None and not ({x} {t.op} {k}))"

    def RangeTest(self, t, x, type_):
        if not _LITERAL.visit(t):
            return self.__default__(t, x, type_)
        lo, hi = self.gen.const(t.low.value), self.gen.const(t.high.value)
        return (f"({x} is not None and not ({lo} {'<=' if t.low_closed else '<'} {x} "
                f"{'<=' if t.high_closed else '<'} {hi}))")

    def __default__(self, t, x, type_):
        return f"({self.gen.reference_test(t, x)} is False)"


# --------------------------------------------------------------------------- rules that cannot overlap
def _disjoint(t: Table) -> bool:
    """No two rules can match one case: every pair has a column where both test
    equality with literals and share no value."""
    keys = []
    for r in t.rules:
        row = []
        for col, e in zip(t.inputs, r.inputs):
            ks = None if col.type is Type.TEXT_LIST else eq_keys(e.test)
            try:
                row.append(None if ks is None else frozenset(ks))
            except TypeError:
                row.append(None)
        keys.append(row)
    for a, ka in enumerate(keys):
        for kb in keys[a + 1:]:
            if not any(x is not None and y is not None and not (x & y) for x, y in zip(ka, kb)):
                return False
    return True


def compile_book(book: Book) -> dict[str, Callable[[Any], Result]]:
    """Every decision of the book as a compiled function facts → Result."""
    return {name: _Gen(book, plan).build() for name, plan in book.decisions.items()}


def compile_validators(book: Book) -> dict[str, Callable[[Any], dict]]:
    """Every decision's case validation (and derive hook) alone, compiled."""
    return {name: _Gen(book, plan).build_validator() for name, plan in book.decisions.items()}


def source(book: Book, name: str) -> str:
    """The Python source of the function the native runtime compiles for decision ``name``."""
    return _Gen(book, book.decisions[name]).build().source
