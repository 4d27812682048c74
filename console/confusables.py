"""Homoglyph skeletons and mixed-script detection (a compact, dependency-free take on UTS #39).

The skeleton is only ever used for *comparison*: two strings whose skeletons are equal look alike
to a human.  Nothing here changes what is displayed; callers show the raw (sanitised) value and a
warning such as ``confusable with @root (#1)``.

Pipeline of :func:`skeleton`:

1. NFKC (folds fullwidth forms, ligatures, mathematical alphanumerics, superscripts);
2. drop default-ignorable code points (zero-width, bidi, variation selectors, fillers);
3. map look-alike letters of other scripts to Latin, before case folding (so that Cyrillic
   ``Н`` becomes ``H`` rather than a letter that looks like ``n``);
4. casefold;
5. map the remaining look-alikes, digits and symbols (``0→o``, ``1→l``, ``3→e``, ``5→s``, ``|→l``);
6. replace multi-letter look-alikes (``rn→m``, ``vv→w``, ``cl→d``) and normalise to NFC.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from typing import Final

__all__ = [
    "find_confusable_pairs",
    "is_default_ignorable",
    "is_mixed_script",
    "script_of",
    "scripts",
    "skeleton",
]

# Applied before casefold: uppercase look-alikes keep their uppercase Latin twin.
_UPPER: Final[dict[str, str]] = {
    # Cyrillic capitals
    "А": "A",
    "В": "B",
    "Е": "E",
    "Ѕ": "S",
    "І": "I",
    "Ј": "J",
    "К": "K",
    "М": "M",
    "Н": "H",
    "О": "O",
    "Р": "P",
    "С": "C",
    "Т": "T",
    "Х": "X",
    "Ү": "Y",
    "Ԛ": "Q",
    "Ԝ": "W",
    "Ӏ": "l",
    "Ꙅ": "S",
    "Ԁ": "D",
    "Ғ": "F",
    # Greek capitals
    "Α": "A",
    "Β": "B",
    "Ε": "E",
    "Ζ": "Z",
    "Η": "H",
    "Ι": "I",
    "Κ": "K",
    "Μ": "M",
    "Ν": "N",
    "Ο": "O",
    "Ρ": "P",
    "Τ": "T",
    "Υ": "Y",
    "Χ": "X",
    "Ϲ": "C",
    "Ϳ": "J",
    # Armenian / Cherokee capitals that pass for Latin
    "Ս": "U",
    "Օ": "O",
    "Ꭺ": "A",
    "Ᏼ": "B",
    "Ꮯ": "C",
    "Ꭼ": "E",
    "Ꮋ": "H",
    "Ꮶ": "K",
    "Ꮇ": "M",
    "Ꮲ": "P",
    "Ꮪ": "S",
    "Ꭲ": "T",
    "Ꮃ": "W",
    "Ꮓ": "Z",
}

# Applied after casefold.
_LOWER: Final[dict[str, str]] = {
    # Cyrillic small letters
    "а": "a",
    "в": "b",
    "е": "e",
    "ё": "e",
    "ѕ": "s",
    "і": "i",
    "ї": "i",
    "ј": "j",
    "к": "k",
    "м": "m",
    "н": "h",
    "о": "o",
    "р": "p",
    "с": "c",
    "т": "t",
    "у": "y",
    "х": "x",
    "ү": "y",
    "һ": "h",
    "ԁ": "d",
    "ԛ": "q",
    "ԝ": "w",
    "ӏ": "l",
    "ɡ": "g",
    "ꙅ": "s",
    "ԍ": "g",
    "ь": "b",
    "ѡ": "w",
    "п": "n",
    "г": "r",
    # Greek small letters
    "α": "a",
    "β": "b",
    "ε": "e",
    "ζ": "z",
    "η": "n",
    "ι": "i",
    "κ": "k",
    "μ": "u",
    "ν": "v",
    "ο": "o",
    "ρ": "p",
    "τ": "t",
    "υ": "u",
    "χ": "x",
    "ϲ": "c",
    "ϳ": "j",
    "ω": "w",
    "σ": "o",
    "ς": "c",
    "γ": "y",
    # Armenian / Latin extensions / IPA
    "ս": "u",
    "օ": "o",
    "ց": "g",
    "հ": "h",
    "ո": "n",
    "ı": "i",
    "ȷ": "j",
    "ɑ": "a",
    "ɩ": "i",
    "ʟ": "l",
    "ɪ": "i",
    "ᴏ": "o",
    "ᴄ": "c",
    "ᴠ": "v",
    "ᴡ": "w",
    "ᴢ": "z",
    "ɾ": "r",
    "ƅ": "b",
    "ɗ": "d",
    # digits and symbols that pass for letters
    "0": "o",
    "1": "l",
    "3": "e",
    "5": "s",
    "|": "l",
    "ǀ": "l",
    "ߊ": "l",
}

_ASCII_TABLE: Final = str.maketrans({k: v for k, v in _LOWER.items() if k.isascii()})

_MULTI: Final[tuple[tuple[str, str], ...]] = (("rn", "m"), ("vv", "w"), ("cl", "d"))

# Invisible or format code points ignored by the skeleton (and flagged by the sanitiser).
_IGNORABLE_EXTRA: Final[frozenset[int]] = frozenset(
    [
        0x00AD,
        0x034F,
        0x115F,
        0x1160,
        0x17B4,
        0x17B5,
        0x180B,
        0x180C,
        0x180D,
        0x180E,
        0x180F,
        0x3164,
        0xFFA0,
        0x2800,
    ]
)


def is_default_ignorable(ch: str) -> bool:
    """True for code points that render as nothing (format chars, variation selectors, fillers)."""
    cp = ord(ch)
    if cp in _IGNORABLE_EXTRA:
        return True
    if 0xFE00 <= cp <= 0xFE0F or 0xE0100 <= cp <= 0xE01EF or 0xE0000 <= cp <= 0xE0FFF:
        return True
    return unicodedata.category(ch) == "Cf"


@lru_cache(maxsize=65536)
def skeleton(s: str) -> str:
    """A comparison key: equal skeletons mean the strings look alike."""
    if s.isascii():
        text = s.lower().translate(_ASCII_TABLE)
        for seq, rep in _MULTI:
            if seq in text:
                text = text.replace(seq, rep)
        return text
    text = unicodedata.normalize("NFKC", s)
    text = "".join(_UPPER.get(c, c) for c in text if not is_default_ignorable(c))
    text = text.casefold()
    text = "".join(_LOWER.get(c, c) for c in text)
    for seq, rep in _MULTI:
        if seq in text:
            text = text.replace(seq, rep)
    return unicodedata.normalize("NFC", text)


# Script words as they appear in Unicode character names.
_SCRIPT_WORDS: Final[frozenset[str]] = frozenset(
    """LATIN CYRILLIC GREEK ARMENIAN HEBREW ARABIC SYRIAC THAANA NKO DEVANAGARI BENGALI GURMUKHI
    GUJARATI ORIYA TAMIL TELUGU KANNADA MALAYALAM SINHALA THAI LAO TIBETAN MYANMAR GEORGIAN
    HANGUL ETHIOPIC CHEROKEE RUNIC OGHAM KHMER MONGOLIAN HIRAGANA KATAKANA BOPOMOFO YI COPTIC
    GLAGOLITIC TIFINAGH VAI BAMUM JAVANESE BALINESE SUNDANESE BUGINESE TAGALOG OSAGE ADLAM
    CANADIAN""".split()
)


@lru_cache(maxsize=16384)
def script_of(ch: str) -> str | None:
    """The script of one letter (derived from its Unicode name), or None for Common/Inherited."""
    if not unicodedata.category(ch).startswith("L"):
        return None
    name = unicodedata.name(ch, "")
    if name.startswith(("CJK ", "KANGXI")) or "IDEOGRAPH" in name:
        return "HAN"
    for word in name.split():
        if word in _SCRIPT_WORDS:
            return word
    folded = unicodedata.normalize("NFKC", ch)
    if folded != ch and len(folded) == 1:
        return script_of(folded)
    return "OTHER"


def scripts(s: str) -> set[str]:
    """Scripts of the letters in ``s`` (digits, punctuation and marks belong to none)."""
    out: set[str] = set()
    for ch in s:
        sc = script_of(ch)
        if sc is not None:
            out.add(sc)
    return out


# Script combinations that are normal inside one word (UTS #39 "highly restrictive").
_ALLOWED_MIXES: Final[tuple[frozenset[str], ...]] = (
    frozenset({"LATIN", "HAN", "HIRAGANA", "KATAKANA"}),
    frozenset({"LATIN", "HAN", "BOPOMOFO"}),
    frozenset({"LATIN", "HAN", "HANGUL"}),
)


def is_mixed_script(s: str) -> bool:
    """True if any whitespace-separated token mixes scripts (e.g. Latin with Cyrillic)."""
    for token in s.split():
        found = scripts(token)
        if len(found) <= 1:
            continue
        if not any(found <= allowed for allowed in _ALLOWED_MIXES):
            return True
    return False


def find_confusable_pairs(
    items: Iterable[tuple[int, str]], *, limit: int = 20
) -> dict[int, list[int]]:
    """Group ids whose strings share a skeleton.

    Returns ``{id: [other ids with the same skeleton, ascending]}`` only for ids that collide.
    Each list holds at most ``limit`` ids (lowest first, so ``root`` and early admins come first),
    which keeps the result linear even if thousands of accounts share one display name.
    Empty strings never collide.
    """
    groups: dict[str, list[int]] = {}
    for item_id, value in items:
        if not value:
            continue
        key = skeleton(value)
        if not key:
            continue
        groups.setdefault(key, []).append(item_id)
    out: dict[int, list[int]] = {}
    for ids in groups.values():
        if len(ids) < 2:
            continue
        uniq = sorted(set(ids))
        if len(uniq) < 2:
            continue
        head = uniq[: limit + 1]
        for item_id in uniq:
            others = [o for o in head if o != item_id][:limit]
            out[item_id] = others
    return out
