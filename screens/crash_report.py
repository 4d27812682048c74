"""The console's crash report: one redacted line on the terminal, the traceback in the log.

Textual's own report prints local variables, which may hold secrets; this one never does. A
``NoMatches`` raised once the app is quitting or shutting down is a pane that was still mounting
then (its children torn down under its ``on_mount``): logged, not reported.
"""

from __future__ import annotations

import logging
import sys
import traceback

from rich.text import Text
from textual.css.query import NoMatches

from console.logs import current_log_path, redact
from console.sanitize import safe
from screens.key_gate import GatedApp

__all__ = ["CrashReport"]

log = logging.getLogger("console.app")


class CrashReport(GatedApp[None]):
    """``GatedApp`` with the redacted crash report (the console's app derives from it)."""

    def _handle_exception(self, error: Exception) -> None:
        """Replace Textual's crash report: it prints local variables, which may hold secrets.

        The terminal gets one redacted line; the full traceback (no locals) goes to the
        redacting log file.
        """
        if (self.exiting or not self.is_running) and isinstance(error, NoMatches):
            # A pane still mounting when the responder quit finds its children already torn
            # down (``query_one`` in its on_mount): nothing is wrong, and nothing is lost.
            log.warning("ignored while quitting: %s: %s", type(error).__name__, error)
            return
        self._return_code = 1
        if self._exception is None:
            self._exception = error
            self._exception_event.set()
        text = redact("".join(traceback.format_exception(error)))
        log.error("unhandled exception\n%s", text)
        line = safe(redact(f"{type(error).__name__}: {error}"), kind="line", max_cells=200)
        where = current_log_path()  # the file that holds it, not where it would have been
        self._exit_renderables.append(
            Text(
                f"incident-console stopped after an internal error: {line}\n"
                + (
                    f"The full traceback (tokens redacted) is in {where}."
                    if where is not None
                    else "No log file could be opened, so the traceback was not kept."
                )
            )
        )
        self._close_messages_no_wait()

    def _fatal_error(self) -> None:
        # Textual calls this directly in a few paths; route them through the redacted handler.
        error = sys.exc_info()[1]
        self._handle_exception(error if isinstance(error, Exception) else RuntimeError("crash"))
