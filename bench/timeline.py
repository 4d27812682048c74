"""Benchmark: open the timeline and export it with a million stored audit events.

    python -m bench.timeline [--events 1000000] [--db PATH] [--no-baseline]

Fills a temporary store with synthetic events (the mix of ``bench.events_query``), plus a few
journal entries and notes; ``--db PATH`` keeps the filled store there and reuses it on the next
run (filling a million events takes minutes). Each measurement runs in its own child process,
so its peak RSS is its own:

* ``open``: what the timeline screen's worker and first paint do: counts per kind, the lazy
  keys, the day histogram (SQL), the first screen of rows, then ``G`` (the last screen);
* ``export``: the whole timeline streamed to a CSV file (``export_view`` over the store's
  keyset windows);
* ``baseline open`` / ``baseline export``: what the timeline did before, in the same run on the
  same data: every event of the window read into ``AuditEvent`` objects, a list of items
  sorted, the histogram in Python (the old screen then also filled a ``DataTable`` with every
  row, not measured here), and the export written from that list.

Prints seconds, peak RSS and the ratios. No thresholds are enforced here or in unit tests.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.events_query import _events
from console.store import Store

_EXPORT_COLUMNS = ("when", "kind", "who", "what", "ref")


def _fill(path: Path, n: int) -> int:
    store = Store.open(path)
    iid = store.create_incident(
        "bench", "compromised-instance", None, "https://gitlab.example.com", "2026-11-01", None
    ).id
    batch: list[dict[str, Any]] = []
    with store.bulk_cache_writes():
        for event in _events(n):
            batch.append(event)
            if len(batch) == 20_000:
                store.upsert_events(iid, "instance", batch)
                batch.clear()
        store.upsert_events(iid, "instance", batch)
    store.record_audit_window(iid, "instance", "2026-11-01", "2026-11-30T23:59:59Z")
    for i in range(50):
        entry = store.journal_intent(iid, "block_user", "user", i, f"user{i:05d}", {}, None)
        store.journal_update(entry, "done")
    for i in range(200):
        store.add_note(iid, "incident", iid, f"note {i}", "alice")
    store.close()
    return int(iid)


def _open(store: Store, iid: int) -> dict[str, Any]:
    from console.timeline_sources import open_timeline

    incident = store.get_incident(iid)
    assert incident is not None
    timeline = open_timeline(store, incident)
    kinds = ("event", "action", "note")
    counts = timeline.kind_counts()
    keys = timeline.keys(kinds, sum(counts.values()))
    lines = timeline.histogram(kinds, "day", 40)
    first = timeline.rows(list(keys[:64]))
    last = timeline.rows(list(keys[len(keys) - 64 :]))
    return {"items": len(keys), "histogram": len(lines), "rows": len(first) + len(last)}


def _export(store: Store, iid: int, out: Path) -> dict[str, Any]:
    from console.export import export_view
    from console.timeline_sources import open_timeline

    incident = store.get_incident(iid)
    assert incident is not None
    rows = (
        {"when": i.when, "kind": i.kind, "who": i.who, "what": i.what, "ref": i.ref}
        for i in open_timeline(store, incident).iter_items()
    )
    return {"rows": export_view(rows, _EXPORT_COLUMNS, out, "csv")}


def _old_items(store: Store, iid: int) -> list[Any]:
    """The timeline as it was built before: every event of the window as an object."""
    from console.audit import AuditEvent
    from console.store import EventQuery
    from console.timeline import TimelineItem
    from console.timeutil import normalize_ts

    incident = store.get_incident(iid)
    assert incident is not None
    q = EventQuery(scope="instance", since=incident.window[0], until=incident.window[1])
    rids = store.event_rids(iid, q)
    events: list[AuditEvent] = []
    for i in range(0, len(rids), 5_000):
        events += [AuditEvent.from_dict(r) for r in store.events_by_rids(iid, rids[i : i + 5_000])]
    items = []
    for e in events:
        target = e.target_details or e.entity_path
        what = " ".join(x for x in (e.event_name or e.category, target, e.summary) if x)
        when = normalize_ts(e.created_at) or ""
        items.append(TimelineItem(when, "event", e.author_name, what, f"event:{e.id}"))
    for j in store.journal_entries(iid):
        when = normalize_ts(j.t_done or j.t_sent or j.t_intent) or j.t_intent
        what = f"{j.action} {j.target_label}: {j.state}"
        items.append(TimelineItem(when, "action", "console", what, f"journal:{j.id}"))
    for n in store.notes(iid):
        items.append(TimelineItem(n.created_at, "note", n.author, n.text, f"note:{n.id}"))
    items.sort(key=lambda i: (i.when, i.kind, i.ref))
    return items


def _baseline_open(store: Store, iid: int) -> dict[str, Any]:
    from console.timeline import histogram

    items = _old_items(store, iid)
    lines = histogram(items, "day", width=40)
    return {"items": len(items), "histogram": len(lines)}


def _baseline_export(store: Store, iid: int, out: Path) -> dict[str, Any]:
    from console.export import export_view

    rows = [
        {"when": i.when, "kind": i.kind, "who": i.who, "what": i.what, "ref": i.ref}
        for i in _old_items(store, iid)
    ]
    return {"rows": export_view(rows, _EXPORT_COLUMNS, out, "csv")}


def _child(mode: str, db: Path, iid: int) -> None:
    store = Store.open(db)
    out = Path(tempfile.mkdtemp()) / "timeline.csv"
    started = time.perf_counter()
    if mode == "open":
        result = _open(store, iid)
    elif mode == "export":
        result = _export(store, iid, out)
    elif mode == "baseline-open":
        result = _baseline_open(store, iid)
    else:
        result = _baseline_export(store, iid, out)
    result["seconds"] = time.perf_counter() - started
    result["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if out.exists():
        out.unlink()
    print(json.dumps(result))


def _run(mode: str, db: Path, iid: int) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.timeline", "--child", mode, "--db", str(db)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1:] or ["failed"]}
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--db", type=Path, help="keep (and reuse) the filled store here")
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        _child(args.child, args.db, 1)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or Path(tmp) / "bench.db"
        if not db.exists():
            started = time.perf_counter()
            _fill(db, args.events)
            print(f"filled {args.events:,} events in {time.perf_counter() - started:.0f} s")
        modes = ["open", "export"]
        if not args.no_baseline:
            modes += ["baseline-open", "baseline-export"]
        results = {mode: _run(mode, db, 1) for mode in modes}
    for mode, r in results.items():
        if "error" in r:
            print(f"{mode:<16} failed: {r['error']}")
            continue
        extra = ", ".join(f"{k} {v:,}" for k, v in r.items() if k not in ("seconds", "rss_mb"))
        print(f"{mode:<16} {r['seconds']:8.2f} s  peak RSS {r['rss_mb']:7.0f} MB  ({extra})")
    for mode in ("open", "export"):
        ours, base = results.get(mode, {}), results.get(f"baseline-{mode}", {})
        if "seconds" in ours and "seconds" in base:
            print(
                f"{mode}: {base['seconds'] / ours['seconds']:.1f}x faster, "
                f"{base['rss_mb'] / ours['rss_mb']:.1f}x less peak RSS than the baseline"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
