"""The ``--demo`` drill in its own process: seeding and serving off the console's interpreter.

The console and an in-process drill share one interpreter lock: while the simulated instance is
seeded and answers the start-up's requests, the console cannot paint. A real GitLab's work
happens elsewhere; so does this drill's, on another core. The parent binds the loopback port
itself (the URL is known at once) and hands the listening socket to the child, which seeds and
serves it. The child ends when its stdin closes: when the console stops it, exits or dies.

    python -m console.drill.child --fd N [--users 2000] [--latency-ms 0] [--tier ultimate]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Sequence
from typing import IO

from console.drill import credentials
from console.drill.options import DrillOptions

__all__ = ["DrillProcess"]


class DrillProcess:
    """A drill seeded and served by a child process (same options and tokens as in-process).

    Light to import (the simulated instance is only imported by the child): the command line
    starts it before the console's own imports, so the child seeds while they run.
    """

    ADMIN_TOKEN = credentials.ADMIN_TOKEN

    def __init__(self, options: DrillOptions) -> None:
        self.options = options
        self.url = ""
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> str:
        """Bind the port, start the child on it; returns the URL at once (requests queue until
        the child has seeded)."""
        if self._proc is not None:
            return self.url
        options = self.options
        with socket.create_server((options.host, options.port), backlog=128) as listener:
            host, port = listener.getsockname()[:2]
            fd = listener.fileno()
            self._proc = subprocess.Popen(  # noqa: S603 - this interpreter, our own module
                [
                    sys.executable,
                    "-m",
                    "console.drill.child",
                    "--fd",
                    str(fd),
                    "--users",
                    str(options.users),
                    "--latency-ms",
                    f"{options.latency_ms:g}",
                    "--tier",
                    options.tier,
                    "--seed",
                    str(options.seed),
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,  # never onto the console's terminal
                stderr=subprocess.DEVNULL,
                pass_fds=(fd,),
                start_new_session=True,  # ctrl+c in the console is the console's
            )
        # The parent's copy of the socket is closed: only the child accepts on it.
        self.url = f"http://{host}:{port}"
        return self.url

    def release_seeding(self) -> None:
        """The child seeds at once: it takes no CPU from the console's interpreter."""

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.stdin is not None:
            proc.stdin.close()  # the child's cue to exit
        try:
            proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _exit_when_closed(stream: IO[bytes]) -> None:
    """End the process once the parent closes our stdin (or dies)."""
    while stream.read(4096):
        pass
    os._exit(0)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m console.drill.child")
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--tier", choices=("free", "premium", "ultimate"), default="ultimate")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    threading.Thread(
        target=_exit_when_closed, args=(sys.stdin.buffer,), name="parent-watch", daemon=True
    ).start()
    listener = socket.socket(fileno=args.fd)
    from console.drill.server import DrillServer

    server = DrillServer(
        DrillOptions(users=args.users, latency_ms=args.latency_ms, tier=args.tier, seed=args.seed)
    )
    server.serve_on(listener)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
