"""Properties of the engine over many random complete intakes, with the shipped rules."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from intake.answers import (
    CONDITIONS,
    load_answers,
    values,
)
from intake.assessment import OUTCOMES, assess

from .support import ON, SETTINGS, bench_intakes, intakes, property_ruleset

RANK = {outcome: rank for rank, outcome in enumerate(OUTCOMES)}

def outcome_of(document: dict[str, Any]) -> str:
    return assess(load_answers(document, today=ON), property_ruleset(), ON).outcome


@SETTINGS
@given(intakes())
def test_random_complete_intakes_never_crash_and_stay_consistent(document: dict[str, Any]) -> None:
    result = assess(load_answers(document, today=ON), property_ruleset(), ON)
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


@SETTINGS
@given(intakes())
def test_the_fast_path_gives_the_plain_assessment(document: dict[str, Any]) -> None:
    """Rules decided by the generated function, flags and plans from the memos: the same assessment
    as every rule traced and everything built afresh (fast=False), explanations included."""
    ruleset, answers = property_ruleset(), load_answers(document, today=ON)
    plain = assess(answers, ruleset, ON, fast=False).to_dict()
    assert assess(answers, ruleset, ON).to_dict() == plain
    assert assess(answers, ruleset, ON).to_dict() == plain  # the second time from the memos


def test_the_fast_path_gives_the_plain_assessment_on_the_bench_intakes() -> None:
    """The same on 400 of bench/bench_rules.py's intakes (medicines typed with typos, events, deferrals)."""
    ruleset = property_ruleset()
    for document in bench_intakes(400, seed=20261125):
        answers = load_answers(document, today=ON)
        plain = assess(answers, ruleset, ON, fast=False).to_dict()
        assert assess(answers, ruleset, ON).to_dict() == plain
