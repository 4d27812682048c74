"""Every key the screens define says what it does (footer and help read the description),
and the review keys of the users pane and the dossier agree."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from textual.binding import Binding
from textual.dom import DOMNode

import screens


def _classes() -> list[type[DOMNode]]:
    found: dict[str, type[DOMNode]] = {}
    for info in pkgutil.walk_packages(screens.__path__, "screens."):
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, DOMNode) and cls.__module__.startswith("screens."):
                found[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return list(found.values())


def test_every_binding_in_screens_has_a_description() -> None:
    classes = _classes()
    assert len(classes) > 20
    missing = [
        f"{cls.__module__}.{cls.__qualname__}: {b.key}"
        for cls in classes
        for b in cls.__dict__.get("BINDINGS", [])
        if isinstance(b, Binding) and not b.description.strip()
    ]
    assert not missing, missing


def test_review_keys_mean_the_same_in_the_users_pane_and_the_dossier() -> None:
    from screens.dossier import DossierScreen
    from screens.panes.users import UsersPane

    def keys(cls: type[DOMNode]) -> dict[str, str]:
        return {b.key: b.action for b in cls.BINDINGS if isinstance(b, Binding)}

    pane, dossier = keys(UsersPane), keys(DossierScreen)
    for key in ("c", "f", "C", "F"):
        assert pane[key] == dossier[key], key
    assert pane["c"] == "mark('cleared')" and pane["C"] == "mark_with_note('cleared')"
    # L is "flagged" (F flags with a note): no quick-filter key may shadow a review key.
    from screens.panes.users.view import QUICK_FILTERS

    assert not {f.key for f in QUICK_FILTERS} & {"c", "f", "n", "C", "F", "N"}
