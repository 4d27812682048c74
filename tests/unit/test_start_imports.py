"""What the start-up does not import, and that errors are still explained without it.

python-gitlab with requests (~60 ms), keyring (~10 ms) and the actions (which import
python-gitlab) stay off the way to the first rows: the start-up reads through httpx, and
python-gitlab's client is built after the first rows. The checks for those libraries' errors
therefore run only once they are loaded; the second test drives the error paths in a fresh
interpreter where they are not, and checks that nothing loaded them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LATE = ("gitlab", "requests", "keyring", "actions")


def _run(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def test_the_app_imports_without_python_gitlab_keyring_or_the_actions() -> None:
    out = _run(
        f"""
        import json, sys
        import console.cli, console.app, console.session, console.capabilities
        import screens.main, screens.panes.users
        print(json.dumps(sorted(m for m in {LATE!r} if m in sys.modules)))
        """
    )
    assert json.loads(out) == []


def test_httpx_failures_are_explained_and_retried_without_loading_requests() -> None:
    out = _run(
        f"""
        import json, ssl, sys
        import httpx
        from console.api import pages
        from console.errors import describe_error

        url = "https://gitlab.example.com"
        refused = pages.HttpStatusError(
            404, "404 Not found", b'{{"message": "404 Not found"}}', {{"X-Request-Id": "r1"}}
        )
        limited = pages.HttpStatusError(429, "Retry later", None, {{"Retry-After": "7"}})

        class Answer:
            def __init__(self, status):
                self.status_code, self.headers, self.content = status, {{}}, b"[]"

            def json(self):
                return []

        class Flaky:
            base_url = url + "/api/v4"
            timeout = 5.0
            calls = 0

            def get(self, path, params=None, timeout=None):
                self.calls += 1
                if self.calls == 1:
                    raise httpx.ReadTimeout("timed out")
                return Answer(503 if self.calls == 2 else 200)

        pages._pause = lambda seconds: None
        flaky = Flaky()
        answer = pages.get_response(flaky, "/users")
        report = {{
            "refused": [describe_error(refused, url=url).status, pages.refusal(refused)],
            "limited": describe_error(limited, url=url).retry_after,
            "kinds": [
                describe_error(httpx.ConnectError("[Errno 111] Connection refused"), url=url).kind,
                describe_error(httpx.ReadTimeout("timed out"), url=url).kind,
                describe_error(ssl.SSLError("wrong version number"), url=url).kind,
                describe_error(ValueError("odd"), url=url).kind,
            ],
            "transient": [
                pages._is_transient_exception(httpx.ReadTimeout("t")),
                pages._is_transient_exception(ssl.SSLError("bad")),
                pages._is_transient_exception(refused),
            ],
            "retried": [answer.status_code, flaky.calls],
            "loaded": sorted(m for m in {LATE!r} if m in sys.modules),
        }}
        print(json.dumps(report))
        """
    )
    report = json.loads(out)
    assert report["refused"] == [404, [404, "404 Not found"]]
    assert report["limited"] == 7
    assert report["kinds"] == ["refused", "timeout", "tls", "internal"]
    assert report["transient"] == [True, False, False]
    assert report["retried"] == [200, 3]  # a timeout, then a 503, then the answer
    assert report["loaded"] == []
