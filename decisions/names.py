"""The cardholder-name check for ``decline_diagnosis``: the one thing in the atone
decisions that a table cannot say.

atone's app-only card shows no cardholder name, so the member types it at the shop.
The article's rules (「名義入力の間違い」):

- upper-case ASCII letters only, family and given name separated by ONE half-width
  space (``YAMADA TARO``);
- no symbols such as ``・`` or ``ー``, no full-width characters (Japanese input off);
- the name is the registered name in Hepburn romaji, long vowels usually not written
  (``ヤマダ タロウ`` → ``YAMADA TARO``, ``サトウ ハナコ`` → ``SATO HANAKO``); the usual
  long-vowel spellings are accepted too (``TARO``/``TAROU``/``TAROH``), and either
  order (``TARO YAMADA``), since shops differ.

``derive_name_facts(facts)`` returns three intermediate Glossary fields that the
decline tables test (see ``tables/decline_diagnosis.xlsx``):

``name_format_fault``  the first format rule the typed name breaks, or ``"none"``:
                       ``"empty"``, ``"full_width"``, ``"symbol"``, ``"lowercase"``,
                       ``"spacing"`` (null when no name was given)
``name_format_ok``     ``name_format_fault == "none"`` (null when no name was given)
``name_matches_registered``  the well-formed name is the registered name, in either
                       order and any usual long-vowel spelling (null when the format
                       is broken or no name was given)

The remedies, their wording and their order are in the workbook, not here.
Kana → romaji is pykakasi's job (its Hepburn output); this module only adds the
long-vowel and ``n``/``m`` variants on top.
"""
from __future__ import annotations

import itertools
import re
import unicodedata
from functools import lru_cache
from typing import Optional

from decide.model.errors import CaseError

FAULTS = ("empty", "full_width", "symbol", "lowercase", "spacing")

# ---------------------------------------------------------------- format rules


def _is_letter(c: str) -> bool:
    # "ー" (prolonged sound mark) is category Lm: the article calls it a symbol.
    return c.isalpha() and unicodedata.category(c) != "Lm"


_WELL_FORMED = re.compile(r"[A-Z]+ [A-Z]+").fullmatch
_ASCII_SYMBOLS = frozenset(c for c in map(chr, range(128)) if not c.isalpha() and not c.isspace())
_LOWER = frozenset("abcdefghijklmnopqrstuvwxyz")


def format_fault(entered: str) -> str:
    """The first format rule ``entered`` breaks, or ``"none"``.

    Checked in this order, so the member gets the most useful advice first:
    empty → full-width / non-ASCII letters or a full-width space (Japanese input
    left on) → symbols and digits (``・``, ``ー``, ``-``, ``.``, ``1`` …) → lower-case
    letters → spacing (exactly two words separated by one half-width space).
    """
    if _WELL_FORMED(entered):  # the usual case, in one step: the rules below all pass
        return "none"
    if entered.strip() == "":
        return "empty"
    if entered.isascii():  # the same rules, by set: no full-width, _is_letter is isalpha
        if not _ASCII_SYMBOLS.isdisjoint(entered):
            return "symbol"
    else:
        if any((_is_letter(c) and not c.isascii()) or c == "\u3000" for c in entered):
            return "full_width"
        if any(not _is_letter(c) and not c.isspace() for c in entered):
            return "symbol"
    if not _LOWER.isdisjoint(entered):
        return "lowercase"
    words = entered.split(" ")
    if len(words) != 2 or not all(words) or any(c.isspace() and c != " " for c in entered):
        return "spacing"
    return "none"


# ---------------------------------------------------------------- romanisation

_KANA_RE = re.compile(r"^[\u3041-\u3096\u30a1-\u30fa\u30fc\u309d\u309e\u30fd\u30fe]+$")


def warm() -> None:
    """Load the romanisation now (pykakasi's import and its kana tables, tens of ms; the
    regular expressions), so that the first name check costs what every later one does.
    The decline_diagnosis service's ``warm``: ``Rulebook.warm()`` runs it (``decide
    serve`` and ``decide batch`` at start)."""
    derive_name_facts({"entered_name": "YAMADA TARO", "registered_name_kana": "ヤマダ タロウ"})


