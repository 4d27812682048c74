"""A text box whose enter confirms a response action (a typed name or count).

Its enter is bound to its own action, ``confirm_submit``, which the app lists among the key
gate's ``GUARDED_ACTIONS``: a paste of the name and enter in one burst fills the box but does
not confirm; enter pressed on its own does. Every other text box (search, commands, forms)
keeps Textual's plain ``submit``, so ``:q`` and enter typed quickly still work.
"""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.widgets import Input

__all__ = ["ConfirmInput"]


class ConfirmInput(Input):
    """An ``Input`` for typed confirmations (see the module docstring)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "confirm_submit", "Confirm", show=False)
    ]

    async def action_confirm_submit(self) -> None:
        """Enter, pressed on its own: submit what was typed."""
        await self.action_submit()
