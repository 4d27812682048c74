"""Contain account: one key on a user builds the whole playbook, shows every call, runs once.

The playbook (:mod:`actions.contain`) is read from GitLab and the audit events the store holds
in a worker; every call it will send is listed (method, path, target id, sanitised name). The
two choices it needs sit above the confirmation: GPG keys revoked (also unverifies the commits
they signed) or deleted (keeps those commits verified), and whether the account's own admin flag
is removed. Typing the account's username runs it all; anything else is refused and journaled.
Unblock is never part of it: the runbook keeps it as an open item until the responder closes it.
One-time values (the new password…) appear once in their own box, forgotten on dismissal.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Checkbox, Input, RadioButton, RadioSet, Static

from actions import ActionError, StepEvent, Target
from actions.after_run import refresh_after, reread_users
from actions.attempts import journal_not_sent
from actions.confirm import Confirmation, typed_word_for
from actions.contain import (
    ContainOptions,
    ContainPlaybook,
    ContainResult,
    build_contain,
    run_contain,
    variable_inputs,
    with_variable_values,
)
from actions.contain_sources import cached_events_of, pages
from console.context import AppContext
from console.sanitize import safe
from console.secret import Secret
from console.store.lock import WriterElsewhere
from screens.action_status import actor_id
from screens.messages import CredentialsChanged, UsersChanged
from screens.safe import safe_text
from screens.secret_box import OneTimeSecrets
from screens.widgets.confirm_input import ConfirmInput
from styles import stylesheet

__all__ = ["GPG_CHOICES", "ContainScreen", "open_contain"]

#: the GPG choice, with the difference stated (issue 10.1)
GPG_CHOICES = (
    ("revoke", "Revoke GPG keys: also marks every commit they signed unverified"),
    ("delete", "Delete GPG keys: the commits they signed stay verified"),
)


class ContainScreen(ModalScreen[None]):
    """``ctx`` is the session; ``user_id`` the account to contain."""

    CSS_PATH = stylesheet("actions.tcss")
    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("ctrl+x", "cancel_run", "Cancel run"),
    ]

    def __init__(self, ctx: AppContext, user_id: int) -> None:
        super().__init__(classes="actions-modal")
        self.ctx = ctx
        self.user_id = int(user_id)
        self.playbook: ContainPlaybook | None = None
        self.result: ContainResult | None = None
        self.running = False
        self._cancel = threading.Event()
        self._variables: list[tuple[str, int, str]] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="contain-box", classes="dialog"):
            yield Static(
                Text(f"Contain account #{self.user_id}", style="bold"),
                classes="dialog-title",
                id="contain-title",
            )
            yield Static(
                Text("Reading GitLab and the audit events for the playbook…"), id="contain-summary"
            )
            with VerticalScroll(id="contain-plan"):
                yield Static("", id="contain-lines")
            with Horizontal(id="contain-choices"):
                with RadioSet(id="contain-gpg"):
                    for i, (_, label) in enumerate(GPG_CHOICES):
                        yield RadioButton(label, value=i == 0)
                yield Checkbox("Remove the account's admin flag", value=True, id="contain-admin")
            yield Vertical(id="contain-vars")
            yield Static("", id="contain-hint", classes="dialog-hint")
            yield ConfirmInput(placeholder="the account's username", id="contain-confirm")
            yield Static("", id="contain-error", classes="dialog-error")
            yield Static("", id="contain-status")

    def on_mount(self) -> None:
        self.query_one("#contain-confirm", Input).focus()
        self._build(self.options())

    # -- the playbook
    def options(self) -> ContainOptions:
        gpg = GPG_CHOICES[self.query_one("#contain-gpg", RadioSet).pressed_index or 0][0]
        admin = self.query_one("#contain-admin", Checkbox).value
        window = self.ctx.incident.window_start
        return ContainOptions(gpg=gpg, remove_admin=admin, since=window or None)

    @work(thread=True, exclusive=True, group="contain-build", exit_on_error=False)
    def _build(self, opts: ContainOptions) -> None:
        try:
            gl = self.ctx.gitlab()
            events: list[Any] = cached_events_of(self.ctx.store, self.ctx.incident_id, self.user_id)
            if not events:  # the Audit pane has not loaded the window: ask GitLab (one
                # query covers at most 30 days: the last 29, or the incident's window start)
                now = self.ctx.clock.now()
                since = max(opts.since or "", (now - timedelta(days=29)).isoformat())
                events = pages(
                    gl, "/audit_events", created_after=since, created_before=now.isoformat()
                )
            playbook = build_contain(
                gl, self.user_id, events, options=opts, actor_id=actor_id(self.ctx)
            )
        except Exception as exc:
            self.app.call_from_thread(self._error, _describe(exc))
            return
        self.app.call_from_thread(self._show, playbook)

    def _show(self, playbook: ContainPlaybook) -> None:
        self.playbook = playbook
        title = Text("Contain ", style="bold")
        title.append_text(safe_text(f"@{playbook.username}", kind="username", max_cells=40))
        title.append(f" (#{playbook.user_id})", style="bold")
        self.query_one("#contain-title", Static).update(title)
        calls = len(playbook.calls())
        self.query_one("#contain-summary", Static).update(
            Text(
                f"{calls} calls in {len(playbook.steps)} steps, in GitLab's order. Unblock is not "
                "part of it: it stays open in the runbook."
            )
        )
        self.query_one("#contain-lines", Static).update(
            Text("\n").join(safe_text(line, kind="line") for line in playbook.lines())
        )
        self.query_one("#contain-hint", Static).update(
            safe_text(
                f"Type {self.confirmation.word} and press enter to run every step; tab: the "
                "choices and values above; escape: cancel",
                kind="line",
            )
        )
        self._variables = variable_inputs(playbook)
        box = self.query_one("#contain-vars", Vertical)
        box.remove_children()
        box.mount_all(
            Input(
                password=True,
                id=f"contain-var-{n}",
                placeholder=safe(
                    f"new value for {scope} {owner} {key} (masked; empty: leave it open)",
                    kind="line",
                    max_cells=70,
                ),
            )
            for n, (scope, owner, key) in enumerate(self._variables)
        )

    def _variable_values(self) -> dict[tuple[str, int, str], Secret]:
        """The typed values (as secrets), then the boxes are emptied: nothing keeps them."""
        values: dict[tuple[str, int, str], Secret] = {}
        for n, ref in enumerate(self._variables):
            box = self.query_one(f"#contain-var-{n}", Input)
            if box.value.strip():
                values[ref] = Secret(box.value)
            box.value = ""
        return values

    @property
    def confirmation(self) -> Confirmation:
        assert self.playbook is not None
        word = typed_word_for(Target("user", self.user_id, self.playbook.username))
        return Confirmation(word, "the whole playbook for this account: type its username")

    @on(RadioSet.Changed, "#contain-gpg")
    @on(Checkbox.Changed, "#contain-admin")
    def _choice_changed(self) -> None:
        if not self.running and self.result is None:
            self.playbook = None  # never confirm a playbook built with the old choices
            self._build(self.options())

    # -- confirm and run
    @on(Input.Submitted, "#contain-vars Input")
    def _value_done(self, event: Input.Submitted) -> None:
        event.stop()
        self.focus_next()

    @on(Input.Submitted, "#contain-confirm")
    def _confirm(self, event: Input.Submitted) -> None:
        if self.running or self.result is not None:
            return
        if self.playbook is None:
            self._error("Still reading the playbook; press enter again in a moment.")
            return
        confirm = self.confirmation
        if not confirm.accepts(event.value):
            typed = event.value.strip()
            event.input.value = ""
            self._error(
                f"Type exactly {confirm.word} to run it (you typed "
                f"{safe(typed or 'nothing', kind='line', max_cells=40)})."
            )
            if typed:
                self._journal_refusal(confirm.refusal(typed))
            return
        self.running = True
        playbook = with_variable_values(self.playbook, self._variable_values())
        self.query_one("#contain-error", Static).update("")
        self.query_one("#contain-hint", Static).update(
            Text("ctrl+x: cancel after the current target")
        )
        self._run(playbook)

    @work(thread=True, group="contain-refusal", exit_on_error=False)
    def _journal_refusal(self, message: str) -> None:
        assert self.playbook is not None
        journal_not_sent(
            self.ctx.store,
            self.ctx.incident_id,
            self.playbook.steps[0].plan,
            "confirmation",
            message,
        )

    @work(thread=True, exclusive=True, group="contain-run", exit_on_error=False)
    def _run(self, playbook: ContainPlaybook) -> None:
        app = self.app

        def on_step(ev: StepEvent) -> None:
            app.call_from_thread(self._progress, ev)

        try:
            gl = self.ctx.gitlab()
            result = run_contain(
                self.ctx.store,
                self.ctx.incident_id,
                gl,
                playbook,
                dry_run=self.ctx.dry_run,
                read_only=self.ctx.read_only,
                on_step=on_step,
                cancelled=self._cancel.is_set,
                actor_id=actor_id(self.ctx),
            )
        except (ActionError, WriterElsewhere) as exc:
            app.call_from_thread(self._stopped, safe(str(exc), kind="line", max_cells=300))
            return
        except Exception as exc:
            app.call_from_thread(self._stopped, _describe(exc))
            return
        app.call_from_thread(self._finished, result)
        users: set[int] = set()
        creds: list[str] = []
        for step, run in result.runs:
            users.update(reread_users(self.ctx, gl, run))
            creds.extend(refresh_after(self.ctx, gl, step.plan, run))
        if users:
            app.post_message(UsersChanged(tuple(sorted(users))))
        if creds:
            app.post_message(CredentialsChanged(tuple(creds)))

    def _progress(self, ev: StepEvent) -> None:
        line = f"{ev.index + 1}/{ev.total}: {ev.phase}"
        if ev.target is not None:
            line += f" #{ev.target.id} {safe(ev.target.label, kind='line', max_cells=30)}"
        if ev.message:
            line += " — " + safe(ev.message, kind="line", max_cells=60)
        self.query_one("#contain-status", Static).update(Text(line))

    def _finished(self, result: ContainResult) -> None:
        self.running = False
        self.result = result
        lines = [
            Text(
                "Finished."
                if not result.halted
                else "Stopped: " + safe(result.halted, kind="line", max_cells=200),
                style="bold" if not result.halted else "bold red",
            )
        ]
        for step, run in result.runs:
            lines.append(Text(f"{safe(step.plan.action.title, kind='line')}: {run.summary()}"))
        for step, why in result.skipped:
            lines.append(
                Text(
                    f"{safe(step.plan.action.title, kind='line')}: {safe(why, kind='line')}",
                    style="yellow",
                )
            )
        lines.append(
            Text(
                "Unblock stays open in the runbook until every credential is "
                "rotated. escape: close",
                style="dim",
            )
        )
        self.query_one("#contain-status", Static).update(Text("\n").join(lines))
        self.query_one("#contain-hint", Static).update("")
        secrets = [
            (
                ("new password" if o.target.kind == "user" else "new value"),
                f"#{o.target.id} {safe(o.target.label, kind='username', max_cells=30)}",
                o.secret,
            )
            for _, run in result.runs
            for o in run.outcomes
            if o.secret is not None
        ]
        for _, run in result.runs:
            for o in run.outcomes:
                o.secret = None  # the box below is their only holder
        if secrets:
            self.app.push_screen(OneTimeSecrets(secrets))

    def _stopped(self, message: str) -> None:
        self.running = False
        self.query_one("#contain-status", Static).update(Text(message, style="bold red"))

    def _error(self, message: str) -> None:
        self.query_one("#contain-error", Static).update(Text(message, style="red"))

    def action_cancel_run(self) -> None:
        if self.running:
            self._cancel.set()
            self.query_one("#contain-status", Static).update(
                Text("Cancelling after the current target…", style="yellow")
            )

    def action_close(self) -> None:
        if self.running:
            self.notify("Still running: ctrl+x cancels after the current target.", markup=False)
            return
        self.dismiss(None)


def _describe(exc: BaseException) -> str:
    try:
        from console.errors import describe_error

        return describe_error(exc).one_line()
    except Exception:
        return safe(f"{type(exc).__name__}: {exc}", kind="line", max_cells=200)


def open_contain(app: Any, ctx: AppContext, user_id: int | None) -> None:
    """The Contain key (``!``) on a user: the users list, the dossier, an audit event's author."""
    if user_id is None:
        app.notify("No user here to contain.", markup=False)
        return
    app.push_screen(ContainScreen(ctx, int(user_id)))
