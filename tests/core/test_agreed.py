"""Instructions dated against the session that will happen, not the appointment first booked."""

from __future__ import annotations

import datetime as dt

from intake.answers import load_answers
from intake.assessment import Instruction, assess
from intake.assessment.agreed import anchor_instructions, next_session_on, session_dates

from .support import APPOINTMENT, ON, document_with

ALCOHOL = Instruction("alcohol-before-appointment", "From Tuesday 1 December: no alcohol, until 24 hours after "
                      "your appointment.", dt.date(2026, 12, 1), 2,
                      "From {start}: no alcohol, until 24 hours after your appointment.")
MAKE_UP = Instruction("make-up-free", "Come with clean skin.", None, None)


def plan(*days: dt.date) -> dict:
    return {"status": "proposed", "schedule": [{"number": n, "on": day.isoformat(), "areas": ["face"]}
                                               for n, day in enumerate(days, start=1)]}


def test_an_instruction_is_dated_again_against_the_agreed_first_session() -> None:
    # The practitioner agreed a first session on 4 February; the rules dated it for 3 December.
    [moved] = anchor_instructions([ALCOHOL.to_dict()], dt.date(2027, 2, 4), ON)
    assert moved.starts_on == dt.date(2027, 2, 2)
    assert moved.text == "From Tuesday 2 February: no alcohol, until 24 hours after your appointment."
    assert moved.template == ALCOHOL.template and moved.days_before == 2


def test_an_instruction_never_starts_on_a_day_already_gone() -> None:
    [today] = anchor_instructions([ALCOHOL], dt.date(2026, 11, 26), ON)
    assert today.starts_on == ON and today.text.startswith("From Wednesday 25 November")


def test_without_an_agreed_date_a_timed_instruction_says_days_before() -> None:
    [undated] = anchor_instructions([ALCOHOL], None, ON)
    assert undated.starts_on is None
    assert undated.text == "From 2 days before your appointment: no alcohol, until 24 hours after your appointment."


def test_untimed_instructions_stay_as_they_are_and_come_first() -> None:
    found = anchor_instructions([ALCOHOL, MAKE_UP], dt.date(2027, 1, 10), ON)
    assert [item.rule_id for item in found] == ["make-up-free", "alcohol-before-appointment"]
    assert found[0] == MAKE_UP


def test_the_next_session_is_the_first_agreed_one_from_today() -> None:
    agreed = plan(dt.date(2026, 11, 20), dt.date(2026, 12, 11), dt.date(2027, 1, 1))
    assert session_dates(agreed)[0] == dt.date(2026, 11, 20)
    assert next_session_on(agreed, APPOINTMENT, ON) == dt.date(2026, 12, 11)
    assert next_session_on(agreed, APPOINTMENT, dt.date(2027, 1, 2)) is None


def test_without_a_plan_the_appointment_counts_unless_a_deferral_lifts_later() -> None:
    assert next_session_on(None, APPOINTMENT, ON) == APPOINTMENT
    assert next_session_on({"status": "not_proposed"}, APPOINTMENT, ON) == APPOINTMENT
    assert next_session_on(None, APPOINTMENT, ON, not_before=dt.date(2027, 1, 18)) is None
    assert next_session_on(None, dt.date(2027, 2, 1), ON, not_before=dt.date(2027, 1, 18)) == dt.date(2027, 2, 1)
    assert next_session_on(None, None, ON) is None


def test_the_rules_keep_each_instructions_template_so_it_can_move(shipped) -> None:
    answers = load_answers(document_with({"lifestyle.alcohol_drinks_per_week": 6}), today=ON)
    result = assess(answers, shipped, ON)
    timed = [item for item in result.instructions
             if item.days_before is not None and "{start}" in (item.template or "")]
    assert timed, "the default rules date at least one instruction with {start}"
    stored = result.to_dict()["instructions"]
    later = anchor_instructions(stored, dt.date(2027, 3, 1), ON)
    for item in later:
        if item.days_before is not None:
            assert item.starts_on == dt.date(2027, 3, 1) - dt.timedelta(days=item.days_before)
            assert "{start}" not in item.text
