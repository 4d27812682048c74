"""Import ``~/.python-gitlab.cfg`` sections as profiles (never their tokens).

A plaintext ``private_token`` there can be moved into the keyring (:func:`move_token_to_keyring`)
when the user agrees; a ``helper:`` credential is left alone.
"""

from __future__ import annotations

import io
import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from console.errors import ConfigError
from console.profiles.book import Profile, _shown, atomic_write
from console.secret import Secret

if TYPE_CHECKING:
    import configparser

    from console.tokens import TokenStore


@dataclass(frozen=True)
class ImportedProfile:
    section: str
    profile: Profile
    has_plaintext_token: bool  # a private/oauth/job token written in the file itself
    token_field: str | None  # which key holds it
    uses_helper: bool  # "helper:" credential helper (not plaintext; not imported)


@dataclass
class CfgImport:
    path: Path
    profiles: list[ImportedProfile] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def plaintext_sections(self) -> list[str]:
        return [p.section for p in self.profiles if p.has_plaintext_token]


def default_cfg_path() -> Path:
    env = os.environ.get("PYTHON_GITLAB_CFG")
    return Path(env).expanduser() if env else Path.home() / ".python-gitlab.cfg"


def _read_cfg(path: Path) -> configparser.RawConfigParser:
    import configparser  # only when a python-gitlab config is imported

    parser = configparser.RawConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keep key case
    try:
        with path.open(encoding="utf-8") as fh:
            parser.read_file(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path} does not exist.") from None
    except (OSError, UnicodeDecodeError, configparser.Error) as exc:
        raise ConfigError(f"Cannot read {path}: {_shown(str(exc))}.") from None
    return parser


def _profile_name(section: str, taken: Iterable[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", section).strip("-._")[:56] or "gitlab"
    if not base[0].isalnum():
        base = "p" + base
    name, n = base, 2
    taken_set = set(taken)
    while name in taken_set:
        name = f"{base}-{n}"
        n += 1
    return name


def import_python_gitlab_cfg(
    path: Path | None = None, *, existing: Iterable[str] = ()
) -> CfgImport:
    """Read ``~/.python-gitlab.cfg``: one profile per section, plus whether it holds a token.

    Tokens are never read into the result; only their presence is reported.
    """
    path = path or default_cfg_path()
    parser = _read_cfg(path)
    result = CfgImport(path)
    glob = parser["global"] if parser.has_section("global") else {}
    taken = set(existing)
    for section in parser.sections():
        if section == "global":
            continue
        sec = parser[section]
        url = sec.get("url", "").strip()
        if not url:
            result.warnings.append(f"Section [{_shown(section)}] has no url; skipped.")
            continue
        ssl_verify = sec.get("ssl_verify", glob.get("ssl_verify", "true")).strip()
        ca_bundle: str | None = None
        verify = True
        if ssl_verify.lower() in ("false", "no", "0", "off"):
            verify = False
            result.warnings.append(
                f"Section [{_shown(section)}] disables TLS verification; imported with "
                "verify_tls = false — re-enable it if you can."
            )
        elif ssl_verify.lower() not in ("true", "yes", "1", "on", ""):
            ca_bundle = ssl_verify
        timeout_text = sec.get("timeout", glob.get("timeout", "30")).strip() or "30"
        try:
            timeout = float(timeout_text)
        except ValueError:
            timeout = 30.0
        token_field = None
        helper = False
        for key in ("private_token", "oauth_token", "job_token"):
            value = sec.get(key, "").strip()
            if value:
                if value.startswith("helper:"):
                    helper = True
                else:
                    token_field = key
                break
        name = _profile_name(section, taken)
        try:
            profile = Profile(
                name=name,
                url=url,
                ca_bundle=ca_bundle,
                verify_tls=verify,
                timeout=timeout if 0 < timeout <= 600 else 30.0,
                allow_plain_http=False,
            )
        except ConfigError as exc:
            result.warnings.append(f"Section [{_shown(section)}] skipped: {exc}")
            continue
        taken.add(name)
        result.profiles.append(
            ImportedProfile(section, profile, token_field is not None, token_field, helper)
        )
    return result


def move_token_to_keyring(
    section: str,
    store: TokenStore,
    *,
    agreed: bool,
    profile_name: str | None = None,
    path: Path | None = None,
) -> bool:
    """Store the section's plaintext ``private_token`` in the keyring, then remove it from the cfg.

    Only acts when ``agreed`` (the user said yes). The token is written to the keyring and read
    back before the cfg is rewritten (atomically, same mode, every other key kept; comments are
    lost, as configparser does not keep them). Returns True if the token was moved.
    """
    if not agreed:
        return False
    from console.tokens import token_key

    path = path or default_cfg_path()
    parser = _read_cfg(path)
    if not parser.has_section(section):
        raise ConfigError(f"{path} has no section [{_shown(section)}].")
    sec = parser[section]
    url = sec.get("url", "").strip()
    raw_token = sec.get("private_token", "").strip()
    if not url or not raw_token or raw_token.startswith("helper:"):
        return False
    name = profile_name or _profile_name(section, ())
    key = token_key(url, name)
    token = Secret(raw_token)
    del raw_token
    store.set(key, token)
    if store.get(key) != token:
        raise ConfigError(
            "The keyring did not return the token after storing it; the cfg file was left "
            "unchanged."
        )
    parser.remove_option(section, "private_token")
    buf = io.StringIO()
    parser.write(buf)
    try:
        mode = stat.S_IMODE(path.stat().st_mode) & 0o700
    except OSError:
        mode = 0o600
    atomic_write(path, buf.getvalue().encode("utf-8"), mode=mode or 0o600)
    return True
