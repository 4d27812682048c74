"""The profile picker: which saved GitLab instance to connect to.

Profiles are local settings, but a URL may have been imported from someone's
``~/.python-gitlab.cfg``, so names and URLs are still shown as literal, sanitised text.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from console.sanitize import clean

__all__ = ["IMPORT", "NEW", "ProfilePickerScreen"]

NEW = "new"
IMPORT = "import"


class ProfilePickerScreen(Screen[Any]):
    """Dismisses with a profile, ``"new"``, ``"import"``, or ``None`` to quit."""

    BINDINGS = [
        Binding("enter", "choose", "Connect"),
        Binding("n", "new", "New connection"),
        Binding("i", "import_cfg", "Import python-gitlab.cfg"),
        Binding("escape", "quit_startup", "Quit", show=False),
    ]

    def __init__(self, profiles: list[Any], *, can_import: bool = False) -> None:
        super().__init__(classes="startup-screen")
        self._profiles = profiles
        self._can_import = can_import

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Text("Connect to which GitLab?", style="bold"), classes="dialog-title")
            options = [
                Option(self._label(profile), id=f"profile-{n}")
                for n, profile in enumerate(self._profiles)
            ]
            options.append(Option(Text("New connection…"), id=NEW))
            if self._can_import:
                options.append(Option(Text("Import from ~/.python-gitlab.cfg…"), id=IMPORT))
            yield OptionList(*options, id="profile-list")
            keys = "enter: connect   n: new   escape: quit"
            if self._can_import:
                keys = "enter: connect   n: new   i: import   escape: quit"
            yield Static(Text(keys), classes="dialog-hint")

    @staticmethod
    def _label(profile: Any) -> Text:
        label = Text(clean(profile.name, kind="line", max_cells=24).text, style="bold")
        label.append("  ")
        label.append(clean(profile.url, kind="line", max_cells=48).text)
        return label

    def on_mount(self) -> None:
        options = self.query_one("#profile-list", OptionList)
        options.highlighted = 0
        options.focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "import_cfg":
            return self._can_import
        return True

    @on(OptionList.OptionSelected, "#profile-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self._dismiss_option(event.option.id, event.option_index)

    def action_choose(self) -> None:
        options = self.query_one("#profile-list", OptionList)
        index = options.highlighted
        if index is not None:
            self._dismiss_option(options.get_option_at_index(index).id, index)

    def _dismiss_option(self, option_id: str | None, index: int) -> None:
        if option_id in (NEW, IMPORT):
            self.dismiss(option_id)
        else:
            self.dismiss(self._profiles[index])

    def action_new(self) -> None:
        self.dismiss(NEW)

    def action_import_cfg(self) -> None:
        self.dismiss(IMPORT)

    def action_quit_startup(self) -> None:
        self.dismiss(None)
