"""``incident-console drill``: run the simulated GitLab standalone until Ctrl-C.

Prints the URL and the *names* of the two drill tokens; the token values are printed only
with ``--show-tokens`` (they open nothing but this local drill, but the habit matters).
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Sequence

from console.drill.server import DrillOptions, DrillServer


def build_parser(prog: str = "incident-console drill") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description="Run a simulated GitLab instance for tabletop drills."
    )
    parser.add_argument("--port", type=int, default=0, help="TCP port (default: any free port)")
    parser.add_argument(
        "--host", default="127.0.0.1", help="bind address (default 127.0.0.1; the drill has no TLS)"
    )
    parser.add_argument(
        "--users", type=_positive, default=2000, help="number of users, up to 200000 (default 2000)"
    )
    parser.add_argument(
        "--latency-ms", type=float, default=0.0, help="added latency per request in milliseconds"
    )
    parser.add_argument("--tier", choices=("free", "premium", "ultimate"), default="ultimate")
    parser.add_argument(
        "--error-rate",
        type=_rate,
        default=0.0,
        help="fraction of requests answered with HTTP 500 (0..1)",
    )
    parser.add_argument(
        "--rate-limit",
        type=_positive,
        default=None,
        help="requests per minute per token before HTTP 429",
    )
    parser.add_argument("--seed", type=int, default=1, help="scenario seed (default 1)")
    parser.add_argument(
        "--show-tokens",
        action="store_true",
        help="print the drill's admin and non-admin token values",
    )
    return parser


def _positive(text: str) -> int:
    value = int(text)
    if value < 1 or value > 200_000:
        raise argparse.ArgumentTypeError("must be between 1 and 200000")
    return value


def _rate(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return value


def main(argv: Sequence[str] | None = None, *, stop: threading.Event | None = None) -> int:
    """Entry point. ``stop`` lets tests end the loop; interactive use ends with Ctrl-C."""
    args = build_parser().parse_args(list(argv) if argv is not None else None)
    options = DrillOptions(
        users=args.users,
        latency_ms=args.latency_ms,
        error_rate=args.error_rate,
        tier=args.tier,
        rate_limit_per_minute=args.rate_limit,
        seed=args.seed,
        host=args.host,
        port=args.port,
    )
    started = time.monotonic()
    try:
        server = DrillServer(options)
        url = server.start()
    except OSError as exc:
        print(
            f"drill: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return 2
    out = sys.stdout
    out.write(f"GitLab drill instance listening on {url}\n")
    out.write(
        f"  users: {len(server.state.users):,}   tier: {args.tier}   seed: {args.seed}   "
        f"ready in {time.monotonic() - started:.1f}s\n"
    )
    out.write(f"  admin token:     {DrillServer.ADMIN_TOKEN_NAME}\n")
    out.write(f"  non-admin token: {DrillServer.USER_TOKEN_NAME}\n")
    if args.show_tokens:
        out.write(f"  ADMIN_TOKEN={DrillServer.ADMIN_TOKEN}\n")
        out.write(f"  USER_TOKEN={DrillServer.USER_TOKEN}\n")
    else:
        out.write("  (token values hidden; pass --show-tokens to print them)\n")
    out.write("Press Ctrl-C to stop.\n")
    out.flush()
    waiter = stop or threading.Event()
    try:
        while not waiter.wait(0.5):
            pass
    except KeyboardInterrupt:
        out.write("\nstopping drill\n")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
