"""The read-only detail modal of an audit event or a credential, and its sanitising helpers.

Every part is pre-built literal ``Text``: JSON details have every string (keys too) sanitised,
and the strings that made a value suspicious are listed with their code points named.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from rich.console import Group, RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from console.sanitize import Kind, clean, describe_codepoints, flag_labels
from screens.safe import WARN_STYLE, safe_text

__all__ = ["DetailModal", "codepoint_report", "field_line", "sanitize_json"]


def sanitize_json(value: Any, path: str = "", found: list[tuple[str, Any]] | None = None) -> Any:
    """Copy ``value`` with every string (keys too) sanitised; note flagged strings in ``found``."""
    if isinstance(value, str):
        c = clean(value, kind="text")
        if found is not None and c.flagged:
            found.append((path or "(value)", value))
        return c.text
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, v in value.items():
            key = sanitize_json(str(k), f"{path}.{k}" if path else str(k), found)
            out[key] = sanitize_json(v, f"{path}.{k}" if path else str(k), found)
        return out
    if isinstance(value, (list, tuple)):
        return [sanitize_json(v, f"{path}[{i}]", found) for i, v in enumerate(value)]
    return value


def codepoint_report(found: Iterable[tuple[str, Any]], limit: int = 12) -> list[Text]:
    """For each flagged string: its path, what was flagged and the suspicious code points."""
    lines: list[Text] = []
    for path, raw in found:
        c = clean(raw, kind="text")
        label = ", ".join(flag_labels(c.flags - {"truncated"}))
        lines.append(
            Text.assemble(
                ("⚠ ", WARN_STYLE), (clean(path, kind="line").text, "bold"), f": {label}", end=""
            )
        )
        odd = [ch for ch in dict.fromkeys(str(raw)) if not (ch.isascii() and ch.isprintable())]
        for line in describe_codepoints("".join(odd), limit=limit):
            lines.append(Text(f"    {line}", style="dim", end=""))
    return lines


class DetailModal(ModalScreen[None]):
    """A scrollable, read-only detail view; every part is pre-built literal ``Text``."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss_modal", "Close"),
        Binding("q", "dismiss_modal", "Close", show=False),
        Binding("enter", "dismiss_modal", "Close", show=False),
    ]

    def __init__(self, title: str, parts: list[RenderableType]) -> None:
        super().__init__(classes="detail-modal")
        self._title = title
        for part in parts:
            if isinstance(part, Text):
                part.end = "\n"  # one part per line
        self._parts = parts

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="detail-body") as body:
            # Border titles parse a str as markup; the title can carry a server id (a CI
            # variable key), so it is always literal Content.
            body.border_title = Content(clean(self._title, kind="line").text)
            body.border_subtitle = "escape closes"
            yield Static(Group(*self._parts), id="detail-content")

    def on_mount(self) -> None:
        self.query_one("#detail-body").focus()

    def action_dismiss_modal(self) -> None:
        self.dismiss(None)


def field_line(label: str, value: object, *, kind: Kind = "line") -> Text:
    """``label: value`` with the value sanitised (``—`` when empty)."""
    text = Text(f"{label}: ", style="bold", end="")
    text.append_text(safe_text(value, kind=kind))
    return text
