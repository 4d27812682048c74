"""The demo's data tells one consistent story: nothing happens before its actor exists."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from console.audit import categorize


def _t(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def test_nothing_is_used_or_done_before_it_exists(drill: Any) -> None:
    state = drill.state
    problems: list[str] = []
    for user in state.users.values():
        created = _t(user.created_at)
        for field in ("last_sign_in_at", "current_sign_in_at"):
            when = _t(getattr(user, field))
            if created and when and when < created:
                problems.append(f"user {user.id} {field} before created_at")
    for token in state.tokens.values():
        created, used = _t(token.created_at), _t(token.last_used_at)
        if created and used and used < created:
            problems.append(f"token {token.id} last used before it was created")
        owner = state.users.get(token.user_id)
        if owner and created and created < (_t(owner.created_at) or created):
            problems.append(f"token {token.id} created before its owner")
    for keys in state.ssh_keys.values():
        for key in keys:
            owner = state.users.get(key.user_id)
            if owner and _t(key.created_at) < (_t(owner.created_at) or _t(key.created_at)):  # type: ignore[operator]
                problems.append(f"ssh key {key.id} created before its owner")
    for event in state.audit:
        author = state.users.get(event.author_id)
        when, born = _t(event.created_at), _t(author.created_at) if author else None
        if when and born and when < born:
            problems.append(f"event {event.id} ({event.event_name}) before its author existed")
    assert not problems, problems[:20]


def test_the_attacker_leaves_traces_in_every_category_of_the_guide(drill: Any) -> None:
    mchen = next(u for u in drill.state.users.values() if u.username == "mchen")
    categories = set()
    for event in drill.state.audit:
        if event.author_id == mchen.id:
            raw = {"event_name": event.event_name, "details": event.details}
            categories.add(categorize(raw))
    for needed in ("SIGNIN", "TOKEN", "KEY", "2FA", "REPO", "CONFIG", "RUNNER", "HOOK"):
        assert needed in categories, (needed, sorted(categories))
