"""The version check: how far the instance is behind the newest GitLab the console knows of.

The console has no network access beyond the instance, so the newest release, patch and security
release are a small table maintained by hand, with the date it was last updated
(:data:`KNOWN_AS_OF`); the check says so, and says "at least" when the table is old. GitLab
backports security fixes to the current and the two previous minor releases, so a minor older
than that gets no more security patches at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from console.sanitize import safe

__all__ = ["KNOWN_AS_OF", "KNOWN_RELEASES", "Release", "VersionCheck", "check_version"]

#: When :data:`KNOWN_RELEASES` was last brought up to date (update both together).
KNOWN_AS_OF: Final = "2025-11-26"
#: Supported minors for security fixes: the current one and the two before it.
SECURITY_BACKPORT_MINORS: Final = 3


@dataclass(frozen=True, slots=True)
class Release:
    version: str
    date: str
    security: bool  # a patch release that carries security fixes


#: Newest patch of each recent minor (from the GitLab releases blog), newest first.
KNOWN_RELEASES: Final[tuple[Release, ...]] = (
    Release("18.6.1", "2025-11-26", security=True),
    Release("18.5.3", "2025-11-26", security=True),
    Release("18.4.5", "2025-11-26", security=True),
    Release("18.3.6", "2025-10-22", security=True),
    Release("18.2.8", "2025-09-24", security=True),
)

_VERSION: Final = re.compile(r"(\d+)\.(\d+)\.(\d+)")


def _parse(text: str | None) -> tuple[int, int, int] | None:
    m = _VERSION.match((text or "").strip())
    return (int(m[1]), int(m[2]), int(m[3])) if m else None


def _fmt(v: tuple[int, int, int]) -> str:
    return ".".join(str(x) for x in v)


@dataclass(frozen=True, slots=True)
class VersionCheck:
    """The comparison, as facts and as lines a responder reads."""

    version: str | None
    revision: str | None
    newest_release: str
    newest_patch_of_minor: str | None  # None: the table does not know this minor
    newest_security: str | None  # the security release to move to (same minor if supported)
    behind_release: bool
    behind_patch: bool
    behind_security: bool
    minor_supported: bool
    known_as_of: str = KNOWN_AS_OF

    @property
    def up_to_date(self) -> bool:
        return self.version is not None and not (
            self.behind_release or self.behind_patch or self.behind_security
        )

    def lines(self) -> list[str]:
        if self.version is None:
            return [
                "Instance version unknown (the capability check could not read /version).",
                f"Newest GitLab known to the console: {self.newest_release} "
                f"(as of {self.known_as_of}).",
            ]
        rev = ""
        if self.revision:
            rev = f" (revision {safe(self.revision, kind='line', max_cells=40)})"
        out = [f"Instance runs GitLab {safe(self.version, kind='line', max_cells=40)}{rev}."]
        if self.behind_security:
            out.append(
                f"BEHIND a security release: {self.newest_security} carries security "
                "fixes this instance lacks."
            )
        if not self.minor_supported:
            out.append(
                "This minor release no longer receives security fixes: upgrade to a "
                "supported minor."
            )
        if self.behind_patch and self.newest_patch_of_minor:
            out.append(f"Behind the newest patch of its minor: {self.newest_patch_of_minor}.")
        if self.behind_release:
            out.append(f"Behind the newest release: {self.newest_release}.")
        if self.up_to_date:
            out.append("Up to date with every release the console knows of.")
        out.append(
            f"Release knowledge as of {self.known_as_of}: newer releases may exist; "
            "check about.gitlab.com/releases."
        )
        return out


def check_version(
    version: str | None,
    revision: str | None = None,
    releases: tuple[Release, ...] = KNOWN_RELEASES,
) -> VersionCheck:
    """Compare ``version`` (as /version reports it, e.g. ``18.4.1-ee``) with ``releases``."""
    known = sorted(
        ((_parse(r.version), r) for r in releases), key=lambda x: x[0] or (0, 0, 0), reverse=True
    )
    parsed = [(v, r) for v, r in known if v is not None]
    newest = parsed[0][0]
    current = _parse(version)
    if current is None:
        return VersionCheck(None, revision, _fmt(newest), None, None, False, False, False, True)
    minors = sorted({v[:2] for v, _ in parsed}, reverse=True)
    supported_minors = minors[:SECURITY_BACKPORT_MINORS]
    same_minor = [(v, r) for v, r in parsed if v[:2] == current[:2]]
    newest_patch = same_minor[0][0] if same_minor else None
    minor_supported = current[:2] in supported_minors or current[:2] > minors[0]
    security: tuple[int, int, int] | None = None
    if minor_supported:
        sec = [v for v, r in same_minor if r.security]
        security = sec[0] if sec else None
    else:
        sec = [v for v, r in parsed if r.security]
        security = sec[0] if sec else None
    return VersionCheck(
        version=version.strip() if version else None,
        revision=revision,
        newest_release=_fmt(newest),
        newest_patch_of_minor=_fmt(newest_patch) if newest_patch else None,
        newest_security=_fmt(security) if security else None,
        behind_release=current < newest,
        behind_patch=newest_patch is not None and current < newest_patch,
        behind_security=security is not None and current < security,
        minor_supported=minor_supported,
    )
