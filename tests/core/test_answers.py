"""The answers document: what a complete intake must hold, and what each mistake says."""

from __future__ import annotations

import copy
import datetime as dt

import pytest
from marshmallow import ValidationError

from intake.answers import SECTIONS, AnswersSchema, date_errors, dump_answers, load_answers

TODAY = dt.date(2026, 11, 25)


def complete_document() -> dict:
    """A valid complete intake as JSON, the way the API or a booking system sends it."""
    return {
        "about": {
            "full_name": "Ana Silva", "date_of_birth": "1990-04-02", "sex": "female",
            "email": "ana@example.org", "phone": "+44 7700 900123", "appointment_date": "2026-12-03",
        },
        "goals": {"goals": ["hydration", "fine_lines"], "other_goal": "", "areas": ["face", "neck"]},
        "skin": {
            "concerns": ["dryness"], "fitzpatrick_type": 3, "sensitive_skin": False,
            "active_infection_at_area": False, "active_cold_sore": False,
            "cold_sore_history": True, "keloid_scarring": False,
        },
        "health": {
            "pregnant": False, "trying_to_conceive": False, "breastfeeding": False,
            "recently_gave_birth": False, "hormonal_contraception": True, "conditions": [],
            "recent_illness": False, "recent_antibiotics": False,
        },
        "medications": {
            "has_medications": True,
            "items": [
                {"name": "Eliquis 5mg", "dose": "twice daily", "status": "taking", "prescribed": True},
                {"name": "Roaccutane", "status": "stopped", "stopped_on": "2026-08-01", "prescribed": True},
            ],
        },
        "allergies": {
            "local_anaesthetic_allergy": False, "anaphylaxis_history": False,
            "injection_reaction": False, "active_allergies": [],
        },
        "lifestyle": {"alcohol_drinks_per_week": 6, "smoking": "never", "recent_tanning": False},
        "treatments": {
            "had_mesotherapy_before": False, "has_recent_treatments": True,
            "items": [{"kind": "filler", "on": "2026-11-20", "area": "face"}],
        },
        "events": {
            "has_upcoming_events": True,
            "items": [{"kind": "wedding", "on": "2026-12-19", "description": "Sister's wedding"}],
        },
        "consent": {
            "understands_procedure": True, "accepts_after_effects": True,
            "answers_accurate": True, "data_processing": True, "signature": "ana  SILVA",
        },
    }


def errors_of(document: dict, today: dt.date | None = TODAY) -> dict:
    with pytest.raises(ValidationError) as raised:
        load_answers(document, today=today)
    return raised.value.messages


def test_complete_document_loads_and_round_trips():
    loaded = load_answers(complete_document(), today=TODAY)
    assert loaded["about"]["date_of_birth"] == dt.date(1990, 4, 2)
    assert loaded["medications"]["items"][1]["stopped_on"] == dt.date(2026, 8, 1)
    assert loaded["medications"]["items"][0]["stopped_on"] is None
    assert load_answers(dump_answers(loaded), today=TODAY) == loaded


def test_male_patient_needs_no_pregnancy_answers():
    document = complete_document()
    document["about"]["sex"] = "male"
    for field in ("pregnant", "trying_to_conceive", "breastfeeding", "recently_gave_birth"):
        del document["health"][field]
    assert load_answers(document, today=TODAY)["health"]["pregnant"] is None


@pytest.mark.parametrize("sex", ["female", "prefer_not_to_say"])
def test_pregnancy_questions_required_unless_male(sex):
    document = complete_document()
    document["about"]["sex"] = sex
    del document["health"]["breastfeeding"]
    assert errors_of(document) == {"health": {"breastfeeding": ["Answer this question."]}}


def test_unknown_fields_are_refused_at_every_level():
    document = complete_document()
    document["extra"] = 1
    document["skin"]["colour"] = "blue"
    document["medications"]["items"][0]["route"] = "oral"
    assert errors_of(document) == {
        "extra": ["Unknown field."],
        "skin": {"colour": ["Unknown field."]},
        "medications": {"items": {0: {"route": ["Unknown field."]}}},
    }


@pytest.mark.parametrize(
    ("section", "field", "value", "message"),
    [
        ("about", "full_name", "", "Use between 1 and 120 characters."),
        ("about", "full_name", "x" * 121, "Use between 1 and 120 characters."),
        ("about", "email", "ana-at-example", "Not a valid email address."),
        ("about", "sex", "unknown", "Choose one of the options given."),
        ("about", "date_of_birth", "02/04/1990", "Not a valid date."),
        ("skin", "fitzpatrick_type", 7, "Choose one of the options given."),
        ("skin", "fitzpatrick_type", "3", "Not a valid integer."),
        ("skin", "sensitive_skin", "perhaps", "Not a valid boolean."),
        ("goals", "areas", [], "Choose at least one area."),
        ("lifestyle", "alcohol_drinks_per_week", -1, "Enter a number from 0 to 200."),
        ("lifestyle", "alcohol_drinks_per_week", 201, "Enter a number from 0 to 200."),
        ("lifestyle", "smoking", "sometimes", "Choose one of the options given."),
        ("consent", "data_processing", False, "You need to agree to this to continue."),
        ("allergies", "other_allergies", "x" * 501, "Use at most 500 characters."),
    ],
)
def test_field_errors_say_how_to_fix_them(section, field, value, message):
    document = complete_document()
    document[section][field] = value
    assert errors_of(document) == {section: {field: [message]}}


def test_choice_lists_name_the_bad_item():
    document = complete_document()
    document["goals"]["goals"] = ["hydration", "tan"]
    assert errors_of(document) == {"goals": {"goals": {1: ["Choose one of the options given."]}}}


