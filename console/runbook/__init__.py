"""The runbook: GitLab's incident-response guide as a checklist that ticks itself.

* :mod:`~console.runbook.steps`: the guide's steps per incident kind, embedded, in its order;
* :mod:`~console.runbook.state`: :func:`evaluate` → which steps are done (auto or by hand) and
  the open items;
* :mod:`~console.runbook.blindspots`: what the console could not see, each with a covering step;
* :mod:`~console.runbook.versions`: the instance's version against the releases we know of.

Headless: no Textual or Rich. Import from ``console.runbook``.
"""

from __future__ import annotations

from console.runbook.blindspots import (
    COVERAGE_CACHE_KEY,
    BlindSpot,
    blind_spots,
    cached_coverage,
    coverage_snapshot,
)
from console.runbook.state import VERIFIED_STATES, OpenItem, RunbookState, StepState, evaluate
from console.runbook.steps import (
    GUIDE_TITLE,
    RUNBOOKS,
    SECTION_TITLES,
    Step,
    step_by_key,
    steps_for,
)
from console.runbook.versions import KNOWN_AS_OF, KNOWN_RELEASES, VersionCheck, check_version

__all__ = [
    "COVERAGE_CACHE_KEY",
    "GUIDE_TITLE",
    "KNOWN_AS_OF",
    "KNOWN_RELEASES",
    "RUNBOOKS",
    "SECTION_TITLES",
    "VERIFIED_STATES",
    "BlindSpot",
    "OpenItem",
    "RunbookState",
    "Step",
    "StepState",
    "VersionCheck",
    "blind_spots",
    "cached_coverage",
    "check_version",
    "coverage_snapshot",
    "evaluate",
    "step_by_key",
    "steps_for",
]
