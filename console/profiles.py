"""Connection profiles: TOML under the config dir, never a token; import from python-gitlab.

``profiles.toml`` looks like::

    # gitlab-incident-console profiles. Tokens are never stored here (they live in the OS keyring).
    default = "prod"

    [profiles.prod]
    url = "https://gitlab.example.com"
    verify_tls = true
    timeout = 30.0
    allow_plain_http = false

A token-like key found in the file is ignored, reported in ``ProfileBook.warnings`` and dropped at
the next save. ``~/.python-gitlab.cfg`` sections can be imported; a plaintext ``private_token``
there can be moved into the keyring (:func:`move_token_to_keyring`) when the user agrees.
"""

from __future__ import annotations

import configparser
import contextlib
import io
import math
import os
import re
import stat
import tempfile
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import tomli_w

from console.config import ConnectionConfig, normalize_url
from console.errors import ConfigError
from console.paths import config_dir, private_dir, read_private_file
from console.sanitize import safe
from console.secret import Secret

if TYPE_CHECKING:
    from console.tokens import TokenStore

__all__ = [
    "CfgImport",
    "ImportedProfile",
    "Profile",
    "ProfileBook",
    "atomic_write",
    "import_python_gitlab_cfg",
    "move_token_to_keyring",
    "profiles_path",
]

PROFILES_FILE: Final = "profiles.toml"
_SURROGATE: Final = re.compile("[\ud800-\udfff]")
_NAME_RE: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_TOKEN_KEYS: Final = frozenset(
    {"token", "private_token", "oauth_token", "job_token", "api_token", "access_token",
     "password", "secret"}
)
_FIELDS: Final = ("url", "ca_bundle", "verify_tls", "proxy", "timeout", "allow_plain_http")


def _shown(value: object) -> str:
    return safe(value, kind="line", max_cells=80)


def valid_name(name: str) -> bool:
    return bool(_NAME_RE.match(name))


