"""The sessions of a plan as an iCalendar file the patient can import.

Each session is one all-day event: tentative while the dates are the rules' proposal,
confirmed once a practitioner agreed them. With the agreed plan come the appointment
and the dated pre-treatment instructions, each an all-day event with a reminder that
morning. UIDs derive from a seed and stay the same when the plan changes, and the
caller passes a higher SEQUENCE each time, so importing the file again updates the
events instead of adding new ones. The output depends only on its arguments (the stamp
is passed in), so the same plan gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from icalendar import Alarm, Calendar, Event

from ..answers import AREAS, label_of
from ..answers.vocabulary import N_
from .model import Instruction
from .plan import Plan

# The file's wording, marked for the catalogs (``translate`` gives it in the patient's language).
SUMMARY = N_("Mesotherapy session %(number)s of %(count)s (to be confirmed by your practitioner)")
CONFIRMED_SUMMARY = N_("Mesotherapy session %(number)s of %(count)s")
CALENDAR_NAME = N_("%(clinic)s: mesotherapy sessions")
APPOINTMENT = N_("Appointment at %(clinic)s")
BEFORE_SESSION = N_("Before your mesotherapy session")
AGREED = N_("Agreed with %(clinic)s.")
PROPOSED = N_("Proposed by %(clinic)s. Your practitioner will confirm or change this date.")
AREAS_LINE = N_("Areas: %(areas)s.")
EXPECTED = N_("Expected afterwards: %(effects)s.")


def _same(text: str) -> str:
    return text
#: When an instruction's reminder shows, counted from the start of its (all-day) date.
REMINDER_AT = dt.timedelta(hours=9)


def session_uid(uid_seed: str, number: int) -> str:
    """The UID of session ``number``: stable across re-plans, so a re-import updates the event."""
    # Hashed so that a seed such as the patient's private link token never appears in the file.
    digest = hashlib.sha256(f"{uid_seed}\0{number}".encode()).hexdigest()[:32]
    return f"{digest}@meso-intake"


def event_uid(uid_seed: str, what: str) -> str:
    """The UID of the appointment or of an instruction's reminder (``what``: "appointment", a rule id)."""
    digest = hashlib.sha256(f"{uid_seed}\0{what}".encode()).hexdigest()[:32]
    return f"{digest}@meso-intake"


def plan_to_ics(
    plan: Plan | Mapping[str, Any],
    clinic_name: str,
    uid_seed: str,
    dtstamp: dt.datetime,
    *,
    sequence: int = 0,
    confirmed: bool = False,
    appointment: dt.date | None = None,
    instructions: Sequence[Instruction] = (),
    translate: Callable[[str], str] = _same,
) -> bytes:
    """One all-day VEVENT per session, the appointment, and a reminder per dated instruction.

    ``confirmed``: the practitioner agreed the dates (CONFIRMED, not TENTATIVE). ValueError
    when the plan has no dated session. ``translate``: the patient's catalog (gettext without
    formatting); the plan's and the instructions' texts come already in their language.
    """
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
    calendar.add("x-wr-calname", translate(CALENDAR_NAME) % {"clinic": clinic_name})
    count = len(plan.schedule)
    for session in plan.schedule:
        event = Event()
        summary = translate(CONFIRMED_SUMMARY if confirmed else SUMMARY) % {"number": session.number, "count": count}
        event = _all_day(session_uid(uid_seed, session.number), session.on, summary, stamp, sequence)
        event.add("status", "CONFIRMED" if confirmed else "TENTATIVE")
        event.add("location", clinic_name)
        event.add("description", _description(plan, session.number, clinic_name, confirmed, translate))
        calendar.add_component(event)
    if appointment is not None and appointment not in {session.on for session in plan.schedule}:
        event = _all_day(event_uid(uid_seed, "appointment"), appointment,
                         translate(APPOINTMENT) % {"clinic": clinic_name}, stamp, sequence)
        event.add("status", "CONFIRMED")
        event.add("location", clinic_name)
        calendar.add_component(event)
    for instruction in instructions:
        if instruction.starts_on is None:
            continue
        event = _all_day(event_uid(uid_seed, instruction.rule_id), instruction.starts_on,
                         translate(BEFORE_SESSION), stamp, sequence)
        event.add("description", instruction.text)
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", instruction.text)
        alarm.add("trigger", REMINDER_AT)
        event.add_component(alarm)
        calendar.add_component(event)
    ical: bytes = calendar.to_ical()
    return ical


def _all_day(uid: str, on: dt.date, summary: str, stamp: dt.datetime, sequence: int) -> Event:
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp)
    event.add("sequence", sequence)
    event.add("summary", summary)
    event.add("dtstart", on)
    # DTEND is exclusive: an all-day event on one date ends the next day.
    event.add("dtend", on + dt.timedelta(days=1))
    event.add("transp", "TRANSPARENT")
    return event


def _description(plan: Plan, number: int, clinic_name: str, confirmed: bool,
                 translate: Callable[[str], str]) -> str:
    session = plan.schedule[number - 1]
    areas = ", ".join(translate(label_of(AREAS, area)) for area in session.areas)
    lines = [
        translate(AGREED if confirmed else PROPOSED) % {"clinic": clinic_name},
        translate(AREAS_LINE) % {"areas": areas} if areas else "",
        translate(EXPECTED) % {"effects": "; ".join(translate(e) for e in plan.after_effects)}
        if plan.after_effects else "",
    ]
    return "\n".join(line for line in lines if line)
