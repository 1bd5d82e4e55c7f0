"""The reminders core: each kind due on its day from its hour, at its boundaries, under a stable key."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from zoneinfo import ZoneInfo

import pytest

from intake.reminders.due import (
    IntakeFacts,
    Kind,
    ReminderSettings,
    Skip,
    Stage,
    TimedInstruction,
    due_reminders,
    link_until,
)

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
SETTINGS = ReminderSettings()
APPOINTMENT = dt.date(2026, 12, 4)
INVITED = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)
NO_NSAID = TimedInstruction("nsaid", "From {start}: stop taking aspirin and ibuprofen.", 7)
NO_ALCOHOL = TimedInstruction("alcohol", "From {start}: no alcohol.", 2)
PLAIN = TimedInstruction("bring-list", "Bring a list of your medicines.", None)


def draft(**changes) -> IntakeFacts:
    return replace(IntakeFacts(1, Stage.DRAFT, APPOINTMENT, invited_at=INVITED), **changes)


def reopened(by: int = 7, at_: dt.datetime = INVITED, **changes) -> IntakeFacts:
    """A submitted intake sent back for more answers by decision ``by``, signed at ``at_``."""
    return replace(IntakeFacts(1, Stage.REOPENED, APPOINTMENT, reopened_by=by, reopened_at=at_, started=True),
                   **changes)


def submitted(**changes) -> IntakeFacts:
    return replace(IntakeFacts(2, Stage.AWAITING_REVIEW, APPOINTMENT,
                               instructions=(NO_NSAID, NO_ALCOHOL, PLAIN)), **changes)


def at(day: dt.date, hour: int, minute: int = 0, zone: dt.tzinfo = LONDON) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone).astimezone(dt.UTC)


def due(facts, now, zone=LONDON, settings=SETTINGS, **kwargs):
    return due_reminders(facts, now, zone, settings, **kwargs)


# --- the form not sent -------------------------------------------------------------------------------------


def test_an_invited_draft_is_reminded_three_days_and_one_day_before_from_the_hour():
    three_before, one_before = APPOINTMENT - dt.timedelta(days=3), APPOINTMENT - dt.timedelta(days=1)
    assert due([draft()], at(three_before, 9, 59)) == []
    [first] = due([draft()], at(three_before, 10))
    assert (first.kind, first.key, first.due_on, first.skip) == (
        Kind.UNSUBMITTED, f"1:unsubmitted:{three_before}:{APPOINTMENT}", three_before, "")
    assert due([draft()], at(three_before, 23, 59))[0].key == first.key  # the same key all day: sent once
    assert due([draft()], at(three_before + dt.timedelta(days=1), 10)) == []  # a missed day is not made up
    [second] = due([draft()], at(one_before, 10))
    assert second.key == f"1:unsubmitted:{one_before}:{APPOINTMENT}" and second.key != first.key
    assert due([draft()], at(APPOINTMENT, 10)) == []


def test_a_reopened_intake_is_reminded_again_under_keys_of_its_reopening():
    three_before, one_before = APPOINTMENT - dt.timedelta(days=3), APPOINTMENT - dt.timedelta(days=1)
    assert due([reopened()], at(three_before, 9, 59)) == []
    [item] = due([reopened()], at(three_before, 10))
    assert (item.kind, item.key, item.reopened, item.started) == (
        Kind.UNSUBMITTED, f"1:unsubmitted:{three_before}:{APPOINTMENT}:reopened7", True, True)
    # Not the key the first form's reminder was sent under that day: that one does not stand in for this.
    assert item.key != due([draft()], at(three_before, 10))[0].key
    # A second reopening (another decision) is reminded afresh; the first reopening's keys are never due again.
    assert due([reopened(by=9)], at(one_before, 10))[0].key == f"1:unsubmitted:{one_before}:{APPOINTMENT}:reopened9"
    # An invitation is not needed: the practitioner's question is what the patient owes.
    assert due([reopened(invited_at=None)], at(one_before, 10))
    assert due([reopened(stopped=True)], at(one_before, 10))[0].skip == Skip.STOPPED


def test_a_reopened_intake_is_not_reminded_on_the_day_it_was_reopened():
    three_before, one_before = APPOINTMENT - dt.timedelta(days=3), APPOINTMENT - dt.timedelta(days=1)
    that_morning = dt.datetime.combine(three_before, dt.time(8), LONDON)  # the question's email went today
    assert due([reopened(at_=that_morning)], at(three_before, 12)) == []
    the_evening_before = dt.datetime.combine(three_before - dt.timedelta(days=1), dt.time(23, 59), LONDON)
    assert len(due([reopened(at_=the_evening_before)], at(three_before, 10))) == 1
    assert len(due([reopened(at_=that_morning)], at(one_before, 10))) == 1
    # Without the reopening's decision (it cannot be keyed) or once answered again: nothing.
    assert due([reopened(by=None)], at(one_before, 10)) == []
    assert Kind.UNSUBMITTED not in {item.kind for item in due([reopened(stage=Stage.AWAITING_REVIEW)],
                                                               at(one_before, 10))}


def test_a_reminders_continue_link_works_until_the_day_after_what_it_leads_to():
    [form] = due([draft()], at(APPOINTMENT - dt.timedelta(days=1), 10))
    assert link_until(form) == APPOINTMENT + dt.timedelta(days=1)
    [instruction] = due([submitted()], at(APPOINTMENT - dt.timedelta(days=7), 8))
    assert link_until(instruction) == instruction.session + dt.timedelta(days=1)


def test_the_day_is_the_clinics_across_midnight_utc():
    one_before = APPOINTMENT - dt.timedelta(days=1)
    # 03:30 UTC on the day before is 22:30 the evening before in New York: not that day yet there.
    early = dt.datetime.combine(one_before, dt.time(3, 30), dt.UTC)
    assert due([draft()], early, zone=LONDON, settings=replace(SETTINGS, unsubmitted_hour=0))
    assert due([draft()], early, zone=NEW_YORK, settings=replace(SETTINGS, unsubmitted_hour=0)) == []
    # 01:00 UTC the next day is still 20:00 of the day before in New York: still due there, not in London.
    late = dt.datetime.combine(APPOINTMENT, dt.time(1, 0), dt.UTC)
    assert due([draft()], late, zone=NEW_YORK)[0].due_on == one_before
    assert due([draft()], late, zone=LONDON) == []


def test_a_moved_appointment_gives_new_keys_and_the_old_day_is_not_due():
    moved = APPOINTMENT + dt.timedelta(days=7)
    old_day = APPOINTMENT - dt.timedelta(days=3)
    assert due([draft(appointment=moved)], at(old_day, 12)) == []
    [item] = due([draft(appointment=moved)], at(moved - dt.timedelta(days=3), 12))
    assert item.key == f"1:unsubmitted:{moved - dt.timedelta(days=3)}:{moved}"


def test_a_submitted_form_a_patient_who_came_alone_and_an_unbooked_one_get_no_form_reminder():
    day = at(APPOINTMENT - dt.timedelta(days=1), 12)
    assert due([draft(stage=Stage.AWAITING_REVIEW)], day, settings=replace(SETTINGS, day_before=False)) == []
    assert due([draft(invited_at=None)], day) == []
    assert due([draft(appointment=None)], day) == []


def test_no_form_reminder_on_the_day_of_the_invitation():
    one_before = APPOINTMENT - dt.timedelta(days=1)
    assert due([draft(invited_at=at(one_before, 8))], at(one_before, 12)) == []
    assert due([draft(invited_at=at(one_before - dt.timedelta(days=1), 20))], at(one_before, 12))


def test_started_or_not_the_key_is_the_same_and_the_wording_knows():
    day = at(APPOINTMENT - dt.timedelta(days=1), 12)
    assert due([draft(started=True)], day)[0].key == due([draft()], day)[0].key
    assert due([draft(started=True)], day)[0].started is True


@pytest.mark.parametrize("facts, reason", [
    (dict(stopped=True), Skip.STOPPED), (dict(has_email=False), Skip.NO_EMAIL),
    (dict(link_revoked=True), Skip.LINK_REVOKED),
])
def test_a_stopped_patient_no_email_or_a_revoked_link_is_due_but_skipped(facts, reason):
    [item] = due([draft(**facts)], at(APPOINTMENT - dt.timedelta(days=1), 12))
    assert item.skip == reason


def test_form_reminders_off_or_on_other_days():
    day = APPOINTMENT - dt.timedelta(days=5)
    assert due([draft()], at(day, 12), settings=replace(SETTINGS, unsubmitted_days=())) == []
    assert due([draft()], at(day, 12), settings=replace(SETTINGS, unsubmitted_days=(5,)))[0].due_on == day


# --- instructions -------------------------------------------------------------------------------------------


def test_instructions_are_reminded_on_the_day_they_start_from_their_hour():
    nsaid_day = APPOINTMENT - dt.timedelta(days=7)
    only = replace(SETTINGS, day_before=False)
    assert due([submitted()], at(nsaid_day, 7, 59), settings=only) == []
    [item] = due([submitted()], at(nsaid_day, 8), settings=only)
    assert item.kind == Kind.INSTRUCTION and item.instructions == (NO_NSAID,) and item.session == APPOINTMENT
    assert item.key == f"2:instruction:{nsaid_day}:{APPOINTMENT}"
    assert due([submitted()], at(nsaid_day + dt.timedelta(days=1), 9), settings=only) == []
    [alcohol] = due([submitted()], at(APPOINTMENT - dt.timedelta(days=2), 9), settings=only)
    assert alcohol.instructions == (NO_ALCOHOL,)


def test_instruction_dates_follow_a_changed_plan_and_the_old_dates_are_not_due():
    only = replace(SETTINGS, day_before=False)
    later = APPOINTMENT + dt.timedelta(days=14)
    sessions = [later, later + dt.timedelta(days=28)]
    plan = {"status": "proposed", "schedule": [{"on": day.isoformat()} for day in sessions]}
    agreed = submitted(stage=Stage.APPROVED, plan=plan)
    assert due([agreed], at(APPOINTMENT - dt.timedelta(days=7), 9), settings=only) == []
    [item] = due([agreed], at(later - dt.timedelta(days=7), 9), settings=only)
    assert item.session == later and item.key == f"2:instruction:{later - dt.timedelta(days=7)}:{later}"
    # After the first session, the next one anchors them.
    second = later + dt.timedelta(days=28)
    assert due([agreed], at(second - dt.timedelta(days=7), 9), settings=only)[0].session == second


def test_a_deferral_dates_instructions_after_it_lifts_and_the_day_before_is_not_sent():
    lifts = APPOINTMENT + dt.timedelta(days=30)
    deferred = submitted(stage=Stage.DEFERRED, appointment=lifts + dt.timedelta(days=10), not_before=lifts)
    assert due([deferred], at(lifts + dt.timedelta(days=3), 9))[0].kind == Kind.INSTRUCTION
    assert due([deferred], at(lifts + dt.timedelta(days=9), 11)) == []  # no day-before for a deferral


def test_closed_intakes_and_instructions_off_get_none():
    day = at(APPOINTMENT - dt.timedelta(days=7), 9)
    assert due([submitted(stage=Stage.CLOSED)], day) == []
    assert due([submitted()], day, settings=replace(SETTINGS, instructions=False)) == []


# --- the day before -----------------------------------------------------------------------------------------


def test_the_day_before_carries_every_instruction_from_its_hour():
    one_before = APPOINTMENT - dt.timedelta(days=1)
    only = replace(SETTINGS, instructions=False)
    assert due([submitted()], at(one_before, 9, 59), settings=only) == []
    [item] = due([submitted()], at(one_before, 10), settings=only)
    assert item.kind == Kind.DAY_BEFORE and item.appointment == APPOINTMENT
    assert item.instructions == (NO_NSAID, NO_ALCOHOL, PLAIN)
    assert item.key == f"2:day_before:{one_before}:{APPOINTMENT}"
    assert due([submitted(stopped=True)], at(one_before, 10), settings=only)[0].skip == Skip.STOPPED
    assert due([submitted()], at(one_before, 10), settings=replace(only, day_before=False)) == []


def test_a_draft_gets_the_form_reminder_the_day_before_not_the_day_before_reminder():
    kinds = [item.kind for item in due([draft()], at(APPOINTMENT - dt.timedelta(days=1), 12))]
    assert kinds == [Kind.UNSUBMITTED]


# --- the staff digest ---------------------------------------------------------------------------------------


def test_the_digest_goes_to_each_member_of_staff_once_a_morning_when_something_awaits():
    today = dt.date(2026, 11, 25)
    assert due([], at(today, 6, 59), staff_ids=[1, 2], awaiting=3) == []
    items = due([], at(today, 7), staff_ids=[2, 1], awaiting=3)
    assert [item.key for item in items] == [f"digest:{today}:1", f"digest:{today}:2"]
    assert due([], at(today, 7), staff_ids=[1], awaiting=0) == []
    assert due([], at(today, 7), staff_ids=[1], awaiting=1, settings=replace(SETTINGS, digest=False)) == []


def test_now_must_be_aware():
    with pytest.raises(ValueError):
        due([draft()], dt.datetime(2026, 12, 3, 12))
