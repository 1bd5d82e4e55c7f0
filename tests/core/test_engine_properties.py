"""Properties of the engine over many random complete intakes, with the shipped rules."""

from __future__ import annotations

import copy
import datetime as dt
import functools
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intake.answers import (
    ACTIVE_ALLERGIES,
    AREAS,
    CONDITIONS,
    EVENT_KINDS,
    GOALS,
    SKIN_CONCERNS,
    SMOKING,
    TREATMENT_AREAS,
    TREATMENT_KINDS,
    load_answers,
    values,
)
from intake.assessment import OUTCOMES, Ruleset, RulesetInvalid, assess, load_ruleset

RULES = Path(__file__).resolve().parents[2] / "rules"
ON = dt.date(2026, 11, 25)
RANK = {outcome: rank for rank, outcome in enumerate(OUTCOMES)}

FALLBACK_LEXICON = """\
classes:
  - id: doac
    label: Direct oral anticoagulants
    source: [S19]
    medications:
      - generic: apixaban
        brands: [Eliquis]
  - id: nsaid
    label: Anti-inflammatory painkillers
    source: [S10]
    medications:
      - generic: ibuprofen
        brands: [Nurofen]
"""
FALLBACK_RULES = """\
- id: anticoagulant
  severity: contraindicated
  when: {field: medications.taking, includes_any: [doac]}
  message: Anticoagulant.
  source: [S19]
- id: pregnancy
  severity: defer
  when:
    all:
      - {field: about.sex, not_equals: male}
      - {field: health.pregnant, equals: true}
  message: Pregnant.
  source: [S1]
- id: infection
  severity: defer
  when: {field: skin.active_infection_at_area, equals: true}
  defer_for_days: 14
  message: Infection.
  source: [S2]
- id: bruising
  severity: precaution
  when:
    any:
      - {field: medications.taking, includes_any: [nsaid]}
      - {field: lifestyle.alcohol_drinks_per_week, at_least: 1}
  message: Bruising.
  source: [S10]
"""


@functools.cache
def ruleset() -> Ruleset:
    """The shipped rules when they load; otherwise a small ruleset of the same kind."""
    try:
        return load_ruleset(RULES)
    except RulesetInvalid:
        import tempfile

        root = Path(tempfile.mkdtemp(prefix="meso-rules-"))
        (root / "precautions").mkdir()
        (root / "medications.yaml").write_text(FALLBACK_LEXICON)
        (root / "precautions" / "rules.yaml").write_text(FALLBACK_RULES)
        return load_ruleset(root)


def medicine_names() -> list[str]:
    lexicon = ruleset().lexicon
    known = [" ".join(name) for name in lexicon.names[:200]] if lexicon is not None else []
    return known + ["Eliquis 5mg", "ibuprofen", "Nurofen", "vitamin D", "Moonflower tincture", "aspirin 75mg"]


def days(low: int, high: int) -> st.SearchStrategy[dt.date]:
    return st.integers(low, high).map(lambda n: ON + dt.timedelta(days=n))


def subset(choices: tuple[tuple[Any, str], ...], min_size: int = 0) -> st.SearchStrategy[list[Any]]:
    return st.lists(st.sampled_from(values(choices)), min_size=min_size, max_size=len(choices), unique=True)


