"""The record in plain words: each test of the condition language said plainly (one per operator),
the answer behind a trigger as the patient gave it, and what the lexicon understood of each medicine."""

from __future__ import annotations

import datetime as dt

import pytest

from intake.answers.summary import Wording
from intake.answers.triggers import OPERATOR_WORDS, describe_trigger
from intake.assessment import assess
from intake.assessment.conditions import OPERATORS
from intake.assessment.model import Trigger
from intake.assessment.understood import understood_medicines

from .support import ON, answers, medicine, taking

PLAIN = Wording(translate=lambda text: text, long_date=lambda day: f"on {day}", date_time=str)
CLASSES = {"doac": "Direct oral anticoagulants", "nsaid": "NSAIDs", "oral_retinoid": "Oral retinoids"}


def words(field: str, value, operator: str, operand, evidence=()):
    trigger = {"field": field, "value": value, "condition": f"{field} {operator} {operand}", "operator": operator,
               "operand": operand, "evidence": list(evidence)}
    return describe_trigger(trigger, {}, PLAIN, CLASSES)


def test_every_operator_of_the_condition_language_has_words():
    assert set(OPERATOR_WORDS) | {"answered", "is_empty"} == set(OPERATORS)


def test_equals_a_yes_no():
    said = words("health.pregnant", True, "equals", True)
    assert (said.answer, said.test) == ("Are you pregnant? Yes", "is yes")


def test_not_equals_a_choice():
    said = words("about.sex", "female", "not_equals", "male")
    assert (said.answer, said.test) == ("Sex recorded at birth: Female", "is not Male")


def test_in_names_each_choice_by_its_label():
    said = words("about.sex", "prefer_not_to_say", "in", ["female", "prefer_not_to_say"])
    assert said.test == "is one of: Female, Prefer not to say"


def test_not_in():
    assert words("about.sex", "male", "not_in", ["female"]).test == "is none of: Female"


def test_includes_any_of_a_checklist():
    said = words("goals.areas", ["face", "scalp"], "includes_any", ["scalp"])
    assert (said.answer, said.test) == ("Which areas would you like treated? Whole face, Scalp",
                                        "includes any of: Scalp")


def test_includes_all():
    assert words("goals.areas", ["face", "neck"], "includes_all", ["face", "neck"]).test == \
        "includes all of: Whole face, Neck"


def test_includes_none():
    assert words("goals.areas", ["face"], "includes_none", ["scalp"]).test == "includes none of: Scalp"


def test_less_than_on_a_derived_fact():
    said = words("derived.age", 17, "less_than", 18)
    assert (said.answer, said.test) == ("Age on the appointment: 17", "less than 18")


def test_at_most():
    assert words("lifestyle.alcohol_drinks_per_week", 0, "at_most", 2).test == "at most 2"


def test_greater_than():
    said = words("lifestyle.alcohol_drinks_per_week", 20, "greater_than", 14)
    assert said.answer == "How many alcoholic drinks do you have in a typical week? 20"
    assert said.test == "more than 14"


def test_at_least_with_a_numbered_choice_reads_the_label():
    said = words("skin.fitzpatrick_type", 5, "at_least", 4)
    assert said.answer.startswith("Which best describes your skin in the sun? Type V")
    assert said.test.startswith("at least Type IV")


def test_answered():
    assert words("medications.unrecognised", ["herbal x"], "answered", True).test == "answered"
    assert words("health.pregnant", None, "answered", False).test == "not answered"


def test_is_empty():
    assert words("allergies.active_allergies", [], "is_empty", True).test == "none given"
    assert words("allergies.active_allergies", ["vitamin_c"], "is_empty", False).test == "at least one given"


def test_within_days_before_on_a_treatment_date():
    said = words("treatments.last_on_planned_area.laser", "2026-11-20", "within_days_before", 14)
    assert said.answer == "Last laser or ipl on an area to be treated: on 2026-11-20"
    assert said.test == "in the 14 days before the appointment"


def test_within_days_after_on_the_next_event():
    said = words("events.next_on", "2026-12-10", "within_days_after", 14)
    assert (said.answer, said.test) == ("Next important event: on 2026-12-10", "in the 14 days after the appointment")


