"""``--demo``'s drill in a child process: the URL at once, the same API, gone when stopped."""

from __future__ import annotations

import json
import urllib.request

from console.drill.child import DrillProcess
from console.drill.server import DrillOptions, DrillServer


def test_the_child_drill_serves_on_the_port_bound_by_the_parent_and_ends_when_stopped() -> None:
    drill = DrillProcess(DrillOptions(users=40))
    url = drill.start()
    assert url.startswith("http://127.0.0.1:")
    proc = drill._proc
    assert proc is not None
    try:
        token = {"PRIVATE-TOKEN": DrillServer.ADMIN_TOKEN}
        request = urllib.request.Request(f"{url}/api/v4/user", headers=token)
        with urllib.request.urlopen(request, timeout=30) as response:
            body = json.loads(response.read())
        assert body["username"] == "root" and body["is_admin"] is True
        request = urllib.request.Request(f"{url}/api/v4/users?per_page=1", headers=token)
        with urllib.request.urlopen(request, timeout=30) as response:
            links = response.headers.get("Link") or ""
        assert f"{url}/api/v4/users" in links  # its next links name the parent's URL
    finally:
        drill.stop()
    assert proc.poll() is not None  # closing its stdin ended it
