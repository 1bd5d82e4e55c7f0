"""Dates a patient is not sure of: the range, the facts the rules read, the words and the checks."""

from __future__ import annotations

import datetime as dt

import pytest
from marshmallow import ValidationError

from intake.answers import load_answers
from intake.answers.approximate import approximate_words, date_range, day_month_year
from intake.answers.questions import PRECISION_WITHOUT_DATE
from intake.answers.summary import Wording, describe
from intake.assessment import MISSING, Catalogue, derive_facts
from intake.assessment.medications import Lexicon

from .support import ON, answers, document, taking

D = dt.date
APPOINTMENT = D(2026, 12, 3)


@pytest.mark.parametrize(
    ("day", "precision", "expected"),
    [
        (D(2026, 3, 17), None, (D(2026, 3, 17), D(2026, 3, 17))),
        (D(2026, 3, 17), "exact", (D(2026, 3, 17), D(2026, 3, 17))),
        (D(2026, 3, 17), "month", (D(2026, 3, 1), D(2026, 3, 31))),
        (D(2026, 4, 1), "month", (D(2026, 4, 1), D(2026, 4, 30))),
        (D(2026, 2, 10), "month", (D(2026, 2, 1), D(2026, 2, 28))),
        (D(2028, 2, 10), "month", (D(2028, 2, 1), D(2028, 2, 29))),  # a leap year
        (D(2000, 2, 29), "month", (D(2000, 2, 1), D(2000, 2, 29))),  # divisible by 400: leap
        (D(2100, 2, 3), "month", (D(2100, 2, 1), D(2100, 2, 28))),  # divisible by 100: not
        (D(2026, 12, 31), "month", (D(2026, 12, 1), D(2026, 12, 31))),
        (D(2025, 7, 4), "year", (D(2025, 1, 1), D(2025, 12, 31))),
        (D(2026, 3, 17), "roughly", (D(2026, 3, 3), D(2026, 3, 31))),
        (D(2028, 2, 20), "roughly", (D(2028, 2, 6), D(2028, 3, 5))),  # across 29 February
        (D(2025, 12, 25), "roughly", (D(2025, 12, 11), D(2026, 1, 8))),  # across a new year
        (D(1, 1, 5), "roughly", (D.min, D(1, 1, 19))),
        (D(9999, 12, 25), "roughly", (D(9999, 12, 11), D.max)),
    ],
)
def test_a_date_and_how_sure_the_patient_is_give_the_earliest_and_latest_day(day, precision, expected) -> None:
    assert date_range(day, precision) == expected


@pytest.mark.parametrize(
    ("day", "precision", "expected"),
    [
        # "Sometime in 2026", appointment 3 December 2026: possibly the day of the appointment, not after.
        (D(2026, 2, 1), "year", (D(2026, 1, 1), APPOINTMENT)),
        (D(2026, 12, 1), "month", (D(2026, 12, 1), APPOINTMENT)),
        (D(2026, 11, 25), "roughly", (D(2026, 11, 11), APPOINTMENT)),
        (D(2026, 11, 19), "roughly", (D(2026, 11, 5), APPOINTMENT)),  # day + 14 is the appointment itself
        (D(2026, 11, 18), "roughly", (D(2026, 11, 4), D(2026, 12, 2))),  # ends the day before: unchanged
        (D(2025, 6, 1), "year", (D(2025, 1, 1), D(2025, 12, 31))),  # a past year ends before it
        (D(2026, 12, 10), "exact", (D(2026, 12, 10), D(2026, 12, 10))),  # an exact date is never moved
        (D(2026, 12, 5), "month", (D(2026, 12, 1), APPOINTMENT)),
        (D(2027, 1, 5), "month", (D(2027, 1, 1), D(2027, 1, 1))),  # a whole month after: never below earliest
    ],
)
def test_the_latest_day_is_never_after_the_appointment(day, precision, expected) -> None:
    assert date_range(day, precision, not_after=APPOINTMENT) == expected


def test_an_unknown_precision_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown date precision 'weekly'"):
        date_range(D(2026, 3, 1), "weekly")


def test_the_answer_in_words() -> None:
    def words(day: D, precision: str | None) -> str:
        return approximate_words(day, precision, str, lambda shown: f"on {shown.isoformat()}")

    assert words(D(2026, 3, 17), None) == "on 2026-03-17"
    assert words(D(2026, 3, 17), "exact") == "on 2026-03-17"
    assert words(D(2026, 3, 17), "month") == "around March 2026 (not sure of the day)"
    assert words(D(2026, 3, 17), "year") == "sometime in 2026 (not sure of the month)"
    assert words(D(2026, 3, 17), "roughly") == "around on 2026-03-17 (give or take 2 weeks)"
    assert day_month_year(APPOINTMENT) == "3 December 2026"


# --- facts ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def catalogue(lexicon: Lexicon) -> Catalogue:
    return Catalogue(lexicon.classes.keys())