def test_required_sections_and_fields():
    document = complete_document()
    del document["consent"]
    del document["about"]["email"]
    assert errors_of(document) == {
        "consent": ["Missing data for required field."],
        "about": {"email": ["Missing data for required field."]},
    }


@pytest.mark.parametrize(
    ("section", "changes", "errors"),
    [
        ("goals", {"goals": [], "other_goal": ""}, {"goals": ["Choose at least one goal, or describe yours."]}),
        ("health", {"pregnant": True}, {"pregnancy_weeks": ["Say how many weeks pregnant you are."]}),
        ("health", {"recently_gave_birth": True}, {"delivery_date": ["Enter the date you gave birth."]}),
        ("health", {"conditions": ["other"]}, {"other_condition": ["Describe the other condition."]}),
        (
            "health",
            {"conditions": ["diabetes"]},
            {
                "diabetes_controlled": ["Answer this question about your diabetes."],
                "uses_insulin": ["Answer this question about your diabetes."],
            },
        ),
        ("allergies", {"injection_reaction": True}, {"injection_reaction_details": ["Describe the reaction you had."]}),
        ("medications", {"items": []}, {"items": ["Add at least one medication or supplement."]}),
        (
            "medications",
            {"has_medications": False},
            {"items": ["You said you take none: remove the list or change the answer."]},
        ),
        ("treatments", {"items": []}, {"items": ["Add the treatment and its date."]}),
        ("events", {"items": []}, {"items": ["Add the event and its date."]}),
    ],
)
def test_follow_up_questions(section, changes, errors):
    document = complete_document()
    document[section].update(changes)
    assert errors_of(document) == {section: errors}


def test_medication_stop_date_follows_status():
    document = complete_document()
    document["medications"]["items"][0]["stopped_on"] = "2026-11-01"
    document["medications"]["items"][1]["stopped_on"] = None
    assert errors_of(document) == {
        "medications": {
            "items": {
                0: {"stopped_on": ["Leave the date empty if you are still taking it."]},
                1: {"stopped_on": ["Enter the date you stopped."]},
            }
        }
    }


def test_signature_must_be_the_patients_name():
    document = complete_document()
    document["consent"]["signature"] = "A. Silva"
    assert errors_of(document) == {"consent": {"signature": ["Type your full name exactly as in “About you”."]}}


def test_dates_relative_to_today():
    document = complete_document()
    document["about"]["date_of_birth"] = "2027-01-01"
    document["about"]["appointment_date"] = "2026-11-24"
    document["medications"]["items"][1]["stopped_on"] = "2026-11-26"
    document["treatments"]["items"][0]["on"] = "2026-12-01"
    document["events"]["items"][0]["on"] = "2026-11-01"
    assert errors_of(document) == {
        "about": {
            "date_of_birth": ["Your date of birth cannot be in the future."],
            "appointment_date": ["The appointment date cannot be in the past."],
        },
        "medications": {"items": {1: {"stopped_on": ["The date you stopped cannot be in the future."]}}},
        "treatments": {"items": {0: {"on": ["Enter a past date for this treatment."]}}},
        "events": {"items": {0: {"on": ["Enter a date in the next two years."]}}},
    }


def test_relative_date_checks_are_off_without_today():
    # A stored intake is re-read long after its appointment: its past dates stay valid.
    document = complete_document()
    document["about"]["appointment_date"] = "2020-01-01"
    assert load_answers(document, today=None)["about"]["appointment_date"] == dt.date(2020, 1, 1)


def test_appointment_may_be_not_booked_yet():
    document = complete_document()
    document["about"]["appointment_date"] = None
    assert load_answers(document, today=TODAY)["about"]["appointment_date"] is None


def test_date_errors_checks_a_single_section():
    section = {"about": {"date_of_birth": dt.date(1850, 1, 1), "appointment_date": dt.date(2029, 1, 1)}}
    assert date_errors(section, TODAY) == {
        "about": {
            "date_of_birth": ["Check the year of your date of birth."],
            "appointment_date": ["Enter an appointment within the next two years."],
        }
    }


def test_sections_cover_the_whole_document():
    assert list(SECTIONS) == list(AnswersSchema().fields)
    # A section schema alone accepts its part of a complete document.
    document = copy.deepcopy(complete_document())
    for name, schema in SECTIONS.items():
        assert schema().load(document[name])


@pytest.mark.parametrize("character", ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\u009b"])
def test_control_characters_in_free_text_are_refused_with_a_clear_message(character):
    from intake.answers import CONTROL_CHARACTER_MESSAGE, GoalsSchema

    with pytest.raises(ValidationError) as refused:
        GoalsSchema().load({"goals": [], "other_goal": f"smoother{character}skin", "areas": ["face"]})
    assert refused.value.messages == {"other_goal": [CONTROL_CHARACTER_MESSAGE]}


def test_tabs_and_line_breaks_are_kept_in_free_text():
    from intake.answers import GoalsSchema

    loaded = GoalsSchema().load({"goals": [], "other_goal": "line one\r\nline\ttwo\n", "areas": ["face"]})
    assert loaded["other_goal"] == "line one\r\nline\ttwo\n"


def test_the_json_schema_refuses_the_same_control_characters():
    import jsonschema

    from intake.answers.jsonschema import NO_CONTROL_CHARACTERS

    for text, valid in [("ok\ttext\r\n", True), ("bad\x00", False), ("bad\x1b[31m", False), ("bad\x9b", False),
                        ("café ☕", True)]:
        ok = jsonschema.Draft202012Validator({"type": "string", "pattern": NO_CONTROL_CHARACTERS}).is_valid(text)
        assert ok is valid, text
