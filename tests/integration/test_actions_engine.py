"""The journaled action engine: intent before send, verify after, no repeats, clear refusals.

Two kinds of tests: against a real (fresh) drill through python-gitlab, with the HTTP session
instrumented so we can see exactly which requests went out and in what order relative to the
journal; and against a scripted in-memory action, for the failure classes a drill cannot produce
on demand (ambiguous 5xx that did or did not apply, 429 then success, timeouts).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from actions import (
    NEEDS_HUMAN,
    ApplyResult,
    BaseAction,
    HttpFailure,
    Plan,
    ReadOnlyRefused,
    State,
    StepEvent,
    Target,
    register,
    resume_pending,
    run_plan,
)
from actions.plan import build_plan, confirmation_word, summarize
from actions.user_actions import BlockUser
from console.config import ConnectionConfig, build_gitlab
from console.errors import parse_retry_after
from console.secret import Secret
from console.store import Store

# --------------------------------------------------------------------------- helpers


def open_store(tmp_path: Path, url: str = "http://127.0.0.1") -> tuple[Store, int, Path]:
    path = tmp_path / "state" / "console.db"
    store = Store.open(path)
    inc = store.create_incident("drill", "compromised-account", None, url, None, None)
    return store, int(inc.id), path


def admin_gl(drill: Any) -> Any:
    from console.drill.server import DrillServer

    return build_gitlab(ConnectionConfig(url=drill.url), Secret(DrillServer.ADMIN_TOKEN))


@dataclass
class Wire:
    """Every request python-gitlab sends, in order, plus arbitrary marks from the test."""

    log: list[tuple[str, str]] = field(default_factory=list)
    on_send: Callable[[str, str], None] | None = None

    def writes(self) -> list[tuple[str, str]]:
        return [(m, p) for m, p in self.log if m not in ("GET", "HEAD")]


def instrument(gl: Any) -> Wire:
    wire = Wire()
    original = gl.session.send

    def send(request: Any, **kw: Any) -> Any:
        path = request.path_url.split("?")[0].removeprefix("/api/v4")
        wire.log.append((request.method, path))
        if wire.on_send is not None:
            wire.on_send(request.method, path)
        return original(request, **kw)

    gl.session.send = send
    return wire


def user_plan(action: Any, ids: list[int], actor_id: int | None = 1) -> Plan:
    return build_plan(action, [Target("user", i, f"user{i}") for i in ids], actor_id=actor_id)


def audit_count(drill: Any, event: str, entity_id: int) -> int:
    return sum(1 for e in drill.state.audit if e.event_name == event and e.entity_id == entity_id)


def committed_states(db: Path, target_id: int) -> list[str]:
    """What another process would see in the journal right now (committed rows only)."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = con.execute(
            "SELECT state FROM journal WHERE target_id = ? ORDER BY id", (target_id,)
        ).fetchall()
    finally:
        con.close()
    return [r[0] for r in rows]


# --------------------------------------------------------------------------- against the drill


def test_block_journals_intent_durably_before_the_request_and_verifies(fresh_drill, tmp_path):
    store, inc, db = open_store(tmp_path, fresh_drill.url)
    gl = admin_gl(fresh_drill)
    wire = instrument(gl)
    seen_at_send: list[list[str]] = []

    def on_send(method: str, path: str) -> None:
        if method == "POST" and path == "/users/31/block":
            seen_at_send.append(committed_states(db, 31))

    wire.on_send = on_send
    assert fresh_drill.state.users[31].state == "active"
    before = audit_count(fresh_drill, "user_blocked", 31)

    result = run_plan(store, inc, gl, user_plan(BlockUser(), [31]))

    # the intent was committed (visible to another connection) before the POST left
    assert seen_at_send == [["intent"]]
    assert wire.writes() == [("POST", "/users/31/block")]
    # pre-read GET, then the POST, then the verifying GET
    idx = wire.log.index(("POST", "/users/31/block"))
    assert ("GET", "/users/31") in wire.log[:idx]
    assert ("GET", "/users/31") in wire.log[idx + 1 :]
    [out] = result.outcomes
    assert out.state == "done", out.message
    [entry] = store.journal_entries(inc)
    assert entry.state == "done"
    assert entry.http_status == 201
    # the server's correlation id ties the journal to GitLab's own logs
    assert entry.request_id and len(entry.request_id) == 26
    assert entry.pre_state["state"] == "active"
    assert entry.post_state["state"] == "blocked"
    assert entry.t_sent and entry.t_done
    assert fresh_drill.state.users[31].state == "blocked"
    assert audit_count(fresh_drill, "user_blocked", 31) == before + 1
    assert result.head_hash == store.journal_head(inc)
    assert store.verify_chain(inc)


