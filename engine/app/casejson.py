"""Case JSON in and out, for the CLI, ``decide batch`` and the HTTP service.

Reading: ``parse`` (bytes or text) and ``load`` (a file, or ``-`` for stdin) give the
case as a dict, numbers with a fraction or an exponent as ``Decimal`` (never
``float``), or raise ``CaseJSONError`` whose ``str()`` is the one line the CLI prints.
A case is bounded: at most ``MAX_BYTES``, ``MAX_DEPTH`` levels of nesting, numbers of
at most ``MAX_DIGITS`` digits with an exponent within ±``MAX_EXPONENT``, text without
lone surrogates.  Every check fails fast (a 100,000-digit number is refused before
Python converts it).  A UTF-8 byte order mark is skipped; any other encoding is an
error.  msgspec reads the usual case (its numbers with a fraction or an exponent through
the same ``Decimal`` hook); a case it refuses, or that could break a bound it does not
check (deep nesting, a long run of digits), is read again by ``json`` with the checks
above, so every answer and every message is the standard library's.

Writing: ``dumps`` writes results and reports as JSON text: a ``Decimal`` as its own
digits (``0.30`` stays ``0.30``, never through ``float``), dates as ISO text, versions
as text, tuples as lists, non-ASCII text as is; pretty (indented by 2) or compact.
``result_json`` writes a ``Result`` as ``dumps(result.to_dict(), pretty=False)`` does, in
UTF-8 and faster: each fired rule's text is written once and kept.

The exit codes of every ``decide`` command are here too: ``EXIT_OK``, ``EXIT_FAIL``
(a decision or a test failed, or there are findings), ``EXIT_BAD`` (bad input).
"""
from __future__ import annotations

import json
import re
import sys
from decimal import Decimal, InvalidOperation
from json.encoder import encode_basestring as _string
from typing import Any, BinaryIO

import msgspec

from decide.model.values import to_json

EXIT_OK, EXIT_FAIL, EXIT_BAD = 0, 1, 2

MAX_BYTES = 1 << 20  # a case (a file, a request body, a line of a batch)
MAX_DEPTH = 32  # levels of nesting, the case object itself being level 1
MAX_DIGITS = 50  # significant digits of a number
MAX_EXPONENT = 100  # |exponent| of a number in scientific notation (1e100, 1e-100)
_MAX_NUMBER_TEXT = MAX_DIGITS + MAX_EXPONENT + 10  # characters: longer is refused unread

EXAMPLE = '{"decision": "card_eligibility", "kyc_status": "approved"}'
_SURROGATE = re.compile("[\ud800-\udfff]")


class CaseJSONError(ValueError):
    """Case JSON that cannot be used.  ``str(e)`` is the CLI's line (``source: reason``);
    ``reason`` says what is wrong in a sentence, ``detail`` the same without naming
    the thing read (for a caller that adds its own words, as the HTTP service does);
    ``kind`` is ``"io"``, ``"encoding"``, ``"json"``, ``"limit"`` or ``"shape"``
    (valid JSON that is not an object)."""

    def __init__(self, reason: str, *, kind: str, detail: str | None = None, source: str | None = None):
        super().__init__(reason)
        self.reason, self.kind, self.detail, self.source = reason, kind, detail or reason, source

    def __str__(self) -> str:
        return f"{self.source}: {self.reason}" if self.source else self.reason

    def to_dict(self) -> dict:
        return {"error": "case", "message": self.reason}


class _Refused(ValueError):
    """Raised inside the JSON scanner by a number hook: (kind, detail)."""


# --------------------------------------------------------------------------- reading
def _shown(text: str) -> str:
    return text if len(text) <= 24 else f"{text[:12]}… ({len(text)} characters)"


def _int(text: str) -> int:
    if len(text) - text.startswith("-") > MAX_DIGITS:  # refused before int() reads it
        raise _Refused(f"the number {_shown(text)} has more than {MAX_DIGITS} digits")
    return int(text)


def _decimal(text: str) -> Decimal:
    if len(text) > _MAX_NUMBER_TEXT:
        raise _Refused(f"the number {_shown(text)} is too long: numbers have at most "
                       f"{MAX_DIGITS} digits")
    try:
        d = Decimal(text)
    except InvalidOperation:  # an exponent past what Decimal holds (2e99999999999999999999)
        raise _Refused(f"the number {_shown(text)} is out of range: numbers go from "
                       f"1e-{MAX_EXPONENT} to 1e{MAX_EXPONENT}") from None
    if len(d.as_tuple().digits) > MAX_DIGITS:
        raise _Refused(f"the number {_shown(text)} has more than {MAX_DIGITS} digits")
    if not -MAX_EXPONENT <= d.adjusted() <= MAX_EXPONENT:
        raise _Refused(f"the number {_shown(text)} is out of range: numbers go from "
                       f"1e-{MAX_EXPONENT} to 1e{MAX_EXPONENT}")
    return d


