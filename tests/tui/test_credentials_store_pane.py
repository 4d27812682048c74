"""The Credentials pane over the store, driven through the real app on the demo drill: the
partial label, the key sweep (cancel, resume), the rotation worksheet across kinds surviving a
restart, everything a user could see, and 12,000 rows read a screen at a time."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from textual.widgets import Static

from console.app import IncidentConsoleApp
from console.inventory.store_load import FETCHED_KINDS
from console.store import CredentialQuery, Store
from screens.action_run import ActionRunScreen
from screens.dossier import DossierScreen
from screens.panes.credentials import CredentialsPane
from screens.panes.credentials.sheet import WorksheetScreen
from screens.panes.credentials.worksheet import SHEET_CACHE
from screens.secret_box import OneTimeSecrets
from tests.pilot_helpers import demo, reach_main, run_app, screen_text, until
from tests.pilot_helpers import settle_workers as _settle
from tests.tui.test_credentials_pane import Ctx, PaneApp, _server


async def _credentials(pilot: Any) -> CredentialsPane:
    main = await reach_main(pilot)
    await pilot.press("3")
    pane = main.pane("credentials")
    assert isinstance(pane, CredentialsPane)
    await until(pilot, lambda: pane.total > 0 and not pane.loading and pane.table.row_count > 0)
    return pane


def test_a_refused_source_is_named_in_the_partial_label_and_its_old_rows_stay() -> None:
    app = IncidentConsoleApp(demo())

    async def script(pilot: Any) -> None:
        pane = await _credentials(pilot)
        await until(pilot, lambda: not pane.workers._workers or not pane.loading)
        runners = app.ctx.store.count_credentials(
            app.ctx.incident_id, CredentialQuery(kinds=frozenset({"runner"}))
        )
        assert runners and "partial" not in str(pane.border_title)
        drill = app._startup.drill
        assert drill is not None
        drill.options.fault = lambda method, path: 403 if path == "/api/v4/runners/all" else None
        await pilot.press("r")
        await until(pilot, lambda: "partial" in str(pane.border_title))
        assert "partial: runners failed" in str(pane.border_title)
        assert "runners" in screen_text(app)
        assert (
            app.ctx.store.count_credentials(
                app.ctx.incident_id, CredentialQuery(kinds=frozenset({"runner"}))
            )
            == runners
        )

    run_app(app, script)


def test_the_key_sweep_fills_key_rows_stops_on_x_and_resumes() -> None:
    app = IncidentConsoleApp(demo(drill_users=300, drill_latency_ms=25))

    async def script(pilot: Any) -> None:
        pane = await _credentials(pilot)
        await pilot.press("K")
        await until(pilot, lambda: pane.sweeping and "/300 users" in pane.sweep_status)
        assert "left" in pane.sweep_status or "estimating" in pane.sweep_status
        await pilot.press("x")
        await until(pilot, lambda: not pane.sweeping)
        assert "stopped (K resumes)" in pane.sweep_status
        first = pane.sweep_status
        await pilot.press("K")
        await until(pilot, lambda: not pane.sweeping and "done" in pane.sweep_status, 60)
        assert "keys 300/300 users done" in pane.sweep_status, (first, pane.sweep_status)
        await pilot.press("p")  # SSH/GPG keys only
        await until(
            pilot,
            lambda: (
                pane.table.row_count > 0
                and all(r.kind in ("ssh_key", "gpg_key") for r in pane.shown)
            ),
        )
        ssh = [r for r in pane.shown if r.kind == "ssh_key"]
        assert ssh and all(r.extra["fingerprint"].startswith("SHA256:") for r in ssh)
        assert any(r.owner == "mchen" for r in ssh)
        pane.table.move_to_key(ssh[0].key)
        await pilot.pause()
        detail = str(pane.query_one("#cred-detail", Static).render())
        assert "Fingerprint: SHA256:" in detail

    run_app(app, script)


def _choose(pane: CredentialsPane, kind: str, name: str | None = None) -> str:
    keys = pane.ctx.store.credential_keys(
        pane.ctx.incident_id, CredentialQuery(kinds=frozenset({kind}))
    )
    rows = pane.ctx.store.credentials_by_keys(pane.ctx.incident_id, keys)
    row = next(
        r
        for r in rows
        if r["state"] in ("active", "online", "") and (name is None or r["name"] == name)
    )
    return str(row["key"])


def test_the_worksheet_rotates_three_kinds_in_one_run_and_survives_a_restart() -> None:
    app = IncidentConsoleApp(demo())
    chosen: list[str] = []

    async def script(pilot: Any) -> None:
        pane = await _credentials(pilot)
        await pilot.press("K")
        await until(pilot, lambda: not pane.sweeping and "done" in pane.sweep_status, 60)
        await _settle(app, pilot)
        chosen[:] = [_choose(pane, "pat"), _choose(pane, "ssh_key"), _choose(pane, "runner")]
        for key in chosen:  # a person moves to each row and presses space
            await pilot.press("0")
            await until(pilot, lambda k=key: k in pane.table.keys)
            assert pane.table.move_to_key(key)
            await pilot.press("space")
        await until(pilot, lambda: set(pane.chosen) == set(chosen))
        await pilot.press("t")  # a filter that hides two of them keeps them chosen
        await _settle(app, pilot)
        assert set(pane.chosen) == set(chosen)
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, WorksheetScreen))
        await pilot.press("1", "enter")  # the wrong count runs nothing
        await until(pilot, lambda: isinstance(app.screen, WorksheetScreen))
        await pilot.press("backspace", "3", "enter")
        for _ in range(3):  # one run screen per action: revoke, delete key, reset runner
            await until(
                pilot,
                lambda: (
                    isinstance(app.screen, ActionRunScreen | OneTimeSecrets)
                    and (isinstance(app.screen, OneTimeSecrets) or app.screen.finished)
                ),
                30,
            )
            if isinstance(app.screen, OneTimeSecrets):  # the runner's new token, shown once
                await pilot.press("escape")
                await until(pilot, lambda: isinstance(app.screen, ActionRunScreen))
            await pilot.press("escape")
            await pilot.pause(0.2)
        await until(pilot, lambda: pane.worksheet_text() == "rotated 3/3", 30)
        await _settle(app, pilot)
        assert {pane.outcomes[k] for k in chosen} == {"done"}
        # verified on the server, so the rows say so without a reload
        states = {
            r["kind"]: r["state"]
            for r in app.ctx.store.credentials_by_keys(app.ctx.incident_id, chosen)
        }
        assert states["pat"] == "revoked" and states["ssh_key"] == "deleted"
        saved = app.ctx.store.cache_get(app.ctx.incident_id, SHEET_CACHE)
        assert saved is not None and {i["key"] for i in saved[0]["items"]} == set(chosen)

    run_app(app, script)
    again = IncidentConsoleApp(demo(resume=True))

    async def resumed(pilot: Any) -> None:
        pane = await _credentials(pilot)
        await until(pilot, lambda: pane.worksheet_text() == "rotated 3/3")
        bar = str(pane.query_one("#cred-filterbar", Static).render())
        assert "rotated 3/3" in bar
        assert {pane.outcomes.get(k) for k in chosen} == {"done"}

    run_app(again, resumed)


def test_the_dossiers_s_selects_everything_the_user_could_see() -> None:
    app = IncidentConsoleApp(demo())

    async def script(pilot: Any) -> None:
        main = await reach_main(pilot)
        users = main.pane("users")
        await until(pilot, lambda: bool(users.query("#users-table")))
        await pilot.press("slash", *"mchen", "enter")
        await until(pilot, lambda: users.table.row_count == 1)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DossierScreen))
        await pilot.press("s")
        pane = main.pane("credentials")
        assert isinstance(pane, CredentialsPane)
        await until(pilot, lambda: bool(pane.view.keys) and pane.table.row_count > 0, 30)
        await _settle(app, pilot)
        kinds = {k.split(":", 1)[0] for k in pane.view.keys}
        assert kinds <= {
            "group_variable",
            "project_variable",
            "instance_variable",
            "runner",
            "group_hook",
            "project_hook",
            "system_hook",
            "deploy_token",
            "bot_token",
        }
        assert {"project_variable", "runner"} <= kinds, kinds
        assert set(pane.chosen) == set(pane.view.keys)
        assert pane.table.row_count == len(pane.view.keys)
        assert main.active_pane == "credentials"
        assert "could be seen by @mchen" in str(pane.query_one("#cred-filterbar", Static).render())

    run_app(app, script)


def test_twelve_thousand_rows_scroll_and_filter_reading_a_screen_at_a_time(
    tmp_path: Path,
) -> None:
    store = Store.open(tmp_path / "s.db")
    ctx = Ctx(store, _server())
    bulk = [
        {
            "kind": "pat",
            "id": 10_000 + i,
            "name": f"ide-{i}",
            "owner": f"u{i}",
            "owner_type": "user",
            "owner_id": i,
            "flags": ["never used"],
            "rank": 0,
        }
        for i in range(12_000)
    ]
    bulk.append(
        {
            "kind": "project_hook",
            "id": 5,
            "name": "deep hook",
            "rank": 12,
            "flags": ["TLS verification off"],
            "urgency": 1,
        }
    )
    store.replace_credentials(ctx.incident_id, bulk, kinds=FETCHED_KINDS)

    async def run() -> None:
        app = PaneApp(ctx)
        async with app.run_test(size=(80, 24)) as pilot:
            pane = app.query_one(CredentialsPane)
            await until(pilot, lambda: pane.table.row_count == 12_001)
            assert pane.total == 12_001
            pane.table.focus()
            await pilot.press("end")
            await _settle(app, pilot)
            assert pane.selected_key() == "project_hook:5"
            assert pane.held < 1000  # a few screens' rows in memory, not 12,001
            await pilot.press("h")
            await until(pilot, lambda: pane.table.row_count == 1)
            await pilot.press("h", "w")
            await until(pilot, lambda: pane.table.row_count == 1)
            bar = str(pane.query_one("#cred-filterbar", Static).render())
            assert "1 of 12,001" in bar
            await pilot.press("w", "slash", *"ide-1199", "enter")
            await until(pilot, lambda: pane.table.row_count == 11)  # ide-1199, ide-11990…
            assert pane.held < 1000

    asyncio.run(run())


def test_flagging_mchen_in_the_users_pane_crosslinks_his_planted_credentials() -> None:
    from console.audit import incident_window
    from console.audit.load import load_events_blocking
    from screens.panes.audit import AuditPane

    app = IncidentConsoleApp(demo())

    async def script(pilot: Any) -> None:
        pane = await _credentials(pilot)
        await pilot.press("K")
        await until(pilot, lambda: not pane.sweeping and "done" in pane.sweep_status, 60)
        ctx = app.ctx
        window = incident_window(*ctx.incident.window)
        conn = ctx.connection
        loaded = await asyncio.to_thread(
            load_events_blocking, conn.config, conn.token, ctx.store, ctx.incident_id, window
        )
        # the Audit pane may have stored them already (it loads the window into the store)
        assert loaded.problem is None and ctx.store.count_events(ctx.incident_id) > 0
        await pilot.press("l")  # only cross-linked rows: none of mchen's yet
        await _settle(app, pilot)
        assert not any("@mchen" in f for r in pane.shown for f in r.flags)
        await pilot.press("1", "slash", *"mchen", "enter")
        users = app.screen.query_one("#users-table")
        await until(pilot, lambda: users.row_count == 1)  # type: ignore[attr-defined]
        await pilot.press("f")  # flag mchen: the users pane's mark_saved reaches the pane
        await pilot.press("3")
        await until(
            pilot, lambda: any("changed by flagged user @mchen" in r.flags for r in pane.shown), 30
        )
        linked = {r.kind for r in pane.shown if "changed by flagged user @mchen" in r.flags}
        assert {"runner", "ssh_key", "system_hook"} <= linked
        runner = next(
            r
            for r in pane.shown
            if r.kind == "runner" and "changed by flagged user @mchen" in r.flags
        )
        pane.table.move_to_key(runner.key)
        await pilot.pause()
        await until(pilot, lambda: "changed by flagged user @mchen" in screen_text(app))
        await pilot.press("A")  # the runner's audit events
        main = app.screen
        await until(pilot, lambda: main.active_pane == "audit")  # type: ignore[attr-defined]
        audit = main.pane("audit")  # type: ignore[attr-defined]
        assert isinstance(audit, AuditPane)
        # filtered on the runner as the events' target (its name searched if none names it)
        await until(
            pilot,
            lambda: (
                audit.shown_count > 0
                and (audit.view.target is not None or audit.view.search == runner.name)
            ),
        )
        assert any(e.event_name == "ci_runner_created" for e in audit.shown_events())

    run_app(app, script)