def test_block_of_already_blocked_user_sends_nothing(fresh_drill, tmp_path):
    store, inc, _ = open_store(tmp_path, fresh_drill.url)
    gl = admin_gl(fresh_drill)
    wire = instrument(gl)
    assert fresh_drill.state.users[15].state == "blocked"
    audit_before = len(fresh_drill.state.audit)

    result = run_plan(store, inc, gl, user_plan(BlockUser(), [15]))

    assert [o.state for o in result.outcomes] == ["noop_already"]
    assert wire.writes() == []
    assert len(fresh_drill.state.audit) == audit_before
    [entry] = store.journal_entries(inc)
    assert entry.state == "noop_already"
    assert store.journal_pending(inc) == []


def test_dry_run_reads_only_and_journals_only_that_nothing_was_sent(fresh_drill, tmp_path):
    store, inc, _ = open_store(tmp_path, fresh_drill.url)
    gl = admin_gl(fresh_drill)
    wire = instrument(gl)
    audit_before = len(fresh_drill.state.audit)

    raw = Plan(BlockUser(), tuple(Target("user", i, f"u{i}") for i in (31, 15, 1)))
    result = run_plan(store, inc, gl, raw, dry_run=True)

    states = {o.target.id: o.state for o in result.outcomes}
    assert states == {31: "would_do", 15: "noop_already", 1: "refused"}
    assert wire.writes() == []
    [entry] = store.journal_entries(inc)  # the attempt, as sending nothing (actions.attempts)
    assert (entry.state, entry.extra["not_sent"], entry.t_sent) == ("noop_already", "dry_run", None)
    assert store.journal_pending(inc) == [] and store.plans_open(inc) == []
    assert fresh_drill.state.users[31].state == "active"
    assert len(fresh_drill.state.audit) == audit_before
    assert result.head_hash is None


def test_read_only_refuses_mutating_plans_but_allows_a_dry_run(fresh_drill, tmp_path):
    store, inc, _ = open_store(tmp_path, fresh_drill.url)
    gl = admin_gl(fresh_drill)
    wire = instrument(gl)

    with pytest.raises(ReadOnlyRefused, match="read-only"):
        run_plan(store, inc, gl, user_plan(BlockUser(), [31]), read_only=True)
    assert wire.log == []
    assert [e.extra["not_sent"] for e in store.journal_entries(inc)] == ["read_only"]

    result = run_plan(store, inc, gl, user_plan(BlockUser(), [31]), read_only=True, dry_run=True)
    assert [o.state for o in result.outcomes] == ["would_do"]
    assert wire.writes() == []
    assert [e.extra["not_sent"] for e in store.journal_entries(inc)] == ["read_only", "dry_run"]


