"""Signing the bundle's manifest with the responder's SSH key (``ssh-keygen -Y``).

Jump hosts already have OpenSSH, so no new tool is needed: ``ssh-keygen -Y sign`` writes
``manifest.json.sig`` (namespace ``incident-console``, so the signature cannot be replayed as a
Git commit or file signature), and ``-Y verify`` (with an allowed-signers file) or
``-Y check-novalidate`` (signature only, signer not checked) verifies it.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from console.sanitize import safe

__all__ = ["NAMESPACE", "SignatureCheck", "SigningError", "sign_file", "ssh_keygen", "verify_file"]

NAMESPACE: Final = "incident-console"
TIMEOUT_S: Final = 120.0


class SigningError(Exception):
    """ssh-keygen is missing or refused to sign."""


@dataclass(frozen=True, slots=True)
class SignatureCheck:
    ok: bool
    message: str


def ssh_keygen() -> str | None:
    return shutil.which("ssh-keygen")


def _one_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return safe(lines[-1] if lines else "", kind="line", max_cells=200)


def sign_file(path: Path, key: Path) -> Path:
    """Sign ``path`` with the private ``key``; returns the ``.sig`` path (SigningError)."""
    tool = ssh_keygen()
    if tool is None:
        raise SigningError("ssh-keygen is not installed: cannot sign the manifest")
    if not key.is_file():
        raise SigningError(f"no SSH key at {key}")
    try:
        proc = subprocess.run(  # noqa: S603 (fixed tool, no shell)
            [tool, "-Y", "sign", "-q", "-f", str(key), "-n", NAMESPACE, str(path)],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SigningError(f"ssh-keygen could not sign: {exc}") from None
    sig = Path(f"{path}.sig")
    if proc.returncode != 0 or not sig.is_file():
        raise SigningError(f"ssh-keygen could not sign: {_one_line(proc.stderr) or 'failed'}")
    return sig


def verify_file(
    path: Path, sig: Path, *, allowed_signers: Path | None = None, identity: str | None = None
) -> SignatureCheck:
    """Check ``sig`` over ``path``: against an allowed-signers file when given, else the
    signature alone (``check-novalidate``: proves integrity, not who signed)."""
    tool = ssh_keygen()
    if tool is None:
        return SignatureCheck(False, "ssh-keygen is not installed: cannot check the signature")
    if allowed_signers is not None:
        args = [
            tool,
            "-Y",
            "verify",
            "-f",
            str(allowed_signers),
            "-I",
            identity or "*",
            "-n",
            NAMESPACE,
            "-s",
            str(sig),
        ]
    else:
        args = [tool, "-Y", "check-novalidate", "-n", NAMESPACE, "-s", str(sig)]
    try:
        with path.open("rb") as data:
            proc = subprocess.run(  # noqa: S603 (fixed tool, no shell)
                args,
                stdin=data,
                capture_output=True,
                text=True,
                timeout=TIMEOUT_S,
                check=False,
            )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return SignatureCheck(False, f"ssh-keygen could not check the signature: {exc}")
    message = _one_line(proc.stdout) or _one_line(proc.stderr)
    return SignatureCheck(proc.returncode == 0, message or f"ssh-keygen exit {proc.returncode}")
