"""Benchmark: a table page read on the UI thread while another thread keeps the interpreter busy.

    python -m bench.ui_reads [--users 2000] [--page 22] [--reads 40]

The users table reads the rows of its visible page (``Store.users_by_ids``) on the UI thread,
while it paints. During a load other threads run Python flat out (decoding pages, building rows),
and Python's ``sqlite3`` gives up the interpreter lock at every row it steps through, getting it
back only when the busy thread lets go: up to the switch interval, 5 ms, per row.

Each read is timed four ways in the same run: the row-wise query (what the table did before, one
step per row) and the store's one-step read (``console.store.one_step``), each with the other
thread idle and with it spinning. Prints the median and p90 per page read and the ratios.
No thresholds.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from console.store import Store
from console.store.users import USER_SELECT, row_to_user


def _row_wise(store: Store, incident_id: int, ids: list[int]) -> int:
    marks = ", ".join("?" * len(ids))
    sql = USER_SELECT + f"WHERE u.incident_id = ? AND u.id IN ({marks})"
    return len([row_to_user(r) for r in store._conn().execute(sql, (incident_id, *ids))])


def _spin(stop: threading.Event) -> None:
    """Pure Python work until told to stop: a page decoder, a row builder."""
    n = 0
    while not stop.is_set():
        n += 1


def _timed(read: Callable[[], int], reads: int) -> list[float]:
    out = []
    for _ in range(reads):
        started = time.perf_counter()
        read()
        out.append(time.perf_counter() - started)
        time.sleep(0.002)  # a key, a repaint: reads are not back to back
    return out


def _line(name: str, seconds: list[float]) -> tuple[float, str]:
    ordered = sorted(seconds)
    median = statistics.median(ordered)
    p90 = ordered[int(len(ordered) * 0.9) - 1]
    return median, f"{name:<28} median {median * 1000:7.2f} ms   p90 {p90 * 1000:7.2f} ms"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ui_reads", description=__doc__)
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--page", type=int, default=22, help="rows on screen (80x24)")
    parser.add_argument("--reads", type=int, default=40)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-ui-reads-") as tmp:
        home = Path(tmp) / "state"
        home.mkdir(mode=0o700)
        store = Store.open(home / "console.db")
        incident = store.create_incident(
            "bench", "compromised-instance", None, "http://x", None, None
        )
        users = [
            {"id": i, "username": f"user{i}", "name": f"User {i}", "state": "active",
             "email": f"user{i}@example.test", "created_at": "2024-01-01T00:00:00Z"}
            for i in range(1, args.users + 1)
        ]  # fmt: skip
        store.upsert_users(incident.id, users, "2024-06-01T00:00:00Z")
        page = list(range(100, 100 + args.page))

        def one_step() -> int:
            return len(store.users_by_ids(incident.id, page))

        def row_wise() -> int:
            return _row_wise(store, incident.id, page)

        results: dict[str, list[float]] = {}
        for busy in (False, True):
            stop = threading.Event()
            spinner = threading.Thread(target=_spin, args=(stop,), daemon=True)
            if busy:
                spinner.start()
            try:
                label = "busy thread" if busy else "idle"
                results[f"row-wise, {label}"] = _timed(row_wise, args.reads)
                results[f"one step, {label}"] = _timed(one_step, args.reads)
            finally:
                stop.set()
                if busy:
                    spinner.join()
        store.close()

    print(f"{args.page} rows of {args.users:,} users, {args.reads} reads each")
    medians = {}
    for name, seconds in results.items():
        medians[name], line = _line(name, seconds)
        print(line)
    print()
    busy_ratio = medians["row-wise, busy thread"] / medians["one step, busy thread"]
    print(f"beside a busy thread, one step / row-wise: {busy_ratio:.1f}x faster")
    slowdown = medians["one step, busy thread"] / medians["one step, idle"]
    print(f"one step, busy / idle: {slowdown:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
