"""Drive the real ``incident-console`` in a pseudo-terminal and read its screen.

The app is started as the responder starts it (``python -m console --demo``) on a pty of 80x24
with ``TERM=xterm-256color``; its output is fed to ``pyte``, a VT100/xterm emulator, so tests
assert on the characters a responder would see, not on the app's internals. ``pyte`` is the test
dependency for this: parsing Textual's escape sequences by hand would be a terminal emulator of
our own.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import pyte

__all__ = ["PtyApp"]

COLUMNS, LINES = 80, 24


class PtyApp:
    """One console process on a pty; ``text()`` is the emulated screen now."""

    def __init__(
        self,
        home: Path,
        *args: str,
        env: Mapping[str, str] | None = None,
        size: tuple[int, int] = (COLUMNS, LINES),
    ) -> None:
        self.columns, self.lines = size
        self.screen = pyte.Screen(self.columns, self.lines)
        self.stream = pyte.ByteStream(self.screen)
        self._lock = threading.Lock()
        self.raw = bytearray()
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", self.lines, self.columns, 0, 0))
        environment = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("PYTEST", "TEXTUAL", "COLUMNS", "LINES", "NO_COLOR"))
        }
        environment.update(
            TERM="xterm-256color",
            COLUMNS=str(self.columns),
            LINES=str(self.lines),
            HOME=str(home),
            XDG_CONFIG_HOME=str(home / "config"),
            XDG_DATA_HOME=str(home / "data"),
            XDG_STATE_HOME=str(home / "state"),
            XDG_CACHE_HOME=str(home / "cache"),
            XDG_RUNTIME_DIR=str(home / "run"),
        )
        environment.update(env or {})
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "console", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=environment,
            start_new_session=True,
            close_fds=True,
        )
        os.close(slave)
        self.master = master
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                ready, _, _ = select.select([self.master], [], [], 0.1)
                if not ready:
                    if self.proc.poll() is not None:
                        return
                    continue
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            with self._lock:
                self.raw.extend(data)
                self.stream.feed(data)

    # -- input ---------------------------------------------------------------------------
    def write(self, text: str) -> None:
        """Send ``text`` in ONE write, as a paste or a laggy SSH packet delivers it."""
        os.write(self.master, text.encode())

    # -- output --------------------------------------------------------------------------
    def text(self) -> str:
        with self._lock:
            return "\n".join(self.screen.display)

    def line_with(self, needle: str) -> str:
        return next((line for line in self.text().splitlines() if needle in line), "")

    def wait_for(self, predicate: str | Callable[[str], bool], timeout: float = 15.0) -> str:
        """Wait until ``predicate`` (a substring, or a function of the screen) holds."""
        check = (lambda screen: predicate in screen) if isinstance(predicate, str) else predicate
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.text()
            if check(screen):
                return screen
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(
            f"timed out waiting for {predicate!r}; exit={self.proc.poll()}\n{self.text()}"
        )

    def settle(self, quiet: float = 0.4, timeout: float = 8.0) -> str:
        """Wait until the screen has not changed for ``quiet`` seconds."""
        deadline = time.monotonic() + timeout
        last, since = self.text(), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.05)
            now = self.text()
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= quiet:
                break
        return last

    def wait_exit(self, timeout: float) -> int:
        return self.proc.wait(timeout=timeout)

    def close(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)
        self._reader.join(timeout=2)
        with contextlib.suppress(OSError):
            os.close(self.master)

    def __enter__(self) -> PtyApp:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
