"""The appointment-day check-in's answers written into the answers document (intake/answers/checkin.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from intake.answers import load_answers
from intake.answers.checkin import CheckInSchema, apply_check_in, check_in_errors, window
from intake.assessment import assess

from .support import document

ON = dt.date(2026, 12, 2)
QUIET = {"last_drink": "earlier", "painkillers": False, "new_medicine": False, "cold_sore": False,
         "infection": False, "unwell": False, "treatment": False}


def test_the_window_opens_two_days_before_and_closes_with_the_day():
    assert window(dt.date(2026, 12, 3)) == (dt.date(2026, 12, 1), dt.date(2026, 12, 3))
    assert window(dt.date(2027, 3, 1)) == (dt.date(2027, 2, 27), dt.date(2027, 3, 1))  # across a month end


@pytest.mark.parametrize(("said", "last_drink_on"), [
    ("today", "2026-12-02"), ("yesterday", "2026-12-01"), ("two_days_ago", "2026-11-30")])
def test_a_recent_drink_becomes_the_last_drink(said, last_drink_on):
    answers = apply_check_in(document(), {**QUIET, "last_drink": said}, ON)
    assert answers["lifestyle"]["last_drink_on"] == last_drink_on


def test_earlier_keeps_what_the_form_said():
    before = document(lifestyle__last_drink_on="2026-11-20")
    assert apply_check_in(before, QUIET, ON)["lifestyle"]["last_drink_on"] == "2026-11-20"


def test_the_original_document_is_not_changed():
    before = document()
    apply_check_in(before, {**QUIET, "cold_sore": True, "painkillers": True, "painkillers_which": "Nurofen"}, ON)
    assert before == document()


def test_painkillers_and_a_new_medicine_are_added_to_the_list():
    answers = apply_check_in(document(), {**QUIET, "painkillers": True, "painkillers_which": "Nurofen 2 yesterday",
                                          "new_medicine": True, "new_medicine_which": "Eliquis",
                                          "new_medicine_prescribed": True}, ON)
    items = answers["medications"]["items"]
    assert answers["medications"]["has_medications"] is True
    assert items[-2:] == [
        {"name": "Nurofen 2 yesterday", "dose": "", "status": "taking", "stopped_on": None, "prescribed": False},
        {"name": "Eliquis", "dose": "", "status": "taking", "stopped_on": None, "prescribed": True}]


def test_now_replaces_then():
    answers = apply_check_in(document(), {**QUIET, "cold_sore": True, "unwell": True, "pregnant": True}, ON)
    assert answers["skin"]["active_cold_sore"] is True and answers["skin"]["active_infection_at_area"] is False
    assert answers["health"]["recent_illness"] is True and answers["health"]["pregnant"] is True


def test_a_treatment_since_is_added_with_its_date():
    answers = apply_check_in(document(), {**QUIET, "treatment": True, "treatment_kind": "filler",
                                          "treatment_on": dt.date(2026, 11, 29)}, ON)
    assert answers["treatments"]["items"][-1] == {"kind": "filler", "area": None, "on": "2026-11-29"}
    assert answers["treatments"]["has_recent_treatments"] is True


def test_a_treatment_in_the_future_is_refused():
    assert check_in_errors({"treatment": True, "treatment_on": dt.date(2026, 12, 5)}, ON) == {
        "treatment_on": ["The treatment cannot be in the future."]}
    assert check_in_errors({"treatment": True, "treatment_on": ON}, ON) == {}


def test_the_follow_ups_are_required_when_asked():
    errors = CheckInSchema().validate({**QUIET, "painkillers": True})
    assert "painkillers_which" in errors


def test_a_drink_last_night_raises_the_alcohol_precaution(shipped):
    before = load_answers(document(lifestyle__alcohol_drinks_per_week=4), today=ON)
    assert "alcohol-close-to-appointment" not in {f.rule_id for f in assess(before, shipped, ON).flags}
    after = apply_check_in(document(lifestyle__alcohol_drinks_per_week=4), {**QUIET, "last_drink": "yesterday"}, ON)
    flags = {f.rule_id: f for f in assess(load_answers(after, today=ON), shipped, ON).flags}
    assert flags["alcohol-close-to-appointment"].severity == "precaution"


def test_a_painkiller_at_check_in_brings_the_last_dose_inside_the_washout(shipped):
    # The form said: ibuprofen only when needed, last taken weeks ago (only the date to stop from).
    before = document(medications__has_medications=True, medications__items=[
        {"name": "ibuprofen", "status": "taking", "how_taken": "as_needed", "last_taken_on": "2026-11-01",
         "last_taken_on_precision": "roughly", "prescribed": False}])
    then = assess(load_answers(before, today=dt.date(2026, 11, 25)), shipped, dt.date(2026, 11, 25))
    assert "as-needed-nsaid-or-aspirin" in then.rule_ids and "unprescribed-nsaid-or-aspirin" not in then.rule_ids
    # The day before, they say they took Nurofen in the last 7 days: a precaution, nothing uncertain.
    after = apply_check_in(before, {**QUIET, "painkillers": True, "painkillers_which": "Nurofen"}, ON)
    now = assess(load_answers(after), shipped, ON)
    assert "unprescribed-nsaid-or-aspirin" in now.rule_ids
    assert not {"as-needed-nsaid-or-aspirin", "nsaid-or-aspirin-last-dose-uncertain"} & set(now.rule_ids)
