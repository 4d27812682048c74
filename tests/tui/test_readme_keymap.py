"""The README's key map is the help screen: every key help shows for the main screen's five panes
is in the README under the same section with the same words, and the README lists no key help
does not show. Order does not matter; a missing or different line does.

The README's ``## Key map`` has one ``### <help section title>`` per help section, each with a
``| key | does |`` table whose key cell holds the keys in backticks as help shows them (``⏎``,
``^d``, ``pgup``). Prose under a heading without a table (other screens) is not compared.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from console.app import IncidentConsoleApp
from screens.help import HelpScreen
from screens.main import MainScreen
from tests.pilot_helpers import demo, reach_main, run_app, until

README = Path(__file__).resolve().parents[2] / "README.md"
PANE_KEYS = "12345"
KeyMap = dict[tuple[str, str], str]


def readme_key_map(text: str) -> KeyMap:
    """(section, key) → words, from the README's key map tables."""
    section = text.split("\n## Key map\n", 1)[1].split("\n## ", 1)[0]
    out: KeyMap = {}
    heading: str | None = None
    for line in section.splitlines():
        if line.startswith("### "):
            heading = line[4:].strip()
            continue
        if heading is None or not line.startswith("|") or line.startswith("|---"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        keys = re.findall(r"`([^`]+)`", cells[0])
        if len(cells) != 2 or not keys:
            continue  # the table's header row
        for key in keys:
            out[(heading, key)] = cells[1]
    return out


async def help_key_map(pilot: Any) -> tuple[KeyMap, list[str]]:
    """(section, key) → words from the live help over each pane; conflicting words listed."""
    app = pilot.app
    main = await reach_main(pilot)
    out: KeyMap = {}
    conflicts: list[str] = []
    for digit in PANE_KEYS:
        await pilot.press(digit)
        await pilot.pause()
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        assert isinstance(app.screen, HelpScreen)
        for entry in app.screen.entries:
            for key in entry.key.split(", "):
                seen = out.setdefault((entry.group, key), entry.description)
                if seen != entry.description:
                    conflicts.append(f"{entry.group} / {key}: {seen!r} vs {entry.description!r}")
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is main)
    return out, conflicts


def test_the_readme_key_map_is_the_help_screen() -> None:
    readme = readme_key_map(README.read_text(encoding="utf-8"))
    app = IncidentConsoleApp(demo())
    found: dict[str, Any] = {}

    async def script(pilot: Any) -> None:
        found["help"], found["conflicts"] = await help_key_map(pilot)
        assert isinstance(app.screen, MainScreen)

    run_app(app, script)
    live: KeyMap = found["help"]
    assert not found["conflicts"], "one key, two meanings in one help section"
    missing = sorted(f"{s} / `{k}`: {live[(s, k)]}" for s, k in live.keys() - readme.keys())
    extra = sorted(f"{s} / `{k}`: {readme[(s, k)]}" for s, k in readme.keys() - live.keys())
    differ = sorted(
        f"{s} / `{k}`: README {readme[(s, k)]!r}, help {live[(s, k)]!r}"
        for s, k in live.keys() & readme.keys()
        if live[(s, k)] != readme[(s, k)]
    )
    assert not (missing or extra or differ), (
        "README key map and help differ:\nnot in the README:\n  "
        + "\n  ".join(missing)
        + "\nnot in help:\n  "
        + "\n  ".join(extra)
        + "\ndifferent words:\n  "
        + "\n  ".join(differ)
    )


def test_the_parser_reads_sections_keys_and_words() -> None:
    text = (
        "intro\n## Key map\n\n### Everywhere\n\n| key | does |\n|---|---|\n"
        "| `q`, `^q` | Quit |\n\n### Other screens\n\nprose `x` here\n\n"
        "## Next\n| `z` | no |\n"
    )
    assert readme_key_map(text) == {("Everywhere", "q"): "Quit", ("Everywhere", "^q"): "Quit"}
