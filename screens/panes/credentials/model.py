"""The credentials pane's rows: kinds, flags, columns, cells, sort, the view, the detail parts.

Pure functions of a ``Credential`` (and its review mark): every server string goes through
``safe_cell``/``field_line``.  ``CredentialsView`` is the pane's frozen view model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from rich.console import RenderableType
from rich.text import Text
from textual.binding import Binding

from console.audit import parse_time
from console.inventory import (
    KIND_LABELS,
    KIND_ORDER,
    URGENT_FLAGS,
    URGENT_PREFIXES,
    Credential,
    is_urgent,
)
from console.sanitize import clean
from console.store import CredentialQuery, Mark
from screens.modals.detail import field_line
from screens.panes.base import detail_text
from screens.safe import WARN_STYLE, safe_cell
from screens.widgets.virtual_table import CellRow, Column

__all__ = [
    "COLUMNS",
    "KIND_GROUPS",
    "SORT_KEYS",
    "URGENT_FLAGS",
    "CredentialsView",
    "credential_cells",
    "credential_detail_parts",
    "flags_cell",
    "flags_explanation",
    "mark_cell",
    "select_rows",
]

CACHE_KEY = "inventory"
STATE_KEY = "credentials"
OBJECT_TYPE = "credential"

# Personal-access-token rows the token actions (revoke, rotate) apply to.
TOKEN_KINDS = frozenset({"pat", "impersonation", "bot_token", "service_token"})
# Kinds that can carry an expiry date: no date means it never expires.
EXPIRING_KINDS = TOKEN_KINDS | {"deploy_token", "deploy_key"}
# Quick filter key → (label, kinds). Avoids the app's keys, the main screen's v and i, and c/f
# (marks).
KIND_GROUPS: dict[str, tuple[str, frozenset[str]]] = {
    "tokens": ("Tokens", TOKEN_KINDS),
    "deploy": ("Deploy keys/tokens", frozenset({"deploy_key", "deploy_token"})),
    "runners": ("Runners", frozenset({"runner"})),
    "variables": (
        "CI/CD variables",
        frozenset({"instance_variable", "group_variable", "project_variable"}),
    ),
    "hooks": ("Hooks", frozenset({"system_hook", "group_hook", "project_hook"})),
    "keys": ("SSH/GPG keys", frozenset({"ssh_key", "gpg_key"})),
}
#: The help screen lists the filter keys as their own section under this title.
FILTER_GROUP = Binding.Group("filters (a key toggles, 0 shows all kinds)")
GROUP_KEYS: tuple[tuple[str, str], ...] = (
    ("t", "tokens"),
    ("d", "deploy"),
    ("n", "runners"),
    ("e", "variables"),
    ("h", "hooks"),
    ("p", "keys"),
)

SORT_KEYS: tuple[str, ...] = ("kind", "name", "owner", "created", "last_used", "expires", "flags")

# At 80 columns the table shows mark, kind, name, owner, expiry and flags (what a responder
# triages on); last use, scopes and creation date appear as the terminal widens (lowest
# priority number first). The detail modal (enter) always has every field.
COLUMNS: tuple[Column, ...] = (
    Column("mark", "", 1),
    Column("kind", "Kind", 12),
    Column("name", "Name", 14, flex=2),
    Column("owner", "Owner", 11, priority=1, flex=1),
    Column("scopes", "Scopes", 14, priority=3, flex=1),
    Column("created", "Created", 10, priority=4),
    Column("last_used", "Last used", 10, priority=2),
    Column("expires", "Expires", 10),
    Column("flags", "Flags", 16, flex=4),
    Column("sheet", "Sheet", 7, priority=1),
)

# Shorter words for the table's Flags cell (the detail modal and search use the full ones).
SHORT_FLAG: dict[str, str] = {
    "created in incident window": "new in window",
    "used in incident window": "used in window",
    "contacted in incident window": "seen in window",
    "never expires": "no expiry",
    "protected variable": "protected",
    "TLS verification off": "no TLS verify",
    "credentials in URL": "creds in URL",
    "no secret token": "no secret",
}

SHORT_KIND: dict[str, str] = {
    "pat": "PAT",
    "impersonation": "impersonate",
    "bot_token": "bot token",
    "service_token": "service tok",
    "deploy_key": "deploy key",
    "deploy_token": "deploy token",
    "runner": "runner",
    "instance_variable": "inst. var",
    "group_variable": "group var",
    "project_variable": "project var",
    "system_hook": "system hook",
    "group_hook": "group hook",
    "project_hook": "project hook",
    "ssh_key": "SSH key",
    "gpg_key": "GPG key",
}


def date_cell(value: str | None) -> str:
    when = parse_time(value)
    return when.strftime("%Y-%m-%d") if when else (value or "")


def _sort_value(row: Credential, key: str) -> tuple[Any, ...]:
    if key == "kind":
        rank = KIND_ORDER.index(row.kind) if row.kind in KIND_ORDER else len(KIND_ORDER)
        return (rank, row.owner.casefold(), row.name.casefold())
    if key == "name":
        return (row.name.casefold(), str(row.id))
    if key == "owner":
        return (row.owner.casefold(), row.name.casefold())
    if key == "flags":
        return (sum(1 for f in row.flags if is_urgent(f)), len(row.flags), row.name.casefold())
    value = {
        "created": row.created_at,
        "last_used": row.last_used_at,
        "expires": row.expires_at,
    }.get(key)
    when = parse_time(value)
    return (when is not None, when or datetime.min.replace(tzinfo=UTC))


def credential_detail_parts(row: Credential, mark: Mark | None) -> list[RenderableType]:
    parts: list[RenderableType] = [
        field_line("Kind", KIND_LABELS.get(row.kind, row.kind)),
        field_line("Name", row.name),
        field_line("Id", row.id),
        field_line("Owner", f"{row.owner_type} {row.owner}".strip()),
        field_line("State", row.state),
        field_line("Scopes", ", ".join(row.scopes)),
        field_line("Created", row.created_at),
        field_line("Last used", row.last_used_at),
        field_line("Expires", row.expires_at or ("never" if row.kind in EXPIRING_KINDS else "")),
    ]
    if row.protected is not None:
        parts.append(field_line("Protected", "yes" if row.protected else "no"))
    for key, value in sorted(row.extra.items()):
        parts.append(field_line(key.replace("_", " ").capitalize(), value, kind="text"))
    parts.append(Text(""))
    if row.flags:
        parts.append(Text("Flags:", style=WARN_STYLE))
        for flag in row.flags:
            parts.append(Text.assemble("  ⚠ ", clean(flag, kind="line").text))
    parts.append(field_line("To rotate", row.rotate_hint, kind="text"))
    if mark is not None and mark.mark:
        parts.append(field_line("Review mark", f"{mark.mark} ({mark.updated_at})"))
    parts.append(Text("c marks it cleared (rotated/reviewed), f flags it.", style="dim"))
    return parts


@dataclass(frozen=True, slots=True)
class CredentialsView:
    """What the credentials table shows: kind groups, urgency, review state, search and sort."""

    groups: frozenset[str] = frozenset()
    search: str = ""
    sort: str = "kind"
    descending: bool = False
    only_warnings: bool = False
    only_unreviewed: bool = False
    only_crosslinked: bool = False
    #: only these rows (everything a user could see, chosen from the dossier); not saved
    keys: frozenset[str] = field(default=frozenset(), compare=False)
    keys_label: str = field(default="", compare=False)
    marks: Mapping[str, Mark] = field(default_factory=dict, compare=False)
    """The review marks (``only_unreviewed`` and search read them; not saved)."""

    def kinds(self) -> frozenset[str]:
        out: set[str] = set()
        for g in self.groups:
            out |= KIND_GROUPS[g][1]
        return frozenset(out)

    def query(self) -> CredentialQuery:
        """The view as a store query (filters, search and sort run in SQL)."""
        return CredentialQuery(
            search=self.search, kinds=self.kinds(), unreviewed=self.only_unreviewed,
            urgent=self.only_warnings,
            flag_prefixes=frozenset(URGENT_PREFIXES) if self.only_crosslinked else frozenset(),
            keys=self.keys, sort=self.sort, descending=self.descending,
        )  # fmt: skip

    def matches(self, row: Credential) -> bool:
        kinds = self.kinds()
        if kinds and row.kind not in kinds:
            return False
        if self.keys and row.key not in self.keys:
            return False
        if self.only_crosslinked and not any(f.startswith(URGENT_PREFIXES) for f in row.flags):
            return False
        if self.only_warnings and not any(is_urgent(f) for f in row.flags):
            return False
        mark = self.marks.get(row.key)
        if self.only_unreviewed and mark is not None and mark.mark:
            return False
        if self.search:
            hay = " ".join(
                (
                    row.kind,
                    KIND_LABELS.get(row.kind, ""),
                    row.name,
                    row.owner,
                    row.state,
                    " ".join(row.scopes),
                    " ".join(row.flags),
                    str(row.id),
                    " ".join(row.extra.values()),
                    mark.mark or "" if mark else "",
                )
            ).casefold()
            if not all(term in hay for term in self.search.casefold().split()):
                return False
        return True

    def to_state(self) -> dict[str, Any]:
        return {
            "groups": sorted(self.groups),
            "search": self.search,
            "sort": self.sort,
            "descending": self.descending,
            "only_warnings": self.only_warnings,
            "only_unreviewed": self.only_unreviewed,
            "only_crosslinked": self.only_crosslinked,
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any], marks: Mapping[str, Mark]) -> CredentialsView:
        sort = state.get("sort")
        return cls(
            groups=frozenset(g for g in state.get("groups") or () if g in KIND_GROUPS),
            search=str(state.get("search") or ""),
            sort=sort if isinstance(sort, str) and sort in SORT_KEYS else "kind",
            descending=bool(state.get("descending")),
            only_warnings=bool(state.get("only_warnings")),
            only_unreviewed=bool(state.get("only_unreviewed")),
            only_crosslinked=bool(state.get("only_crosslinked")),
            marks=marks,
        )


def select_rows(rows: Sequence[Credential], view: CredentialsView) -> list[Credential]:
    shown = [r for r in rows if view.matches(r)]
    shown.sort(key=lambda r: _sort_value(r, view.sort), reverse=view.descending)
    return shown


def flags_cell(r: Credential) -> Text:
    flags = Text(end="", no_wrap=True, overflow="ellipsis")
    # Urgent flags first: a narrow Flags column must still show the one that matters.
    ordered = sorted(r.flags, key=lambda flag: not is_urgent(flag))
    for i, flag in enumerate(ordered):
        if i:
            flags.append(", ")
        # Cross-link reasons name a user or an IP from the server: sanitised like any cell.
        piece = safe_cell(SHORT_FLAG.get(flag, flag), max_cells=80)
        piece.stylize("bold red" if is_urgent(flag) else "yellow")
        flags.append_text(piece)
    return flags


def mark_cell(mark: Mark | None) -> Text:
    if mark is None or not mark.mark:
        return Text("", end="")
    if mark.mark == "cleared":
        return Text("✓", style="bold green", end="")
    return Text("⚑", style="bold red", end="")


def credential_cells(r: Credential, mark: Mark | None, outcome: str = "") -> CellRow:
    """One cell per column of ``COLUMNS`` (the table shows those that fit)."""
    if r.expires_at or r.kind not in EXPIRING_KINDS:
        expires = safe_cell(date_cell(r.expires_at), max_cells=20, empty="")
    else:
        expires = Text("never", style="yellow", end="")
    state = "" if r.state in ("active", "online", "masked", "plain", "") else f" ({r.state})"
    return {
        "mark": mark_cell(mark),
        "kind": Text(SHORT_KIND.get(r.kind, r.kind), end="", no_wrap=True),
        "name": safe_cell(r.name + state, max_cells=48),
        "owner": safe_cell(r.owner, max_cells=40),
        "scopes": safe_cell(r.extra.get("fingerprint") or ", ".join(r.scopes), max_cells=60),
        # _date returns the raw server value when it is not a timestamp: sanitise it.
        "created": safe_cell(date_cell(r.created_at), max_cells=20, empty=""),
        "last_used": safe_cell(date_cell(r.last_used_at), max_cells=20, empty=""),
        "expires": expires,
        "flags": flags_cell(r),
        "sheet": Text(
            outcome,
            end="",
            no_wrap=True,
            style="bold red" if outcome in ("FAILED", "refused") else "green",
        ),
    }


def flags_explanation(row: Credential) -> Text:
    """Every flag of the row in full words, urgent first (the line under the table)."""
    ordered = sorted(row.flags, key=lambda flag: not is_urgent(flag))
    text = detail_text("Flags", ", ".join(ordered) if ordered else "none")
    if row.extra.get("fingerprint"):
        text.append("  ")
        text.append_text(detail_text("Fingerprint", row.extra["fingerprint"]))
    return text
