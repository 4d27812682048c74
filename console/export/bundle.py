"""The evidence bundle: a directory a colleague (or a court) can check without the console.

``export_bundle`` writes the report, JSON Lines of users, audit events, credentials, journal
entries and the journal's hash-chain records, the instance facts and runbook state as cached,
and ``manifest.json`` (SHA-256 of every file, the journal head); optionally signs the manifest
with an SSH key; then leaves every file 0444 and the directory 0555. It refuses a path that
exists. ``verify_bundle`` checks the hashes, re-walks the chain (so a deleted or swapped
journal line is named even if the manifest was rewritten) and the signature.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final

from console import __version__, timeutil
from console.export.journal_check import chain_records, check_records, parse_jsonl
from console.export.report import render_report
from console.export.sign import sign_file, verify_file
from console.export.tables import credential_rows, event_rows, journal_rows, user_rows
from console.export.writers import clean_value, write_jsonl
from console.runbook import cached_coverage, evaluate
from console.timeutil import format_iso

if TYPE_CHECKING:
    from console.store import Incident, Store

__all__ = ["FORMAT", "MANIFEST", "BundleCheck", "BundleError", "export_bundle", "verify_bundle"]

FORMAT: Final = "incident-console-bundle/1"
MANIFEST: Final = "manifest.json"
SIGNATURE: Final = "manifest.json.sig"
JOURNAL_CHAIN: Final = "journal.jsonl"


class BundleError(Exception):
    """The bundle could not be written (existing path, I/O, signing)."""


@dataclass(frozen=True, slots=True)
class BundleCheck:
    ok: bool
    problems: tuple[str, ...]
    journal_head: str | None
    signature: str  # "not signed", or ssh-keygen's verdict

    @property
    def first_problem(self) -> str | None:
        return self.problems[0] if self.problems else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "first_problem": self.first_problem,
            "problems": list(self.problems),
            "journal_head": self.journal_head,
            "signature": self.signature,
        }


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _open_new(path: Path) -> IO[str]:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    return os.fdopen(fd, "w", encoding="utf-8", newline="\n")


@dataclass
class _Writer:
    root: Path
    written: list[str] = field(default_factory=list)

    def text(self, name: str, fill: Callable[[IO[str]], object]) -> None:
        with _open_new(self.root / name) as fh:
            fill(fh)
            fh.flush()
            os.fsync(fh.fileno())
        self.written.append(name)

    def jsonl(self, name: str, rows: Iterable[Mapping[str, Any]], *, raw: bool = False) -> None:
        self.text(name, lambda fh: write_jsonl(rows, fh, raw=raw))

    def json(self, name: str, value: Any) -> None:
        self.text(
            name,
            lambda fh: fh.write(
                json.dumps(value, indent=2, sort_keys=True, ensure_ascii=True) + "\n"
            ),
        )


def export_bundle(
    store: Store,
    incident: Incident,
    out: Path,
    *,
    sign_key: Path | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Write the bundle to the new directory ``out``; returns the manifest (BundleError)."""
    iid = int(incident.id)
    try:
        out.mkdir(mode=0o700)
    except FileExistsError:
        raise BundleError(
            f"{out} already exists: a bundle is written to a new directory only, never over another"
        ) from None
    except OSError as exc:
        raise BundleError(f"cannot create {out}: {exc.strerror or exc}") from None
    w = _Writer(out)
    try:
        when = format_iso(now or timeutil.now(), "seconds")
        state = evaluate(store, incident)
        w.text(
            "report.md", lambda fh: fh.write(render_report(store, incident, state=state, now=now))
        )
        w.jsonl("users.jsonl", user_rows(store, iid))
        w.jsonl("audit_events.jsonl", event_rows(store, incident))
        w.jsonl("credentials.jsonl", credential_rows(store, iid))
        w.jsonl("journal_entries.jsonl", journal_rows(store, iid))
        records = chain_records(store, iid)
        w.jsonl(JOURNAL_CHAIN, records, raw=True)
        cov = cached_coverage(store, iid)
        w.json(
            "instance.json",
            clean_value(
                {
                    "cached": cov is not None,
                    "fetched_at": cov[1] if cov else None,
                    "coverage": cov[0] if cov else None,
                }
            ),
        )
        w.json("runbook.json", clean_value(state.as_dict()))
        head = store.journal_head(iid)
        manifest = {
            "format": FORMAT,
            "created_at": when,
            "console_version": __version__,
            "incident": clean_value(
                {
                    "id": iid,
                    "title": incident.title,
                    "kind": incident.kind,
                    "instance_url": incident.instance_url,
                    "window_start": incident.window_start,
                    "window_end": incident.window_end,
                }
            ),
            "journal_head": head,
            "journal_records": len(records),
            "files": {
                name: {"sha256": _sha256(out / name), "bytes": (out / name).stat().st_size}
                for name in w.written
            },
        }
        w.json(MANIFEST, manifest)
        if sign_key is not None:
            sign_file(out / MANIFEST, sign_key)
        for path in out.iterdir():
            os.chmod(path, 0o444)
        os.chmod(out, 0o555)  # noqa: S103 (read-only for everyone, as evidence is)
        return manifest
    except BaseException as exc:
        _discard(out)
        if isinstance(exc, OSError):
            raise BundleError(f"cannot write the bundle: {exc.strerror or exc}") from None
        if isinstance(exc, Exception) and not isinstance(exc, BundleError):
            raise BundleError(str(exc)) from exc
        raise


