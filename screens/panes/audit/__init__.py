"""The Audit events pane: the pane widget and its rows (model)."""

from screens.panes.audit.model import (
    CATEGORY_KEYS,
    COLUMNS,
    audit_detail_parts,
    event_cells,
    short_time,
)
from screens.panes.audit.pane import STATE_KEY, AuditPane

__all__ = [
    "CATEGORY_KEYS",
    "COLUMNS",
    "STATE_KEY",
    "AuditPane",
    "audit_detail_parts",
    "event_cells",
    "short_time",
]
