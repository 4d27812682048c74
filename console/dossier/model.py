"""The dossier's records (:class:`Section`, :class:`Dossier`) and the secret-dropping converters.

Secret values never enter a dossier: variable values, token values, hook secrets and URL
credentials are dropped or masked by the converters here, at the point they are read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Final

from console.errors import Problem, describe_error
from console.secret import redact_url

__all__ = [
    "AUTHOR_SCAN_LIMIT",
    "BLAST_MAX_NAMESPACES",
    "BLAST_MIN_ACCESS",
    "EVENTS_LIMIT",
    "MAX_WORKERS",
    "Dossier",
    "Section",
    "Window",
    "access_level",
    "free_tier_problem",
    "guarded",
    "hook_meta",
    "listed",
    "plain",
    "variable_meta",
]

#: Maintainer (40) and Owner (50) can read CI/CD variables and manage hooks, tokens, runners.
BLAST_MIN_ACCESS: Final = 40
#: The API cannot filter audit events by author: we scan at most this many instance events.
AUTHOR_SCAN_LIMIT: Final = 5000
#: Contribution events kept per dossier (newest first).
EVENTS_LIMIT: Final = 2000
MAX_WORKERS: Final = 6
#: Namespaces whose credentials are listed, at most (direct ones first, then inherited).
BLAST_MAX_NAMESPACES: Final = 60

_SECRET_KEYS: Final = frozenset(
    {"token", "value", "secret", "password", "runners_token", "signing_token", "private_token"}
)
_VARIABLE_KEYS: Final = ("key", "protected", "masked", "hidden", "environment_scope")
_FREE_TIER_PROBLEM_DETAIL: Final = "audit events need Premium; showing contribution events instead"

Window = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Section:
    name: str
    items: list[dict[str, Any]] | dict[str, Any] | None
    problem: Problem | None = None
    note: str | None = None

    @property
    def count(self) -> int | None:
        if isinstance(self.items, list):
            return len(self.items)
        return None


def _empty(name: str) -> Section:
    return Section(name, None, None, "not fetched")


@dataclass(frozen=True, slots=True)
class Dossier:
    user_id: int
    window: Window
    fetched_at: str
    seconds: float
    profile: Section = field(default_factory=lambda: _empty("profile"))
    emails: Section = field(default_factory=lambda: _empty("emails"))
    memberships: Section = field(default_factory=lambda: _empty("memberships"))
    tokens: Section = field(default_factory=lambda: _empty("tokens"))
    impersonation_tokens: Section = field(default_factory=lambda: _empty("impersonation_tokens"))
    ssh_keys: Section = field(default_factory=lambda: _empty("ssh_keys"))
    gpg_keys: Section = field(default_factory=lambda: _empty("gpg_keys"))
    events: Section = field(default_factory=lambda: _empty("events"))
    audit_events: Section = field(default_factory=lambda: _empty("audit_events"))
    blast_radius: Section = field(default_factory=lambda: _empty("blast_radius"))

    @property
    def sections(self) -> list[Section]:
        """All sections in display order."""
        return [
            getattr(self, f.name)
            for f in fields(self)
            if isinstance(getattr(self, f.name), Section)
        ]

    def section(self, name: str) -> Section:
        value = getattr(self, name, None)
        if not isinstance(value, Section):
            raise KeyError(name)
        return value

    @property
    def problems(self) -> list[Section]:
        return [s for s in self.sections if s.problem is not None]


def plain(obj: Any) -> dict[str, Any]:
    if isinstance(obj, Mapping):
        data = dict(obj)
    else:
        data = dict(obj.asdict())
    for key in _SECRET_KEYS.intersection(data):
        del data[key]
    return data


def variable_meta(obj: Any) -> dict[str, Any]:
    data = obj if isinstance(obj, Mapping) else obj.asdict()
    return {key: data.get(key) for key in _VARIABLE_KEYS}


def hook_meta(obj: Any) -> dict[str, Any]:
    data = plain(obj)
    data["url"] = redact_url(str(data.get("url") or ""))[0]
    for key in ("url_variables", "custom_headers"):
        if isinstance(data.get(key), list):
            data[key] = [{"key": v.get("key")} for v in data[key] if isinstance(v, Mapping)]
    return data


def access_level(value: object) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    if isinstance(value, Mapping):  # some entities nest {"integer_value": 40}
        return access_level(value.get("integer_value") or value.get("access_level"))
    return 0


def free_tier_problem(original: Problem | None) -> Problem:
    """The audit-events section's problem on Free tier (no audit API): not an error."""
    return Problem(
        "Audit events unavailable",
        _FREE_TIER_PROBLEM_DETAIL,
        "The contribution events section lists pushes, comments and other activity; audit "
        "events need GitLab Premium or Ultimate on a self-managed instance.",
        "coverage",
        original.status if original is not None else None,
    )


def guarded(name: str, fn: Callable[[], Section]) -> Section:
    try:
        return fn()
    except Exception as exc:  # one section failing never sinks the dossier
        return Section(name, None, describe_error(exc))


def listed(
    objs: Iterable[Any], convert: Callable[[Any], dict[str, Any]] = plain
) -> list[dict[str, Any]]:
    return [convert(o) for o in objs]
