"""S-FEEL: the language of the cells.

Three entry points, each taking the text of one cell and returning IR nodes or
raising ``SFeelError`` with a message that says what would have been valid:

- ``parse_unary_tests(text)``  an input cell: ``-``, ``"a","b"``, ``< 3000``,
  ``[1..5)``, ``not("JP")``, ``null``, ``> available_limit_yen``
- ``parse_expression(text)``   an output cell, an input-column header, an invariant:
  literals, names, arithmetic, comparisons, ``and``/``or``/``not(...)``, calls
- ``parse_literal(text)``      a Tests cell (a literal or a list of literals)

A unary test is a comparison against an implicit subject (the column's value);
``,`` is Or, an interval is a range test, ``not(...)`` negates the list.  The parser
knows nothing of types or fields: bare words come back as ``Name`` and are resolved
later, so a broken cell is always an error and never silently ``False``.
"""
from __future__ import annotations

from functools import lru_cache

import datetime as _dt
import re
import unicodedata
from decimal import Decimal
from typing import NamedTuple

from decide.model.functions import FUNCTIONS
from decide.model.walk import Visitor
from decide.model.ir import (
    And, AnyTest, Arith, Between, Call, Compare, CompareTest, InTests, ListExpr,
    Literal, Name, Neg, Not, NotTests, NullTest, Or, OrTests, RangeTest,
)

_SMART = str.maketrans({"“": '"', "”": '"', "„": '"', "‟": '"', "＂": '"', "″": '"'})


class SFeelError(ValueError):
    """A cell that is not valid S-FEEL; ``str(e)`` is the analyst-facing message."""


class Tok(NamedTuple):
    kind: str  # 'num', 'str', 'name', 'op', 'end'
    text: str
    pos: int


_OPS = ("..", "<=", ">=", "!=", "**", "=>", "=<", "==", "<", ">", "=", "(", ")", "[", "]",
        ",", "+", "-", "*", "/")
_NAME_RE = re.compile(r"[^\W\d][\w]*", re.UNICODE)
_NUM_RE = re.compile(r"\d+(\.\d+)?(?![\w.])|\d+(\.\d+)?(?=\.\.)")


def normalise_text(text: str) -> str:
    """Smart quotes typed by Excel read as plain quotes (spaces inside texts are kept;
    outside them any Unicode space separates tokens)."""
    return text.translate(_SMART).strip()


def _hint_for_number_like(text: str, pos: int) -> str | None:
    m = re.match(r"\d{1,3}(,\d{3})+", text[pos:])
    if m:
        plain = m.group(0).replace(",", "")
        return (f'"{m.group(0)}" has a thousands separator: write the number without commas, '
                f"e.g. {plain}")
    m = re.match(r"(\d+(?:\.\d+)?)\s*([^\d\s,.()\[\]<>=+\-*/]+)", text[pos:])
    if m:
        return (f'"{m.group(0)}" has a unit or extra characters after the number: write the '
                f"number alone, e.g. {m.group(1)}")
    return None