def test_actor_is_excluded_from_block_plans(fresh_drill, tmp_path):
    store, inc, _ = open_store(tmp_path, fresh_drill.url)
    gl = admin_gl(fresh_drill)
    wire = instrument(gl)
    targets = [Target("user", 1, "root"), Target("user", 32, "swright")]

    plan = build_plan(BlockUser(), targets, actor_id=1)
    assert [t.id for t in plan.targets] == [32]
    assert [t.id for t, _ in plan.excluded] == [1]
    assert "1 excluded" in plan.summary

    # even a plan built without knowing the actor never blocks it: the engine asks GET /user
    raw = Plan(BlockUser(), tuple(targets))
    result = run_plan(store, inc, gl, raw)
    by_id = {o.target.id: o for o in result.outcomes}
    assert by_id[1].state == "refused" and "acting as" in by_id[1].message
    assert by_id[32].state == "done"
    assert ("POST", "/users/1/block") not in wire.log
    assert fresh_drill.state.users[1].state == "active"
    assert [e.target_id for e in store.journal_entries(inc)] == [32]


def test_401_halts_the_whole_run(fresh_drill, tmp_path):
    from console.drill.server import DrillServer

    store, inc, _ = open_store(tmp_path, fresh_drill.url)
    gl = admin_gl(fresh_drill)
    wire = instrument(gl)
    admin_token = next(
        t for t in fresh_drill.state.tokens.values() if t.value == DrillServer.ADMIN_TOKEN
    )

    def on_step(ev: StepEvent) -> None:
        # our own token is revoked (by the attacker, or by us) right after the first target
        if ev.phase == "finished" and ev.index == 0:
            with fresh_drill.state.lock:
                admin_token.revoked = True

    result = run_plan(
        store, inc, gl, user_plan(BlockUser(), [31, 32, 33]), on_step=on_step, actor_id=1
    )

    assert [o.state for o in result.outcomes] == ["done", "failed", "skipped"]
    assert result.halted and "401" in result.halted
    assert wire.writes() == [("POST", "/users/31/block")]
    assert fresh_drill.state.users[32].state == "active"
    assert fresh_drill.state.users[33].state == "active"
    # the halted target never got an intent: nothing was about to be sent
    assert [e.target_id for e in store.journal_entries(inc)] == [31]
    assert "Halted" in result.summary()


def test_404_and_refusals_are_per_target(fresh_drill, tmp_path):
    store, inc, _ = open_store(tmp_path, fresh_drill.url)
    gl = admin_gl(fresh_drill)
    result = run_plan(store, inc, gl, user_plan(BlockUser(), [999_999, 34]), actor_id=1)
    states = [o.state for o in result.outcomes]
    assert states == ["not_found", "done"]
    entries = {e.target_id: e for e in store.journal_entries(inc)}
    assert entries[999_999].state == "not_found" and entries[999_999].http_status == 404


def test_cancel_between_targets(fresh_drill, tmp_path):
    store, inc, _ = open_store(tmp_path, fresh_drill.url)
    gl = admin_gl(fresh_drill)
    done: list[int] = []

    def on_step(ev: StepEvent) -> None:
        if ev.phase == "finished":
            done.append(ev.index)

    result = run_plan(
        store,
        inc,
        gl,
        user_plan(BlockUser(), [31, 32, 33]),
        on_step=on_step,
        cancelled=lambda: len(done) >= 1,
        actor_id=1,
    )
    assert result.cancelled
    assert [o.state for o in result.outcomes] == ["done", "skipped", "skipped"]
    assert fresh_drill.state.users[32].state == "active"


# --------------------------------------------------------------------------- scripted failures


@dataclass
class FakeServer:
    state: dict[int, bool] = field(default_factory=dict)  # target id -> "done" on the server
    # scripted responses for apply: each item is "ok", an int status, "timeout",
    # or ("applied", status) for an error after the server did apply the change
    script: list[Any] = field(default_factory=list)
    read_failures: list[int] = field(default_factory=list)
    applies: int = 0