@dataclass(frozen=True)
class Profile:
    """One GitLab instance the responder connects to. No token field, by design."""

    name: str
    url: str
    ca_bundle: str | None = None
    verify_tls: bool = True
    proxy: str | None = None
    timeout: float = 30
    allow_plain_http: bool = False

    def __post_init__(self) -> None:
        if not valid_name(self.name):
            raise ConfigError(
                f"Profile name {_shown(self.name)} is invalid: use up to 64 letters, digits, "
                "'.', '_' or '-', starting with a letter or digit."
            )
        object.__setattr__(self, "url", normalize_url(self.url))

    def to_config(self, **overrides: Any) -> ConnectionConfig:
        values: dict[str, Any] = {
            "url": self.url,
            "ca_bundle": self.ca_bundle,
            "verify_tls": self.verify_tls,
            "proxy": self.proxy,
            "timeout": float(self.timeout),
            "allow_plain_http": self.allow_plain_http,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return ConnectionConfig(**values)

    def validate(self) -> None:
        self.to_config().validate()


def profiles_path() -> Path:
    return config_dir() / PROFILES_FILE


def _toml_text(value: str) -> str:
    """A string TOML can carry: lone surrogates (which UTF-8 cannot encode) become U+FFFD."""
    return _SURROGATE.sub("\ufffd", value)


def _toml_table(profile: Profile) -> dict[str, Any]:
    table: dict[str, Any] = {}
    for key in _FIELDS:
        value = getattr(profile, key)
        if value is None:
            continue
        if key == "timeout":
            value = float(value)
            if not math.isfinite(value):
                raise ConfigError("Profile numbers must be finite.")
        table[key] = _toml_text(value) if isinstance(value, str) else value
    return table


def atomic_write(path: Path, data: bytes, *, mode: int = 0o600) -> None:
    """Write ``data`` to ``path`` atomically (same-dir temp file, fsync, replace, fsync dir)."""
    directory = path.parent
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


@dataclass
class ProfileBook:
    """All profiles in ``profiles.toml``. ``warnings`` lists anything ignored while loading."""

    path: Path
    profiles: dict[str, Profile] = field(default_factory=dict)
    default: str | None = None
    warnings: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path | None = None) -> ProfileBook:
        path = path or profiles_path()
        book = cls(path)
        try:
            if os.path.lexists(path.parent):
                private_dir(path.parent)  # tightened to 0700; a symlink or foreign dir refused
            raw = read_private_file(path)  # another user's or a group-writable file refused
        except FileNotFoundError:
            return book
        except OSError as exc:
            raise ConfigError(f"Cannot read {path}: {exc.strerror}.") from None
        try:
            data = tomllib.loads(raw.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"{path} is not valid TOML ({_shown(str(exc))}); fix or remove it."
            ) from None
        if any(k.lower() in _TOKEN_KEYS for k in data):
            book.warnings.append(
                f"{path.name}: a top-level token field was ignored; tokens belong in the OS "
                "keyring and it will be dropped at the next save."
            )
        default = data.get("default")
        if isinstance(default, str) and valid_name(default):
            book.default = default
        tables = data.get("profiles", {})
        if not isinstance(tables, dict):
            raise ConfigError(f"{path}: 'profiles' must be a table of [profiles.NAME] sections.")
        for name, table in tables.items():
            if not isinstance(table, dict):
                book.warnings.append(f"Profile {_shown(name)} is not a table; ignored.")
                continue
            for key in list(table):
                if key.lower() in _TOKEN_KEYS:
                    del table[key]
                    book.warnings.append(
                        f"Profile {_shown(name)}: the {_shown(key)} field was ignored — tokens "
                        "are never read from files; it will be dropped at the next save. Store "
                        "the token in the keyring instead."
                    )
            unknown = sorted(set(table) - set(_FIELDS))
            if unknown:
                book.warnings.append(
                    f"Profile {_shown(name)}: unknown keys ignored: "
                    + ", ".join(_shown(k) for k in unknown)
                    + "."
                )
            try:
                book.profiles[name] = _profile_from_table(name, table)
            except (ConfigError, TypeError, ValueError) as exc:
                book.warnings.append(f"Profile {_shown(name)} skipped: {exc}")
        return book

    def save(self) -> None:
        doc: dict[str, Any] = {}
        if self.default and self.default in self.profiles:
            doc["default"] = _toml_text(self.default)
        doc["profiles"] = {
            _toml_text(name): _toml_table(self.profiles[name]) for name in sorted(self.profiles)
        }
        header = (
            "# gitlab-incident-console profiles. Tokens are never stored here "
            "(they live in the OS keyring).\n\n"
        )
        data = (header + tomli_w.dumps(doc)).encode("utf-8")
        private_dir(self.path.parent)
        atomic_write(self.path, data)

    def add(self, profile: Profile, *, replace: bool = False) -> None:
        profile.validate()
        if profile.name in self.profiles and not replace:
            raise ConfigError(f"A profile named {_shown(profile.name)} already exists.")
        self.profiles[profile.name] = profile
        if self.default is None:
            self.default = profile.name

    def remove(self, name: str) -> bool:
        removed = self.profiles.pop(name, None) is not None
        if self.default == name:
            self.default = next(iter(sorted(self.profiles)), None)
        return removed

    def get(self, name: str) -> Profile | None:
        return self.profiles.get(name)

    def names(self) -> list[str]:
        return sorted(self.profiles)

    def find_by_url(self, url: str) -> Profile | None:
        target = normalize_url(url)
        return next((p for p in self.profiles.values() if p.url == target), None)


def _profile_from_table(name: str, table: dict[str, Any]) -> Profile:
    def opt_str(key: str) -> str | None:
        value = table.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise ConfigError(f"{key} must be a string")
        return value

    def opt_bool(key: str, default: bool) -> bool:
        value = table.get(key, default)
        if not isinstance(value, bool):
            raise ConfigError(f"{key} must be true or false")
        return value

    url = table.get("url")
    if not isinstance(url, str) or not url.strip():
        raise ConfigError("it has no url")
    timeout = table.get("timeout", 30)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        raise ConfigError("timeout must be a number of seconds")
    return Profile(
        name=name,
        url=url,
        ca_bundle=opt_str("ca_bundle"),
        verify_tls=opt_bool("verify_tls", True),
        proxy=opt_str("proxy"),
        timeout=float(timeout),
        allow_plain_http=opt_bool("allow_plain_http", False),
    )


# --- ~/.python-gitlab.cfg import ----------------------------------------------------------------


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
