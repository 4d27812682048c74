"""``incident-console``: argparse entry point.

* ``incident-console [--demo | --profile NAME | --url URL] [...]`` runs the Textual app;
* ``incident-console drill ...`` runs the simulated GitLab standalone;
* ``incident-console diagnose`` prints keyring status, paths, hardening and versions;
* ``incident-console incidents | export | verify | journal show | journal verify``: headless
  commands for scripts and hand-offs (:mod:`console.export.commands`).

There is deliberately no ``--token``: argv is readable by every user on the host. Bad input gives
one clear line on stderr and exit status 2, never a traceback; unexpected crashes print one
redacted line and write the redacted traceback (no locals) to ``crash.log`` (0600).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import re
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, NoReturn

from console import APP_NAME, __version__
from console.problem import ConfigError, ProblemError
from console.redact import TOKEN_PATTERN
from console.sanitize import safe
from console.timeutil import utc_now

if TYPE_CHECKING:
    from console.drill.child import DrillProcess
    from console.launch import Launch

__all__ = ["main"]

PROG: Final = "incident-console"
SUBCOMMANDS: Final = ("drill", "diagnose", "incidents", "export", "verify", "journal")
CRASH_LOG: Final = "crash.log"
_TOKEN_FLAGS: Final = re.compile(r"^--?(private[-_]?)?token(=|$)|^--(access|api|oauth)[-_]token")


class UsageError(Exception):
    """Bad command-line input: one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {PROG} --help)")


def _err(line: str) -> None:
    from console.logs import redact

    # One line, redacted, no control characters (messages can quote server text or argv).
    sys.stderr.write(f"{PROG}: {safe(redact(line), kind='line')}\n")
    sys.stderr.flush()


def _refuse_token_in_argv(argv: Sequence[str]) -> None:
    for arg in argv:
        if TOKEN_PATTERN.search(arg) or _TOKEN_FLAGS.search(arg):
            raise UsageError(
                "refusing a token on the command line: every user on this host can read it "
                "from the process list. Enter it at the login prompt, store it in the OS "
                "keyring, or set GITLAB_TOKEN for unattended use."
            )


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 1 <= value <= 1_000_000:
        raise argparse.ArgumentTypeError(f"must be between 1 and 1000000, got {value}")
    return value