def _discard(out: Path) -> None:
    """Remove a half-written bundle: a partial bundle must never pass for evidence."""
    with contextlib.suppress(OSError):
        os.chmod(out, 0o700)
        for path in out.iterdir():
            path.unlink()
        out.rmdir()


def verify_bundle(
    root: Path,
    *,
    allowed_signers: Path | None = None,
    identity: str | None = None,
    require_signature: bool = False,
) -> BundleCheck:
    """Check every file's SHA-256, the journal chain and the signature; problems in order."""
    problems: list[str] = []
    try:
        manifest = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return BundleCheck(False, (f"{MANIFEST}: unreadable ({exc})",), None, "not checked")
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict) or manifest.get("format") != FORMAT:
        return BundleCheck(
            False, (f"{MANIFEST}: not an incident-console bundle manifest",), None, "not checked"
        )
    for name in sorted(files):
        path = root / name
        if "/" in name or name.startswith("."):
            problems.append(f"{name}: not a plain file name")
        elif not path.is_file():
            problems.append(f"{name}: missing")
        elif _sha256(path) != (files[name] or {}).get("sha256"):
            problems.append(f"{name}: SHA-256 does not match the manifest (file changed)")
    known = set(files) | {MANIFEST, SIGNATURE}
    problems.extend(
        f"{p.name}: not in the manifest" for p in sorted(root.iterdir()) if p.name not in known
    )
    head = manifest.get("journal_head")
    journal = root / JOURNAL_CHAIN
    if JOURNAL_CHAIN not in files:
        problems.append(f"{JOURNAL_CHAIN}: not in the manifest (the journal cannot be checked)")
    elif journal.is_file():
        records, bad = parse_jsonl(journal.read_text(encoding="utf-8", errors="replace"))
        problems.extend(f"{JOURNAL_CHAIN} {p}" for p in bad)
        incident_id = int((manifest.get("incident") or {}).get("id") or 0)
        check = check_records(records, incident_id, head if isinstance(head, str) else None)
        problems.extend(f"{JOURNAL_CHAIN} {p}" for p in check.problems)
    sig = root / SIGNATURE
    if sig.is_file():
        verdict = verify_file(
            root / MANIFEST, sig, allowed_signers=allowed_signers, identity=identity
        )
        signature = verdict.message
        if not verdict.ok:
            problems.append(f"{SIGNATURE}: signature check failed ({verdict.message})")
    else:
        signature = "not signed"
        if require_signature:
            problems.append(f"{SIGNATURE}: missing (a signature was required)")
    return BundleCheck(
        not problems, tuple(problems), head if isinstance(head, str) else None, signature
    )
