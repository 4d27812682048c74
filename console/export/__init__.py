"""Exports: CSV and JSON Lines of what the console holds, the Markdown report, journal
verification and the signed, verifiable evidence bundle.

* :mod:`~console.export.tables`: users, audit events, credentials, journal rows (no secret);
* :mod:`~console.export.writers`: CSV (formula-neutralised) and JSON Lines, sanitised;
* :mod:`~console.export.report`: the incident report in Markdown;
* :mod:`~console.export.journal_check`: re-walk the hash chain (store or bundle);
* :mod:`~console.export.bundle` and :mod:`~console.export.sign`: the bundle and its signature;
* :mod:`~console.export.readonly`: the store opened so that it cannot be written.

Headless: no Textual or Rich. Import from ``console.export``.
"""

from __future__ import annotations

from console.export.bundle import (
    FORMAT,
    MANIFEST,
    BundleCheck,
    BundleError,
    export_bundle,
    verify_bundle,
)
from console.export.journal_check import JournalCheck, chain_records, check_journal, check_records
from console.export.readonly import ReadOnlyStore, open_read_only
from console.export.report import REPORT_SECTIONS, render_report
from console.export.sign import NAMESPACE, SigningError, ssh_keygen
from console.export.tables import (
    CREDENTIAL_COLUMNS,
    EVENT_COLUMNS,
    JOURNAL_COLUMNS,
    USER_EXPORT_COLUMNS,
    credential_rows,
    event_rows,
    journal_call,
    journal_rows,
    user_rows,
    verification_of,
)
from console.export.view import VIEW_FORMATS, export_view
from console.export.writers import csv_cell, write_csv, write_jsonl

__all__ = [
    "CREDENTIAL_COLUMNS",
    "EVENT_COLUMNS",
    "FORMAT",
    "JOURNAL_COLUMNS",
    "MANIFEST",
    "NAMESPACE",
    "REPORT_SECTIONS",
    "USER_EXPORT_COLUMNS",
    "VIEW_FORMATS",
    "BundleCheck",
    "BundleError",
    "JournalCheck",
    "ReadOnlyStore",
    "SigningError",
    "chain_records",
    "check_journal",
    "check_records",
    "credential_rows",
    "csv_cell",
    "event_rows",
    "export_bundle",
    "export_view",
    "journal_call",
    "journal_rows",
    "open_read_only",
    "render_report",
    "ssh_keygen",
    "user_rows",
    "verification_of",
    "verify_bundle",
    "write_csv",
    "write_jsonl",
]