@st.composite
def intakes(draw: st.DrawFn) -> dict[str, Any]:
    """A complete intake that the answers schema accepts on ON (JSON form)."""
    sex = draw(st.sampled_from(["female", "male", "prefer_not_to_say"]))
    booked = draw(st.booleans())
    about = {
        "full_name": "Sam Lee",
        "date_of_birth": draw(days(-80 * 365, -16 * 365)).isoformat(),
        "sex": sex,
        "email": "sam@example.org",
        "appointment_date": draw(days(0, 90)).isoformat() if booked else None,
    }
    goals = {"goals": draw(subset(GOALS, 1)), "areas": draw(subset(AREAS, 1))}
    skin = {"concerns": draw(subset(SKIN_CONCERNS)), "fitzpatrick_type": draw(st.integers(1, 6))}
    for name in (
        "sensitive_skin",
        "active_infection_at_area",
        "active_cold_sore",
        "cold_sore_history",
        "keloid_scarring",
    ):
        skin[name] = draw(st.booleans())
    conditions = draw(subset(CONDITIONS))
    health: dict[str, Any] = {
        "conditions": conditions,
        "recent_illness": draw(st.booleans()),
        "recent_antibiotics": draw(st.booleans()),
    }
    if sex != "male":
        for name in (
            "pregnant",
            "trying_to_conceive",
            "breastfeeding",
            "recently_gave_birth",
            "hormonal_contraception",
        ):
            health[name] = draw(st.booleans())
        if health["pregnant"]:
            health["pregnancy_weeks"] = draw(st.integers(1, 42))
        if health["recently_gave_birth"]:
            health["delivery_date"] = draw(days(-300, 0)).isoformat()
    if "other" in conditions:
        health["other_condition"] = "Migraine"
    if "diabetes" in conditions:
        health["diabetes_controlled"] = draw(st.booleans())
        health["uses_insulin"] = draw(st.booleans())
    items = []
    for _ in range(draw(st.integers(0, 4))):
        item = {
            "name": draw(st.sampled_from(medicine_names())),
            "prescribed": draw(st.booleans()),
            "status": draw(st.sampled_from(["taking", "stopped"])),
        }
        if item["status"] == "stopped":
            item["stopped_on"] = draw(days(-400, 0)).isoformat()
        items.append(item)
    medications = {"has_medications": bool(items), "items": items}
    reaction = draw(st.booleans())
    allergies = {
        "local_anaesthetic_allergy": draw(st.booleans()),
        "anaphylaxis_history": draw(st.booleans()),
        "injection_reaction": reaction,
        "injection_reaction_details": "Swelling" if reaction else "",
        "active_allergies": draw(subset(ACTIVE_ALLERGIES)),
    }
    lifestyle = {
        "alcohol_drinks_per_week": draw(st.integers(0, 60)),
        "smoking": draw(st.sampled_from(values(SMOKING))),
        "recent_tanning": draw(st.booleans()),
    }
    treatments = [
        {
            "kind": draw(st.sampled_from(values(TREATMENT_KINDS))),
            "on": draw(days(-200, 0)).isoformat(),
            "area": draw(st.none() | st.sampled_from(values(TREATMENT_AREAS))),
        }
        for _ in range(draw(st.integers(0, 3)))
    ]
    events = [
        {"kind": draw(st.sampled_from(values(EVENT_KINDS))), "on": draw(days(0, 120)).isoformat()}
        for _ in range(draw(st.integers(0, 2)))
    ]
    return {
        "about": about,
        "goals": goals,
        "skin": skin,
        "health": health,
        "medications": medications,
        "allergies": allergies,
        "lifestyle": lifestyle,
        "treatments": {
            "had_mesotherapy_before": draw(st.booleans()),
            "has_recent_treatments": bool(treatments),
            "items": treatments,
        },
        "events": {"has_upcoming_events": bool(events), "items": events},
        "consent": {
            "understands_procedure": True,
            "accepts_after_effects": True,
            "answers_accurate": True,
            "data_processing": True,
            "signature": "Sam Lee",
        },
    }


def outcome_of(document: dict[str, Any]) -> str:
    return assess(load_answers(document, today=ON), ruleset(), ON).outcome


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(intakes())
def test_random_complete_intakes_never_crash_and_stay_consistent(document: dict[str, Any]) -> None:
    result = assess(load_answers(document, today=ON), ruleset(), ON)
    appointment = document["about"].get("appointment_date") or ON
    if isinstance(appointment, str):
        appointment = dt.date.fromisoformat(appointment)
    assert result.outcome in OUTCOMES
    assert [f.sort_key() for f in result.flags] == sorted(f.sort_key() for f in result.flags)
    if result.outcome != "defer":
        assert result.defer_until is None
    for flag in result.flags:
        assert flag.unanswered == (), "a complete intake leaves no question unanswered"
        if flag.lifts_on is not None:
            assert flag.lifts_on > dt.date(2000, 1, 1)
            # A deferral that is over by the appointment is kept as a precaution.
            assert flag.severity == "defer" or (flag.severity == "precaution" and flag.lifts_on <= appointment)
    assert result.to_dict()["outcome"] == result.outcome


RISK_BOOLS = [
    ("skin", "active_infection_at_area"),
    ("skin", "active_cold_sore"),
    ("skin", "cold_sore_history"),
    ("skin", "keloid_scarring"),
    ("skin", "sensitive_skin"),
    ("health", "recent_illness"),
    ("health", "recent_antibiotics"),
    ("allergies", "local_anaesthetic_allergy"),
    ("allergies", "anaphylaxis_history"),
    ("lifestyle", "recent_tanning"),
]
SIMPLE_CONDITIONS = [c for c in values(CONDITIONS) if c not in ("other", "diabetes")]


@SETTINGS
@given(intakes(), st.sampled_from(RISK_BOOLS))
def test_a_risk_answered_yes_never_lowers_the_outcome(
    document: dict[str, Any], risk: tuple[str, str]
) -> None:
    section, field = risk
    riskier = copy.deepcopy(document)
    riskier[section][field] = True
    assert RANK[outcome_of(riskier)] >= RANK[outcome_of(document)]


@SETTINGS
@given(intakes(), st.sampled_from(SIMPLE_CONDITIONS))
def test_a_further_condition_never_lowers_the_outcome(document: dict[str, Any], condition: str) -> None:
    riskier = copy.deepcopy(document)
    if condition not in riskier["health"]["conditions"]:
        riskier["health"]["conditions"].append(condition)
    assert RANK[outcome_of(riskier)] >= RANK[outcome_of(document)]


@SETTINGS
@given(
    intakes(),
    st.sampled_from(["Eliquis 5mg", "warfarin", "ibuprofen", "aspirin", "fish oil", "clopidogrel"]),
    st.booleans(),
)
def test_a_further_medicine_never_lowers_the_outcome(
    document: dict[str, Any], name: str, prescribed: bool
) -> None:
    riskier = copy.deepcopy(document)
    if len(riskier["medications"]["items"]) < 20:
        riskier["medications"]["has_medications"] = True
        riskier["medications"]["items"].append({"name": name, "status": "taking", "prescribed": prescribed})
    assert RANK[outcome_of(riskier)] >= RANK[outcome_of(document)]
