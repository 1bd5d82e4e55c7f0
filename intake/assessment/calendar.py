"""The proposed sessions of a plan as an iCalendar file the patient can import.

Each session is one all-day, tentative event: the dates are a proposal until the
practitioner confirms them. The output depends only on its arguments (the stamp is
passed in, UIDs derive from a seed), so the same plan gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from typing import Any

from icalendar import Calendar, Event

from ..answers import AREAS, label_of
from .plan import Plan

SUMMARY = "Mesotherapy session {number} of {count} (to be confirmed by your practitioner)"


def session_uid(uid_seed: str, number: int) -> str:
    """The UID of session ``number``: stable across re-plans, so a re-import updates the event."""
    # Hashed so that a seed such as the patient's private link token never appears in the file.
    digest = hashlib.sha256(f"{uid_seed}\0{number}".encode()).hexdigest()[:32]
    return f"{digest}@meso-intake"


def plan_to_ics(
    plan: Plan | Mapping[str, Any],
    clinic_name: str,
    uid_seed: str,
    dtstamp: dt.datetime,
) -> bytes:
    """One all-day VEVENT per proposed session; ValueError when the plan has no dated session."""
    if not isinstance(plan, Plan):
        plan = Plan.from_dict(plan)
    if plan.status != "proposed" or not plan.schedule:
        raise ValueError("the plan has no dated sessions to put in a calendar")
    if dtstamp.tzinfo is None:
        raise ValueError("dtstamp needs a time zone (use UTC)")
    stamp = dtstamp.astimezone(dt.UTC)
    calendar = Calendar()
    calendar.add("prodid", f"-//{clinic_name}//Meso Intake//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", f"{clinic_name}: mesotherapy sessions")
    count = len(plan.schedule)
    for session in plan.schedule:
        event = Event()
        event.add("uid", session_uid(uid_seed, session.number))
        event.add("dtstamp", stamp)
        event.add("summary", SUMMARY.format(number=session.number, count=count))
        event.add("dtstart", session.on)
        # DTEND is exclusive: an all-day event on one date ends the next day.
        event.add("dtend", session.on + dt.timedelta(days=1))
        event.add("status", "TENTATIVE")
        event.add("transp", "TRANSPARENT")
        event.add("location", clinic_name)
        event.add("description", _description(plan, session.number, clinic_name))
        calendar.add_component(event)
    ical: bytes = calendar.to_ical()
    return ical


def _description(plan: Plan, number: int, clinic_name: str) -> str:
    session = plan.schedule[number - 1]
    areas = ", ".join(label_of(AREAS, area) for area in session.areas)
    lines = [
        f"Proposed by {clinic_name}. Your practitioner will confirm or change this date.",
        f"Areas: {areas}." if areas else "",
        "Expected afterwards: " + "; ".join(plan.after_effects) + "." if plan.after_effects else "",
    ]
    return "\n".join(line for line in lines if line)
