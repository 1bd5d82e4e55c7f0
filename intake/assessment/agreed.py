"""What a patient is told once dates are agreed: the next session, and instructions dated against it.

The rules date each instruction against the appointment booked when the intake was
submitted ("From Wednesday 16 December: no alcohol…"). A practitioner may agree a plan
whose first session is weeks later, or defer treatment: the instructions must then be
dated against the session that will actually happen, or they contradict the schedule.
Pure and deterministic given ``today``: the web shell passes the agreed plan and dates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .dates import DateFormatter, english_date, instruction_start, relative_day
from .flags import fill_start
from .model import Instruction


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(value) if value else None


def session_dates(plan: Mapping[str, Any] | None) -> list[dt.date]:
    """The dated sessions of a plan (JSON form), in order; [] without a schedule."""
    if not plan or plan.get("status") != "proposed":
        return []
    found = (_date(session.get("on")) for session in plan.get("schedule") or [])
    return sorted(day for day in found if day is not None)


def next_session_on(plan: Mapping[str, Any] | None, appointment: dt.date | None, today: dt.date,
                    not_before: dt.date | None = None) -> dt.date | None:
    """The date the next treatment is expected: the first agreed session from today on.

    Without a dated plan, the booked appointment when it is still ahead (and not before
    ``not_before``, the date a deferral lifts); None when nothing is ahead.
    """
    earliest = max(today, not_before) if not_before else today
    for day in session_dates(plan):
        if day >= earliest:
            return day
    if appointment is not None and appointment >= earliest:
        return appointment
    return None


def _same(text: str) -> str:
    return text


def anchor_instructions(instructions: Iterable[Mapping[str, Any] | Instruction], anchor: dt.date | None,
                        today: dt.date, format_date: DateFormatter = english_date, *,
                        translate: Callable[[str], str] = _same,
                        relative: Callable[[int], str] = relative_day) -> list[Instruction]:
    """The instructions dated against ``anchor`` (the next agreed session), earliest first.

    An instruction that would have started before today starts today (as the rules do for
    an appointment booked close); with no anchor, timed instructions say how many days
    before the appointment instead of a date. ``translate`` gives a rule's text in the
    patient's language (its ``{start}`` kept), ``relative`` says "2 days before" in it.
    """
    anchored = []
    for item in instructions:
        given = item if isinstance(item, Instruction) else Instruction.from_dict(item)
        days = given.days_before
        if days is None:
            anchored.append(Instruction(given.rule_id, translate(given.text), given.starts_on, days, given.template))
            continue
        starts_on = instruction_start(anchor, days, today) if anchor is not None else None
        template = given.template
        text = (fill_start(translate(template), days, starts_on, format_date, relative) if template is not None
                else translate(given.text))
        anchored.append(Instruction(given.rule_id, text, starts_on, days, template))
    return sorted(anchored, key=Instruction.sort_key)

