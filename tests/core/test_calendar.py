"""The plan's sessions as an iCalendar file: parses back, right dates and count, same bytes each time."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from icalendar import Calendar

from intake.answers import load_answers
from intake.assessment import Instruction, assess, load_ruleset
from intake.assessment.calendar import CONFIRMED_SUMMARY, SUMMARY, event_uid, plan_to_ics, session_uid
from intake.assessment.plan import Plan, Session

from .support import ON, document_with
from .support import SHIPPED_RULES as RULES

STAMP = dt.datetime(2026, 11, 25, 9, 30, tzinfo=dt.UTC)


def a_plan(first: dt.date, count: int, interval: int) -> Plan:
    schedule = tuple(Session(n + 1, first + dt.timedelta(days=interval * n), ("face", "neck"))
                     for n in range(count))
    return Plan(status="proposed", reference_date=first, sessions=count, interval_days=interval,
                areas=("face", "neck"), schedule=schedule, after_effects=("Redness", "Bruising"))


def events_of(ics: bytes) -> list:
    calendar = Calendar.from_ical(ics)
    return [component for component in calendar.walk() if component.name == "VEVENT"]


def test_one_all_day_event_per_session_that_parses_back() -> None:
    plan = a_plan(dt.date(2026, 12, 3), 4, 15)
    events = events_of(plan_to_ics(plan, "Glow Clinic", "intake-42", STAMP))
    assert len(events) == 4
    for number, event in enumerate(events, start=1):
        day = plan.schedule[number - 1].on
        assert event.decoded("dtstart") == day and not isinstance(event.decoded("dtstart"), dt.datetime)
        assert event.decoded("dtend") == day + dt.timedelta(days=1)
        assert str(event["summary"]) == (
            f"Mesotherapy session {number} of 4 (to be confirmed by your practitioner)")
        assert event.decoded("dtstamp") == STAMP
        assert str(event["status"]) == "TENTATIVE"
        assert "Whole face, Neck" in str(event["description"])


def test_an_assessed_plan_round_trips_through_ics() -> None:
    answers = load_answers(document_with({"goals.goals": ["hydration", "hair_loss"],
                                          "goals.areas": ["face", "scalp"],
                                          "about.date_of_birth": "1960-01-01"}))
    plan = assess(answers, load_ruleset(RULES), ON).plan
    assert isinstance(plan, Plan) and plan.schedule
    events = events_of(plan_to_ics(plan, "Glow Clinic", "intake-7", STAMP))
    assert len(events) == plan.sessions == 8
    assert [e.decoded("dtstart") for e in events] == [s.on for s in plan.schedule]
    assert str(events[-1]["summary"]).startswith("Mesotherapy session 8 of 8")
    assert "Scalp" in str(events[-1]["description"]) and "face" not in str(events[-1]["description"])


def test_the_calendar_names_the_clinic() -> None:
    calendar = Calendar.from_ical(plan_to_ics(a_plan(dt.date(2026, 12, 3), 1, 15), "Glow Clinic", "s", STAMP))
    assert str(calendar["prodid"]) == "-//Glow Clinic//Meso Intake//EN"
    assert str(calendar["x-wr-calname"]) == "Glow Clinic: mesotherapy sessions"


def test_same_plan_same_bytes() -> None:
    plan = a_plan(dt.date(2026, 12, 3), 3, 21)
    assert plan_to_ics(plan, "Glow Clinic", "seed", STAMP) == plan_to_ics(plan, "Glow Clinic", "seed", STAMP)


def test_uids_are_stable_unique_and_do_not_reveal_the_seed() -> None:
    plan = a_plan(dt.date(2026, 12, 3), 3, 21)
    uids = [str(e["uid"]) for e in events_of(plan_to_ics(plan, "Clinic", "secret-token", STAMP))]
    assert uids == [session_uid("secret-token", n) for n in (1, 2, 3)]
    assert len(set(uids)) == 3 and all("secret-token" not in uid for uid in uids)
    # A re-planned date keeps the UID, so importing again updates the event.
    moved = a_plan(dt.date(2026, 12, 10), 3, 21)
    assert [str(e["uid"]) for e in events_of(plan_to_ics(moved, "Clinic", "secret-token", STAMP))] == uids
    other = [str(e["uid"]) for e in events_of(plan_to_ics(plan, "Clinic", "another-token", STAMP))]
    assert set(other).isdisjoint(uids)


def test_dates_across_month_ends_and_the_leap_day() -> None:
    plan = a_plan(dt.date(2028, 1, 31), 3, 29)
    events = events_of(plan_to_ics(plan, "Clinic", "s", STAMP))
    assert [e.decoded("dtstart") for e in events] == [dt.date(2028, 1, 31), dt.date(2028, 2, 29),
                                                      dt.date(2028, 3, 29)]
    assert events[1].decoded("dtend") == dt.date(2028, 3, 1)


def test_a_stored_plan_dict_works_too() -> None:
    plan = a_plan(dt.date(2026, 12, 3), 2, 28)
    stored = json.loads(json.dumps(plan.to_dict()))
    assert plan_to_ics(stored, "Clinic", "s", STAMP) == plan_to_ics(plan, "Clinic", "s", STAMP)


def test_the_stamp_is_written_in_utc() -> None:
    paris = dt.timezone(dt.timedelta(hours=1))
    ics = plan_to_ics(a_plan(dt.date(2026, 12, 3), 1, 15), "Clinic", "s", dt.datetime(2026, 11, 25, 10, 30,
                                                                                       tzinfo=paris))
    assert b"DTSTAMP:20261125T093000Z" in ics


@pytest.mark.parametrize(
    "plan",
    [
        Plan(status="no_schedule", reference_date=dt.date(2026, 12, 3), reason="contraindicated"),
        Plan(status="proposed", reference_date=dt.date(2026, 12, 3), sessions=4, interval_days=15),
    ],
)
def test_no_dated_session_no_calendar(plan: Plan) -> None:
    with pytest.raises(ValueError, match="no dated sessions"):
        plan_to_ics(plan, "Clinic", "s", STAMP)


def test_a_naive_stamp_is_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        plan_to_ics(a_plan(dt.date(2026, 12, 3), 1, 15), "Clinic", "s", dt.datetime(2026, 11, 25, 9, 30))


def test_the_summary_wording() -> None:
    assert SUMMARY % {"number": 2, "count": 5} == (
        "Mesotherapy session 2 of 5 (to be confirmed by your practitioner)")


def test_an_agreed_plan_brings_the_appointment_and_the_instructions_as_reminders() -> None:
    plan = a_plan(dt.date(2027, 2, 4), 2, 21)
    alcohol = Instruction("alcohol-before-appointment", "From Tuesday 2 February: no alcohol.", dt.date(2027, 2, 2), 2,
                          "From {start}: no alcohol.")
    untimed = Instruction("make-up-free", "Come with clean skin.", None, None)
    events = events_of(plan_to_ics(plan, "Clinic", "seed", STAMP, confirmed=True, appointment=dt.date(2026, 12, 3),
                                   instructions=[alcohol, untimed], sequence=4))
    summaries = [str(event["summary"]) for event in events]
    assert summaries == [CONFIRMED_SUMMARY % {"number": 1, "count": 2}, CONFIRMED_SUMMARY % {"number": 2, "count": 2},
                         "Appointment at Clinic", "Before your mesotherapy session"]
    assert {str(event["status"]) for event in events[:3]} == {"CONFIRMED"}
    reminder = events[3]
    assert reminder.decoded("dtstart") == dt.date(2027, 2, 2)
    assert str(reminder["uid"]) == event_uid("seed", alcohol.rule_id)
    [alarm] = reminder.walk("VALARM")
    assert str(alarm["action"]) == "DISPLAY" and alarm.decoded("trigger") == dt.timedelta(hours=9)
    assert all(int(event["sequence"]) == 4 for event in events)


def test_a_changed_plan_keeps_its_uids_with_a_higher_sequence() -> None:
    before = events_of(plan_to_ics(a_plan(dt.date(2026, 12, 3), 3, 15), "Clinic", "seed", STAMP, sequence=2))
    after = events_of(plan_to_ics(a_plan(dt.date(2027, 1, 7), 3, 21), "Clinic", "seed", STAMP, sequence=5,
                                  confirmed=True))
    assert [str(e["uid"]) for e in before] == [str(e["uid"]) for e in after]
    assert all(int(later["sequence"]) > int(earlier["sequence"]) for earlier, later in zip(before, after, strict=True))
    assert [e.decoded("dtstart") for e in after] == [dt.date(2027, 1, 7), dt.date(2027, 1, 28), dt.date(2027, 2, 18)]


def test_the_appointment_is_not_repeated_when_it_is_the_first_session() -> None:
    events = events_of(plan_to_ics(a_plan(dt.date(2026, 12, 3), 2, 15), "Clinic", "s", STAMP,
                                   appointment=dt.date(2026, 12, 3)))
    assert [str(e["summary"]) for e in events] == [SUMMARY % {"number": n, "count": 2} for n in (1, 2)]
