"""Rendering of the dossier's sections: Rich renderables built from ``Text`` cells only.

Every server value goes through ``screens.safe`` (a ``str`` cell in a Rich table would be parsed as
markup).  Kept apart from :mod:`screens.dossier` (the screen and its workers) so each module has
one job.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from console.sanitize import safe
from screens.dossier_cells import (
    LIST_LIMIT,
    Getter,
    access,
    col,
    kv,
    source_type,
    ts,
    val,
    when,
)
from screens.safe import flag_summary, safe_text

if TYPE_CHECKING:
    from console.dossier import Section
    from console.problem import Problem
    from console.store import UserRow

__all__ = ["SECTION_TITLES", "local_header", "problem_text", "render_section", "risk_text"]


def _token_cards(items: Sequence[Mapping[str, Any]]) -> RenderableType:
    """Tokens as two-line cards: too many fields for one 80-column table row."""
    lines: list[Text] = []
    for item in items[:LIST_LIMIT]:
        revoked = bool(item.get("revoked"))
        active = item.get("active")
        head = Text("#", style="bold")
        head.append_text(val(item.get("id"), max_cells=12))
        head.append(" ")
        head.append_text(safe_text(item.get("name"), kind="line", max_cells=40, style="bold"))
        head.append("  ")
        head.append_text(val(item.get("scopes"), max_cells=30))
        if revoked:
            head.append("  revoked", style="dim")
        elif active is False:
            head.append("  inactive", style="dim")
        else:
            head.append("  ACTIVE", style="bold yellow")
        head.append("  expires ", style="dim")
        head.append_text(when(item.get("expires_at")))
        detail = Text("    created ", style="dim")
        detail.append_text(when(item.get("created_at")))
        detail.append(" · last used ", style="dim")
        detail.append_text(when(item.get("last_used_at")))
        ips = item.get("last_used_ips")
        if ips:
            detail.append(" from ", style="dim")
            detail.append_text(val(ips, max_cells=40))
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
        head = when(item.get("created_at"))
        head.stylize("bold")
        relation = item.get("relation")
        if relation:
            head.append("  ")
            head.append_text(safe_text(relation, kind="line", max_cells=10, style="cyan"))
        head.append("  by ", style="dim")
        head.append_text(val(item.get("author_name") or item.get("author_id"), max_cells=30))
        ip = details.get("ip_address") or item.get("ip_address")
        if ip:
            head.append("  from ", style="dim")
            head.append_text(val(ip, max_cells=40))
        what = Text("    ")
        message = details.get("custom_message") or item.get("event_name")
        what.append_text(val(message or "(no message)", max_cells=120))
        if details.get("change"):
            what.append("  [", style="dim")
            what.append_text(val(details.get("change"), max_cells=30))
            what.append(": ", style="dim")
            what.append_text(val(details.get("from"), max_cells=30))
            what.append(" → ", style="dim")
            what.append_text(val(details.get("to"), max_cells=30))
            what.append("]", style="dim")
        target = details.get("target_details")
        if target:
            what.append("  on ", style="dim")
            what.append_text(val(target, max_cells=40))
        lines += [head, what]
    return Group(*lines)


_LIST_COLUMNS: Final[dict[str, list[tuple[str, Getter]]]] = {
    "emails": [("email", col("email", max_cells=60)), ("confirmed", ts("confirmed_at"))],
    "memberships": [
        ("type", source_type),
        ("name", col("source_name", max_cells=50)),
        ("id", col("source_id", max_cells=10)),
        ("access", lambda m: access(m.get("access_level"))),
    ],
    "ssh_keys": [
        ("id", col("id", max_cells=8)),
        ("title", col("title", max_cells=30)),
        ("created", ts("created_at")),
        ("expires", ts("expires_at")),
        ("usage", col("usage_type", max_cells=16)),
        ("key", col("key", max_cells=24)),
    ],
    "gpg_keys": [
        ("id", col("id", max_cells=8)),
        ("created", ts("created_at")),
        ("key", col("key", max_cells=40)),
    ],
    "events": [
        ("when", ts("created_at")),
        ("action", col("action_name", max_cells=20)),
        ("target", col("target_type", max_cells=16)),
        ("title", col("target_title", max_cells=50)),
        ("project", col("project_id", max_cells=10)),
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
            when(items.get(key))
            if key.endswith("_at")
            else val(items.get(key), kind=kind, max_cells=120),
        )
        for label, key, kind in _PROFILE_FIELDS
        if key in items
    ]
    for label, key in (("username", "username"), ("name", "name")):
        flags = flag_summary(items.get(key), kind="username" if key == "username" else "name")
        if flags is not None:
            rows.append((f"{label} flags", flags))
    parts: list[RenderableType] = [kv(rows)]
    identities = items.get("identities")
    if isinstance(identities, list) and identities:
        parts.append(Text("Identities", style="bold"))
        parts.append(
            _list(
                identities,
                [
                    ("provider", col("provider", max_cells=30)),
                    ("extern uid", col("extern_uid", max_cells=60)),
                    ("SAML group", col("saml_provider_id", max_cells=12)),
                ],
            )
        )
    else:
        parts.append(Text("No external identities", style="dim"))
    return Group(*parts)


def _sign_in(items: Mapping[str, Any]) -> RenderableType:
    return kv(
        (label, when(items.get(key)) if key.endswith("_at") else val(items.get(key)))
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
            source_type(entry),
            val(entry.get("source_name"), max_cells=50),
            access(entry.get("access_level")),
            variables,
            count(entry, "runners"),
            count(entry, "hooks"),
            Text(str(tokens)),
        )
        failed = entry.get("errors") or {}
        if failed:
            # One line per namespace: which lists failed, and the first reason.
            line = Text("? ", style="yellow")
            line.append_text(val(entry.get("source_name"), max_cells=30))
            what = ", ".join(str(k) for k in failed)
            line.append(f": {what} unavailable — ", style="yellow")
            line.append_text(val(next(iter(failed.values())), max_cells=120))
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
            parts.append(_list(items, _LIST_COLUMNS.get(name, [("value", val)])))
    elif isinstance(items, Mapping):
        parts.append(kv((safe(k, kind="line", max_cells=40), val(v)) for k, v in items.items()))
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
        lines.append(
            Text("review note: ", style="dim").append_text(
                safe_text(row.note, kind="line", max_cells=200)
            )
        )
    return Group(*lines)