def _latency(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected milliseconds, got {text!r}") from None
    if not 0 <= value <= 60_000:
        raise argparse.ArgumentTypeError(f"must be between 0 and 60000 ms, got {value:g}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Keyboard-driven console for responding to a compromised GitLab account or "
        "instance.",
        epilog="Other commands: `incident-console drill --help` (local simulated GitLab), "
        "`incident-console diagnose` (keyring, paths, versions), `incidents`, `export`, "
        "`verify`, `journal show|verify` (headless, read-only). The token is never accepted on "
        "the command line; use the login prompt, the OS keyring, or GITLAB_URL + GITLAB_TOKEN.",
    )
    target = parser.add_argument_group("target")
    target.add_argument("--demo", action="store_true", help="run against a local drill instance")
    target.add_argument(
        "--users",
        type=_positive_int,
        default=2000,
        metavar="N",
        help="demo size: number of drill users (default 2000)",
    )
    target.add_argument(
        "--latency-ms",
        type=_latency,
        default=0.0,
        metavar="MS",
        help="demo: simulated server latency per request",
    )
    target.add_argument(
        "--tier",
        choices=("free", "premium", "ultimate"),
        default="ultimate",
        help="demo: simulated GitLab tier (default ultimate)",
    )
    target.add_argument("--profile", metavar="NAME", help="connection profile to use")
    target.add_argument("--url", metavar="URL", help="GitLab base URL (https://gitlab.example.com)")
    target.add_argument(
        "--ca-bundle",
        metavar="PATH",
        help="PEM file with the CA that signed the GitLab certificate",
    )
    target.add_argument(
        "--allow-plain-http",
        action="store_true",
        help="allow http:// to a non-loopback host (lab instances only)",
    )
    mode = parser.add_argument_group("mode")
    mode.add_argument(
        "--resume",
        action="store_true",
        help="reopen the most recently active incident for this instance",
    )
    mode.add_argument("--read-only", action="store_true", help="disable all response actions")
    mode.add_argument(
        "--dry-run", action="store_true", help="plan and journal actions without sending them"
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    return parser


def _describe_error(exc: BaseException) -> str:
    from console.errors import describe_error  # python-gitlab, httpx, keyring: only on failure

    return describe_error(exc).one_line()


def _launch_from_args(args: argparse.Namespace) -> Launch:
    from console.launch import Launch

    if args.demo and (args.url or args.profile):
        raise UsageError("--demo runs a local drill; it cannot be combined with --url/--profile")
    if args.url and args.profile:
        raise UsageError("give either --url or --profile, not both")
    ca_bundle = str(Path(args.ca_bundle).expanduser()) if args.ca_bundle else None
    if args.url or ca_bundle:
        from console.config import ConnectionConfig
    if args.url:
        url = args.url if "://" in args.url else f"https://{args.url}"
        ConnectionConfig(
            url=url, ca_bundle=ca_bundle, allow_plain_http=args.allow_plain_http
        ).validate()
        args.url = url
    elif ca_bundle:
        ConnectionConfig(url="https://placeholder.invalid", ca_bundle=ca_bundle).validate()
    if args.profile:
        from console.profiles import ProfileBook

        book = ProfileBook.load()
        if book.get(args.profile) is None:
            known = ", ".join(book.names()) or "none yet"
            shown = safe(args.profile, kind="line")
            raise UsageError(f"no profile named {shown!r} (known: {known})")
    return Launch(
        demo=args.demo,
        drill_users=args.users,
        drill_latency_ms=args.latency_ms,
        drill_tier=args.tier,
        drill_process=args.demo,
        profile=args.profile,
        url=args.url,
        resume=args.resume,
        read_only=args.read_only,
        dry_run=args.dry_run,
        ca_bundle=ca_bundle,
        allow_plain_http=args.allow_plain_http,
    )


def _import_app() -> Callable[[Launch], int]:
    """Import the Textual app with the cyclic garbage collector paused, then freeze what the
    imports made: modules, classes and functions live as long as the process, and collecting
    over them cost about a tenth of the import time (and every later full collection). The
    collector stays paused until the first rows (:mod:`console.startgc`)."""
    from console import startgc

    startgc.pause()
    try:
        from console.app import run
    except BaseException:
        startgc.resume()
        raise
    finally:
        gc.freeze()
    return run


def _start_drill(launch: Launch) -> DrillProcess | None:
    """``--demo``: start the drill's child process now, before the console's own imports (a
    third of a second), so that it seeds the simulated instance meanwhile on another core."""
    if not (launch.demo and launch.drill_process):
        return None
    from console.drill.child import DrillProcess
    from console.drill.options import DrillOptions

    tier: Any = launch.drill_tier
    drill = DrillProcess(
        DrillOptions(users=launch.drill_users, latency_ms=launch.drill_latency_ms, tier=tier)
    )
    drill.start()
    return drill


def _versions() -> str:
    from importlib import metadata  # 20 ms: only `diagnose` asks

    parts = [f"Python {sys.version.split()[0]}"]
    for dist in ("textual", "python-gitlab", "httpx", "keyring", "secretstorage", "platformdirs"):
        try:
            parts.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{dist} (not installed)")
    return ", ".join(parts)


def diagnose(applied: list[str]) -> int:
    from console import paths
    from console.profiles import ProfileBook
    from console.tokens import probe_keyring

    out = sys.stdout.write
    out(f"{PROG} {__version__}\n")
    out(f"Versions: {_versions()}\n\n")
    status = probe_keyring()
    out(safe(status.explanation()) + "\n\n")  # may quote a keyring backend's error text
    out("Paths:\n")
    for label, fn in (
        ("config", paths.config_dir),
        ("data", paths.data_dir),
        ("state", paths.state_dir),
        ("cache", paths.cache_dir),
        ("logs", paths.log_dir),
    ):
        out(f"  {label:<7}{safe(str(fn()), kind='line')}\n")
    out("\nHardening: " + ("; ".join(applied) if applied else "none applied") + "\n")
    try:
        book = ProfileBook.load()
        names = ", ".join(safe(n, kind="line") for n in book.names()) or "none"
        out(f"Profiles: {names}\n")
        for warning in book.warnings:
            out(f"  ! {safe(warning, kind='line')}\n")
    except ConfigError as exc:
        out(f"Profiles: unreadable ({safe(str(exc), kind='line')})\n")
    except ProblemError as exc:  # an unsafe profiles.toml or config directory: say why
        out(f"Profiles: refused ({safe(exc.problem.one_line(), kind='line')})\n")
    env_bits = [name for name in ("GITLAB_URL", "GITLAB_HOST") if os.environ.get(name)]
    if os.environ.get("GITLAB_TOKEN"):
        env_bits.append("GITLAB_TOKEN (would be used and removed from the environment)")
    out("Environment: " + (", ".join(env_bits) if env_bits else "no GITLAB_* variables") + "\n")
    return 0


def _require_terminal() -> None:
    """The console is full-screen: refuse (exit 2) rather than write escape codes into a file
    or wait forever for keys that cannot come."""
    for name, stream in (("input", sys.stdin), ("output", sys.stdout)):
        try:
            is_tty = stream is not None and stream.isatty()
        except (ValueError, OSError):
            is_tty = False
        if not is_tty:
            raise UsageError(
                f"standard {name} is not a terminal: the console is a full-screen program. "
                f"Run it from an interactive terminal (ssh -t for a remote one); "
                f"'{PROG} diagnose' works without one."
            )
    if os.environ.get("TERM", "") in ("dumb", "unknown"):
        raise UsageError(
            "TERM=dumb cannot draw the console's screen: set TERM=xterm-256color "
            "(or run it inside tmux or screen)."
        )


def _crash_log_path() -> Path | None:
    try:
        from console.logs import open_private
        from console.paths import log_dir, private_dir

        path = private_dir(log_dir()) / CRASH_LOG
        open_private(path)
        return path
    except Exception:
        return None


def _write_crash(
    exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
) -> str:
    from console.logs import redact

    text = "".join(traceback.format_exception(exc_type, exc, tb))  # no locals, by design
    path = _crash_log_path()
    where = ""
    if path is not None:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW)
            with os.fdopen(fd, "a", encoding="utf-8") as fh:
                fh.write(f"--- {utc_now()} {APP_NAME} {__version__}\n")
                fh.write(safe(redact(text), kind="text"))  # no terminal controls either
            where = f" Details (redacted) in {path}."
        except OSError:
            where = ""
    return where


def _excepthook(
    exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
) -> None:
    if issubclass(exc_type, KeyboardInterrupt):
        _err("interrupted")
        return
    from console.logs import redact

    where = _write_crash(exc_type, exc, tb)
    _err(redact(f"unexpected error — {_describe_error(exc)}{where}"))


def _thread_excepthook(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is not None:
        _excepthook(args.exc_type, args.exc_value, args.exc_traceback)


def install_excepthook() -> None:
    sys.excepthook = _excepthook
    threading.excepthook = _thread_excepthook


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    install_excepthook()
    try:
        _refuse_token_in_argv(argv)
        from console.paths import harden_process

        applied = harden_process()
        if argv and argv[0] == "drill":
            from console.drill import cli as drill_cli

            return int(drill_cli.main(argv[1:]) or 0)
        if argv and argv[0] == "diagnose":
            if len(argv) > 1:
                raise UsageError("diagnose takes no arguments")
            return diagnose(applied)
        if argv and argv[0] in ("incidents", "export", "verify", "journal"):
            from console.export.commands import run as run_headless

            return run_headless(argv)  # read-only store, no token, no terminal needed
        args = build_parser().parse_args(argv)
        launch = _launch_from_args(args)
        from console.logs import setup_logging
        from console.paths import private_dirs

        private_dirs()  # config, data, state, cache: 0700, or refused before anything is read
        _require_terminal()
        drill = _start_drill(launch)
        try:
            launch = replace(launch, drill=drill)
            with contextlib.suppress(OSError):
                setup_logging()
            run = _import_app()

            return int(run(launch) or 0)
        finally:
            if drill is not None:
                drill.stop()  # the app stops it on exit; this is for a failure before that
    except UsageError as exc:
        _err(str(exc))
        return 2
    except ConfigError as exc:
        _err(safe(str(exc), kind="line"))
        return 2
    except ProblemError as exc:  # explained on purpose (an unsafe directory…): no crash log
        _err(exc.problem.one_line())
        return 1
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
    except SystemExit:
        raise
    except Exception as exc:
        from console.logs import redact

        where = _write_crash(type(exc), exc, exc.__traceback__)
        _err(redact(f"{_describe_error(exc)}{where}"))
        return 1
