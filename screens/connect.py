"""Startup screens: the "connecting…" status, the connect form, the keyring notice and failures.

None of these do I/O. The app runs each step in a worker and pushes these to show progress or to
ask; each returns what the responder chose through ``dismiss``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Checkbox, Input, Label, LoadingIndicator, Static

from console import __version__
from console.profiles import valid_name
from console.sanitize import clean
from console.secret import Secret

__all__ = [
    "BACK",
    "ConnectFormScreen",
    "ConnectRequest",
    "ConnectingScreen",
    "KeyringNoticeScreen",
    "ProblemScreen",
    "TokenInput",
]


BACK = "back"
"""What the connect form dismisses with when escape goes back to the profile picker."""


@dataclass(frozen=True)
class ConnectRequest:
    """What the connect form collected. The token is a :class:`Secret` from the moment it leaves
    the Input, so it never shows up in a repr or a log line."""

    name: str
    url: str
    token: Secret
    ca_bundle: str | None
    remember: bool


class TokenInput(Input):
    """The masked token field. Copy and cut are refused: Textual's Input would write the
    selection to the terminal clipboard (OSC 52), where clipboard managers and tmux keep it."""

    def action_copy(self) -> None:
        self.notify("The token is never copied to the clipboard.", markup=False)

    def action_cut(self) -> None:
        self.action_copy()


class ConnectingScreen(Screen[None]):
    """The bottom screen while starting: one line saying what is happening right now.

    Keys typed here wait for the main screen (``screens.key_gate``): a responder who types
    ``/alice`` before the list appears gets the search they typed.
    """

    def __init__(self) -> None:
        super().__init__()
        self._step = "Starting…"

    def typeahead(self) -> str:
        """Keys typed while starting wait for the main screen."""
        return "hold"

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="connecting-box"):
            yield Static(
                Text(f"GitLab Incident Console {__version__}", style="bold"),
                classes="dialog-title",
            )
            yield Static(Text(self._step), id="connecting-step")
            yield LoadingIndicator(id="connecting-spinner")

    @property
    def step(self) -> str:
        return self._step

    def set_step(self, text: str) -> None:
        """Show the current step (our own wording; cleaned anyway). Safe before mounting."""
        self._step = clean(text, kind="line").text
        if self.is_mounted:
            self.query_one("#connecting-step", Static).update(Text(self._step))


class ConnectFormScreen(Screen[Any]):
    """Name, URL, token (masked) and CA bundle. Dismisses with a :class:`ConnectRequest`,
    ``"import"``, :data:`BACK` or ``None`` (quit, ctrl+q only).

    Escape is "back" as on every form: to the profile picker when the form came from it, and
    otherwise it only says how to quit; a stray escape never ends the console.
    """

    BINDINGS = [
        Binding("ctrl+s", "submit", "Connect"),
        Binding("ctrl+o", "import_cfg", "Import python-gitlab.cfg"),
        Binding("escape", "back", "Back"),
        Binding("ctrl+q", "quit_startup", "Quit"),
    ]

    def __init__(
        self,
        *,
        name: str = "",
        url: str = "",
        ca_bundle: str | None = None,
        token: Secret | None = None,
        storage_note: str = "",
        can_import: bool = False,
        token_only: bool = False,
        can_remember: bool = True,
        message: str = "",
        can_go_back: bool = False,
    ) -> None:
        """Prefill the form.

        Args:
            storage_note: Where the token will be kept (keyring backend or memory only).
            can_import: ``~/.python-gitlab.cfg`` exists, so offer ctrl+o.
            token_only: The profile is known and only its token is missing.
            can_remember: A keyring can store the token, so offer "Remember this token".
            message: Why the form is shown again (e.g. the last failure), shown literally.
            can_go_back: Opened from the profile picker, so escape returns there.
        """
        super().__init__(classes="startup-screen")
        self._can_go_back = can_go_back
        self._prefill = (name, url, ca_bundle or "", token)
        self._storage_note = storage_note
        self._can_import = can_import
        self._token_only = token_only
        self._can_remember = can_remember
        self._message = message

    def compose(self) -> ComposeResult:
        name, url, ca_bundle, token = self._prefill
        title = "Token needed" if self._token_only else "Connect to GitLab"
        with Vertical(classes="dialog", id="connect-box"):
            yield Static(Text(title, style="bold"), classes="dialog-title")
            if self._message:
                yield Static(Text(clean(self._message).text), classes="dialog-error")
            yield from self._row("Profile", Input(name, placeholder="e.g. prod", id="connect-name"))
            yield from self._row(
                "GitLab URL", Input(url, placeholder="https://gitlab.example.com", id="connect-url")
            )
            yield from self._row(
                "Token",
                TokenInput(
                    token.reveal() if token else "",
                    placeholder="personal access token (admin, api scope)",
                    password=True,
                    id="connect-token",
                ),
            )
            yield from self._row(
                "CA bundle", Input(ca_bundle, placeholder="optional PEM path", id="connect-ca")
            )
            if self._can_remember:
                yield Checkbox("Remember this token", value=True, id="connect-remember")
            if self._storage_note:
                yield Static(Text(self._storage_note), classes="dialog-note")
            yield Static("", id="connect-error", classes="dialog-error")
            keys = "enter: connect   tab: next field   " + (
                "escape: back   ctrl+q: quit" if self._can_go_back else "ctrl+q: quit"
            )
            if self._can_import:
                keys += "   ctrl+o: import ~/.python-gitlab.cfg"
            yield Static(Text(keys), classes="dialog-hint")

    @staticmethod
    def _row(label: str, field: Input) -> ComposeResult:
        field.compact = True
        with Horizontal(classes="form-row"):
            yield Label(label, classes="form-label", markup=False)
            yield field

    def on_mount(self) -> None:
        if self._token_only:
            for field_id in ("#connect-name", "#connect-url", "#connect-ca"):
                self.query_one(field_id, Input).disabled = True
        # The first empty *required* field, else the token: after "Token rejected" the
        # responder types a new token, and the optional CA bundle (usually empty) must not
        # catch it. Focusing selects the old value, so typing replaces it.
        required = [self.query_one(f"#connect-{name}", Input) for name in ("url", "token")]
        first_empty = next((i for i in required if not i.disabled and not i.value), None)
        (first_empty or self.query_one("#connect-token", Input)).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "import_cfg":
            return self._can_import
        return True

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_submit()

    def action_submit(self) -> None:
        name = self.query_one("#connect-name", Input).value.strip()
        url = self.query_one("#connect-url", Input).value.strip()
        token = self.query_one("#connect-token", Input).value.strip()
        ca_bundle = self.query_one("#connect-ca", Input).value.strip() or None
        missing = [
            (label, field_id)
            for label, field_id, value in (
                ("a URL", "#connect-url", url),
                ("a token", "#connect-token", token),
            )
            if not value
        ]
        if missing:
            label, field_id = missing[0]
            self.query_one("#connect-error", Static).update(Text(f"Please enter {label}."))
            self.query_one(field_id, Input).focus()
            return
        if not valid_name(name or "default"):
            self.query_one("#connect-error", Static).update(
                Text("Profile names use letters, digits, '.', '_' or '-' (up to 64).")
            )
            self.query_one("#connect-name", Input).focus()
            return
        remember = self._can_remember and self.query_one("#connect-remember", Checkbox).value
        self.dismiss(ConnectRequest(name or "default", url, Secret(token), ca_bundle, remember))

    def action_import_cfg(self) -> None:
        self.dismiss("import")

    def action_quit_startup(self) -> None:
        self.dismiss(None)

    def action_back(self) -> None:
        if self._can_go_back:
            self.dismiss(BACK)
        else:
            self.notify("Nothing to go back to. ctrl+q quits.", markup=False)


class KeyringNoticeScreen(ModalScreen[None]):
    """The one explanation of why the token will not be saved; shown once per run."""

    BINDINGS = [Binding("enter", "close", "Continue"), Binding("escape", "close", "Continue")]

    def __init__(self, explanation: str) -> None:
        super().__init__()
        self._explanation = explanation

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="keyring-box"):
            yield Static(Text("Token storage", style="bold"), classes="dialog-title")
            yield Static(Text(clean(self._explanation).text), classes="dialog-body")
            yield Static(
                Text("The token stays in memory for this session only. enter: continue"),
                classes="dialog-hint",
            )

    def action_close(self) -> None:
        self.dismiss(None)


class ProblemScreen(Screen[str]):
    """A failure explained (title, detail, next step); dismisses ``retry``, ``edit`` or ``quit``."""

    BINDINGS = [
        Binding("r", "choose('retry')", "Retry"),
        Binding("e", "choose('edit')", "Edit connection"),
        Binding("q", "choose('quit')", "Quit"),
    ]

    def __init__(self, problem: Any, *, can_edit: bool = True) -> None:
        super().__init__(classes="startup-screen")
        self._problem = problem
        self._can_edit = can_edit

    def compose(self) -> ComposeResult:
        p = self._problem
        with Vertical(classes="dialog", id="problem-box"):
            yield Static(Text(clean(p.title, kind="line").text), classes="problem-title")
            yield Static(Text(clean(p.detail).text), classes="dialog-body")
            if p.next_step:
                yield Static(Text("Next: " + clean(p.next_step).text), classes="dialog-body")
            keys = "r: retry   e: edit connection   q: quit"
            if not self._can_edit:
                keys = "r: retry   q: quit"
            yield Static(Text(keys), classes="dialog-hint")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "choose" and parameters == ("edit",):
            return self._can_edit
        return True

    def action_choose(self, choice: str) -> None:
        self.dismiss(choice)
