"""Background work: a job runs in a thread of its own, or at once where the app says so.

A job is a plain function that opens its own app context (it outlives the request that
started it) and records its progress in the database for a page to show. Today the only
job is re-assessing open intakes after a ruleset activation (intake.rulesets.reassess).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


def start(job: Callable[..., None], *args: Any, name: str, background: bool) -> None:
    """Run ``job(*args)`` in a daemon thread called ``name``, or now when ``background`` is off (tests)."""
    if background:
        threading.Thread(target=job, args=args, daemon=True, name=name).start()
    else:
        job(*args)