def facts_of(lexicon: Lexicon, catalogue: Catalogue, **changes):
    return derive_facts(answers(**changes), lexicon, ON, catalogue)


def test_every_approximate_date_fact_has_its_earliest_and_each_class_a_last_dose(catalogue: Catalogue) -> None:
    for name in ("lifestyle.last_drink_on", "health.delivery_date", "medications.stopped_on.nsaid",
                 "medications.last_taken_on.nsaid", "treatments.last_on.filler",
                 "treatments.last_on_planned_area.filler"):
        assert catalogue.get(name).type == "date"
        assert catalogue.get("earliest." + name).type == "date"
        assert catalogue.get("earliest." + name).derived
    assert catalogue.get("lifestyle.last_drink_on_precision").type == "choice"
    assert catalogue.get("earliest.about.date_of_birth") is None
    assert catalogue.get("earliest.events.next_on") is None
    assert "earliest. applies to the dates a patient may not know exactly" in catalogue.unknown_field_message(
        "earliest.about.date_of_birth")
    assert catalogue.unknown_field_message("medications.last_taken_on.nsiad") == (
        "unknown medication class 'nsiad' in 'medications.last_taken_on.nsiad' (did you mean 'nsaid'?)")
    assert catalogue.unknown_field_message("earliest.medications.stopped_on.doacs").startswith(
        "unknown medication class 'doacs'")


def test_without_a_lexicon_any_class_is_accepted_for_the_dated_facts() -> None:
    loose = Catalogue(None)
    for name in ("medications.last_taken_on.x", "earliest.medications.stopped_on.y",
                 "earliest.medications.last_taken_on.z"):
        assert loose.get(name).type == "date"
    assert loose.get("medications.last_taken_on.") is None


def test_a_last_drink_only_the_month_of_gives_the_range_never_after_the_appointment(lexicon, catalogue) -> None:
    facts = facts_of(lexicon, catalogue, lifestyle__alcohol_drinks_per_week=2,
                     lifestyle__last_drink_on="2026-11-10", lifestyle__last_drink_on_precision="month")
    assert (facts["earliest.lifestyle.last_drink_on"], facts["lifestyle.last_drink_on"]) == (
        D(2026, 11, 1), D(2026, 11, 30))
    exact = facts_of(lexicon, catalogue, lifestyle__last_drink_on="2026-11-10")
    assert exact["earliest.lifestyle.last_drink_on"] == exact["lifestyle.last_drink_on"] == D(2026, 11, 10)
    blank = facts_of(lexicon, catalogue)
    assert blank["lifestyle.last_drink_on"] is MISSING and blank["earliest.lifestyle.last_drink_on"] is MISSING


def test_an_as_needed_painkiller_counts_by_its_last_dose_a_daily_one_up_to_the_appointment(lexicon, catalogue):
    as_needed = {"name": "ibuprofen", "status": "taking", "prescribed": False, "how_taken": "as_needed",
                 "last_taken_on": "2026-10-20", "last_taken_on_precision": "month"}
    facts = facts_of(lexicon, catalogue, **taking(as_needed))
    assert facts["medications.last_taken_on.nsaid"] == D(2026, 10, 31)
    assert facts["earliest.medications.last_taken_on.nsaid"] == D(2026, 10, 1)
    assert facts["medications.last_taken_on.doac"] is None  # answered: no such medicine
    assert facts.evidence("medications.last_taken_on.nsaid") == ("ibuprofen → nsaid (ibuprofen)",)
    assert facts.evidence("earliest.medications.last_taken_on.nsaid") == ("ibuprofen → nsaid (ibuprofen)",)
    # A daily one (or one not said how): taken up to the appointment; the latest of both wins.
    daily = {"name": "Nurofen", "status": "taking", "prescribed": False}
    both = facts_of(lexicon, catalogue, **taking(as_needed, daily))
    assert both["medications.last_taken_on.nsaid"] == both["earliest.medications.last_taken_on.nsaid"] == APPOINTMENT
    # A stopped one: its last dose is the day it was stopped.
    stopped = {"name": "naproxen", "status": "stopped", "stopped_on": "2026-11-20", "stopped_on_precision": "roughly",
               "prescribed": False}
    later = facts_of(lexicon, catalogue, **taking(as_needed, stopped))
    assert later["medications.last_taken_on.nsaid"] == APPOINTMENT  # 4 December, capped
    assert later["earliest.medications.last_taken_on.nsaid"] == D(2026, 11, 6)
    assert later["medications.stopped_on.nsaid"] == APPOINTMENT
    assert later["earliest.medications.stopped_on.nsaid"] == D(2026, 11, 6)


