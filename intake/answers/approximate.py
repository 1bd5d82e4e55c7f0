"""Dates a patient is not sure of: the range a date and its "How sure are you?" answer allow.

A date declared ``date(..., may_be_approximate=True)`` is stored as the patient's best
guess (``stopped_on``) beside how sure they are of it (``stopped_on_precision``): blank or
"exact" is that day, "month" any day of its month, "year" any day of its year, "roughly"
two weeks either side. :func:`date_range` is the one place that turns the two into the
earliest and latest possible days; the rules read the latest (a washout counts from the
last day it could have been: docs/rules.md, "Dates the patient is not sure of") and the
summary words the answer (:func:`approximate_words`). Pure: no Flask, no database.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable
from typing import Final

from .vocabulary import N_

#: "Roughly": this many days either side of the date given.
ROUGHLY_DAYS: Final = 14
PRECISIONS: Final = ("exact", "month", "year", "roughly")
MONTHS: Final = (N_("January"), N_("February"), N_("March"), N_("April"), N_("May"), N_("June"), N_("July"),
                 N_("August"), N_("September"), N_("October"), N_("November"), N_("December"))


def date_range(day: dt.date, precision: str | None, *, not_after: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """(earliest, latest) possible day of ``day`` given as ``precision`` (None: the exact day).

    ``not_after`` caps the latest day (the appointment: something the patient reports having
    done happened by then), never below the earliest; an exact date is never moved.
    """
    if precision is None or precision == "exact":
        return day, day
    if precision == "month":
        earliest, latest = day.replace(day=1), day.replace(day=calendar.monthrange(day.year, day.month)[1])
    elif precision == "year":
        earliest, latest = dt.date(day.year, 1, 1), dt.date(day.year, 12, 31)
    elif precision == "roughly":
        earliest, latest = _shifted(day, -ROUGHLY_DAYS), _shifted(day, ROUGHLY_DAYS)
    else:
        raise ValueError(f"unknown date precision {precision!r}")
    if not_after is not None and latest > not_after:
        latest = max(not_after, earliest)
    return earliest, latest


def _shifted(day: dt.date, days: int) -> dt.date:
    """``day`` moved by ``days``, stopping at the first or last date there is."""
    try:
        return day + dt.timedelta(days=days)
    except OverflowError:
        return dt.date.min if days < 0 else dt.date.max


def day_month_year(day: dt.date) -> str:
    """'3 December 2026', for messages the core words itself."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def approximate_words(day: dt.date, precision: str | None, translate: Callable[[str], str],
                      long_date: Callable[[dt.date], str]) -> str:
    """The answer as the patient would say it: 'around March 2026 (not sure of the day)'."""
    if precision is None or precision == "exact":
        return long_date(day)
    if precision == "month":
        month = f"{translate(MONTHS[day.month - 1])} {day.year}"
        return translate(N_("around {month} (not sure of the day)")).format(month=month)
    if precision == "year":
        return translate(N_("sometime in {year} (not sure of the month)")).format(year=day.year)
    return translate(N_("around {day} (give or take 2 weeks)")).format(day=long_date(day))