class FakeAction(BaseAction):
    name = "fake_set"
    title = "Fake set"
    target_kinds = frozenset({"user"})

    def __init__(self, server: FakeServer, *, convergent: bool = True) -> None:
        self.server = server
        self.convergent = convergent

    def read_state(self, gl: Any, target: Target) -> State:
        if self.server.read_failures:
            status = self.server.read_failures.pop(0)
            raise HttpFailure(status, f"read {status}", retry_after=0.0)
        return State({"set": self.server.state.get(target.id, False)})

    def desired(self, state: State) -> bool:
        return bool(state.get("set"))

    def apply(self, gl: Any, target: Target) -> ApplyResult:
        self.server.applies += 1
        step = self.server.script.pop(0) if self.server.script else "ok"
        if step == "ok":
            self.server.state[target.id] = True
            return ApplyResult(200, f"req-{self.server.applies}")
        if step == "timeout":
            raise HttpFailure(None, "timed out", transport=True)
        if isinstance(step, tuple):
            self.server.state[target.id] = True
            raise HttpFailure(step[1], "gateway error", request_id="req-x")
        raise HttpFailure(step, f"status {step}", retry_after=3.0 if step == 429 else None)


def _fake_plan(server: FakeServer, ids: list[int], convergent: bool = True) -> Plan:
    return Plan(
        FakeAction(server, convergent=convergent), tuple(Target("user", i, f"u{i}") for i in ids)
    )


def test_429_pauses_honouring_retry_after_then_continues(tmp_path):
    store, inc, _ = open_store(tmp_path)
    server = FakeServer(script=[429, "ok", "ok"])
    slept: list[float] = []
    events: list[StepEvent] = []
    result = run_plan(
        store, inc, None, _fake_plan(server, [1, 2]), sleep=slept.append, on_step=events.append
    )
    assert [o.state for o in result.outcomes] == ["done", "done"]
    assert server.applies == 3
    assert 2.9 <= sum(slept) <= 3.5  # Retry-After: 3 (+ jitter), slept in slices
    assert any(e.phase == "paused" for e in events)


def test_429_wait_is_capped(tmp_path):
    store, inc, _ = open_store(tmp_path)
    server = FakeServer(script=[429, "ok"])
    slept: list[float] = []

    class Huge(FakeAction):
        def apply(self, gl: Any, target: Target) -> ApplyResult:
            if not self.server.script or self.server.script[0] != 429:
                return super().apply(gl, target)
            self.server.script.pop(0)
            raise HttpFailure(429, "slow down", retry_after=3600.0)

    plan = Plan(Huge(server), (Target("user", 1, "u1"),))
    result = run_plan(store, inc, None, plan, sleep=slept.append, max_wait=5.0)
    assert result.outcomes[0].state == "done"
    assert sum(slept) <= 5.5


@pytest.mark.parametrize("applied", [True, False])
def test_ambiguous_5xx_reads_back_and_never_blindly_retries(tmp_path, applied):
    store, inc, _ = open_store(tmp_path)
    server = FakeServer(script=[("applied", 502)] if applied else [502])
    result = run_plan(store, inc, None, _fake_plan(server, [7]))
    [out] = result.outcomes
    assert server.applies == 1  # exactly one write, whatever happened
    [entry] = store.journal_entries(inc)
    if applied:
        assert out.state == "done" and "read-back" in out.message
        assert entry.state == "done"
    else:
        assert out.state == "failed"
        assert entry.state == "failed" and "unchanged" in (entry.error or "")


def test_a_5xx_on_an_unobservable_action_never_claims_nothing_happened(tmp_path):
    # A password reset cannot be read back: after an ambiguous 502 the journal must not say
    # "unchanged" (it may have been applied), and it goes to a human, never re-sent.
    store, inc, _ = open_store(tmp_path)
    server = FakeServer(script=[("applied", 502)])
    action = FakeAction(server, convergent=False)
    action.observable = False
    action.desired = lambda state: False  # type: ignore[method-assign]
    result = run_plan(store, inc, None, Plan(action, (Target("user", 8, "u8"),)))
    [out] = result.outcomes
    assert server.applies == 1
    [entry] = store.journal_entries(inc)
    assert out.state == "failed" and entry.state == "failed"
    assert "unchanged" not in (entry.error or "")
    assert "unknown whether it was applied" in (entry.error or "")
    assert NEEDS_HUMAN in (entry.error or "")


