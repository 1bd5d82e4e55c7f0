"""`flask reminders send`: one pass, as the scheduler runs it every few minutes."""

from __future__ import annotations

import datetime as dt

import click
from flask.cli import AppGroup

from . import scheduled as scheduled  # noqa: PLC0414 - registers the pass on the scheduler
from .send import RemindersUnavailable, send_due_reminders

reminders = AppGroup("reminders", help="Reminders to patients and the staff's morning digest.")


@reminders.command("send")
@click.option("--at", "at", default=None, metavar="ISO-DATETIME",
              help="Act as if it were this instant (with a time zone, e.g. 2026-11-25T09:00+00:00); default: now.")
def send_command(at: str | None) -> None:
    """Send every reminder due now that no pass sent yet (safe to run from several schedulers at once)."""
    now = None
    if at is not None:
        try:
            now = dt.datetime.fromisoformat(at)
        except ValueError:
            raise click.BadParameter(f"{at!r} is not an ISO date and time", param_hint="--at") from None
        if now.tzinfo is None:
            raise click.BadParameter("give a time zone (e.g. +00:00)", param_hint="--at")
    try:
        result = send_due_reminders(now)
    except RemindersUnavailable as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Reminders: {result.sent} sent, {result.skipped} skipped, {result.failed} failed, "
               f"{result.queued} waiting in the outbox, {result.taken} already handled, {result.stale} no longer due.")
    if result.failed:
        raise SystemExit(1)
