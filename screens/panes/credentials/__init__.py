"""The Credentials pane: the pane widget and its rows and view (model)."""

from screens.panes.credentials.model import (
    COLUMNS,
    KIND_GROUPS,
    SORT_KEYS,
    URGENT_FLAGS,
    CredentialsView,
    credential_cells,
    credential_detail_parts,
)
from screens.panes.credentials.pane import CredentialsPane

__all__ = [
    "COLUMNS",
    "KIND_GROUPS",
    "SORT_KEYS",
    "URGENT_FLAGS",
    "CredentialsPane",
    "CredentialsView",
    "credential_cells",
    "credential_detail_parts",
]
