"""Profiles in TOML (never a token) and the python-gitlab cfg import / token move."""

from __future__ import annotations

import configparser
import os
import stat
import tomllib
from pathlib import Path

import pytest

from console.config import ConfigError
from console.paths import config_dir
from console.profiles import (
    Profile,
    ProfileBook,
    import_python_gitlab_cfg,
    move_token_to_keyring,
    profiles_path,
)
from console.tokens import TokenStore, token_key
from tests.unit.test_tokens import MemoryKeyring

TOKEN = "glpat-profilestest0123456789ab"
PEM = b"-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"


def test_round_trip_mode_and_location(isolated_home: Path) -> None:
    book = ProfileBook.load()
    assert book.profiles == {} and book.path == config_dir() / "profiles.toml"
    book.add(Profile("prod", "https://gitlab.example.com/api/v4/", timeout=45))
    book.add(
        Profile(
            "lab",
            "http://gitlab.lab",
            allow_plain_http=True,
            verify_tls=False,
            proxy="http://proxy:3128",
        )
    )
    book.save()
    path = profiles_path()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    again = ProfileBook.load()
    assert again.profiles == book.profiles
    assert again.default == "prod"
    assert again.get("prod") == Profile("prod", "https://gitlab.example.com", timeout=45.0)
    assert again.warnings == []
    assert not list(path.parent.glob(".profiles.toml.*"))  # no temp files left behind


def test_escaping_of_awkward_values(tmp_path: Path) -> None:
    ca = tmp_path / 'we"ird\\dir'
    ca.mkdir()
    bundle = ca / "ca\tbundle.pem"
    bundle.write_bytes(PEM)
    book = ProfileBook(tmp_path / "p.toml")
    book.add(Profile("odd.name-1", "https://g.example", ca_bundle=str(bundle)))
    book.save()
    data = tomllib.loads((tmp_path / "p.toml").read_text())
    assert data["profiles"]["odd.name-1"]["ca_bundle"] == str(bundle)
    assert ProfileBook.load(tmp_path / "p.toml").get("odd.name-1") == book.get("odd.name-1")


@pytest.mark.parametrize("name", ["", "-x", "a b", "x" * 65, "prod]\n[evil", "ümlaut"])
def test_bad_profile_names(name: str) -> None:
    with pytest.raises(ConfigError, match="Profile name"):
        Profile(name, "https://g.example")


def test_add_validates_and_refuses_duplicates(tmp_path: Path) -> None:
    book = ProfileBook(tmp_path / "p.toml")
    with pytest.raises(ConfigError, match="plain http"):
        book.add(Profile("x", "http://gitlab.example.com"))
    book.add(Profile("x", "https://a.example"))
    with pytest.raises(ConfigError, match="already exists"):
        book.add(Profile("x", "https://b.example"))
    book.add(Profile("x", "https://b.example"), replace=True)
    assert book.get("x") is not None and book.get("x").url == "https://b.example"
    assert book.find_by_url("https://B.example/api/v4") == book.get("x")
    assert book.remove("x") is True and book.remove("x") is False
    assert book.default is None


