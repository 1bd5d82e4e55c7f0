"""The reminder settings in force: what an admin saved on the reminders settings page, else the REMINDERS_* settings.

The settings of the environment are the defaults until an admin first saves; from then on the saved row
holds every value, and changing the environment changes nothing until the row is gone. A pass reads the
row once (``in_force``); the day-before reminder reads what to bring as it is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..extensions import db
from ..models import SavedReminderSettings
from .due import ReminderSettings

#: The most days before an appointment a patient whose form is not sent may be reminded, on the page.
MAX_DAYS_BEFORE = 30
#: The longest "what to bring" text (it goes in an email, under the appointment).
MAX_WHAT_TO_BRING = 500


@dataclass(frozen=True)
class ClinicReminders:
    """Every value of the reminders settings page: the timing the core needs, and the rest."""

    timing: ReminderSettings
    #: Whether the form-not-sent reminder is on (its days are kept while it is off).
    unsubmitted: bool
    unsubmitted_days: tuple[int, ...]
    what_to_bring: str


def from_config(config: Mapping[str, Any]) -> ClinicReminders:
    """The REMINDERS_* settings (REMINDERS_UNSUBMITTED_DAYS=off: the reminder off, its days the usual 3 and 1)."""
    days = tuple(config["REMINDERS_UNSUBMITTED_DAYS"])
    timing = ReminderSettings(
        unsubmitted_days=days, unsubmitted_hour=config["REMINDERS_UNSUBMITTED_HOUR"],
        instructions=config["REMINDERS_INSTRUCTIONS"], instruction_hour=config["REMINDERS_INSTRUCTIONS_HOUR"],
        day_before=config["REMINDERS_DAY_BEFORE"], day_before_hour=config["REMINDERS_DAY_BEFORE_HOUR"],
        digest=config["REMINDERS_DIGEST"], digest_hour=config["REMINDERS_DIGEST_HOUR"])
    return ClinicReminders(timing, bool(days), days or ReminderSettings().unsubmitted_days,
                           str(config["REMINDERS_WHAT_TO_BRING"]))


def from_row(row: SavedReminderSettings) -> ClinicReminders:
    days = parse_days(row.unsubmitted_days)
    timing = ReminderSettings(
        unsubmitted_days=days if row.unsubmitted else (), unsubmitted_hour=row.unsubmitted_hour,
        instructions=row.instructions, instruction_hour=row.instruction_hour,
        day_before=row.day_before, day_before_hour=row.day_before_hour,
        digest=row.digest, digest_hour=row.digest_hour)
    return ClinicReminders(timing, row.unsubmitted, days, row.what_to_bring)


def saved() -> SavedReminderSettings | None:
    """The row an admin saved (None until the first save)."""
    return db.session.get(SavedReminderSettings, 1)


def in_force(config: Mapping[str, Any]) -> ClinicReminders:
    """The saved settings, or the REMINDERS_* settings until an admin first saves."""
    row = saved()
    return from_row(row) if row is not None else from_config(config)


def parse_days(text: str) -> tuple[int, ...]:
    """Days from "3, 1" (most first, each once); ValueError on anything but whole numbers 1 to MAX_DAYS_BEFORE."""
    parts = [part.strip() for part in text.split(",")]
    if not text.strip() or not all(part.isdigit() and 1 <= int(part) <= MAX_DAYS_BEFORE for part in parts):
        raise ValueError(text)
    return tuple(sorted({int(part) for part in parts}, reverse=True))


def format_days(days: tuple[int, ...]) -> str:
    return ", ".join(str(day) for day in days)
