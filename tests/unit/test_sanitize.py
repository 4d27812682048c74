"""console.sanitize: hostile strings become visible, flagged, display-safe text."""

from __future__ import annotations

import unicodedata

import pytest

from console.sanitize import Clean, cell_width, clean, describe_codepoints, flag_labels, safe

KINDS = ("text", "username", "name", "line")

# The fixed hostile corpus (style.md §5, security-and-reliability.md §2).
HOSTILE = [
    "[/",
    "[@click=app.quit]x[/]",
    "[link=https://x]y[/]",
    "[bold]alice[/]",
    "\x1b]52;c;aGk=\x07",
    "\x1b[2J",
    "\x9b31m",
    "evil\x1b]52;c;aGk=\x07\x1b[2J\x9b31m\u202eabc\u200b\x00end",
    "\u202eevil",
    "a\u200bb",
    "nul\x00byte",
    "del\x7f",
    "bs\x08\x08\x08root",
    "cr\roverwrite",
    "line1\nline2\r\nline3",
    "tab\there",
    "\u2066isolate\u2069",
    "\u061carabic mark",
    "\ufeffbom",
    "soft\u00adhyphen",
    "tag\U000e0041\U000e007f",
    "ls\u2028ps\u2029",
    "nbsp\u00a0ideo\u3000",
    "pua\ue000",
    "unassigned\U000e0300\u0378",
    "lone\ud800surrogate",
    "hangul\u3164filler",
    "z" + "\u0300" * 50,
    "x" * 100_000,
    "\x1b" * 1000,
]

# Categories a terminal might interpret or that hide/reorder text.
FORBIDDEN_CATEGORIES = {"Cc", "Cf", "Co", "Cn", "Cs", "Zl", "Zp"}


def _offending(text: str, kind: str) -> list[str]:
    bad = []
    for i, ch in enumerate(text):
        cat = unicodedata.category(ch)
        if ch == "\n" and kind == "text":
            continue  # multi-line text keeps its line breaks
        if ch == "\u200d" and kind in ("name", "text"):
            # allowed only between two emoji
            if 0 < i < len(text) - 1 and unicodedata.category(text[i + 1]) == "So":
                continue
        if cat in FORBIDDEN_CATEGORIES:
            bad.append(f"U+{ord(ch):04X} {cat}")
        elif cat == "Zs" and ch != " ":
            bad.append(f"U+{ord(ch):04X} {cat}")
    return bad


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("value", HOSTILE, ids=lambda v: repr(v[:24]))
def test_hostile_corpus_is_display_safe(value: str, kind: str) -> None:
    c = clean(value, kind=kind)
    assert c.raw == value
    assert not _offending(c.text, kind)
    assert "\x1b" not in c.text and "\x9b" not in c.text and "\r" not in c.text
    if kind != "text":
        assert "\n" not in c.text


@pytest.mark.parametrize("value", HOSTILE, ids=lambda v: repr(v[:24]))
def test_hostile_corpus_truncated_is_safe_and_fits(value: str) -> None:
    c = clean(value, kind="name", max_cells=20)
    assert sum(cell_width(ch) for ch in c.text) <= 20
    assert not _offending(c.text, "name")


def test_markup_is_flagged_but_kept_literally() -> None:
    markup = ("[/", "[@click=app.quit]x[/]", "[link=https://x]y[/]", "[bold]a[/bold]", "[#f00]")
    for value in markup:
        c = clean(value)
        assert c.text == value
        assert "markup" in c.flags
        assert c.flagged
    assert "markup" not in clean("a [ b").flags
    assert "markup" not in clean("array[0]").flags
    assert "markup" not in clean("[1]").flags


def test_escape_and_control_stand_ins() -> None:
    c = clean("\x1b]52;c;aGk=\x07")
    assert c.text == "␛]52;c;aGk=␇"  # the whole sequence stays visible
    assert c.flags == {"control"}
    assert clean("\x1b[2J").text == "␛[2J"
    assert clean("\x9b31m").text == "\\x9b31m"
    assert clean("a\x00b").text == "a␀b"
    assert clean("a\x7fb").text == "a␡b"
    assert clean("\x85").text == "\\x85"
    assert "control" in clean("\x9b31m").flags


def test_newlines_and_tabs() -> None:
    assert clean("a\nb", kind="line").text == "a⏎b"
    assert clean("a\r\nb", kind="name").text == "a⏎b"
    assert clean("a\rb", kind="username").text == "a⏎b"
    assert clean("a\nb\r\nc", kind="text").text == "a\nb\nc"
    assert clean("a\rb", kind="text").text == "a⏎b"  # a lone CR would overwrite the line
    for kind in KINDS:
        assert "newline" in clean("a\nb", kind=kind).flags
    assert clean("a\tb", kind="text").text == "a⇥b"
    assert clean("a\tb", kind="text").flags == frozenset()
    assert "control" in clean("a\tb", kind="username").flags