def tokenize(text: str) -> list[Tok]:
    toks: list[Tok] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        if c == '"':
            j = i + 1
            buf = []
            while j < n and text[j] != '"':
                if text[j] == "\\" and j + 1 < n:
                    buf.append(text[j + 1])
                    j += 2
                    continue
                buf.append(text[j])
                j += 1
            if j >= n:
                raise SFeelError(
                    f"the text starting at {text[i:i + 12]!s}… is not closed: add a closing \" "
                    "(texts are written in double quotes, e.g. \"approved\")")
            toks.append(Tok("str", "".join(buf), i))
            i = j + 1
            continue
        if c in "'‘’":
            raise SFeelError("texts are written in double quotes, not single quotes: "
                             "e.g. \"approved\"")
        if c.isdigit():
            if not c.isascii():
                raise SFeelError(f'"{c}" is a full-width digit: type numbers with half-width '
                                 "digits (turn Japanese input off), e.g. 3000")
            vm = re.match(r"\d+(\.\d+){2,}", text[i:])
            if vm:
                raise SFeelError(f'{vm.group(0)} is not a number: a version is written in quotes, '
                                 f'e.g. "{vm.group(0)}"')
            hint = _hint_for_number_like(text, i)
            m = re.match(r"\d+(\.\d+)?", text[i:])
            j = i + m.end()
            # a number directly followed by letters or a thousands group → clear error
            rest = text[j:]
            if hint and (re.match(r",\d{3}", rest) or (rest and not rest[0].isspace()
                                                       and rest[0] not in ",.()[]<>=+-*/")):
                raise SFeelError(hint)
            if rest.startswith(".") and not rest.startswith(".."):
                raise SFeelError(f'"{text[i:j + 2]}" is not a number: write e.g. 3.5 or 3000')
            toks.append(Tok("num", m.group(0), i))
            i = j
            continue
        m = _NAME_RE.match(text, i)
        if m:
            word = m.group(0)
            if any(unicodedata.east_asian_width(ch) in "FW" for ch in word) and _looks_fullwidth_ascii(word):
                raise SFeelError(f'"{word}" is typed in full-width characters: turn Japanese input off '
                                 "and type it in half-width")
            toks.append(Tok("name", word, i))
            i = m.end()
            continue
        for op in _OPS:
            if text.startswith(op, i):
                if op in ("=>", "=<"):
                    good = ">=" if op == "=>" else "<="
                    raise SFeelError(f'"{op}" is not an operator: did you mean "{good}"?')
                if op == "==":
                    raise SFeelError('"==" is not an operator: equality is a single "=" in '
                                     "expressions; in an input cell write the value alone")
                toks.append(Tok("op", op, i))
                i += len(op)
                break
        else:
            if unicodedata.east_asian_width(c) in "FW":
                raise SFeelError(f'"{c}" is a full-width character: turn Japanese input off '
                                 "(＜ ≦ ＞ ≧ ＝ ， and full-width digits are not understood)")
            raise SFeelError(f'unexpected character "{c}"')
    toks.append(Tok("end", "", n))
    return toks


