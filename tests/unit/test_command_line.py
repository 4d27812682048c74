"""The ``:`` command line's words (screens/widgets/command_line.py)."""

from __future__ import annotations

import pytest

from screens.widgets.command_line import parse_command


@pytest.mark.parametrize(
    ("text", "action"),
    [
        ("users", "app.switch_pane('users')"),
        (":audit", "app.switch_pane('audit')"),
        ("  creds ", "app.switch_pane('credentials')"),
        ("credentials", "app.switch_pane('credentials')"),
        ("cr", "app.switch_pane('credentials')"),  # a unique prefix is enough
        ("export", "screen.export_bundle"),
        ("journal", "app.switch_pane('journal')"),
        ("help", "app.help"),
        ("q", "app.quit"),
        ("QUIT", "app.quit"),
    ],
)
def test_commands(text: str, action: str) -> None:
    command = parse_command(text)
    assert command is not None and command.action == action


@pytest.mark.parametrize("text", ["", ":", "zz", "c"])  # "c": creds or coverage, ambiguous
def test_unknown_or_ambiguous_runs_nothing(text: str) -> None:
    assert parse_command(text) is None
