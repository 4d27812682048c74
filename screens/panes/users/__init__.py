"""The users pane: pane (widget), review (marks), cells, view (filters), jobs, messages."""

from screens.panes.users.cells import COLUMNS, risk_explanation, user_cells
from screens.panes.users.pane import USERS_STATE_KEY, UsersPane, UsersTable
from screens.panes.users.view import QUICK_FILTERS, UsersView

__all__ = [
    "COLUMNS",
    "QUICK_FILTERS",
    "USERS_STATE_KEY",
    "UsersPane",
    "UsersTable",
    "UsersView",
    "risk_explanation",
    "user_cells",
]
