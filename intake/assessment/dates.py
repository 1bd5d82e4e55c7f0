"""Dates in words, and the day an instruction starts: the wording patients and practitioners read."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import lru_cache
from typing import Final

#: How a date is written in an instruction (english_date by default).
DateFormatter = Callable[[dt.date], str]

_WEEKDAYS: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS: Final = ("January", "February", "March", "April", "May", "June", "July", "August",
                  "September", "October", "November", "December")


def english_date(day: dt.date) -> str:
    """'Thursday 3 December': the default date wording of patient instructions."""
    return f"{_WEEKDAYS[day.weekday()]} {day.day} {_MONTHS[day.month - 1]}"


@lru_cache(maxsize=4096)
def long_date(day: dt.date) -> str:
    """'Friday 4 December 2026': plan reasons may span a year, so the year is always said."""
    # Remembered (bounded): the same few dates are named in plan after plan.
    return f"{english_date(day)} {day.year}"


def relative_day(days_before: int) -> str:
    """When the appointment is not booked: '2 days before your appointment' and so on."""
    if days_before == 0:
        return "on the day of your appointment"
    if days_before == 1:
        return "the day before your appointment"
    return f"{days_before} days before your appointment"


def instruction_start(appointment: dt.date, days_before: int, on: dt.date | None) -> dt.date:
    """``days_before`` the appointment, or ``on`` when that day has passed (see flags.render_instruction)."""
    starts_on = appointment - dt.timedelta(days=days_before)
    if on is not None and starts_on < on <= appointment:
        return on
    return starts_on