def _constant(text: str):
    raise _Refused(f"{text} is not a JSON number (write null for no value)")


def _walk(value: Any) -> None:
    """Depth and text checks over the parsed value, without recursion."""
    stack = [(value, 1)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, str):
            if (m := _SURROGATE.search(v)):
                i = m.start()
                raise _Refused(f'the text "{_shown(v[:i])}…" holds a lone surrogate '
                               f"(\\u{ord(v[i]):04x}), which is not a character")
            continue
        if isinstance(v, dict):
            items = [*v.keys(), *v.values()]
        elif isinstance(v, list):
            items = v
        else:
            continue
        if depth > MAX_DEPTH:
            raise RecursionError
        stack.extend((x, depth + 1) for x in items)


_DECODER = msgspec.json.Decoder(float_hook=_decimal)
_DIGIT_RUN = re.compile(rb"[0-9]{%d}" % (MAX_DIGITS + 1))  # a number over the limit, maybe
_BOM = b"\xef\xbb\xbf"


def _quick(data: bytes | str) -> dict | None:
    """The case by msgspec, or None for ``parse``'s checked reading: anything msgspec
    refuses (bad JSON, lone surrogates, a number the hook refuses), more brackets than
    ``MAX_DEPTH`` (it might nest deeper), or a run of more than ``MAX_DIGITS`` digits
    (an integer over the limit, which msgspec would read whole)."""
    if isinstance(data, str):
        try:
            data = data.encode("utf-8")
        except UnicodeEncodeError:
            return None
    if data.count(b"{") + data.count(b"[") > MAX_DEPTH or _DIGIT_RUN.search(data):
        return None
    try:
        value = _DECODER.decode(data[3:] if data[:3] == _BOM else data)
    except Exception:  # msgspec's errors, the hook's refusals: read again for the message
        return None
    return value if value.__class__ is dict else None


def parse(data: bytes | str, *, source: str | None = None, noun: str = "case") -> dict:
    """The case in ``data`` as a dict of facts.  ``source`` (a path) prefixes the
    message; ``noun`` names what was read in it ("case file", "line", "body")."""
    if len(data) <= MAX_BYTES and (value := _quick(data)) is not None:
        return value
    return checked(data, source=source, noun=noun)


def checked(data: bytes | str, *, source: str | None = None, noun: str = "case") -> dict:
    """``parse`` by the standard library's ``json`` alone, every bound checked on the way."""
    def error(reason, kind, detail=None):
        return CaseJSONError(reason, kind=kind, detail=detail, source=source)

    if len(data) > MAX_BYTES:
        detail = f"over {MAX_BYTES} bytes"
        raise error(f"the {noun} is {detail}; a case is one JSON object of facts", "limit", detail)
    if isinstance(data, (bytes, bytearray)):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise error(f"the {noun} is not UTF-8 text", "encoding", "not UTF-8 text") from None
    else:
        text = data.removeprefix("\ufeff")
    try:
        value = json.loads(text, parse_float=_decimal, parse_int=_int, parse_constant=_constant)
        _walk(value)
    except json.JSONDecodeError as e:
        detail = f"{e.msg} (line {e.lineno}, column {e.colno})"
        raise error(f"not valid JSON: {detail}", "json", detail) from None
    except RecursionError:
        detail = f"nested too deeply (over {MAX_DEPTH} levels)"
        raise error(f"the JSON is nested too deeply to be a case (over {MAX_DEPTH} levels)", "limit",
                    detail) from None
    except _Refused as e:
        raise error(f"not a usable JSON case: {e}", "limit", str(e)) from None
    if not isinstance(value, dict):
        raise error(f"a {noun} is a JSON object of facts, e.g. {EXAMPLE}", "shape", "not a JSON object")
    return value


def load(path: str, stdin: BinaryIO | None = None) -> dict:
    """The case in the file ``path`` (``-``: standard input), as ``parse`` gives it."""
    try:
        if path == "-":
            stream = stdin or getattr(sys.stdin, "buffer", None) or sys.stdin
            data = stream.read(MAX_BYTES + 1)
        else:
            with open(path, "rb") as f:
                data = f.read(MAX_BYTES + 1)
    except OSError as e:
        raise CaseJSONError(f"cannot read the case file: {e.strerror or e}", kind="io", source=path) from None
    return parse(data, source=path, noun="case file")


# --------------------------------------------------------------------------- writing
class _Exact(Exception):
    """A Decimal the fast encoder cannot write exactly: write everything in Python."""


