"""What a plan's confirmation must be (issue 10.5): a word that stray keys cannot type.

* a destructive action on root or on an administrator: the target's username (every such
  target's, in plan order, when there are several);
* more than :data:`COUNT_ABOVE` targets: the count;
* otherwise ``y``.

The console's own token has its own confirmation (:func:`own_token_confirmation`), and the
Contain playbook is always confirmed with the account's username. A typed word is matched
exactly (case and all; surrounding spaces ignored) and only as the whole submitted text of an
input that appeared with the plan, so keys meant for the list (``y`` copies, digits switch
panes) can never confirm it: :meth:`Confirmation.accepts` refuses a submission that contains
anything typed before the confirmation was shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from actions.model import Action, Plan, Target

__all__ = [
    "COUNT_ABOVE",
    "Confirmation",
    "confirmation_for",
    "is_destructive",
    "is_privileged",
    "own_token_confirmation",
    "typed_word_for",
]

COUNT_ABOVE: Final = 10
#: changes that remove nothing and lock nobody out: a single key is enough even on root
_HARMLESS: Final = frozenset({"add_note"})
#: usernames shorter than this are confirmed with the id too (``a`` or ``y`` are keys)
_MIN_WORD: Final = 3


@dataclass(frozen=True, slots=True)
class Confirmation:
    """``word`` is what the responder types; ``why`` says why it is that word."""

    word: str
    why: str

    @property
    def typed(self) -> bool:
        """True when more than one key is needed (an input box, not a single ``y``)."""
        return self.word != "y"

    def accepts(self, submitted: str, *, typed_before_shown: str = "") -> bool:
        """The whole submission equals the word, and none of it was typed before the
        confirmation appeared (``typed_before_shown``: keys the screen saw before its input
        was visible; a burst that started earlier never confirms)."""
        if typed_before_shown:
            return False
        return submitted.strip() == self.word

    def refusal(self, submitted: str) -> str:
        """The sentence journaled and shown when a submission does not match."""
        shown = submitted.strip()
        if not shown:
            return f"nothing typed; type {self.word} to confirm"
        return f"typed text does not match; type {self.word} to confirm ({self.why})"


def is_destructive(action: Action) -> bool:
    """Changes GitLab in a way that removes access or a credential (everything but a note)."""
    return bool(action.mutating) and action.name not in _HARMLESS


def is_privileged(target: Target) -> bool:
    """Root or an administrator (the plan's ``admin`` flag, or the cached ``is_admin``)."""
    if target.kind != "user":
        return False
    info_admin = bool(target.info.get("is_admin")) if target.info else False
    return target.label == "root" or "admin" in target.flags or info_admin


def typed_word_for(target: Target) -> str:
    """The displayed username; with the id when it is too short to be safe from stray keys."""
    name = target.safe_label
    if len(name) < _MIN_WORD or not name.strip():
        return f"{name}#{target.id}"
    return name


def confirmation_for(plan: Plan) -> Confirmation:
    """The confirmation ``plan`` needs (see the module docstring for the rule)."""
    n = len(plan.targets)
    privileged = [t for t in plan.targets if is_privileged(t)]
    if n > COUNT_ABOVE:
        return Confirmation(str(n), f"more than {COUNT_ABOVE} targets: type the count")
    if privileged and is_destructive(plan.action):
        words = " ".join(typed_word_for(t) for t in privileged)
        who = "root or an administrator" if len(privileged) == 1 else "administrators"
        return Confirmation(
            words,
            f"a destructive action on {who}: type the username"
            f"{'' if len(privileged) == 1 else 's'}",
        )
    return Confirmation("y", "no administrator and at most 10 targets: one key is enough")


def own_token_confirmation() -> Confirmation:
    """Rotating the console's own token is confirmed on its own, last, with its own word."""
    return Confirmation(
        "rotate",
        "the console's own token: type rotate (it reconnects with the "
        "new value, which is never shown)",
    )
