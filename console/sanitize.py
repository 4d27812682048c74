"""The one sanitiser: every server string passes through :func:`clean` before it is displayed.

``Clean.text`` never contains a character a terminal interprets (C0, DEL, C1), nor anything
that reorders or hides text (bidi controls, zero-width and other invisible code points).  Nothing
is dropped silently: each such character becomes a visible stand-in and sets a flag, so the
responder sees that the value was hostile or odd.  Square brackets are left alone: we never render
server text as markup (``screens/safe.py`` builds literal ``Text``), so ``[@click=…]`` is harmless,
but it is flagged ``markup`` because a name carrying it is an attack attempt.

Stand-ins:

* ESC → ``␛``; other C0 → Unicode control pictures (``␀`` … ``␟``); DEL → ``␡``;
* C1 (U+0080–U+009F) → the four ASCII characters ``\\x9b``;
* newline → ``⏎`` in single-line kinds (``username``, ``name``, ``line``); kept in ``text``;
* tab → ``⇥``;
* bidi controls, zero-width, invisible, private-use, unassigned, non-ASCII spaces, line/paragraph
  separators and lone surrogates → ``⟨U+202E⟩``;
* more than two stacked combining marks → the first two, then ``⟨+N marks⟩``.

No Rich or Textual import here; widths are measured with ``unicodedata.east_asian_width``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Final, Literal

from console.confusables import is_default_ignorable, is_mixed_script, skeleton

__all__ = [
    "FLAG_LABELS",
    "Clean",
    "Kind",
    "cell_width",
    "clean",
    "describe_codepoints",
    "flag_labels",
    "safe",
]

Kind = Literal["text", "username", "name", "line"]

_KINDS: Final = frozenset({"text", "username", "name", "line"})

# Lintian's unicode-trojan list (Trojan Source, CVE-2021-42574).
_BIDI: Final[frozenset[int]] = frozenset(
    [0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
)
_ZWJ: Final = 0x200D
_PRINTABLE_ASCII: Final = re.compile(r"[\x20-\x7e]*\Z")
# Something Rich/Textual would treat as a tag: ``[/``, ``[@click=``, ``[#fff]``, ``[bold]``,
# ``[link=https://x]``.
_MARKUP: Final = re.compile(r"\[(?:[/@]|#[0-9A-Za-z]|[A-Za-z][^\[\]\n]*\])")
_MAX_MARKS: Final = 2

FLAG_LABELS: Final[dict[str, str]] = {
    "control": "terminal control characters",
    "newline": "line breaks",
    "bidi": "bidi (text-reordering) characters",
    "invisible": "hidden/invisible characters",
    "non_ascii": "non-ASCII characters in a username",
    "mixed_script": "mixed scripts",
    "confusable": "looks like an ASCII name",
    "markup": "markup-like brackets",
    "zalgo": "stacked combining marks",
    "truncated": "truncated",
}


@dataclass(frozen=True, slots=True)
class Clean:
    """A display-safe view of an untrusted value."""

    raw: str
    text: str
    flags: frozenset[str]

    @property
    def flagged(self) -> bool:
        """True if anything other than truncation was noticed."""
        return bool(self.flags - {"truncated"})

    def __str__(self) -> str:
        return self.text


def _to_str(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", "backslashreplace")
    return str(value)


def _codepoint_token(cp: int) -> str:
    return f"⟨U+{cp:04X}⟩"


def cell_width(ch: str) -> int:
    """Terminal cells taken by one code point (0 for combining/format, 2 for wide)."""
    cp = ord(ch)
    if 0x20 <= cp < 0x7F:
        return 1
    cat = unicodedata.category(ch)
    if cat in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def _token_width(token: str) -> int:
    return sum(cell_width(c) for c in token)


def _is_emoji(ch: str) -> bool:
    cp = ord(ch)
    if 0x1F000 <= cp <= 0x1FAFF or 0x2600 <= cp <= 0x27BF:
        return True
    return unicodedata.category(ch) == "So"


def _is_invisible(ch: str, cat: str) -> bool:
    if cat in ("Cs", "Co", "Cn", "Zl", "Zp", "Cf", "Cc"):
        return True
    if cat == "Zs":  # every space other than U+0020 (already handled as ASCII)
        return True
    return is_default_ignorable(ch)


def _tokens(raw: str, kind: str, flags: set[str]) -> list[str]:
    """Split ``raw`` into display tokens (a base plus its marks, or a stand-in)."""
    out: list[str] = []
    single_line = kind != "text"
    emoji_ok = kind in ("name", "text")
    marks = 0  # combining marks attached to the current base
    extra = 0  # marks beyond _MAX_MARKS, pending a "⟨+N marks⟩" token
    n = len(raw)
    i = 0

    def flush_extra() -> None:
        nonlocal extra
        if extra:
            out.append(f"⟨+{extra} marks⟩")
            flags.add("zalgo")
            extra = 0

    while i < n:
        ch = raw[i]
        cp = ord(ch)
        if 0x20 <= cp < 0x7F:
            flush_extra()
            out.append(ch)
            marks = 0
            i += 1
            continue
        if cp < 0x20 or cp == 0x7F or 0x80 <= cp <= 0x9F:
            flush_extra()
            marks = 0
            if ch in "\r\n":
                flags.add("newline")
                crlf = ch == "\r" and i + 1 < n and raw[i + 1] == "\n"
                if ch == "\n" or crlf:
                    out.append("⏎" if single_line else "\n")
                    i += 2 if crlf else 1
                else:  # a lone CR would overwrite the line: always visible
                    out.append("⏎")
                    i += 1
                continue
            if ch == "\t":
                out.append("⇥")
                if kind != "text":
                    flags.add("control")
            elif cp == 0x1B:
                out.append("␛")
                flags.add("control")
            elif cp == 0x7F:
                out.append("␡")
                flags.add("control")
            elif cp < 0x20:
                out.append(chr(0x2400 + cp))
                flags.add("control")
            else:
                out.append(f"\\x{cp:02x}")
                flags.add("control")
            i += 1
            continue
        cat = unicodedata.category(ch)
        if cp in _BIDI:
            flush_extra()
            marks = 0
            out.append(_codepoint_token(cp))
            flags.add("bidi")
            i += 1
            continue
        if emoji_ok and out and (cp == _ZWJ or 0xFE0E <= cp <= 0xFE0F):
            prev = raw[i - 1]
            if cp == _ZWJ:
                nxt = raw[i + 1] if i + 1 < n else ""
                ok = (_is_emoji(prev) or prev == "\ufe0f" or 0x1F3FB <= ord(prev) <= 0x1F3FF) and (
                    bool(nxt) and _is_emoji(nxt)
                )
            else:
                ok = _is_emoji(prev) or (prev in "0123456789#*" and raw[i + 1 : i + 2] == "\u20e3")
            if ok:
                out[-1] += ch
                i += 1
                continue
        if cat in ("Mn", "Me") and not is_default_ignorable(ch):
            if not out or out[-1].startswith("⟨") or out[-1] in ("⏎", "\n", "⇥"):
                out.append("◌" + ch)  # a mark with no base: give it a visible one
                marks = 1
            elif marks < _MAX_MARKS:
                out[-1] += ch
                marks += 1
            else:
                extra += 1
            i += 1
            continue
        flush_extra()
        marks = 0
        if _is_invisible(ch, cat):
            out.append(_codepoint_token(cp))
            flags.add("invisible")
        else:
            out.append(ch)
        i += 1
    flush_extra()
    return out


def clean(value: object, *, kind: Kind = "text", max_cells: int | None = None) -> Clean:
    """Make ``value`` safe to show in a terminal; see the module docstring for the rules."""
    if kind not in _KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    raw = _to_str(value)
    flags: set[str] = set()
    if _MARKUP.search(raw):
        flags.add("markup")
    if _PRINTABLE_ASCII.match(raw):
        text = raw
        if max_cells is not None and len(text) > max_cells:
            text = text[: max(max_cells - 1, 0)] + ("…" if max_cells > 0 else "")
            flags.add("truncated")
        return Clean(raw, text, frozenset(flags))
    if kind == "username" and not raw.isascii():
        flags.add("non_ascii")
    tokens = _tokens(raw, kind, flags)
    if kind in ("username", "name") and not raw.isascii():
        if is_mixed_script(raw):
            flags.add("mixed_script")
        skel = skeleton(raw)
        if skel.isascii() and any(c.isalpha() for c in skel):
            flags.add("confusable")
    if max_cells is not None:
        widths = [_token_width(t) for t in tokens]
        if sum(widths) > max_cells:
            budget = max_cells - 1
            kept: list[str] = []
            used = 0
            for tok, w in zip(tokens, widths, strict=True):
                if used + w > budget:
                    break
                kept.append(tok)
                used += w
            tokens = [*kept, "…"] if max_cells > 0 else []
            flags.add("truncated")
    return Clean(raw, "".join(tokens), frozenset(flags))


def safe(value: object, *, kind: Kind = "text", max_cells: int | None = None) -> str:
    """``clean(value, ...).text``: for log lines and stderr."""
    return clean(value, kind=kind, max_cells=max_cells).text


def flag_labels(flags: frozenset[str] | set[str]) -> list[str]:
    """Human-readable flag descriptions in a stable order (for tooltips and detail views)."""
    return [FLAG_LABELS[f] for f in FLAG_LABELS if f in flags] + sorted(
        f for f in flags if f not in FLAG_LABELS
    )


_C0_NAMES: Final[tuple[str, ...]] = (
    "NULL",
    "START OF HEADING",
    "START OF TEXT",
    "END OF TEXT",
    "END OF TRANSMISSION",
    "ENQUIRY",
    "ACKNOWLEDGE",
    "BELL",
    "BACKSPACE",
    "CHARACTER TABULATION",
    "LINE FEED",
    "LINE TABULATION",
    "FORM FEED",
    "CARRIAGE RETURN",
    "SHIFT OUT",
    "SHIFT IN",
    "DATA LINK ESCAPE",
    "DEVICE CONTROL ONE",
    "DEVICE CONTROL TWO",
    "DEVICE CONTROL THREE",
    "DEVICE CONTROL FOUR",
    "NEGATIVE ACKNOWLEDGE",
    "SYNCHRONOUS IDLE",
    "END OF TRANSMISSION BLOCK",
    "CANCEL",
    "END OF MEDIUM",
    "SUBSTITUTE",
    "ESCAPE",
    "FILE SEPARATOR",
    "GROUP SEPARATOR",
    "RECORD SEPARATOR",
    "UNIT SEPARATOR",
)
_C1_NAMES: Final[dict[int, str]] = {
    0x84: "INDEX",
    0x85: "NEXT LINE",
    0x88: "CHARACTER TABULATION SET",
    0x8D: "REVERSE LINE FEED",
    0x90: "DEVICE CONTROL STRING",
    0x98: "START OF STRING",
    0x9B: "CONTROL SEQUENCE INTRODUCER",
    0x9C: "STRING TERMINATOR",
    0x9D: "OPERATING SYSTEM COMMAND",
    0x9E: "PRIVACY MESSAGE",
    0x9F: "APPLICATION PROGRAM COMMAND",
}


def _cp_name(ch: str) -> str:
    cp = ord(ch)
    if cp < 0x20:
        return f"{_C0_NAMES[cp]} <control>"
    if cp == 0x7F:
        return "DELETE <control>"
    if 0x80 <= cp <= 0x9F:
        return f"{_C1_NAMES.get(cp, 'C1')} <control>"
    name = unicodedata.name(ch, "")
    if name:
        return name
    cat = unicodedata.category(ch)
    return {"Co": "<private use>", "Cs": "<surrogate>", "Cn": "<unassigned>"}.get(cat, f"<{cat}>")


def describe_codepoints(value: object, *, limit: int | None = None) -> list[str]:
    """One line per code point, e.g. ``U+202E RIGHT-TO-LEFT OVERRIDE`` (always ASCII-safe)."""
    raw = _to_str(value)
    chars = raw if limit is None else raw[:limit]
    lines = [f"U+{ord(c):04X} {_cp_name(c)}" for c in chars]
    if limit is not None and len(raw) > limit:
        lines.append(f"… {len(raw) - limit} more code points")
    return lines
