"""Headless commands for scripts and hand-offs: ``incidents``, ``export``, ``verify``,
``journal show`` and ``journal verify``.

They open the store read-only (:mod:`console.export.readonly`), never need a token and never
touch the network. Exit status: 0 ok, 1 verification failed, 2 usage or environment error
(no database, no such incident, an existing output directory, ssh-keygen missing). ``--json``
prints one JSON document on stdout; otherwise lines of display-safe text.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final, NoReturn

from console.export.bundle import BundleError, export_bundle, verify_bundle
from console.export.journal_check import check_journal
from console.export.readonly import ReadOnlyStore, open_read_only
from console.export.sign import SigningError
from console.export.tables import journal_call, verification_of
from console.runbook import evaluate
from console.sanitize import safe
from console.store import Incident, StoreError

__all__ = ["COMMANDS", "EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "run"]

COMMANDS: Final = ("incidents", "export", "verify", "journal")
EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_USAGE: Final = 2
PROG: Final = "incident-console"


class _Usage(Exception):
    """Bad input or environment: one line on stderr, exit 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _Usage(f"{message} (see {self.prog} --help)")


def _line(value: object, cells: int | None = None) -> str:
    return safe(value, kind="line", max_cells=cells)


def _out(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def _json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, sort_keys=True, ensure_ascii=True) + "\n")


def _add_db(p: argparse.ArgumentParser) -> None:
    where = p.add_mutually_exclusive_group()
    where.add_argument("--db", metavar="PATH", help="console database (default: real incidents)")
    where.add_argument("--demo", action="store_true", help="the drill's database instead")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Headless commands (read-only, no token needed).")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    p = sub.add_parser("incidents", help="list incidents")
    _add_db(p)
    p.add_argument("--all", action="store_true", help="closed incidents too")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("export", help="write the evidence bundle of an incident")
    _add_db(p)
    p.add_argument("--incident", type=int, required=True, metavar="ID")
    p.add_argument("--out", required=True, metavar="DIR", help="a new directory")
    p.add_argument("--sign-key", metavar="PATH", help="SSH private key to sign the manifest")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("verify", help="check an evidence bundle (hashes, chain, signature)")
    p.add_argument("dir", metavar="DIR")
    p.add_argument(
        "--allowed-signers",
        metavar="FILE",
        help="ssh allowed_signers file: check who signed, not only the signature",
    )
    p.add_argument("--identity", metavar="ID", help="signer identity in the allowed_signers")
    p.add_argument("--require-signature", action="store_true")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("journal", help="show or verify an incident's action journal")
    jsub = p.add_subparsers(dest="journal_command", required=True, parser_class=_Parser)
    for name, text in (("show", "every journaled call"), ("verify", "re-walk the hash chain")):
        j = jsub.add_parser(name, help=text)
        _add_db(j)
        j.add_argument("--incident", type=int, required=True, metavar="ID")
        j.add_argument("--json", action="store_true")
        if name == "show":
            j.add_argument("--action", help="only this action (e.g. block_user)")
            j.add_argument("--state", help="only this state (e.g. failed)")
    return parser


def _db_path(args: argparse.Namespace) -> Path:
    if args.db:
        return Path(args.db).expanduser()
    from console.paths import data_dir
    from console.session import DRILL_DB, INCIDENTS_DB  # the files the app itself opens

    return data_dir() / (DRILL_DB if args.demo else INCIDENTS_DB)


def _open(args: argparse.Namespace) -> ReadOnlyStore:
    try:
        return open_read_only(_db_path(args))
    except StoreError as exc:
        raise _Usage(str(exc)) from None


def _incident(store: ReadOnlyStore, incident_id: int) -> Incident:
    incident = store.get_incident(incident_id)
    if incident is None:
        raise _Usage(f"no incident #{incident_id} (see `{PROG} incidents --all`)")
    return incident


def _incidents(args: argparse.Namespace) -> int:
    with _open(args) as store:
        rows = []
        for inc in store.list_incidents(None if args.all else "open"):
            state = evaluate(store, inc)
            rows.append(
                {
                    "id": inc.id,
                    "status": inc.status,
                    "kind": inc.kind,
                    "title": _line(inc.title, 80),
                    "instance_url": _line(inc.instance_url),
                    "window_start": inc.window_start,
                    "window_end": inc.window_end,
                    "last_active_at": inc.last_active_at,
                    "runbook": state.summary(),
                    "journal_head": store.journal_head(inc.id),
                }
            )
    if args.json:
        _json(rows)
        return EXIT_OK
    if not rows:
        _out("no incidents" + ("" if args.all else " open (--all lists closed ones too)"))
    for r in rows:
        _out(
            f"#{r['id']:<4} {r['status']:<6} {r['kind']:<21} {r['last_active_at']}  "
            f"{r['runbook']:<22} {r['title']}"
        )
    return EXIT_OK


