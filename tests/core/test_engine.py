"""Assessing intakes: outcome, flags and triggers, dated instructions, unanswered questions."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from intake.answers import load_answers
from intake.assessment import MISSING, Assessment, Ruleset, assess, derive_facts, load_ruleset
from intake.assessment.dates import english_date

from .support import ENGINE_RULES as RULES
from .support import ON, SMALL_LEXICON, answers, document, make_rules, medicine, taking


@pytest.fixture(scope="module")
def ruleset(tmp_path_factory: pytest.TempPathFactory) -> Ruleset:
    return load_ruleset(make_rules(tmp_path_factory.mktemp("rules")))


# --- outcome and flags -----------------------------------------------------------------------


def test_a_healthy_patient_is_suitable_with_dated_instructions(ruleset: Ruleset) -> None:
    result = assess(answers(), ruleset, ON)
    assert result.outcome == "suitable"
    assert result.defer_until is None
    assert result.rule_ids == ["adult-water", "arrive-clean"]
    assert result.reference_date == dt.date(2026, 12, 3)
    assert result.ruleset_version == ruleset.version
    assert [(i.rule_id, i.text, i.starts_on, i.days_before) for i in result.instructions] == [
        ("adult-water", "From Wednesday 2 December, drink plenty of water.", dt.date(2026, 12, 2), 1),
        ("arrive-clean", "Thursday 3 December: arrive without make-up.", dt.date(2026, 12, 3), 0),
    ]


def test_instructions_without_an_appointment_count_days_before_it(ruleset: Ruleset) -> None:
    result = assess(answers(about__appointment_date=None, lifestyle__alcohol_drinks_per_week=3), ruleset, ON)
    assert result.reference_date == ON
    assert result.rule_ids == ["alcohol", "adult-water"]
    assert [(i.text, i.starts_on) for i in result.instructions] == [
        ("From 2 days before your appointment: no alcohol.", None),
        ("From the day before your appointment, drink plenty of water.", None),
    ]


def test_on_the_day_reads_as_a_sentence_when_not_booked(tmp_path: Path) -> None:
    rules = RULES.replace(
        "{field: derived.appointment_booked, equals: true}",
        "{field: derived.appointment_booked, equals: false}",
    )
    ruleset = load_ruleset(make_rules(tmp_path, rules))
    result = assess(answers(about__appointment_date=None), ruleset, ON)
    assert (
        result.flag("arrive-clean").instruction.text
        == "On the day of your appointment: arrive without make-up."
    )


@pytest.mark.parametrize(
    ("appointment", "alcohol_text", "water_text"),
    [
        (
            "2027-03-01",
            "From Saturday 27 February: no alcohol.",
            "From Sunday 28 February, drink plenty of water.",
        ),
        (
            "2028-03-01",
            "From Monday 28 February: no alcohol.",
            "From Tuesday 29 February, drink plenty of water.",
        ),
        (
            "2029-01-01",
            "From Saturday 30 December: no alcohol.",
            "From Sunday 31 December, drink plenty of water.",
        ),
    ],
)
def test_instruction_dates_across_month_ends_leap_days_and_years(
    ruleset: Ruleset, appointment: str, alcohol_text: str, water_text: str
) -> None:
    result = assess(
        load_answers(document(about__appointment_date=appointment, lifestyle__alcohol_drinks_per_week=2)),
        ruleset,
        ON,
    )
    texts = {i.rule_id: i.text for i in result.instructions}
    assert texts["alcohol"] == alcohol_text
    assert texts["adult-water"] == water_text


def test_a_formatter_can_replace_the_english_dates(ruleset: Ruleset) -> None:
    result = assess(
        answers(lifestyle__alcohol_drinks_per_week=2), ruleset, ON, format_date=lambda d: d.strftime("%d/%m")
    )
    assert result.flag("alcohol").instruction.text == "From 01/12: no alcohol."
    assert english_date(dt.date(2026, 12, 3)) == "Thursday 3 December"


def test_contraindication_names_the_medicine_that_triggered_it(ruleset: Ruleset) -> None:
    result = assess(answers(**taking(medicine("Eliquis 5mg", prescribed=True))), ruleset, ON)
    assert result.outcome == "contraindicated"
    flag = result.flag("anticoagulant")
    assert flag is not None
    assert (flag.severity, flag.file, flag.line, flag.source) == (
        "contraindicated",
        "precautions/main.yaml",
        16,
        ("doctor-medica-restylane-vital-light",),
    )
    [trigger] = flag.triggered_by
    assert (trigger.field, trigger.value, trigger.condition) == (
        "medications.taking",
        ("doac",),
        "medications.taking includes_any [doac]",
    )
    assert trigger.evidence == ("Eliquis 5mg → doac (apixaban)",)
    assert flag.instruction.text == "Keep taking your blood thinner."
    assert flag.instruction.days_before is None


def test_flags_are_ordered_by_severity_then_rule_id(ruleset: Ruleset) -> None:
    result = assess(
        answers(
            **taking(medicine("Eliquis"), medicine("Nurofen")),
            health__recent_illness=True,
            lifestyle__alcohol_drinks_per_week=4,
        ),
        ruleset,
        ON,
    )
    assert result.rule_ids == [
        "anticoagulant",
        "unwell",
        "alcohol",
        "unprescribed-nsaid",
        "adult-water",
        "arrive-clean",
    ]
    assert result.outcome == "contraindicated"
    assert result.defer_until is None  # not deferred: contraindicated


def test_prescribed_and_unprescribed_medicines_are_told_apart(ruleset: Ruleset) -> None:
    assert "unprescribed-nsaid" in assess(answers(**taking(medicine("ibuprofen"))), ruleset, ON).rule_ids
    assert (
        "unprescribed-nsaid"
        not in assess(answers(**taking(medicine("ibuprofen", prescribed=True))), ruleset, ON).rule_ids
    )


def test_an_unrecognised_medicine_goes_through_the_facts(ruleset: Ruleset) -> None:
    given = answers(**taking(medicine("Moonflower tincture"), medicine("Nurofen", prescribed=True)))
    facts = derive_facts(given, ruleset.lexicon, ON, ruleset.catalogue)
    assert facts["medications.unrecognised"] == ("Moonflower tincture",)
    assert facts["medications.taking"] == ("nsaid",)
    assert [m.describe() for m in facts.medications] == [
        "Moonflower tincture → not recognised",
        "Nurofen → nsaid (ibuprofen)",
    ]
    flag = assess(given, ruleset, ON).flag("unrecognised-medicine")
    assert flag is not None
    assert flag.triggered_by[0].evidence == ("Moonflower tincture → not recognised",)


# --- deferral dates --------------------------------------------------------------------------


def filler(on: str, area: str | None = "face", kind: str = "filler") -> dict[str, Any]:
    return {
        "treatments__has_recent_treatments": True,
        "treatments__items": [{"kind": kind, "on": on, "area": area}],
    }


def test_a_recent_filler_defers_until_the_date_the_condition_lifts(ruleset: Ruleset) -> None:
    result = assess(answers(**filler("2026-11-20")), ruleset, ON)
    assert result.outcome == "defer"
    assert result.flag("recent-filler").lifts_on == dt.date(2026, 12, 4)
    assert result.defer_until == dt.date(2026, 12, 4)
    assert result.flag("recent-filler").triggered_by[0].value == dt.date(2026, 11, 20)


def test_only_treatments_in_a_planned_area_or_with_no_area_count(ruleset: Ruleset) -> None:
    assert (
        "recent-filler"
        not in assess(answers(**filler("2026-11-20", area="decolletage")), ruleset, ON).rule_ids
    )
    assert "recent-filler" in assess(answers(**filler("2026-11-20", area=None)), ruleset, ON).rule_ids
    assert (
        "recent-filler" not in assess(answers(**filler("2026-11-19")), ruleset, ON).rule_ids
    )  # 14 days before


def test_defer_for_days_counts_from_the_assessment_date(ruleset: Ruleset) -> None:
    result = assess(answers(health__recent_illness=True), ruleset, ON)
    assert result.flag("unwell").lifts_on == dt.date(2026, 12, 9)
    assert result.defer_until == dt.date(2026, 12, 9)


def test_a_deferral_over_by_the_appointment_is_a_precaution_to_confirm(ruleset: Ruleset) -> None:
    result = assess(answers(health__recent_illness=True, about__appointment_date="2026-12-09"), ruleset, ON)
    unwell = result.flag("unwell")
    assert (unwell.severity, unwell.lifts_on) == ("precaution", dt.date(2026, 12, 9))
    assert result.outcome == "precaution"
    assert result.defer_until is None
    # A day earlier, the deferral still stands.
    before = assess(answers(health__recent_illness=True, about__appointment_date="2026-12-08"), ruleset, ON)
    assert (before.flag("unwell").severity, before.defer_until) == ("defer", dt.date(2026, 12, 9))
    # Not booked: nothing to be over by.
    unbooked = assess(answers(health__recent_illness=True, about__appointment_date=None), ruleset, ON)
    assert unbooked.flag("unwell").severity == "defer"


def test_an_instruction_that_should_have_started_already_starts_on_the_assessment_day(ruleset: Ruleset) -> None:
    # Booked for Friday 27 November on Wednesday 25: "a week before" began on the 20th.
    given = answers(about__appointment_date="2026-11-27", **taking(medicine("ibuprofen")))
    result = assess(given, ruleset, ON)
    stop = next(i for i in result.instructions if i.rule_id == "unprescribed-nsaid")
    assert (stop.text, stop.starts_on, stop.days_before) == ("From Wednesday 25 November: no ibuprofen.", ON, 7)
    # Assessed earlier, the same appointment gives the real week.
    early = assess(given, ruleset, dt.date(2026, 11, 10))
    stop = next(i for i in early.instructions if i.rule_id == "unprescribed-nsaid")
    assert stop.starts_on == dt.date(2026, 11, 20)


def test_defer_until_is_the_latest_lift_date_or_none_if_one_has_no_date(ruleset: Ruleset) -> None:
    both = assess(answers(health__recent_illness=True, **filler("2026-11-24")), ruleset, ON)
    assert both.defer_until == dt.date(2026, 12, 9)
    undated = assess(
        answers(health__recent_illness=True, health__pregnant=True, health__pregnancy_weeks=10), ruleset, ON
    )
    assert undated.flag("pregnancy").lifts_on is None
    assert undated.outcome == "defer"
    assert undated.defer_until is None


def test_an_event_after_the_appointment_defers_until_the_day_after_it(ruleset: Ruleset) -> None:
    events = {
        "events__has_upcoming_events": True,
        "events__items": [{"kind": "wedding", "on": "2026-12-10"}, {"kind": "holiday", "on": "2026-11-30"}],
    }
    result = assess(answers(**events), ruleset, ON)
    # The holiday is before the appointment (the reference date): the next event is the wedding.
    assert result.flag("event-soon").lifts_on == dt.date(2026, 12, 11)


# --- unanswered questions ------------------------------------------------------------------


def unanswered(section: str, *fields: str, **changes: Any) -> dict[str, Any]:
    given = answers(**changes)
    for name in fields:
        del given[section][name]
    return given


def test_ask_flags_an_unanswered_safety_question_at_precaution(ruleset: Ruleset) -> None:
    result = assess(unanswered("health", "pregnant", "breastfeeding"), ruleset, ON)
    flag = result.flag("pregnancy")
    assert flag is not None
    assert flag.severity == "precaution"  # not the rule's own defer
    assert flag.unanswered == ("health.pregnant", "health.breastfeeding")
    assert flag.is_question
    assert flag.message == (
        "Not answered — ask the patient before treating (health.pregnant, "
        "health.breastfeeding). Pregnant or breastfeeding."
    )
    assert flag.lifts_on is None and flag.triggered_by == ()
    assert result.outcome == "precaution"


def test_a_male_patient_is_never_asked_about_pregnancy(ruleset: Ruleset) -> None:
    given = answers(
        about__sex="male",
        health__pregnant=None,
        health__breastfeeding=None,
        health__trying_to_conceive=None,
        health__recently_gave_birth=None,
    )
    assert given["health"]["pregnant"] is None
    result = assess(given, ruleset, ON)
    assert "pregnancy" not in result.rule_ids
    assert result.outcome == "suitable"


def test_fire_fires_as_if_yes_and_names_the_missing_answer(ruleset: Ruleset) -> None:
    flag = assess(unanswered("skin", "cold_sore_history"), ruleset, ON).flag("cold-sores")
    assert flag is not None
    assert (flag.severity, flag.unanswered) == ("precaution", ())
    assert [(t.field, t.value) for t in flag.triggered_by] == [("skin.cold_sore_history", MISSING)]


def test_skip_and_info_rules_say_nothing_when_unanswered(ruleset: Ruleset) -> None:
    result = assess(unanswered("skin", "keloid_scarring"), ruleset, ON)
    assert "keloids" not in result.rule_ids
    no_birth_date = assess(unanswered("about", "date_of_birth"), ruleset, ON)
    assert "adult-water" not in no_birth_date.rule_ids  # info rules default to skip


# --- facts --------------------------------------------------------------------------------


def test_derived_facts(ruleset: Ruleset) -> None:
    given = answers(
        about__date_of_birth="2008-02-29",
        about__appointment_date="2027-02-28",
        **taking(
            medicine("Eliquis", prescribed=True, stopped_on="2026-11-01"),
            medicine("apixaban", prescribed=True, stopped_on="2026-11-10"),
            medicine("Nurofen"),
        ),
    )
    facts = derive_facts(given, ruleset.lexicon, ON, ruleset.catalogue)
    assert facts.reference_date == dt.date(2027, 2, 28)
    assert facts["derived.age"] == 18  # born on 29 February: 19 only on 1 March in a common year
    assert facts["derived.appointment_booked"] is True
    assert facts["medications.taking"] == ("nsaid",)
    assert facts["medications.taking_unprescribed"] == ("nsaid",)
    assert facts["medications.taking_prescribed"] == ()
    assert facts["medications.stopped_prescribed"] == ("doac",)
    assert facts["medications.stopped_on.doac"] == dt.date(2026, 11, 10)
    assert facts["medications.stopped_on.nsaid"] is None
    assert facts["treatments.last_on.filler"] is None
    assert facts["events.next_on"] is None
    assert facts["health.pregnancy_weeks"] is MISSING


def test_unanswered_sections_leave_their_derived_facts_unknown(ruleset: Ruleset) -> None:
    given = {"about": {"date_of_birth": dt.date(1990, 1, 1)}}
    facts = derive_facts(given, ruleset.lexicon, ON, ruleset.catalogue)
    assert facts.reference_date == ON
    assert facts["derived.appointment_booked"] is MISSING
    assert facts["derived.age"] == 36
    for name in (
        "medications.taking",
        "medications.stopped_on.doac",
        "treatments.last_on.filler",
        "events.next_on",
        "health.conditions",
    ):
        assert facts[name] is MISSING, name
    with pytest.raises(TypeError):
        bool(MISSING)


def test_the_planned_area_date_is_unknown_while_the_areas_are(ruleset: Ruleset) -> None:
    given = answers(**filler("2026-11-20"))
    del given["goals"]["areas"]
    facts = derive_facts(given, ruleset.lexicon, ON, ruleset.catalogue)
    assert facts["treatments.last_on.filler"] == dt.date(2026, 11, 20)
    assert facts["treatments.last_on_planned_area.filler"] is MISSING
    assert facts["treatments.last_on_planned_area.laser"] is None


# --- storing and versions ------------------------------------------------------------------


def test_to_dict_is_json_and_from_dict_reads_it_back(ruleset: Ruleset) -> None:
    result = assess(
        answers(
            health__recent_illness=True, lifestyle__alcohol_drinks_per_week=1, **taking(medicine("Eliquis"))
        ),
        ruleset,
        ON,
    )
    data = result.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["on"] == "2026-11-25" and data["outcome"] == "contraindicated" and data["plan"] is None
    anticoagulant = next(f for f in data["flags"] if f["rule_id"] == "anticoagulant")
    assert anticoagulant["triggered_by"][0]["value"] == ["doac"]
    assert next(f for f in data["flags"] if f["rule_id"] == "unwell")["lifts_on"] == "2026-12-09"
    again = Assessment.from_dict(data)
    assert again.to_dict() == data
    assert again.flag("unwell").lifts_on == dt.date(2026, 12, 9)


def test_the_version_is_a_hash_of_every_file_read(tmp_path: Path) -> None:
    first = load_ruleset(make_rules(tmp_path / "a"))
    same = load_ruleset(make_rules(tmp_path / "b"))
    assert first.version == same.version
    assert len(first.version) == 64
    (tmp_path / "b" / "precautions" / "main.yaml").write_text(RULES.replace("Unwell.", "Feeling unwell."))
    assert load_ruleset(tmp_path / "b").version != first.version
    (tmp_path / "b" / "precautions" / "main.yaml").write_text(RULES)
    assert load_ruleset(tmp_path / "b").version == first.version
    (tmp_path / "b" / "precautions" / "more.yaml").write_text("")
    assert load_ruleset(tmp_path / "b").version != first.version
    (tmp_path / "b" / "precautions" / "more.yaml").unlink()
    (tmp_path / "b" / "medications.yaml").write_text(SMALL_LEXICON + "\n# reviewed\n")
    assert load_ruleset(tmp_path / "b").version != first.version


def test_the_shipped_rules_load_with_their_protocols_and_plan() -> None:
    root = Path(__file__).resolve().parents[2] / "rules"
    ruleset = load_ruleset(root)
    assert len(ruleset.rules) > 10
    assert "protocols.yaml" in ruleset.files and ruleset.protocols is not None
    result = assess(answers(), ruleset, ON)
    assert result.outcome in ("suitable", "precaution")
    data = result.to_dict()
    assert isinstance(data["plan"], dict)
    assert json.loads(json.dumps(data)) == data
    assert Assessment.from_dict(data).to_dict() == data
