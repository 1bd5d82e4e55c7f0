"""Reminders on the scheduler: one sending pass every REMINDERS_EVERY_SECONDS (0: off, e.g. when cron runs
`flask reminders send` instead). A pass claims each reminder in the database, so two schedulers send once."""

from __future__ import annotations

import datetime as dt

from flask import current_app

from ..jobs import periodic
from .send import RemindersUnavailable, send_due_reminders

SEND = "reminders.send"


@periodic(SEND, every=dt.timedelta(minutes=10), setting="REMINDERS_EVERY_SECONDS")
def send() -> str:
    """One pass; without email or a public address it says why in the log and sends nothing."""
    try:
        result = send_due_reminders()
    except RemindersUnavailable as unavailable:
        current_app.logger.info("reminders not sent: %s", unavailable)
        return str(unavailable)
    return str(result)