def _export(args: argparse.Namespace) -> int:
    out = Path(args.out).expanduser()
    key = Path(args.sign_key).expanduser() if args.sign_key else None
    with _open(args) as store:
        incident = _incident(store, args.incident)
        try:
            manifest = export_bundle(store, incident, out, sign_key=key)
        except (BundleError, SigningError) as exc:
            raise _Usage(str(exc)) from None
    if args.json:
        _json(
            {
                "dir": str(out),
                "journal_head": manifest["journal_head"],
                "files": sorted(manifest["files"]),
                "signed": key is not None,
            }
        )
        return EXIT_OK
    _out(
        f"Evidence bundle written to {_line(out)} ({len(manifest['files'])} files"
        + (", manifest signed" if key else "")
        + ", all read-only)"
    )
    _out(f"Journal head: {manifest['journal_head']}")
    _out(f"Check it with: {PROG} verify {_line(out)}")
    return EXIT_OK


def _verify(args: argparse.Namespace) -> int:
    root = Path(args.dir).expanduser()
    if not root.is_dir():
        raise _Usage(f"{root} is not a directory")
    signers = Path(args.allowed_signers).expanduser() if args.allowed_signers else None
    check = verify_bundle(
        root,
        allowed_signers=signers,
        identity=args.identity,
        require_signature=args.require_signature,
    )
    if args.json:
        _json(check.as_dict())
    elif check.ok:
        _out(
            f"OK: every file matches the manifest, the journal chain is intact "
            f"(head {check.journal_head}); signature: {_line(check.signature)}"
        )
    else:
        _out(f"FAILED: {_line(check.first_problem)}")
        for problem in check.problems[1:]:
            _out(f"  also: {_line(problem)}")
    return EXIT_OK if check.ok else EXIT_FAILED


def _journal(args: argparse.Namespace) -> int:
    with _open(args) as store:
        incident = _incident(store, args.incident)
        if args.journal_command == "verify":
            check = check_journal(store, incident.id)
            if args.json:
                _json(check.as_dict())
            elif check.ok:
                _out(f"OK: {check.records} chain records intact; head {check.head}")
            else:
                _out(f"FAILED: {_line(check.first_problem)}")
                for problem in check.problems[1:]:
                    _out(f"  also: {_line(problem)}")
            return EXIT_OK if check.ok else EXIT_FAILED
        entries = [
            e
            for e in store.journal_entries(incident.id)
            if (not args.action or e.action == args.action)
            and (not args.state or e.state == args.state)
        ]
        head = store.journal_head(incident.id)
    if args.json:
        _json(
            {
                "head": head,
                "entries": [
                    {
                        "id": e.id,
                        "action": e.action,
                        "method": journal_call(e.action, e.target_id)[0],
                        "path": journal_call(e.action, e.target_id)[1],
                        "verification": verification_of(e.state),
                        "target_type": e.target_type,
                        "target_id": e.target_id,
                        "target": _line(e.target_label),
                        "state": e.state,
                        "http_status": e.http_status,
                        "request_id": _line(e.request_id or "") or None,
                        "error": _line(e.error) if e.error else None,
                        "t_intent": e.t_intent,
                        "t_sent": e.t_sent,
                        "t_done": e.t_done,
                        "hash": e.hash,
                    }
                    for e in entries
                ],
            }
        )
        return EXIT_OK
    for e in entries:
        when = e.t_done or e.t_sent or e.t_intent
        method, path = journal_call(e.action, e.target_id)
        _out(
            f"{e.id:>5} {when}  {method:<6} {_line(path, 44):<44} "
            f"{_line(e.target_label or e.target_id, 24):<24} {e.state:<13} "
            f"{e.http_status or '-':>4}  {_line(e.request_id or '-', 36)}  "
            f"{verification_of(e.state)}"
        )
    _out(f"{len(entries)} entries; journal head {head}")
    return EXIT_OK


def run(argv: Sequence[str]) -> int:
    """Run one headless command; returns the exit status (never raises for bad input)."""
    try:
        args = build_parser().parse_args(list(argv))
        handler = {
            "incidents": _incidents,
            "export": _export,
            "verify": _verify,
            "journal": _journal,
        }[args.command]
        return handler(args)
    except _Usage as exc:
        sys.stderr.write(f"{PROG}: {_line(exc)}\n")
        return EXIT_USAGE
    except StoreError as exc:
        sys.stderr.write(f"{PROG}: {_line(exc)}\n")
        return EXIT_USAGE