def test_timeout_then_failed_read_back_leaves_unknown_for_resume(tmp_path):
    store, inc, _ = open_store(tmp_path)
    server = FakeServer(script=["timeout"], read_failures=[])
    action = FakeAction(server)
    register(action.name, lambda p: action)

    # the pre-read succeeds; after the timeout the read-back fails too
    calls = {"n": 0}
    original = action.read_state

    def flaky(gl: Any, target: Target) -> State:
        calls["n"] += 1
        if calls["n"] == 2:
            raise HttpFailure(None, "connection reset", transport=True)
        return original(gl, target)

    action.read_state = flaky  # type: ignore[method-assign]
    result = run_plan(store, inc, None, Plan(action, (Target("user", 5, "u5"),)))
    assert result.outcomes[0].state == "unknown"
    assert [e.state for e in store.journal_pending(inc)] == ["unknown"]

    # resume: the server shows nothing done; block-like (convergent) → re-issued once, verified
    server.script = ["ok"]
    resumed = resume_pending(store, inc, None)
    assert [o.state for o in resumed.outcomes] == ["done"]
    assert server.applies == 2
    assert store.journal_pending(inc) == []


def test_resume_non_convergent_is_handed_to_a_human(tmp_path):
    store, inc, _ = open_store(tmp_path)
    server = FakeServer()
    action = FakeAction(server, convergent=False)
    register(action.name, lambda p: action)
    eid = store.journal_intent(inc, action.name, "user", 9, "u9", {}, {"set": False})

    resumed = resume_pending(store, inc, None)

    assert server.applies == 0  # never re-issued automatically
    [out] = resumed.outcomes
    assert out.state == "failed" and "needs human" in out.message
    entry = store.journal_entry(eid)
    assert entry is not None and entry.state == "failed" and entry.extra.get("needs_human")
    assert store.journal_pending(inc) == []


def test_resume_when_server_already_shows_it_done_sends_nothing(tmp_path):
    store, inc, _ = open_store(tmp_path)
    server = FakeServer(state={4: True})
    action = FakeAction(server, convergent=False)
    register(action.name, lambda p: action)
    store.journal_intent(inc, action.name, "user", 4, "u4", {}, {"set": False})

    resumed = resume_pending(store, inc, None)
    assert [o.message for o in resumed.outcomes] == ["done (verified after resume)"]
    assert server.applies == 0
    [entry] = store.journal_entries(inc)
    assert entry.state == "done"


def test_journal_failure_stops_all_further_actions(tmp_path):
    store, inc, _ = open_store(tmp_path)
    server = FakeServer()

    class BrokenStore:
        def __getattr__(self, name: str) -> Any:
            return getattr(store, name)

        def journal_intent(self, *a: Any, **k: Any) -> int:
            raise sqlite3.OperationalError("disk I/O error")

    result = run_plan(BrokenStore(), inc, None, _fake_plan(server, [1, 2]))
    assert server.applies == 0
    assert result.halted and "journal" in result.halted
    assert [o.state for o in result.outcomes] == ["failed", "skipped"]


def test_retry_after_parsing():
    assert parse_retry_after({"Retry-After": "7"}) == 7.0
    assert parse_retry_after({}) is None
    future = parse_retry_after({"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"})
    assert future is not None and future > 1e6
    assert parse_retry_after({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0
    assert parse_retry_after({"Retry-After": "soon"}) is None


def test_plan_summary_and_confirmation_word():
    plan = build_plan(
        BlockUser(),
        [Target("user", 2, "a", frozenset({"admin"})), Target("user", 3, "b")],
        actor_id=1,
    )
    assert confirmation_word(plan) == "2"
    assert summarize(plan) == "Block: 2 users (1 admin)."
    one = build_plan(BlockUser(), [Target("user", 2, "a")], actor_id=1)
    assert confirmation_word(one) == "y"
