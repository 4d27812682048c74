"""The headless core never imports Textual or Rich (ARCHITECTURE.md: only console.app may).

Modules are discovered with pkgutil, so a new module under console/ or actions/ is covered
without editing this test.  Each is imported in a fresh interpreter, in turn, and the first one
that pulls in ``textual`` or ``rich`` is named.
"""

from __future__ import annotations

import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("console", "actions")
EXCLUDED = {"console.app", "console.cli"}
FORBIDDEN = ("textual", "rich")


def _discover() -> list[str]:
    names: list[str] = []
    for package in PACKAGES:
        names.append(package)
        path = [str(REPO / package)]
        for info in pkgutil.walk_packages(path, prefix=f"{package}."):
            if info.name in EXCLUDED or any(info.name.startswith(f"{e}.") for e in EXCLUDED):
                continue
            if info.name.rsplit(".", 1)[-1] == "__main__":
                continue  # importing it would run the program
            names.append(info.name)
    return sorted(set(names))


# httpx imports its optional command-line tool (``httpx._main``: click, pygments, rich) whenever
# click is installed, and import-linter (a test dependency) installs click. That is httpx's own
# entry point, not ours: hide it so the check still sees any rich import from our code.
_CHILD = """
import importlib, json, sys, traceback
sys.modules["httpx._main"] = None
forbidden = {forbidden!r}
report = {{"culprits": {{}}, "errors": {{}}}}
for name in {modules!r}:
    before = {{m for m in sys.modules if m.split(".")[0] in forbidden}}
    try:
        importlib.import_module(name)
    except Exception:
        report["errors"][name] = traceback.format_exc(limit=3)
        continue
    after = {{m for m in sys.modules if m.split(".")[0] in forbidden}}
    if after - before:
        report["culprits"][name] = sorted({{m.split(".")[0] for m in after - before}})
report["loaded"] = sorted({{m.split(".")[0] for m in sys.modules}} & set(forbidden))
print(json.dumps(report))
"""


def test_discovery_finds_the_core_modules() -> None:
    modules = _discover()
    for expected in ("console.sanitize", "console.store", "console.risk", "console.paths"):
        assert expected in modules
    assert "console.app" not in modules and "console.cli" not in modules


def test_headless_modules_do_not_import_textual_or_rich() -> None:
    modules = _discover()
    code = _CHILD.format(forbidden=FORBIDDEN, modules=modules)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert not report["errors"], f"modules failed to import: {report['errors']}"
    assert not report["culprits"], f"modules importing Textual/Rich: {report['culprits']}"
    assert report["loaded"] == []