def test_medicines_are_said_with_their_class_labels():
    said = words("medications.taking", ["doac"], "includes_any", ["doac", "nsaid"],
                 evidence=["Eliquis 5mg → doac (apixaban)"])
    assert said.answer == "Medicines taken now: Eliquis 5mg → Direct oral anticoagulants (apixaban)"
    assert said.test == "includes any of: Direct oral anticoagulants, NSAIDs"


def test_a_stopped_medicine_says_when():
    said = words("medications.stopped_on.oral_retinoid", "2026-08-01", "within_days_before", 180,
                 evidence=["Roaccutane → oral_retinoid (isotretinoin)"])
    assert said.answer == "Oral retinoids stopped on on 2026-08-01 (Roaccutane → Oral retinoids (isotretinoin))"


def test_a_last_dose_and_the_earliest_possible_day_say_what_they_are():
    said = words("medications.last_taken_on.nsaid", "2026-11-30", "within_days_before", 8,
                 evidence=["ibuprofen → nsaid (ibuprofen)"])
    assert said.answer == ("NSAIDs last taken on 2026-11-30 (taken every day: up to the appointment) "
                           "(ibuprofen → NSAIDs (ibuprofen))")
    earliest = words("earliest.lifestyle.last_drink_on", "2026-11-01", "within_days_before", 3)
    assert earliest.answer == "Earliest possible: Last alcoholic drink: on 2026-11-01"
    assert earliest.test == "in the 3 days before the appointment"


def test_the_raw_condition_stays_for_the_curious():
    assert words("derived.age", 17, "less_than", 18).condition == "derived.age less_than 18"


def test_triggers_stored_before_the_operator_was_kept_read_it_from_the_condition():
    old = {"field": "lifestyle.alcohol_drinks_per_week", "value": 3,
           "condition": "lifestyle.alcohol_drinks_per_week at_least 1"}
    assert Trigger.from_dict(old).operator == "at_least"


def test_the_engine_keeps_operator_and_operand_on_each_trigger(shipped):
    assessment = assess(answers(**taking(medicine("Eliquis", prescribed=True))), shipped, ON)
    triggers = [t for flag in assessment.flags for t in flag.triggered_by if t.field == "medications.taking"]
    assert triggers and triggers[0].operator == "includes_any" and "doac" in triggers[0].operand
    assert triggers[0].to_dict()["operator"] == "includes_any"


# --- what the lexicon understood


@pytest.fixture
def items():
    return [
        {"name": "Roaccutane", "dose": "20mg", "status": "stopped", "stopped_on": "2026-01-15", "prescribed": True},
        {"name": "Eliqus", "dose": "", "status": "taking", "prescribed": True},
        {"name": "Nurofen and Eliquis", "status": "taking"},
        {"name": "Grandma's herbal tonic", "status": "taking"},
        {"name": "  ", "status": "taking"},
    ]


def test_each_typed_line_with_what_was_recognised(lexicon, items):
    roaccutane, misspelt, two, unknown = understood_medicines(items, lexicon)
    assert roaccutane.typed == "Roaccutane" and roaccutane.dose == "20mg"
    assert [found.generic for found in roaccutane.recognised] == ["isotretinoin"]
    assert roaccutane.classes == (("oral_retinoid", "Oral retinoids (isotretinoin and similar)"),)
    assert roaccutane.status == "stopped" and roaccutane.stopped_on == dt.date(2026, 1, 15) and roaccutane.prescribed
    assert not roaccutane.near_spelling


def test_a_misspelt_name_is_recognised_and_says_so(lexicon, items):
    misspelt = understood_medicines(items, lexicon)[1]
    assert [found.generic for found in misspelt.recognised] == ["apixaban"] and misspelt.near_spelling
    assert misspelt.classes == (("doac", "Direct oral anticoagulants (DOACs)"),)


def test_two_medicines_on_one_line(lexicon, items):
    two = understood_medicines(items, lexicon)[2]
    assert sorted(found.generic for found in two.recognised) == ["apixaban", "ibuprofen"]
    assert {cid for cid, _label in two.classes} == {"doac", "nsaid"}


def test_an_unrecognised_line_says_so_and_blank_lines_are_left_out(lexicon, items):
    understood = understood_medicines(items, lexicon)
    assert len(understood) == 4
    unknown = understood[3]
    assert not unknown.is_recognised and unknown.classes == () and unknown.recognised == ()


def test_without_a_lexicon_nothing_is_recognised(items):
    assert not any(m.is_recognised for m in understood_medicines(items, None))
