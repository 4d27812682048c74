"""OAuth applications: list and delete the instance-wide ones (admin API).

GitLab's Applications API sees only *instance-wide* applications: there is no REST call to list
or delete the applications a user owns (``/-/user_settings/applications``) or a group owns.
Those the console cannot reach; :data:`USER_APPS_NOTE` says so in plans and reports. Deleting an
application revokes every token issued through it. There is no single-application GET, so the
read is the list.
"""

from __future__ import annotations

from collections.abc import Mapping

import gitlab

from actions.model import JSON, State, Target
from actions.registry import register
from actions.resource import GONE, DeleteObject, pick
from actions.transport import get_json

USER_APPS_NOTE = (
    "OAuth applications owned by a user or a group are not visible through GitLab's "
    "API: check the user's Applications page in the Admin Area by hand."
)


def list_oauth_apps(gl: gitlab.Gitlab) -> list[Mapping[str, JSON]]:
    """Every instance-wide OAuth application (``GET /applications``; never the secrets)."""
    body = get_json(gl, "/applications", per_page=100)
    return [a for a in body if isinstance(a, Mapping)] if isinstance(body, list) else []


class DeleteOAuthApp(DeleteObject):
    name = "delete_oauth_app"
    title = "Delete OAuth application"
    description = (
        "Delete the instance OAuth application; every token issued through it stops "
        "working. Irreversible."
    )
    target_kinds = frozenset({"oauth_application"})

    def path(self, target: Target) -> str:
        return f"/applications/{target.id}"

    def read_state(self, gl: gitlab.Gitlab, target: Target) -> State:
        for app in list_oauth_apps(gl):
            if app.get("id") == target.id:
                return State(
                    {
                        "exists": True,
                        **pick(app, "application_name", "callback_url", "confidential"),
                    }
                )
        return GONE


def _delete(p: Mapping[str, JSON]) -> DeleteOAuthApp:
    return DeleteOAuthApp()


register(DeleteOAuthApp.name, _delete)
