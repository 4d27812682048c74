"""The runbook: faithful to the guide, ticks itself from what happened, hand ticks, open items."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from actions import Target, run_plan
from actions.plan import build_plan
from actions.user_actions import BlockUser, UnblockUser
from console.config import ConnectionConfig, build_gitlab
from console.runbook import (
    RUNBOOKS,
    SECTION_TITLES,
    check_version,
    coverage_snapshot,
    evaluate,
    steps_for,
)
from console.secret import Secret
from console.store import INCIDENT_KINDS, Store

SEED = (
    Path(__file__).resolve().parents[3] / "shared" / "seed" / "responding-to-security-incidents.txt"
)


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _section(kind: str) -> str:
    """The guide's section for ``kind``: from its heading line to the next heading line."""
    text = SEED.read_text(encoding="utf-8")
    heads = {t: re.search(rf"^{re.escape(t)}$", text, re.M) for t in SECTION_TITLES.values()}
    start = heads[SECTION_TITLES[kind]]
    assert start is not None
    ends = [m.start() for m in heads.values() if m is not None and m.start() > start.start()]
    return text[start.end() : min(ends, default=len(text))]


def _bullets(section: str) -> list[str]:
    """The section's ``-`` items after "following steps:"; other lines continue an item."""
    body = section.split("following steps:", 1)[1]
    items: list[list[str]] = []
    for line in body.splitlines():
        if line.startswith("-"):
            items.append([line[1:]])
        elif items:
            items[-1].append(line)
    return [_norm(" ".join(lines)) for lines in items]


@pytest.mark.skipif(not SEED.exists(), reason="the seed guide is not next to this worktree")
@pytest.mark.parametrize("kind", sorted(INCIDENT_KINDS))
def test_steps_are_the_guides_items_in_its_order(kind):
    expected: list[str] = []
    for step in steps_for(kind):
        expected.append(step.text)
        expected.extend(step.examples)
    bullets = _bullets(_section(kind))
    # every guide item is a step (or an example of one), each one once, in the guide's order
    assert len(bullets) == len(expected), (bullets, expected)
    for item, text in zip(bullets, expected, strict=True):
        assert item.startswith(_norm(text)), (item, text)


def test_every_incident_kind_has_a_runbook_with_unique_keys():
    assert set(RUNBOOKS) == set(INCIDENT_KINDS)
    keys = [s.key for steps in RUNBOOKS.values() for s in steps]
    assert len(keys) == len(set(keys))


def _setup(
    drill: Any, tmp_path: Path, kind: str = "compromised-account", subjects: tuple[str, ...] = ()
) -> tuple[Store, Any, Any]:
    from console.drill.server import DrillServer

    store = Store.open(tmp_path / "state" / "console.db")
    inc = store.create_incident("t", kind, None, drill.url, None, None, subjects=subjects)
    gl = build_gitlab(ConnectionConfig(url=drill.url), Secret(DrillServer.ADMIN_TOKEN))
    return store, inc, gl


def _step(state: Any, key: str) -> Any:
    return next(s for s in state.steps if s.step.key == key)


def test_block_ticks_itself_only_when_verified_and_opens_an_unblock_item(fresh_drill, tmp_path):
    store, inc, gl = _setup(fresh_drill, tmp_path, subjects=("jlee",))
    before = evaluate(store, inc)
    assert not _step(before, "account.block").done
    assert before.summary().startswith("runbook 0/6")
    # an intent that never reached the server does not count
    store.journal_intent(inc.id, "block_user", "user", 10, "jlee", {}, {"state": "active"})
    assert not _step(evaluate(store, inc), "account.block").done

    plan = build_plan(BlockUser(), [Target("user", 10, "jlee")], actor_id=1)
    assert run_plan(store, inc.id, gl, plan).outcomes[0].state == "done"
    state = evaluate(store, inc)
    block = _step(state, "account.block")
    assert block.done and block.how == "auto" and "jlee" in block.evidence
    unblock = next(i for i in state.items if i.key == "open:unblock:10")
    assert not unblock.closed and "jlee" in unblock.text
    assert not _step(state, "account.unblock").done

    plan = build_plan(
        UnblockUser(confirm_credentials=True), [Target("user", 10, "jlee")], actor_id=1
    )
    assert run_plan(store, inc.id, gl, plan).outcomes[0].state == "done"
    state = evaluate(store, inc)
    assert _step(state, "account.unblock").done
    assert next(i for i in state.items if i.key == "open:unblock:10").closed


def test_block_of_another_user_does_not_tick_the_subjects_step(fresh_drill, tmp_path):
    store, inc, gl = _setup(fresh_drill, tmp_path, subjects=("jlee",))
    plan = build_plan(BlockUser(), [Target("user", 33, "someone")], actor_id=1)
    assert run_plan(store, inc.id, gl, plan).outcomes[0].state == "done"
    step = _step(evaluate(store, inc), "account.block")
    assert not step.done and "not yet for jlee" in step.evidence


def test_a_refused_attempt_does_not_tick_and_says_why(fresh_drill, tmp_path):
    store, inc, gl = _setup(fresh_drill, tmp_path)
    plan = build_plan(BlockUser(), [Target("user", 3, "support-bot")], actor_id=1)
    assert run_plan(store, inc.id, gl, plan).outcomes[0].state == "forbidden"
    step = _step(evaluate(store, inc), "account.block")
    assert not step.done
    assert step.evidence == "not verified: last attempt on support-bot ended 'forbidden', HTTP 403"


