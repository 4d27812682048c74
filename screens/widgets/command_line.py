"""The ``:`` command line of the main screen (k9s and vi style): ``:users``, ``:audit``,
``:creds``, ``:runbook``, ``:journal``, ``:export``, ``:timeline``, ``:help``, ``:q``, and the
audit pane's filters with an argument (``:ip 203.0.113.66``, ``:scope group 3``, ``:since …``).

It is a pre-mounted, hidden ``Input`` that the screen shows and focuses synchronously, so a
burst such as ``:audit`` + enter lands in it whole (``screens.key_gate`` keeps the order).
Enter runs the command, escape closes the line; neither ever quits by accident.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Input

__all__ = ["COMMANDS", "Command", "CommandLine", "command_argument", "parse_command"]


@dataclass(frozen=True)
class Command:
    """One command: its names (the first is the one shown), the action it runs, its help."""

    names: tuple[str, ...]
    action: str
    description: str


COMMANDS: tuple[Command, ...] = (
    Command(("users", "1"), "app.switch_pane('users')", "the Users pane"),
    Command(("audit", "2"), "app.switch_pane('audit')", "the Audit events pane"),
    Command(
        ("creds", "credentials", "3"), "app.switch_pane('credentials')", "the Credentials pane"
    ),
    Command(("runbook", "4"), "app.switch_pane('runbook')", "the Runbook pane"),
    Command(("journal", "5"), "app.switch_pane('journal')", "the Journal pane"),
    Command(("export",), "screen.export_bundle", "export the incident for hand-off"),
    Command(("timeline",), "screen.show_timeline", "events, actions and notes in order"),
    Command(("leaked",), "screen.leaked_token", "identify a leaked token (pasted, never stored)"),
    Command(("coverage",), "screen.show_coverage", "what this token can and cannot see"),
    Command(("incident",), "screen.edit_incident", "edit the incident"),
    Command(("reconnect",), "app.reconnect", "after an offline resume, try GitLab again"),
    Command(
        ("scope",), "screen.audit_filter", "audit events of: instance, group <id>, project <id>"
    ),
    Command(("author",), "screen.audit_filter", "audit events by an author (name or id)"),
    Command(("ip",), "screen.audit_filter", "audit events from an IP address"),
    Command(("event",), "screen.audit_filter", "audit events of one type name"),
    Command(("entity",), "screen.audit_filter", "audit events of: user|group|project <id>"),
    Command(("target",), "screen.audit_filter", "audit events about: <type> <id>"),
    Command(("since",), "screen.audit_filter", "audit events from a date or time on"),
    Command(("until",), "screen.audit_filter", "audit events up to a date or time"),
    Command(("help", "h"), "app.help", "every key"),
    Command(("q", "quit"), "app.quit", "quit"),
)


def command_argument(text: str) -> str:
    """What follows the command word (``:ip 203.0.113.66`` → ``203.0.113.66``)."""
    return text.strip().lstrip(":").strip().partition(" ")[2].strip()


def parse_command(text: str) -> Command | None:
    """The command ``text`` names (a leading ``:``, spaces and any argument are ignored)."""
    word = text.strip().lstrip(":").strip().partition(" ")[0].lower()
    if not word:
        return None
    for command in COMMANDS:
        if word in command.names:
            return command
    matches = [c for c in COMMANDS if any(n.startswith(word) for n in c.names)]
    return matches[0] if len(matches) == 1 else None


class CommandLine(Input):
    """``:`` then a command and enter; escape closes."""

    DEFAULT_CSS = """
    CommandLine {
        dock: bottom;
        height: 1;
        border: none;
        padding: 0 1;
    }
    CommandLine:focus { border: none; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "run", "Run command"),
        Binding("escape", "close", "Close the command line"),
    ]

    class Closed(Message):
        """The line was closed; ``command`` is what to run (None: nothing)."""

        def __init__(self, text: str | None) -> None:
            super().__init__()
            self.text = text

    def action_run(self) -> None:
        self.post_message(self.Closed(self.value))

    def action_close(self) -> None:
        self.post_message(self.Closed(None))