def test_bidi_and_invisible_become_codepoint_tokens() -> None:
    c = clean("adm\u202enimda")
    assert c.text == "adm⟨U+202E⟩nimda"
    assert "bidi" in c.flags
    for cp in (0x061C, 0x200E, 0x200F, 0x202A, 0x202D, 0x2066, 0x2069):
        assert "bidi" in clean(f"x{chr(cp)}y").flags
    for cp in (
        0x200B,
        0x200C,
        0x2060,
        0xFEFF,
        0x180E,
        0x00AD,
        0xE0041,
        0x2028,
        0x2029,
        0x00A0,
        0x3000,
        0xE000,
        0x0378,
        0xD800,
        0x3164,
    ):
        c = clean(f"x{chr(cp)}y", kind="name")
        assert c.text == f"x⟨U+{cp:04X}⟩y", hex(cp)
        assert "invisible" in c.flags, hex(cp)


def test_emoji_sequences_allowed_in_names_only() -> None:
    family = "Zoe \U0001f469\u200d\U0001f4bb \u2764\ufe0f"
    c = clean(family, kind="name")
    assert c.text == family
    assert "invisible" not in c.flags
    u = clean(family, kind="username")
    assert "⟨U+200D⟩" in u.text and "⟨U+FE0F⟩" in u.text
    assert {"invisible", "non_ascii"} <= u.flags
    # a ZWJ that does not join two emoji is hidden text, even in a name
    assert clean("ro\u200dot", kind="name").text == "ro⟨U+200D⟩ot"


def test_zalgo_is_collapsed_visibly() -> None:
    c = clean("z" + "\u0301" * 40 + "a")
    assert c.text == "z\u0301\u0301⟨+38 marks⟩a"
    assert "zalgo" in c.flags
    assert clean("e\u0301\u0302").flags == frozenset()  # two marks are normal
    lead = clean("\u0301x")
    assert lead.text == "◌\u0301x"  # a mark with no base gets a visible one


def test_username_non_ascii_mixed_script_and_confusable() -> None:
    c = clean("аdmin", kind="username")  # Cyrillic а
    assert {"non_ascii", "mixed_script", "confusable"} <= c.flags
    assert c.text == "аdmin"  # shown as is, never replaced by the look-alike
    assert clean("admin", kind="username").flags == frozenset()
    assert "non_ascii" not in clean("José", kind="name").flags
    assert "mixed_script" not in clean("José Ñúñez 山田", kind="name").flags
    assert "confusable" in clean("ｒｏｏｔ", kind="username").flags


def test_truncation_counts_cells() -> None:
    c = clean("x" * 100, max_cells=10)
    assert c.text == "x" * 9 + "…"
    assert "truncated" in c.flags
    assert not c.flagged  # truncation alone is not a warning
    wide = clean("漢" * 10, max_cells=7)
    assert wide.text == "漢漢漢…"
    assert "truncated" in wide.flags
    assert clean("short", max_cells=10).text == "short"
    assert clean("exactly10!", max_cells=10).text == "exactly10!"
    # never cuts inside a stand-in
    t = clean("ab\u202ecdef", max_cells=8).text
    assert t in ("ab…", "ab⟨U+202E⟩…")
    assert clean("abc", max_cells=0).text == ""


def test_values_of_other_types() -> None:
    assert clean(None) == Clean("", "", frozenset())
    assert clean(42).text == "42"
    assert clean(b"ok\x1b").text == "ok␛"
    assert clean(b"\xff").text == "\\xff"
    assert safe("a\x1bb", kind="line") == "a␛b"
    assert str(clean("x\x00")) == "x␀"
    with pytest.raises(ValueError):
        clean("x", kind="bogus")  # type: ignore[arg-type]


def test_describe_codepoints() -> None:
    lines = describe_codepoints("a\u202e\x1b\x9b\ue000")
    assert lines == [
        "U+0061 LATIN SMALL LETTER A",
        "U+202E RIGHT-TO-LEFT OVERRIDE",
        "U+001B ESCAPE <control>",
        "U+009B CONTROL SEQUENCE INTRODUCER <control>",
        "U+E000 <private use>",
    ]
    assert all(line.isascii() for line in describe_codepoints("аd\u200bmin\x00"))
    limited = describe_codepoints("x" * 10, limit=3)
    assert len(limited) == 4 and limited[-1] == "… 7 more code points"


def test_flag_labels_are_readable() -> None:
    labels = flag_labels(frozenset({"bidi", "control", "whatever"}))
    assert labels[0] == "terminal control characters"
    assert "bidi (text-reordering) characters" in labels
    assert labels[-1] == "whatever"


def test_long_string_is_fast_enough() -> None:
    import time

    value = ("ab\u202e\x1b" * 50_000)[:200_000]
    t0 = time.perf_counter()
    c = clean(value, kind="text", max_cells=64)
    assert time.perf_counter() - t0 < 5
    assert len(c.text) <= 64
    assert {"bidi", "control", "truncated"} <= c.flags