def test_review_all_users_ticks_when_every_user_has_a_mark(tmp_path):
    store = Store.open(tmp_path / "s.db")
    inc = store.create_incident("t", "compromised-instance", None, "https://g.example", None, None)
    store.upsert_users(
        inc.id,
        [{"id": 1, "username": "root"}, {"id": 2, "username": "bob"}],
        "2026-01-01T00:00:00Z",
    )
    store.set_mark(inc.id, "user", 2, "cleared")
    step = _step(evaluate(store, inc), "instance.users")
    assert not step.done and "1/2" in step.evidence and "root not reviewed" in step.evidence
    store.set_mark(inc.id, "user", 1, "flagged")
    assert _step(evaluate(store, inc), "instance.users").done


def test_manual_step_ticked_by_hand_with_who_and_note(tmp_path):
    store = Store.open(tmp_path / "s.db")
    inc = store.create_incident("t", "compromised-instance", None, "https://g.example", None, None)
    assert not _step(evaluate(store, inc), "instance.ports").done
    store.tick_runbook(inc.id, "instance.ports", "alice", "ss -tlnp: nothing unexpected")
    step = _step(evaluate(store, inc), "instance.ports")
    assert step.done and step.how == "hand"
    assert step.tick is not None and step.tick.author == "alice" and "ss -tlnp" in step.tick.note
    store.untick_runbook(inc.id, "instance.ports")
    assert not _step(evaluate(store, inc), "instance.ports").done


def test_audit_step_needs_a_complete_fetch_of_the_incident_window(tmp_path):
    from console.audit import events_cache_key

    store = Store.open(tmp_path / "s.db")
    inc = store.create_incident("t", "compromised-account", None, "https://g.example", None, None)
    key = events_cache_key(*inc.window)
    store.cache_put(inc.id, key, {"events": [{"id": 1}], "complete": False})
    state = evaluate(store, inc)
    assert not _step(state, "account.audit").done
    assert any(i.key == "open:blind:skipped:audit-partial" for i in state.open_items)
    store.cache_put(inc.id, key, {"events": [{"id": 1}, {"id": 2}], "complete": True})
    state = evaluate(store, inc)
    audit = _step(state, "account.audit")
    assert audit.done and "2 events" in audit.evidence
    assert not any(i.key == "open:blind:skipped:audit-partial" for i in state.items)


def test_blind_spots_are_open_items_until_closed_by_hand(tmp_path):
    store = Store.open(tmp_path / "s.db")
    inc = store.create_incident("t", "compromised-instance", None, "https://g.example", None, None)
    snap = {
        "version": "18.4.1-ee",
        "revision": "abc",
        "audit_status": 404,
        "tier": "free",
        "is_admin": True,
        "problems": [{"title": "Version unknown", "detail": "x", "status": 403}],
    }
    store.cache_put(inc.id, "coverage", snap)
    state = evaluate(store, inc)
    keys = {i.key for i in state.open_items}
    assert {
        "open:blind:api:git-hooks",
        "open:blind:api:host-database",
        "open:blind:api:retention",
        "open:blind:source:audit_events:404",
        "open:blind:source:Version unknown:403",
    } <= keys
    hooks = next(i for i in state.items if i.key == "open:blind:api:git-hooks")
    assert hooks.step_key == "instance.save_state"
    store.tick_runbook(inc.id, "open:blind:api:git-hooks", "bob", "custom_hooks checked")
    hooks = next(i for i in evaluate(store, inc).items if i.key == "open:blind:api:git-hooks")
    assert hooks.closed and hooks.closed_by == "bob"
    update = _step(state, "instance.update")
    assert any("18.4.1-ee" in line for line in update.details)
    assert any("BEHIND a security release" in line for line in update.details)


def test_version_check_compares_release_patch_and_security():
    old = check_version("18.4.1-ee", "abc")
    assert old.behind_release and old.behind_patch and old.behind_security
    assert old.newest_patch_of_minor is not None and old.newest_patch_of_minor.startswith("18.4.")
    newest = check_version(old.newest_release)
    assert newest.up_to_date
    unsupported = check_version("17.0.0")
    assert not unsupported.minor_supported and unsupported.behind_security
    assert any("as of" in line for line in check_version(None).lines())


def test_coverage_snapshot_carries_facts_and_no_token():
    from console.capabilities import Coverage

    cov = Coverage(
        url="https://g.example",
        version="18.4.1",
        username="root",
        is_admin=True,
        token_name="incident",
        scopes=("api",),
        audit_status=200,
    )
    snap = coverage_snapshot(cov)
    assert snap["version"] == "18.4.1" and snap["audit_status"] == 200
    assert "token" not in " ".join(snap)


def test_notes_are_kept_per_object_with_author_and_time(tmp_path):
    from console.store import StoreError

    store = Store.open(tmp_path / "s.db")
    inc = store.create_incident("t", "compromised-account", None, "https://g.example", None, None)
    store.add_note(inc.id, "incident", inc.id, "ticket INC-42 opened", "alice")
    store.add_note(inc.id, "user", 10, "jlee confirmed the phishing mail", "bob")
    assert [n.text for n in store.notes(inc.id)] == [
        "ticket INC-42 opened",
        "jlee confirmed the phishing mail",
    ]
    [note] = store.notes(inc.id, "user", 10)
    assert note.author == "bob" and note.created_at.endswith("Z")
    with pytest.raises(StoreError):
        store.add_note(inc.id, "user", 10, "   ", "bob")
    with pytest.raises(StoreError):
        store.add_note(inc.id, "server", 1, "x", "bob")
