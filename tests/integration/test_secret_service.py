"""TokenStore against a REAL Secret Service: gnome-keyring-daemon in a private D-Bus session.

The daemon runs inside ``dbus-run-session`` (its own bus, its own HOME/XDG dirs from the test's
isolated home), so the user's real keyring is never touched. Piping a throwaway password into
``gnome-keyring-daemon --unlock`` is fine here; the console's own advice says to type it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(
    shutil.which("gnome-keyring-daemon") is None or shutil.which("dbus-run-session") is None,
    reason="gnome-keyring-daemon/dbus-run-session not installed (apt-get install gnome-keyring "
    "dbus)",
)

TOKEN = "glpat-secretservice0123456789ab"
REPO = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import json, os, time
    import keyring.errors
    import secretstorage
    from console.secret import Secret
    from console.tokens import TokenStore, probe_keyring, token_key

    out = {}
    status = probe_keyring(timeout=5)
    out["available"] = status.available
    out["backend"] = status.backend
    out["explanation"] = status.explanation()
    store = TokenStore(status=status)
    key = token_key("https://gitlab.example.com/", "prod")
    store.set(key, Secret(os.environ["SS_TEST_TOKEN"]))
    got = store.get(key)
    out["read_back"] = got is not None and got.reveal() == os.environ["SS_TEST_TOKEN"]
    out["other_profile"] = store.get(token_key("https://gitlab.example.com", "dev")) is None
    out["deleted"] = store.delete(key)
    out["after_delete"] = store.get(key) is None

    # Store again, then lock the collection: the probe must say "locked" and TokenStore must
    # raise KeyringLocked at once instead of waiting for an unlock prompt.
    store.set(key, Secret(os.environ["SS_TEST_TOKEN"]))
    conn = secretstorage.dbus_init()
    secretstorage.Collection(conn).lock()
    locked = probe_keyring(timeout=5)
    out["locked_cause"] = locked.cause
    out["locked_available"] = locked.available
    t0 = time.monotonic()
    try:
        store.get(key)
        out["locked_get"] = "returned"
    except keyring.errors.KeyringLocked:
        out["locked_get"] = "KeyringLocked"
    out["locked_get_seconds"] = time.monotonic() - t0
    print("RESULT " + json.dumps(out))
    """
)


def test_real_secret_service_round_trip(tmp_path: Path, isolated_home: Path) -> None:
    script = tmp_path / "ss_probe.py"
    script.write_text(SCRIPT)
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHON_KEYRING_BACKEND", "DBUS_SESSION_BUS_ADDRESS")
    }
    run_dir = Path(env["XDG_RUNTIME_DIR"])
    run_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    env["PYTHONPATH"] = str(REPO)
    inner = (
        "echo throwaway-pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null; "
        f'exec "{sys.executable}" "{script}"'
    )
    env["SS_TEST_TOKEN"] = TOKEN  # test value; never on argv
    proc = subprocess.run(
        ["dbus-run-session", "--", "sh", "-c", inner],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert lines, f"no result (exit {proc.returncode}): {proc.stderr[-2000:]}"
    out = json.loads(lines[-1][len("RESULT ") :])
    assert out["available"] is True, out["explanation"]
    assert out["backend"] == "keyring.backends.SecretService.Keyring"
    assert out["explanation"].startswith("Token storage: Secret Service")
    assert out["read_back"] is True
    assert out["other_profile"] is True
    assert out["deleted"] is True
    assert out["after_delete"] is True
    assert out["locked_cause"] == "locked"
    assert out["locked_available"] is False
    assert out["locked_get"] == "KeyringLocked"
    assert out["locked_get_seconds"] < 2
    # gnome-keyring encrypts its files: the token is nowhere on disk in clear text.
    for path in isolated_home.rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path