@lru_cache(maxsize=1)
def _kakasi():
    """pykakasi's converter, loaded on the first name check.  Its kanji dictionary (a
    0.4 s read) is loaded only if a kanji is ever met: registered names are kana."""
    try:
        from pykakasi.kakasi import Kakasi
        from pykakasi.scripts import IConv

        conv = Kakasi.__new__(Kakasi)
        conv._iconv, conv._jconv = IConv(), _LazyKanji()
        if conv.convert("タロウ")[0]["hepburn"] == "tarou":
            return conv
    except (ImportError, AttributeError, TypeError):  # another pykakasi layout: load it whole
        pass
    import pykakasi

    return pykakasi.kakasi()


class _LazyKanji:
    """Stands in for pykakasi's kanji converter until a kanji needs it."""

    def __getattr__(self, name):
        return getattr(_kanji(), name)


@lru_cache(maxsize=1)
def _kanji():
    from pykakasi.kanji import JConv

    return JConv()


@lru_cache(maxsize=4096)
def split_registered(kana: str) -> tuple[str, str]:
    """``"ヤマダ タロウ"`` → ``("ヤマダ", "タロウ")``; a CaseError for anything else
    (remembered for the last 4,096 names; an error is raised afresh each time)."""
    parts = kana.replace("\u3000", " ").split()
    if len(parts) != 2:
        raise CaseError(
            "registered_name_kana must be the family name and the given name in katakana, "
            f'separated by one space, e.g. "ヤマダ タロウ"; got "{kana}"',
            field="registered_name_kana",
            value=kana,
        )
    for p in parts:
        if not _KANA_RE.match(p):
            raise CaseError(
                "registered_name_kana must be written in katakana (or hiragana), family name "
                f'first, e.g. "ヤマダ タロウ"; "{p}" is not kana',
                field="registered_name_kana",
                value=kana,
            )
    return parts[0], parts[1]


def hepburn(kana: str) -> str:
    """Modified Hepburn as pykakasi writes it, lower case, long vowels spelt out
    (``タロウ`` → ``tarou``, ``オーノ`` → ``oono``), no apostrophes."""
    out = "".join(item["hepburn"] for item in _kakasi().convert(kana))
    return re.sub(r"[^a-z]", "", out.lower())


# Each long vowel may be written in full, shortened (passport style) or with an h.
_VARIANTS = {
    "ou": ("ou", "o", "oh"),
    "oo": ("oo", "o", "oh"),
    "uu": ("uu", "u"),
}
_LONG = re.compile(r"ou|oo|uu|n(?=[bmp])")


@lru_cache(maxsize=4096)
def spellings(kana: str) -> frozenset[str]:
    """Every accepted upper-case romaji spelling of one name part.

    ``タロウ`` → {TAROU, TARO, TAROH}; ``ホンマ`` → {HONMA, HOMMA}.
    """
    base = hepburn(kana)
    pieces: list[tuple[str, ...]] = []
    pos = 0
    for m in _LONG.finditer(base):
        pieces.append((base[pos : m.start()],))
        tok = m.group(0)
        pieces.append(("n", "m") if tok == "n" else _VARIANTS[tok])
        pos = m.end()
    pieces.append((base[pos:],))
    combos = itertools.islice(itertools.product(*pieces), 512)
    return frozenset("".join(c).upper() for c in combos)


def matches_registered(entered: str, kana: str) -> bool:
    """Is the well-formed ``entered`` name the registered kana name, either order?"""
    family, given = split_registered(kana)
    a, b = entered.split(" ")
    fam, giv = spellings(family), spellings(given)
    return (a in fam and b in giv) or (a in giv and b in fam)


# ---------------------------------------------------------------- derive


def derive_name_facts(facts: dict) -> dict:
    """The name facts for the decline tables; see the module docstring."""
    entered: Optional[str] = facts.get("entered_name")
    kana: Optional[str] = facts.get("registered_name_kana")
    if entered is None:
        if kana is not None:
            split_registered(kana)  # still report a malformed registration
        return {"name_format_fault": None, "name_format_ok": None, "name_matches_registered": None}
    if kana is None:
        raise CaseError(
            "entered_name is given but registered_name_kana is missing: the name typed at the "
            'shop can only be checked against the registered name in katakana (e.g. "ヤマダ タロウ"). '
            "Give registered_name_kana, or leave entered_name out to skip the name check.",
            field="registered_name_kana",
        )
    fault = format_fault(entered)
    if fault != "none":
        split_registered(kana)
        return {"name_format_fault": fault, "name_format_ok": False, "name_matches_registered": None}
    return {
        "name_format_fault": "none",
        "name_format_ok": True,
        "name_matches_registered": matches_registered(entered, kana),
    }
