"""Rendering of the dossier's sections: Rich renderables built from ``Text`` cells only.

Every server value goes through ``screens.safe`` (a ``str`` cell in a Rich table would be parsed as
markup).  Kept apart from :mod:`screens.dossier` (the screen and its workers) so each module has
one job.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from console.sanitize import safe
from screens.safe import flag_summary, safe_text

if TYPE_CHECKING:
    from console.dossier import Section
    from console.problem import Problem
    from console.store import UserRow

__all__ = ["SECTION_TITLES", "local_header", "problem_text", "render_section", "risk_text"]


LIST_LIMIT: Final = 150
ACCESS_LEVELS: Final = {
    0: "none",
    5: "minimal",
    10: "guest",
    15: "planner",
    20: "reporter",
    30: "developer",
    40: "maintainer",
    50: "owner",
    60: "admin",
}


# --------------------------------------------------------------------------- value helpers


def _val(value: Any, *, kind: Any = "line", max_cells: int | None = 80) -> Text:
    if isinstance(value, bool):
        return Text("yes" if value else "no", style="bold" if value else "")
    if isinstance(value, list | tuple):
        if not value:
            return Text("—", style="dim")
        parts = [
            safe_text(_brief(v), kind=kind, max_cells=max_cells) for v in value
        ]
        return Text(", ").join(parts)
    if isinstance(value, Mapping):
        return safe_text(_brief(value), kind=kind, max_cells=max_cells)
    return safe_text(value, kind=kind, max_cells=max_cells)


_ISO_TS: Final = re.compile(
    r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(?::\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$"
)


def _when(value: Any) -> Text:
    """``2024-05-20T10:00:44.000Z`` → ``2024-05-20 10:00`` (UTC as GitLab sends it)."""
    if isinstance(value, str):
        match = _ISO_TS.match(value)
        if match:
            return Text(f"{match.group(1)} {match.group(2)}")
    return _val(value, max_cells=30)


def _brief(value: Any) -> str:
    if isinstance(value, Mapping):
        return " ".join(f"{k}={v}" for k, v in value.items() if v not in (None, "", [], {}))
    return "" if value is None else str(value)


def _access(value: Any) -> Text:
    try:
        level = int(value)
    except (TypeError, ValueError):
        return _val(value)
    name = ACCESS_LEVELS.get(level, str(level))
    return Text(name, style="bold red" if level >= 40 else "")


def _kv(rows: Iterable[tuple[str, Text]]) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column(overflow="fold")
    for label, value in rows:
        grid.add_row(Text(label), value)
    return grid


Getter = Callable[[Mapping[str, Any]], Text]


def _col(key: str, *, kind: Any = "line", max_cells: int = 40) -> Getter:
    return lambda item: _val(item.get(key), kind=kind, max_cells=max_cells)


def _ts(key: str) -> Getter:
    return lambda item: _when(item.get(key))


_SOURCE_TYPES: Final = {"Namespace": "group", "Group": "group", "Project": "project"}


def _source_type(item: Mapping[str, Any]) -> Text:
    value = item.get("source_type")
    short = _SOURCE_TYPES.get(str(value)) if value is not None else None
    return Text(short) if short else _val(value, max_cells=10)


def _token_cards(items: Sequence[Mapping[str, Any]]) -> RenderableType:
    """Tokens as two-line cards: too many fields for one 80-column table row."""
    lines: list[Text] = []
    for item in items[:LIST_LIMIT]:
        revoked = bool(item.get("revoked"))
        active = item.get("active")
        head = Text("#", style="bold")
        head.append_text(_val(item.get("id"), max_cells=12))
        head.append(" ")
        head.append_text(safe_text(item.get("name"), kind="line", max_cells=40, style="bold"))
        head.append("  ")
        head.append_text(_val(item.get("scopes"), max_cells=30))
        if revoked:
            head.append("  revoked", style="dim")
        elif active is False:
            head.append("  inactive", style="dim")
        else:
            head.append("  ACTIVE", style="bold yellow")
        head.append("  expires ", style="dim")
        head.append_text(_when(item.get("expires_at")))
        detail = Text("    created ", style="dim")
        detail.append_text(_when(item.get("created_at")))
        detail.append(" · last used ", style="dim")
        detail.append_text(_when(item.get("last_used_at")))
        ips = item.get("last_used_ips")
        if ips:
            detail.append(" from ", style="dim")
            detail.append_text(_val(ips, max_cells=40))
        lines += [head, detail]
    return Group(*lines)


def _list(items: Sequence[Mapping[str, Any]], columns: Sequence[tuple[str, Getter]]) -> Table:
    table = Table(box=None, show_header=True, header_style="bold", pad_edge=False, expand=True)
    for header, _ in columns:
        table.add_column(Text(header), overflow="fold")
    for item in items[:LIST_LIMIT]:
        table.add_row(*(get(item) for _, get in columns))
    return table


def _audit_cards(items: Sequence[Mapping[str, Any]]) -> RenderableType:
    """Audit events as two-line cards: who/when/where, then what happened."""
    lines: list[Text] = []
    for item in items[:LIST_LIMIT]:
        details = item.get("details")
        details = details if isinstance(details, Mapping) else {}
        head = _when(item.get("created_at"))
        head.stylize("bold")
        relation = item.get("relation")
        if relation:
            head.append("  ")
            head.append_text(safe_text(relation, kind="line", max_cells=10, style="cyan"))
        head.append("  by ", style="dim")
        head.append_text(_val(item.get("author_name") or item.get("author_id"), max_cells=30))
        ip = details.get("ip_address") or item.get("ip_address")
        if ip:
            head.append("  from ", style="dim")
            head.append_text(_val(ip, max_cells=40))
        what = Text("    ")
        message = details.get("custom_message") or item.get("event_name")
        what.append_text(_val(message or "(no message)", max_cells=120))
        if details.get("change"):
            what.append("  [", style="dim")
            what.append_text(_val(details.get("change"), max_cells=30))
            what.append(": ", style="dim")
            what.append_text(_val(details.get("from"), max_cells=30))
            what.append(" → ", style="dim")
            what.append_text(_val(details.get("to"), max_cells=30))
            what.append("]", style="dim")
        target = details.get("target_details")
        if target:
            what.append("  on ", style="dim")
            what.append_text(_val(target, max_cells=40))
        lines += [head, what]
    return Group(*lines)


_LIST_COLUMNS: Final[dict[str, list[tuple[str, Getter]]]] = {
    "emails": [("email", _col("email", max_cells=60)), ("confirmed", _ts("confirmed_at"))],
    "memberships": [
        ("type", _source_type),
        ("name", _col("source_name", max_cells=50)),
        ("id", _col("source_id", max_cells=10)),
        ("access", lambda m: _access(m.get("access_level"))),
    ],
    "ssh_keys": [
        ("id", _col("id", max_cells=8)),
        ("title", _col("title", max_cells=30)),
        ("created", _ts("created_at")),
        ("expires", _ts("expires_at")),
        ("usage", _col("usage_type", max_cells=16)),
        ("key", _col("key", max_cells=24)),
    ],
    "gpg_keys": [
        ("id", _col("id", max_cells=8)),
        ("created", _ts("created_at")),
        ("key", _col("key", max_cells=40)),
    ],
    "events": [
        ("when", _ts("created_at")),
        ("action", _col("action_name", max_cells=20)),
        ("target", _col("target_type", max_cells=16)),
        ("title", _col("target_title", max_cells=50)),
        ("project", _col("project_id", max_cells=10)),
    ],
}
SECTION_TITLES: Final = {
    "profile": "Profile and identities",
    "sign_in": "Sign-in",
    "emails": "Emails",
    "memberships": "Memberships",
    "tokens": "Personal access tokens",
    "impersonation_tokens": "Impersonation tokens",
    "ssh_keys": "SSH keys",
    "gpg_keys": "GPG keys",
    "blast_radius": "Blast radius (Maintainer+ namespaces; s selects them in Credentials)",
    "audit_events": "Audit events by or about the user",
    "events": "Recent contribution events",
}
_PROFILE_FIELDS: Final = (
    ("id", "id", "line"),
    ("username", "username", "username"),
    ("name", "name", "name"),
    ("state", "state", "line"),
    ("admin", "is_admin", "line"),
    ("bot", "bot", "line"),
    ("user type", "user_type", "line"),
    ("external", "external", "line"),
    ("locked", "locked", "line"),
    ("2FA", "two_factor_enabled", "line"),
    ("email", "email", "line"),
    ("public email", "public_email", "line"),
    ("created", "created_at", "line"),
    ("confirmed", "confirmed_at", "line"),
    ("created by", "created_by", "line"),
    ("note", "note", "text"),
)
_SIGN_IN_FIELDS: Final = (
    ("current sign-in", "current_sign_in_at"),
    ("current IP", "current_sign_in_ip"),
    ("previous sign-in", "last_sign_in_at"),
    ("previous IP", "last_sign_in_ip"),
    ("sign-in count", "sign_in_count"),
    ("last activity", "last_activity_on"),
)


def problem_text(problem: Problem | None) -> Text:
    text = Text("⚠ ", style="bold red")
    if problem is None:
        text.append("Failed", style="bold red")
        return text
    text.append_text(safe_text(problem.title, kind="line", style="bold red"))
    detail = problem.detail
    if detail:
        text.append(": ")
        text.append_text(safe_text(detail, kind="line", max_cells=300))
    step = problem.next_step
    if step:
        text.append("\n")
        text.append_text(safe_text(step, kind="line", max_cells=300, style="italic"))
    return text


def _profile(items: Mapping[str, Any]) -> RenderableType:
    rows = [
        (
            label,
            _when(items.get(key))
            if key.endswith("_at")
            else _val(items.get(key), kind=kind, max_cells=120),
        )
        for label, key, kind in _PROFILE_FIELDS
        if key in items
    ]
    for label, key in (("username", "username"), ("name", "name")):
        flags = flag_summary(items.get(key), kind="username" if key == "username" else "name")
        if flags is not None:
            rows.append((f"{label} flags", flags))
    parts: list[RenderableType] = [_kv(rows)]
    identities = items.get("identities")
    if isinstance(identities, list) and identities:
        parts.append(Text("Identities", style="bold"))
        parts.append(
            _list(
                identities,
                [
                    ("provider", _col("provider", max_cells=30)),
                    ("extern uid", _col("extern_uid", max_cells=60)),
                    ("SAML group", _col("saml_provider_id", max_cells=12)),
                ],
            )
        )
    else:
        parts.append(Text("No external identities", style="dim"))
    return Group(*parts)


def _sign_in(items: Mapping[str, Any]) -> RenderableType:
    return _kv(
        (label, _when(items.get(key)) if key.endswith("_at") else _val(items.get(key)))
        for label, key in _SIGN_IN_FIELDS
    )


def _blast(entries: Sequence[Mapping[str, Any]]) -> RenderableType:
    if not entries:
        return Text("No group or project where the user is Maintainer or Owner.", style="dim")
    table = Table(box=None, show_header=True, header_style="bold", pad_edge=False, expand=True)
    for header in ("type", "namespace", "access", "vars(prot)", "runners", "hooks", "tokens"):
        table.add_column(Text(header), overflow="fold")

    def count(entry: Mapping[str, Any], key: str) -> Text:
        value = entry.get(key)
        if value is None:
            return Text("?", style="yellow")
        return Text(str(len(value)))

    errors: list[Text] = []
    for entry in entries[:LIST_LIMIT]:
        variables = count(entry, "variables")
        variables.append(f" ({int(entry.get('protected_variables') or 0)})")
        tokens = len(entry.get("deploy_tokens") or []) + len(entry.get("access_tokens") or [])
        table.add_row(
            _source_type(entry),
            _val(entry.get("source_name"), max_cells=50),
            _access(entry.get("access_level")),
            variables,
            count(entry, "runners"),
            count(entry, "hooks"),
            Text(str(tokens)),
        )
        failed = entry.get("errors") or {}
        if failed:
            # One line per namespace: which lists failed, and the first reason.
            line = Text("? ", style="yellow")
            line.append_text(_val(entry.get("source_name"), max_cells=30))
            what = ", ".join(str(k) for k in failed)
            line.append(f": {what} unavailable — ", style="yellow")
            line.append_text(_val(next(iter(failed.values())), max_cells=120))
            errors.append(line)
    return Group(table, *errors)


def render_section(name: str, section: Section | None) -> RenderableType:
    """One dossier section as a Rich renderable built only from sanitised ``Text``."""
    if section is None:
        return Text("not fetched", style="dim")
    parts: list[RenderableType] = []
    if section.problem is not None:
        parts.append(problem_text(section.problem))
    items = section.items
    if name in ("profile", "sign_in") and isinstance(items, Mapping):
        parts.append(_profile(items) if name == "profile" else _sign_in(items))
    elif name == "blast_radius" and isinstance(items, list):
        parts.append(_blast(items))
    elif name in ("tokens", "impersonation_tokens") and isinstance(items, list) and items:
        parts.append(_token_cards(items))
    elif name == "audit_events" and isinstance(items, list) and items:
        parts.append(_audit_cards(items))
    elif isinstance(items, list):
        if not items:
            parts.append(Text("none", style="dim"))
        else:
            parts.append(_list(items, _LIST_COLUMNS.get(name, [("value", _val)])))
    elif isinstance(items, Mapping):
        parts.append(_kv((safe(k, kind="line", max_cells=40), _val(v)) for k, v in items.items()))
    if isinstance(items, list) and len(items) > LIST_LIMIT:
        parts.append(Text(f"… {len(items) - LIST_LIMIT} more not shown", style="dim italic"))
    if section.note:
        parts.append(safe_text(section.note, kind="line", style="dim italic"))
    return Group(*parts) if parts else Text("—", style="dim")


def local_header(user_id: int, row: UserRow | None) -> Text:
    text = Text(f"#{user_id} ", style="bold")
    if row is None:
        text.append("(not in the local cache)", style="dim")
        return text
    text.append("@", style="bold")
    text.append_text(safe_text(row.username, kind="username", max_cells=40, style="bold"))
    text.append("  ")
    text.append_text(safe_text(row.name, kind="name", max_cells=40))
    bits: list[tuple[str, str]] = []
    if row.is_admin:
        bits.append(("ADMIN", "bold magenta"))
    if row.state and row.state != "active":
        bits.append((safe(row.state, kind="line", max_cells=24), "bold red"))  # server text
    if row.kind != "human":
        bits.append((row.kind, "cyan"))
    if row.two_factor is False:
        bits.append(("2FA off", "yellow"))
    if row.risk:
        bits.append((f"risk {row.risk}", "bold red" if row.risk >= 50 else "yellow"))
    if row.mark == "cleared":
        bits.append(("✓ cleared", "green"))
    elif row.mark == "flagged":
        bits.append(("⚑ FLAGGED", "bold red"))
    else:
        bits.append(("unreviewed", "dim"))
    for label, style in bits:
        text.append("  ·  ", style="dim")
        text.append(label, style=style)
    return text


def risk_text(row: UserRow | None) -> RenderableType:
    if row is None:
        return Text("not in the local cache", style="dim")
    if not row.risk_reasons:
        lines = [Text(f"score {row.risk}: no risk signals", style="dim")]
    else:
        lines = [Text(f"score {row.risk}", style="bold")]
    lines += [
        Text("• ").append_text(safe_text(reason, kind="line", max_cells=200))
        for reason in row.risk_reasons
    ]
    if row.note:
        lines.append(Text("review note: ", style="dim").append_text(
            safe_text(row.note, kind="line", max_cells=200)
        ))
    return Group(*lines)