def _looks_fullwidth_ascii(word: str) -> bool:
    return any("\uff01" <= ch <= "\uff5e" for ch in word)


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.toks = tokenize(text)
        self.i = 0

    # -- token helpers
    @property
    def tok(self) -> Tok:
        return self.toks[self.i]

    def peek(self, k: int = 1) -> Tok:
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def at(self, kind: str, text: str | None = None) -> bool:
        t = self.tok
        return t.kind == kind and (text is None or t.text == text)

    def at_word(self, word: str) -> bool:
        return self.tok.kind == "name" and self.tok.text == word

    def take(self) -> Tok:
        t = self.tok
        self.i += 1
        return t

    def expect_op(self, op: str, what: str) -> None:
        if not self.at("op", op):
            raise SFeelError(f'expected "{op}" {what}, found {self.describe()}')
        self.i += 1

    def describe(self) -> str:
        t = self.tok
        if t.kind == "end":
            return "the end of the cell"
        if t.kind == "str":
            return f'"{t.text}"'
        return f'"{t.text}"'

    def done(self, what: str) -> None:
        if not self.at("end"):
            raise SFeelError(f"unexpected {self.describe()} after {what}")

    # -- unary tests
    def unary_tests(self):
        if self.at("op", "-") and self.peek().kind == "end":
            self.take()
            return AnyTest()
        if self.at_word("not") and self.peek().kind == "op" and self.peek().text == "(":
            self.take()
            self.take()
            if self.at("op", ")"):
                raise SFeelError("not() needs at least one test inside, e.g. not(\"JP\")")
            tests = self.positive_tests()
            self.expect_op(")", "to close not(")
            self.done("not(...)")
            return NotTests(tests)
        tests = self.positive_tests()
        self.done("the tests")
        return tests[0] if len(tests) == 1 else OrTests(tests)

    def positive_tests(self) -> tuple:
        tests = [self.positive_test()]
        while self.at("op", ","):
            self.take()
            if self.at("end") or self.at("op", ")"):
                raise SFeelError("a comma must be followed by another test, e.g. \"a\",\"b\"")
            tests.append(self.positive_test())
        return tuple(tests)

    def positive_test(self):
        t = self.tok
        if t.kind == "op" and t.text in ("<", "<=", ">", ">="):
            self.take()
            if self.at("end") or self.at("op", ","):
                raise SFeelError(f'"{t.text}" must be followed by a value, e.g. {t.text} 3000')
            return CompareTest(t.text, self.endpoint(f'after "{t.text}"'))
        if t.kind == "op" and t.text == "=":
            raise SFeelError('to test equality write the value alone, without "=": e.g. 3000 or "JP"')
        if t.kind == "op" and t.text == "!=":
            raise SFeelError('"!=" is not a test: write not(...), e.g. not("JP")')
        if t.kind == "op" and t.text in ("[", "(", "]"):
            return self.interval()
        if t.kind == "op" and t.text == "-" and self.peek().kind in ("end",) :
            return AnyTest()
        if t.kind == "op" and t.text == "-" and self.peek().kind == "op" and self.peek().text == ",":
            raise SFeelError('"-" (any value) must stand alone in the cell')
        if t.kind == "name" and t.text == "null":
            self.take()
            return NullTest()
        if t.kind == "name" and t.text == "not":
            raise SFeelError("not(...) must enclose the whole cell, e.g. not(\"JP\", \"US\")")
        return CompareTest("=", self.endpoint("as a test"))

    def interval(self):
        open_tok = self.take()
        low_closed = open_tok.text == "["
        if self.at("op", ".."):
            raise SFeelError("an interval needs a lower end, e.g. [1..5]; for no lower end "
                             "write <= 5")
        low = self.endpoint("as the lower end of the interval")
        if not self.at("op", ".."):
            raise SFeelError(f'expected ".." in the interval, found {self.describe()}: write it as [1..5]')
        self.take()
        if self.at("op", "]") or self.at("op", ")") or self.at("op", "[") or self.at("end"):
            raise SFeelError("an interval needs an upper end, e.g. [1..5]; for no upper end "
                             "write >= 1")
        high = self.endpoint("as the upper end of the interval")
        close = self.tok
        if not (close.kind == "op" and close.text in ("]", ")", "[")):
            raise SFeelError(f'the interval is not closed: end it with "]" or ")", found {self.describe()}')
        self.take()
        return RangeTest(low, high, low_closed, close.text == "]")

    def endpoint(self, what: str):
        if self.tok.kind == "end":
            raise SFeelError(f"expected a value {what}")
        return self.additive()

    # -- expressions
    def expression(self):
        return self.disjunction()

    def disjunction(self):
        items = [self.conjunction()]
        while self.at_word("or"):
            self.take()
            items.append(self.conjunction())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def conjunction(self):
        items = [self.comparison()]
        while self.at_word("and"):
            self.take()
            items.append(self.comparison())
        return items[0] if len(items) == 1 else And(tuple(items))

    def comparison(self):
        left = self.additive()
        t = self.tok
        if t.kind == "op" and t.text in ("=", "!=", "<", "<=", ">", ">="):
            self.take()
            return Compare(t.text, left, self.additive())
        if self.at_word("between"):
            self.take()
            low = self.additive()
            if not self.at_word("and"):
                raise SFeelError('"between" needs "and": x between 1 and 5')
            self.take()
            return Between(left, low, self.additive())
        if self.at_word("in"):
            self.take()
            self.expect_op("(", 'after "in"')
            tests = self.positive_tests()
            self.expect_op(")", 'to close "in ("')
            return InTests(left, tests[0] if len(tests) == 1 else OrTests(tests))
        return left

    def additive(self):
        left = self.multiplicative()
        while self.tok.kind == "op" and self.tok.text in ("+", "-"):
            op = self.take().text
            left = Arith(op, left, self.multiplicative())
        return left

    def multiplicative(self):
        left = self.power()
        while self.tok.kind == "op" and self.tok.text in ("*", "/"):
            op = self.take().text
            left = Arith(op, left, self.power())
        return left

    def power(self):
        left = self.unary()
        if self.at("op", "**"):
            self.take()
            return Arith("**", left, self.power())
        return left

    def unary(self):
        if self.at("op", "-"):
            self.take()
            operand = self.unary()
            if isinstance(operand, Literal) and isinstance(operand.value, (int, Decimal)) \
                    and not isinstance(operand.value, bool):
                return Literal(-operand.value)
            return Neg(operand)
        return self.primary()

    def primary(self):
        t = self.tok
        if t.kind == "num":
            self.take()
            if len(t.text) > 40:
                raise SFeelError(f"the number {t.text[:12]}… has {len(t.text)} digits: numbers have at most 40")
            return Literal(Decimal(t.text) if "." in t.text else int(t.text))
        if t.kind == "str":
            self.take()
            return Literal(t.text)
        if t.kind == "op" and t.text == "(":
            self.take()
            e = self.expression()
            self.expect_op(")", "to close the parenthesis")
            return e
        if t.kind == "op" and t.text == "[":
            self.take()
            items = []
            if not self.at("op", "]"):
                items.append(self.expression())
                while self.at("op", ","):
                    self.take()
                    items.append(self.expression())
            self.expect_op("]", "to close the list")
            return ListExpr(tuple(items))
        if t.kind == "name":
            word = t.text
            if word in ("true", "false"):
                self.take()
                return Literal(word == "true")
            if word == "null":
                self.take()
                return Literal(None)
            if word == "not" and self.peek().kind == "op" and self.peek().text == "(":
                self.take()
                self.take()
                e = self.expression()
                self.expect_op(")", "to close not(")
                return Not(e)
            # a function of the table in decide.model.functions, followed by "(";
            # its name may have several words ("list contains")
            name, k = word, 0
            while True:
                after = self.peek(k + 1)
                if name in FUNCTIONS and after.kind == "op" and after.text == "(":
                    for _ in range(k + 1):
                        self.take()
                    return self.call(name)
                longer = f"{name} {after.text}"
                if after.kind != "name" or not any(f == longer or f.startswith(longer + " ")
                                                   for f in FUNCTIONS):
                    break
                name, k = longer, k + 1
            if self.peek().kind == "op" and self.peek().text == "(":
                raise SFeelError(f'"{word}" is not a function this engine knows; functions: '
                                 + ", ".join(sorted(FUNCTIONS)))
            self.take()
            return Name(word)
        if t.kind == "end":
            raise SFeelError("expected a value, found the end of the cell")
        raise SFeelError(f"expected a value, found {self.describe()}")

    def call(self, func: str):
        self.expect_op("(", f"after {func}")
        args = []
        if not self.at("op", ")"):
            args.append(self.expression())
            while self.at("op", ","):
                self.take()
                args.append(self.expression())
        self.expect_op(")", f"to close {func}(")
        arity = FUNCTIONS[func].arity
        if arity is not None and len(args) != arity:
            raise SFeelError(f"{func}() takes {arity} argument{'s' if arity != 1 else ''}, "
                             f"got {len(args)}")
        if func == "date" and isinstance(args[0], Literal) and isinstance(args[0].value, str):
            try:
                return Literal(_dt.date.fromisoformat(args[0].value))
            except ValueError:
                raise SFeelError(f'date("{args[0].value}") is not a date: write date("YYYY-MM-DD"), '
                                 'e.g. date("2020-02-03")') from None
        return Call(func, tuple(args))


