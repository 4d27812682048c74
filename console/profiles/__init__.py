"""Connection profiles: :mod:`~console.profiles.book` (``profiles.toml``: read safely, written
with tomli-w, never a token) and :mod:`~console.profiles.gitlab_cfg` (import from
``~/.python-gitlab.cfg``, moving a plaintext token into the keyring on request)."""

from __future__ import annotations

from console.profiles.book import (
    PROFILES_FILE,
    Profile,
    ProfileBook,
    atomic_write,
    profiles_path,
    valid_name,
)
from console.profiles.gitlab_cfg import (
    CfgImport,
    ImportedProfile,
    default_cfg_path,
    import_python_gitlab_cfg,
    move_token_to_keyring,
)

__all__ = [
    "PROFILES_FILE",
    "CfgImport",
    "ImportedProfile",
    "Profile",
    "ProfileBook",
    "atomic_write",
    "default_cfg_path",
    "import_python_gitlab_cfg",
    "move_token_to_keyring",
    "profiles_path",
    "valid_name",
]