def test_the_last_of_several_treatments_is_the_latest_of_each_bound(lexicon, catalogue) -> None:
    facts = facts_of(lexicon, catalogue, treatments__has_recent_treatments=True, treatments__items=[
        {"kind": "filler", "on": "2026-09-15", "on_precision": "month", "area": "face"},
        {"kind": "filler", "on": "2026-09-20", "area": "other"},
    ])
    assert (facts["earliest.treatments.last_on.filler"], facts["treatments.last_on.filler"]) == (
        D(2026, 9, 20), D(2026, 9, 30))
    assert (facts["earliest.treatments.last_on_planned_area.filler"],
            facts["treatments.last_on_planned_area.filler"]) == (D(2026, 9, 1), D(2026, 9, 30))
    assert facts["treatments.last_on.laser"] is None and facts["earliest.treatments.last_on.laser"] is None


# --- the answers: stored, checked, shown -----------------------------------------------------


def test_stored_answers_without_a_precision_still_load_and_mean_the_exact_day() -> None:
    loaded = load_answers(document(**taking({"name": "Warfarin", "status": "stopped", "stopped_on": "2026-11-01",
                                             "prescribed": True})), today=ON)
    assert loaded["medications"]["items"][0]["stopped_on_precision"] is None
    assert loaded["lifestyle"]["last_drink_on_precision"] is None


def test_a_precision_without_its_date_is_refused() -> None:
    with pytest.raises(ValidationError) as refused:
        load_answers(document(lifestyle__last_drink_on_precision="month"), today=ON)
    assert refused.value.messages == {"lifestyle": {"last_drink_on_precision": [PRECISION_WITHOUT_DATE]}}
    with pytest.raises(ValidationError) as refused:
        load_answers(document(lifestyle__last_drink_on="2026-11-01", lifestyle__last_drink_on_precision="weekly"),
                     today=ON)
    assert refused.value.messages == {"lifestyle": {"last_drink_on_precision": ["Choose one of the options given."]}}


@pytest.mark.parametrize(
    ("changes", "where", "message"),
    [
        ({"lifestyle__last_drink_on": "2026-12-04"}, ("lifestyle", "last_drink_on"),
         "The date of your last drink cannot be after your appointment on 3 December 2026."),
        ({"lifestyle__last_drink_on": "2026-11-26"}, ("lifestyle", "last_drink_on"),
         "The date of your last drink cannot be in the future."),
    ],
)
def test_a_last_drink_after_the_appointment_or_in_the_future_is_refused(changes, where, message) -> None:
    with pytest.raises(ValidationError) as refused:
        load_answers(document(**changes), today=ON)
    assert refused.value.messages == {where[0]: {where[1]: [message]}}


@pytest.mark.parametrize(
    ("last_dose", "message"),
    [
        ("2026-12-04", "The date you last took it cannot be after your appointment on 3 December 2026."),
        ("2026-11-26", "The date you last took it cannot be in the future."),
        ("1899-12-31", "Check the year of this date."),
    ],
)
def test_a_last_dose_after_the_appointment_in_the_future_or_long_ago_is_refused(last_dose, message) -> None:
    item = {"name": "ibuprofen", "status": "taking", "how_taken": "as_needed", "last_taken_on": last_dose,
            "prescribed": False}
    with pytest.raises(ValidationError) as refused:
        load_answers(document(**taking(item)), today=ON)
    assert refused.value.messages == {"medications": {"items": {0: {"last_taken_on": [message]}}}}


def test_the_last_dose_is_asked_only_of_a_medicine_taken_when_needed() -> None:
    needed = {"name": "ibuprofen", "status": "taking", "how_taken": "as_needed", "prescribed": False}
    with pytest.raises(ValidationError) as refused:
        load_answers(document(**taking(needed)), today=ON)
    assert refused.value.messages == {"medications": {"items": {0: {"last_taken_on": [
        "Enter the date you last took it."]}}}}
    daily = {**needed, "how_taken": "regularly", "last_taken_on": "2026-11-20"}
    with pytest.raises(ValidationError) as refused:
        load_answers(document(**taking(daily)), today=ON)
    assert refused.value.messages == {"medications": {"items": {0: {"last_taken_on": [
        "Leave the date empty if you take it every day."]}}}}


def test_the_summary_says_how_sure_the_patient_was_with_the_date() -> None:
    wording = Wording(translate=str, long_date=lambda day: f"on {day}", date_time=str)
    item = {"name": "Warfarin", "status": "stopped", "stopped_on": "2026-03-10", "stopped_on_precision": "month",
            "stopped_by": "prescriber", "prescribed": True}
    doc = document(**taking(item), lifestyle__last_drink_on="2026-11-20", lifestyle__last_drink_on_precision="exact")
    sections = {section["section"]: section["rows"] for section in describe(doc, wording)}
    details = sections["medications"][1]["entries"][0]["details"]
    assert {"label": "Stopped on", "value": "around March 2026 (not sure of the day)"} in details
    assert all(row["label"] != "How sure are you of this date?" for row in details)
    assert {"label": "Last alcoholic drink", "value": "on 2026-11-20"} in sections["lifestyle"]