def _guarded(fn):
    """A cell nested too deeply for the parser is an error, never a crash.  A text parsed
    before gives the same (immutable) tree again: tables repeat their cells."""
    @lru_cache(maxsize=8192)
    def memo(text: str):
        return fn(text)

    def parse(text: str):
        try:
            return memo(text) if type(text) is str and len(text) <= 200 else fn(text)
        except RecursionError:
            raise SFeelError("the cell nests parentheses or brackets too deeply: simplify it "
                             "or split it into several columns") from None
    parse.__name__, parse.__doc__ = fn.__name__, fn.__doc__
    parse.cache_clear = memo.cache_clear
    return parse


@_guarded
def parse_unary_tests(text: str):
    """Parse an input cell.  Empty or ``-`` is AnyTest."""
    text = normalise_text(text)
    if text in ("", "-"):
        return AnyTest()
    return _Parser(text).unary_tests()


@_guarded
def parse_expression(text: str):
    """Parse an output cell, a column header expression or an invariant."""
    text = normalise_text(text)
    if not text:
        return Literal(None)
    p = _Parser(text)
    e = p.expression()
    p.done("the expression")
    return e


@_guarded
def parse_literal(text: str):
    """Parse a Tests cell: one literal, or a list of literals (``"a","b"`` or ``["a","b"]``).
    Returns a Python value: str, int, Decimal, bool, date, None, or a tuple for a list."""
    text = normalise_text(text)
    p = _Parser(text)
    if p.at("end"):
        return None
    items = [p.expression()]
    while p.at("op", ","):
        p.take()
        items.append(p.expression())
    p.done("the value")
    values = [_literal_value(e, text) for e in items]
    if len(values) == 1:
        if isinstance(items[0], ListExpr):
            return tuple(values[0])
        return values[0]
    return tuple(values)


class _LiteralValue(Visitor):
    """A Tests cell's parsed value: literals and lists of them; anything else is an error."""

    def Literal(self, e, text):
        return e.value

    def ListExpr(self, e, text):
        return [self.visit(x, text) for x in e.items]

    def Name(self, e, text):
        return e  # a bare word: the caller decides (an allowed value, or an error)

    def __default__(self, e, text):
        raise SFeelError(f"expected a value (a number, a quoted text, true/false, date(...), null), "
                         f"not an expression: {text}")


_literal_value = _LiteralValue().visit