def test_token_field_in_file_is_ignored_reported_and_dropped(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(
        f'token = "{TOKEN}"\n'
        '[profiles.prod]\nurl = "https://g.example"\n'
        f'private_token = "{TOKEN}"\ncolour = "blue"\n'
    )
    book = ProfileBook.load(path)
    prod = book.get("prod")
    assert prod is not None and prod.url == "https://g.example"
    text = " ".join(book.warnings)
    assert "private_token field was ignored" in text
    assert "top-level token field was ignored" in text
    assert "unknown keys ignored: colour" in text
    assert TOKEN not in text and TOKEN not in repr(book)
    book.save()
    assert TOKEN not in path.read_text()
    assert ProfileBook.load(path).warnings == []


def test_invalid_toml_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text("[profiles.prod\nurl = ")
    with pytest.raises(ConfigError, match="not valid TOML"):
        ProfileBook.load(path)


def test_bad_profile_entries_are_skipped_with_warning(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(
        '[profiles.a]\nurl = 5\n[profiles.b]\nurl = "https://b.example"\n'
        'timeout = "slow"\n[profiles.c]\nurl = "https://c.example"\n'
    )
    book = ProfileBook.load(path)
    assert book.names() == ["c"]
    assert len(book.warnings) == 2


def test_profile_to_config_overrides(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_bytes(PEM)
    p = Profile("prod", "https://g.example", timeout=12)
    cfg = p.to_config(ca_bundle=str(bundle))
    assert cfg.ca_bundle == str(bundle) and cfg.timeout == 12.0
    assert p.to_config().ca_bundle is None


# --- ~/.python-gitlab.cfg ------------------------------------------------------------------------

CFG = f"""\
[global]
default = work
ssl_verify = true
timeout = 5

[work]
url = https://gitlab.work.example/
private_token = {TOKEN}
api_version = 4
per_page = 50

[internal ca]
url = https://gitlab.internal
ssl_verify = /etc/ssl/internal-ca.pem
private_token = helper: pass show gitlab

[noverify]
url = https://lab.example
ssl_verify = false
job_token = cijobtoken123

[broken]
api_version = 4
"""


def write_cfg(home: Path) -> Path:
    path = home / ".python-gitlab.cfg"
    path.write_text(CFG)
    path.chmod(0o644)
    return path


def test_import_python_gitlab_cfg(isolated_home: Path) -> None:
    write_cfg(isolated_home)
    result = import_python_gitlab_cfg()
    by_section = {p.section: p for p in result.profiles}
    assert set(by_section) == {"work", "internal ca", "noverify"}
    work = by_section["work"]
    assert work.profile.name == "work"
    assert work.profile.url == "https://gitlab.work.example"
    assert work.profile.timeout == 5.0
    assert work.has_plaintext_token and work.token_field == "private_token"
    internal = by_section["internal ca"]
    assert internal.profile.name == "internal-ca"
    assert internal.profile.ca_bundle == "/etc/ssl/internal-ca.pem"
    assert internal.uses_helper and not internal.has_plaintext_token
    noverify = by_section["noverify"]
    assert noverify.profile.verify_tls is False
    assert noverify.has_plaintext_token and noverify.token_field == "job_token"
    assert result.plaintext_sections == ["work", "noverify"]
    assert any("broken" in w and "no url" in w for w in result.warnings)
    assert any("disables TLS verification" in w for w in result.warnings)
    assert TOKEN not in repr(result)


def test_import_avoids_existing_names(isolated_home: Path) -> None:
    write_cfg(isolated_home)
    result = import_python_gitlab_cfg(existing=["work"])
    assert {p.profile.name for p in result.profiles} >= {"work-2"}


def test_move_token_to_keyring(isolated_home: Path) -> None:
    path = write_cfg(isolated_home)
    backend = MemoryKeyring()
    store = TokenStore(backend)
    assert move_token_to_keyring("work", store, agreed=False) is False
    assert TOKEN in path.read_text()  # nothing happens without consent
    assert backend.data == {}

    assert move_token_to_keyring("work", store, agreed=True, profile_name="work") is True
    stored = store.get(token_key("https://gitlab.work.example", "work"))
    assert stored is not None and stored.reveal() == TOKEN
    text = path.read_text()
    assert TOKEN not in text
    parser = configparser.RawConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(text)
    assert dict(parser["work"]) == {
        "url": "https://gitlab.work.example/",
        "api_version": "4",
        "per_page": "50",
    }
    assert parser["internal ca"]["private_token"] == "helper: pass show gitlab"
    assert parser["global"]["default"] == "work"
    assert parser["noverify"]["job_token"] == "cijobtoken123"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # the helper entry is not a plaintext token: nothing to move
    assert move_token_to_keyring("internal ca", store, agreed=True) is False


def test_move_token_keeps_cfg_if_keyring_fails(isolated_home: Path) -> None:
    path = write_cfg(isolated_home)

    class Forgetful(MemoryKeyring):
        def get_password(self, service: str, username: str) -> str | None:
            return None

    with pytest.raises(ConfigError, match="left unchanged"):
        move_token_to_keyring("work", TokenStore(Forgetful()), agreed=True)
    assert path.read_text() == CFG


def test_move_unknown_section(isolated_home: Path) -> None:
    write_cfg(isolated_home)
    with pytest.raises(ConfigError, match="no section"):
        move_token_to_keyring("nope", TokenStore(MemoryKeyring()), agreed=True)


def test_cfg_path_from_env(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = isolated_home / "elsewhere.cfg"
    other.write_text("[x]\nurl = https://x.example\n")
    monkeypatch.setenv("PYTHON_GITLAB_CFG", str(other))
    assert [p.section for p in import_python_gitlab_cfg().profiles] == ["x"]
    assert os.environ["PYTHON_GITLAB_CFG"] == str(other)
