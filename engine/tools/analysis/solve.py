"""Field references and expression headers: when a column compared with another field, or
an expression header, can be analysed as a variable of its own, and field values (within
their allowed values) that give such a variable a wanted value."""
from __future__ import annotations

from decimal import Decimal
from typing import Optional

from decide.model.ir import (
    AnyTest, Book, CompareTest, InputColumn, Literal, Name, RangeTest, Table, Type,
)
from decide.model.values import in_allowed
from decide.model.walk import Visitor
from decide.tools.analysis.constants import UNKNOWN, const_value
from decide.tools.analysis.values import is_num, normal_form


def field_reference(table: Table, key: str, idxs, groups, book, tests):
    """A numeric column whose cells compare it with one other numeric field only
    (``> available_limit_yen``, ``-``) is the difference of the two compared with 0,
    when neither field is tested elsewhere: (other field, test rewrite, expression, type)."""
    from decide.model.ir import Arith
    from decide.compile.resolve import referenced_fields
    col = table.inputs[idxs[0]]
    if book is None or col.field is None or not col.type.is_numeric:
        return None
    other = None
    for t in tests:
        if isinstance(t, AnyTest):
            continue
        if not (isinstance(t, CompareTest) and isinstance(t.value, Name)):
            return None
        if other not in (None, t.value.name):
            return None
        other = t.value.name
    if other is None or other == col.field or other in groups:
        return None
    fo = book.fields.get(other)
    if fo is None or not fo.type.is_numeric:
        return None
    elsewhere: set = set()
    for k2, idxs2 in groups.items():
        if k2 == key:
            continue
        for i in idxs2:
            elsewhere |= referenced_fields(table.inputs[i].expr)
            for r in table.rules:
                elsewhere |= referenced_fields(r.inputs[i].test)
    if {col.field, other} & elsewhere:
        return None
    rewrite = {t: CompareTest(t.op, Literal(0)) for t in tests if isinstance(t, CompareTest)}
    type_ = Type.INTEGER if col.type is Type.INTEGER and fo.type is Type.INTEGER else Type.NUMBER
    return other, rewrite, Arith("-", Name(col.field), Name(other)), type_


def derivable(table: Table, key: str, col: InputColumn, groups, book) -> Optional[set]:
    """The fields of an expression header when the column can be analysed as a free
    variable: numeric fields that no other column and no cell tests."""
    from decide.compile.resolve import referenced_fields
    if book is None or col.type not in (Type.NUMBER, Type.INTEGER):
        return None
    fields = referenced_fields(col.expr)
    if not fields or any(f not in book.fields or not book.fields[f].type.is_numeric for f in fields):
        return None
    others: set = set()
    for k2, idxs in groups.items():
        if k2 != key:
            for i in idxs:
                others |= referenced_fields(table.inputs[i].expr)
    for r in table.rules:
        for e in r.inputs:
            others |= referenced_fields(e.test)
    return None if fields & others else fields


class _Inverse(Visitor):
    """The value of field f for which an expression equals target (others fixed), or
    None; expressions other than a field, a negation or arithmetic are not inverted."""

    def Name(self, e, target, f: str, env: dict):
        return target if e.name == f else None

    def Neg(self, e, target, f: str, env: dict):
        return self.visit(e.operand, -target, f, env)

    def Arith(self, e, target, f: str, env: dict):
        from decide.runtime.reference import eval_expr
        from decide.compile.resolve import referenced_fields
        lf, rf = f in referenced_fields(e.left), f in referenced_fields(e.right)
        try:
            if lf and not rf:
                r = eval_expr(e.right, env)
                if not is_num(r):
                    return None
                t = {"+": lambda: target - r, "-": lambda: target + r,
                     "*": lambda: None if r == 0 else Decimal(target) / Decimal(r),
                     "/": lambda: target * r}.get(e.op, lambda: None)()
                return invert(e.left, t, f, env)
            if rf and not lf:
                left = eval_expr(e.left, env)
                if not is_num(left):
                    return None
                t = {"+": lambda: target - left, "-": lambda: left - target,
                     "*": lambda: None if left == 0 else Decimal(target) / Decimal(left),
                     "/": lambda: None if target == 0 else Decimal(left) / Decimal(target)}.get(
                    e.op, lambda: None)()
                return invert(e.right, t, f, env)
        except (ArithmeticError, TypeError):
            return None
        return None

    def __default__(self, e, target, f: str, env: dict):
        return None


def invert(e, target, f: str, env: dict):
    """The value of field f for which expression e equals target (others fixed), or None."""
    if target is None:
        return None
    return _Inverse().visit(e, target, f, env)


def solve_field(expr, target, fields: set, book: Book) -> Optional[dict]:
    """Field values (within their allowed values) for which expr == target, or None."""
    import itertools
    from decide.runtime.reference import eval_expr
    names = sorted(fields)

    def candidates(fname):
        fl = book.fields[fname]
        vals = [0, 1]
        if isinstance(fl.allowed, RangeTest):
            vals = [const_value(fl.allowed.low), const_value(fl.allowed.high)] + vals
        elif isinstance(fl.allowed, tuple):
            vals = list(fl.allowed)[:4]
        out = []
        for v in vals:
            if v is not UNKNOWN and v is not None and in_allowed(v, fl.allowed) and v not in out:
                out.append(normal_form(fl.type, v) if fl.type is Type.INTEGER else v)
        return out

    for f in names:
        others = [g for g in names if g != f]
        pools = [candidates(g) for g in others]
        for combo in itertools.islice(itertools.product(*pools), 64):
            env = dict(zip(others, combo))
            v = invert(expr, target, f, env)
            if v is None:
                continue
            fl = book.fields[f]
            if fl.type is Type.INTEGER:
                if not is_num(v) or v != int(v):
                    continue
                v = int(v)
            if not in_allowed(v, fl.allowed):
                continue
            env[f] = v
            try:
                if eval_expr(expr, env) == target:
                    return env
            except (ArithmeticError, TypeError):
                continue
    return None
