"""What time it is: UTC for storage, the clinic's day for dates, both pinnable by tests."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import current_app


def utcnow() -> dt.datetime:
    """Now, in UTC (every stored timestamp is UTC)."""
    return dt.datetime.now(dt.UTC)


def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """A stored timestamp as an aware UTC datetime (SQLite hands them back naive)."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)


def clinic_today() -> dt.date:
    """Today in the clinic's time zone (tests pin it with the TODAY setting)."""
    pinned = current_app.config.get("TODAY")
    if pinned is not None:
        return pinned
    return dt.datetime.now(ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])).date()


def now() -> dt.datetime:
    """The current time in UTC (tests pin it with the NOW setting, as TODAY pins the date)."""
    pinned = current_app.config.get("NOW")
    return pinned if pinned is not None else utcnow()
