"""Connection profiles: ``profiles.toml`` under the config dir, never a token.

``profiles.toml`` looks like::

    # gitlab-incident-console profiles. Tokens are never stored here (they live in the OS keyring).
    default = "prod"

    [profiles.prod]
    url = "https://gitlab.example.com"
    verify_tls = true
    timeout = 30.0
    allow_plain_http = false

A token-like key found in the file is ignored, reported in ``ProfileBook.warnings`` and dropped at
the next save. The file is written with tomli-w (atomically, 0600) and read only when the user
owns it and nobody else can write it.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from console.config import ConnectionConfig, normalize_url
from console.errors import ConfigError
from console.paths import config_dir, private_dir, read_private_file
from console.sanitize import safe

if TYPE_CHECKING:
    pass

__all__ = [
    "PROFILES_FILE",
    "Profile",
    "ProfileBook",
    "atomic_write",
    "profiles_path",
    "valid_name",
]

PROFILES_FILE: Final = "profiles.toml"
_SURROGATE: Final = re.compile("[\ud800-\udfff]")
_NAME_RE: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_TOKEN_KEYS: Final = frozenset(
    {
        "token",
        "private_token",
        "oauth_token",
        "job_token",
        "api_token",
        "access_token",
        "password",
        "secret",
    }
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
        import tomllib  # the profiles file is read only where profiles are used (not --demo)

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
        import tomli_w

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