def number_text(d: Decimal) -> str:
    """A Decimal as JSON number text with its own digits (``Decimal("0.30")`` → ``0.30``)."""
    if not d.is_finite():
        raise ValueError(f"{d} is not a JSON number")
    return str(int(d)) if d.as_tuple().exponent == 0 else str(d)


def _plain(o: Any) -> Any:
    """A value json has no type for, as one it has (dates, versions), or TypeError."""
    v = to_json(o)
    if v is o:
        raise TypeError(f"{type(o).__name__} values cannot be written as JSON")
    return v


def _fast_default(o: Any) -> Any:
    if isinstance(o, Decimal):
        if o.is_finite() and o.as_tuple().exponent == 0:
            return int(o)  # the same digits
        raise _Exact
    return _plain(o)


def dumps(obj: Any, *, pretty: bool = True) -> str:
    """``obj`` as JSON text: indented by 2 when ``pretty``, else on one line."""
    indent = 2 if pretty else None
    try:  # the C encoder, when no number needs more than it can do exactly
        return json.dumps(obj, ensure_ascii=False, indent=indent, default=_fast_default, allow_nan=False)
    except _Exact:
        return _encode(obj, indent, 0)


def _key(k: Any) -> str:
    if isinstance(k, str):
        return json.dumps(k, ensure_ascii=False)
    if k is None or isinstance(k, (bool, int)):
        return json.dumps(str(json.dumps(k)))
    raise TypeError(f"keys must be str, int, bool or None, not {type(k).__name__}")


def _encode(o: Any, indent: int | None, level: int) -> str:
    """What ``json.dumps(o, ensure_ascii=False, indent=indent)`` writes, Decimals exact."""
    if isinstance(o, str) or o is None or isinstance(o, (bool, int, float)):
        return json.dumps(o, ensure_ascii=False, allow_nan=False)
    if isinstance(o, Decimal):
        return number_text(o)
    if isinstance(o, dict):
        parts = [f"{_key(k)}: {_encode(v, indent, level + 1)}" for k, v in o.items()]
        return _join(parts, "{", "}", indent, level)
    if isinstance(o, (list, tuple)):
        return _join([_encode(v, indent, level + 1) for v in o], "[", "]", indent, level)
    return _encode(_plain(o), indent, level)


def _join(parts: list[str], open_: str, close: str, indent: int | None, level: int) -> str:
    if not parts:
        return open_ + close
    if indent is None:
        return open_ + ", ".join(parts) + close
    inner = "\n" + " " * (indent * (level + 1))
    return open_ + inner + ("," + inner).join(parts) + "\n" + " " * (indent * level) + close


# --------------------------------------------------------------------------- results
# Texts written once and kept, as UTF-8: a fired rule's object, an output's key, a text
# value (outputs repeat: "none", a message).  Each cache is emptied when it fills.
_FIRED: dict = {}
_KEYS: dict = {}
_TEXTS: dict = {}
_CACHE = 1 << 16


def _kept(cache: dict, key: Any, text: str) -> bytes:
    if len(cache) >= _CACHE:
        cache.clear()
    data = cache[key] = text.encode("utf-8")
    return data


def _value(v: Any) -> bytes:
    """A value as ``dumps(to_json(v), pretty=False)`` writes it, in UTF-8."""
    c = v.__class__
    if c is str:
        return _TEXTS.get(v) or _kept(_TEXTS, v, _string(v))
    if v is None:
        return b"null"
    if c is bool:
        return b"true" if v else b"false"
    if c is int:
        return b"%d" % v
    if c is Decimal:
        return number_text(v).encode("ascii")
    return dumps(to_json(v), pretty=False).encode("utf-8")


def result_json(result, more: bytes = b"") -> bytes:
    """``dumps(result.to_dict(), pretty=False)`` in UTF-8, with ``more`` (``, "key": value``
    pairs, written) before the closing brace."""
    keys, fired, version, as_of = _KEYS, _FIRED, result.version, result.as_of
    return b"".join((
        b'{"decision": ', _value(result.decision),
        b"" if version is None else b', "version": ' + (_value(version) if version.__class__ is str
                                                        else dumps(version, pretty=False).encode("utf-8")),
        b"" if as_of is None else b', "as_of": "' + as_of.isoformat().encode("ascii") + b'"',
        b', "outputs": {',
        b", ".join([(keys.get(k) or _kept(keys, k, _key(k) + ": ")) + _value(v) for k, v in result.outputs.items()]),
        b'}, "fired": [',
        b", ".join([fired.get(f) or _kept(fired, f, dumps(f.to_dict(), pretty=False)) for f in result.fired]),
        b"]", more, b"}"))
