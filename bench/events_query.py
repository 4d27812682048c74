"""Benchmark: filter and search a million stored audit events, keystroke by keystroke.

    python -m bench.events_query [--events 1000000] [--keystrokes 40]

Fills a temporary store with synthetic events (a realistic mix of authors, IPs, event names
and categories), then replays what a responder types: a search built up one key at a time, each
category key, an IP pivot, an author pivot. For every keystroke it times what the audit pane
does on the worker thread: the ordered row ids for the query, the 60 rows on screen and the
per-category counts.

The baseline, measured in the same run on the same data, is what the pane did before: the
events as Python objects in a list, filtered in Python for every keystroke (only on a sample of
``--baseline-events`` rows when N is large, scaled up, because the whole list would not fit the
memory budget: that is the point). Prints p50/p95 per keystroke, the ratio, and peak RSS.
No thresholds are enforced here or in unit tests.
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from console.store import EventQuery, Store

_NAMES = [
    ("user_logged_in", "signin"),
    ("personal_access_token_created", "tokens"),
    ("added_ssh_key", "keys"),
    ("user_disable_two_factor", "2fa"),
    ("repository_git_operation", "repository"),
    ("group_variable_updated", "configuration"),
    ("ci_runner_registered", "runners"),
    ("system_hook_created", "hooks"),
    ("user_created", "users"),
    ("application_setting_updated", "instance"),
]


def _events(n: int, seed: int = 7) -> Iterator[dict[str, Any]]:
    rnd = random.Random(seed)
    authors = [f"user{i:05d}" for i in range(5000)] + ["mchen", "ops-helper", "root"]
    ips = [f"10.{i // 250}.{i % 250}.{rnd.randrange(1, 250)}" for i in range(3000)]
    for i in range(1, n + 1):
        name, cat = _NAMES[0] if rnd.random() < 0.55 else rnd.choice(_NAMES)
        author = rnd.randrange(len(authors))
        day = 1 + (i * 30) // (n + 1)
        yield {
            "id": i,
            "created_at": f"2026-11-{day:02d}T{rnd.randrange(24):02d}:{rnd.randrange(60):02d}:00Z",
            "author_id": author + 1,
            "author_name": authors[author],
            "entity_type": rnd.choice(["User", "Group", "Project"]),
            "entity_id": rnd.randrange(1, 400),
            "entity_path": f"group{rnd.randrange(40)}/project{rnd.randrange(400)}",
            "event_name": name,
            "category": cat,
            "categories": (cat,),
            "target_type": "User",
            "target_id": str(rnd.randrange(1, 5000)),
            "target_details": authors[rnd.randrange(len(authors))],
            "ip_address": rnd.choice(ips),
            "summary": f"{name.replace('_', ' ')} by {authors[author]}",
            "details": {"custom_message": f"{name} #{i}", "with": "standard"},
        }


def _fill(store: Store, incident: int, n: int) -> float:
    started = time.perf_counter()
    batch: list[dict[str, Any]] = []
    for event in _events(n):
        batch.append(event)
        if len(batch) == 20_000:
            store.upsert_events(incident, "instance", batch)
            batch.clear()
    store.upsert_events(incident, "instance", batch)
    return time.perf_counter() - started


def _keystrokes() -> list[EventQuery]:
    """What a person types: a search a key at a time, categories, pivots, then backspaces."""
    queries = [EventQuery(search="mchen"[:k]) for k in range(1, 6)]
    queries += [EventQuery(search="10.3.1"[:k]) for k in range(1, 7)]
    queries += [EventQuery(categories=frozenset({cat})) for _, cat in _NAMES]
    queries += [
        EventQuery(ip="10.3.17.5"),
        EventQuery(author="mchen"),
        EventQuery(author="mchen", categories=frozenset({"tokens"})),
        EventQuery(search="project12", categories=frozenset({"keys"})),
        EventQuery(since="2026-11-20", until="2026-11-21"),
        EventQuery(),
    ]
    return queries


def _time_store(store: Store, incident: int, q: EventQuery) -> float:
    started = time.perf_counter()
    rids = store.event_rid_view(incident, q)
    store.events_by_rids(incident, rids[:60])
    return time.perf_counter() - started


def _time_counts(store: Store, incident: int, q: EventQuery) -> float:
    started = time.perf_counter()
    store.event_category_counts(incident, q)
    return time.perf_counter() - started


def _python_filter(events: list[dict[str, Any]]) -> Callable[[EventQuery], float]:
    """The old way: every event a Python object, filtered and counted per keystroke."""

    def run(q: EventQuery) -> float:
        started = time.perf_counter()
        term = q.search.casefold()
        hits = []
        counts: dict[str, int] = {}
        for e in events:
            if q.ip and e["ip_address"] != q.ip:
                continue
            if q.author and e["author_name"] != q.author:
                continue
            if (
                term
                and term
                not in (
                    f"{e['author_name']} {e['entity_path']} {e['event_name']} "
                    f"{e['ip_address']} {e['summary']}"
                ).casefold()
            ):
                continue
            counts[e["category"]] = counts.get(e["category"], 0) + 1
            if q.categories and e["category"] not in q.categories:
                continue
            hits.append(e)
        hits.sort(key=lambda e: e["created_at"], reverse=True)
        return time.perf_counter() - started

    return run


def _label(q: EventQuery) -> str:
    parts = [f"search {q.search!r}"] if q.search else []
    parts += [f"category {c}" for c in sorted(q.categories)]
    parts += [f"ip {q.ip}"] if q.ip else []
    parts += [f"author {q.author}"] if q.author else []
    parts += [f"{q.since}..{q.until}"] if q.since else []
    return ", ".join(parts) or "unfiltered"


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--baseline-events", type=int, default=200_000)
    ap.add_argument("--per-key", action="store_true", help="print every keystroke's times")
    ap.add_argument(
        "--db", type=Path, help="keep the filled store here and reuse it on the next run"
    )
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "bench.db"
        reuse = path.exists()
        store = Store.open(path)
        if reuse:
            incident = store.list_incidents()[0].id
            fill_s = float("nan")
        else:
            incident = store.create_incident(
                "bench", "compromised-instance", None, "https://gitlab.example.com", None, None
            ).id
            fill_s = _fill(store, incident, args.events)
        queries = _keystrokes()
        ours = [_time_store(store, incident, q) for q in queries]
        counts = [_time_counts(store, incident, q) for q in queries]
        if args.per_key:
            for q, r, c in zip(queries, ours, counts, strict=True):
                n = store.count_events(incident, q)
                print(f"  {_label(q):32} {n:>9,} matches  rows {r * 1000:6.0f} ms  "
                      f"counts {c * 1000:6.0f} ms")  # fmt: skip
        deep = time.perf_counter()
        view = store.event_rid_view(incident, EventQuery())
        store.events_by_rids(incident, view[len(view) - 60 :])
        deep = time.perf_counter() - deep
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        sample_n = min(args.events, args.baseline_events)
        sample = list(_events(sample_n))
        base_run = _python_filter(sample)
        scale = args.events / sample_n
        base = [base_run(q) * scale for q in queries]
        store.close()
    if fill_s != fill_s:  # NaN: an existing --db
        print(f"events stored: reused {args.db}")
    else:
        print(f"events stored: {args.events:,} in {fill_s:.1f} s ({args.events / fill_s:,.0f}/s)")
    print(f"keystrokes replayed: {len(queries)}")
    print(
        f"store (SQL + FTS5): p50 {statistics.median(ours) * 1000:.0f} ms, "
        f"p95 {_pct(ours, 0.95) * 1000:.0f} ms, max {max(ours) * 1000:.0f} ms"
    )
    print(
        f"category counts (drawn after the rows): p50 {statistics.median(counts) * 1000:.0f} ms,"
        f" p95 {_pct(counts, 0.95) * 1000:.0f} ms; jump to the oldest row (G): {deep * 1000:.0f} ms"
    )
    print(
        f"baseline (Python list, {sample_n:,} rows scaled x{scale:.1f}): "
        f"p50 {statistics.median(base) * 1000:.0f} ms, p95 {_pct(base, 0.95) * 1000:.0f} ms"
    )
    print(
        f"ratio p50: {statistics.median(base) / statistics.median(ours):.1f}x, "
        f"p95: {_pct(base, 0.95) / _pct(ours, 0.95):.1f}x faster"
    )
    print(f"peak RSS with the store queried (before the baseline list): {rss_mb:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
