"""Properties every plan keeps, whatever the answers, flags and dates."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intake.answers import ACTIVE_ALLERGIES, AREAS, GOALS, load_answers, values
from intake.answers.areas import within
from intake.assessment import Catalogue, Flag, derive_facts
from intake.assessment.medications import Lexicon
from intake.assessment.model import defer_until_of
from intake.assessment.plan import Plan, Protocols

from .support import document_with, flag

PROPERTY_SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
HA_ACTIVES = {"non_cross_linked_ha", "stabilised_ha"}
#: Conditions that need no follow-up answers (diabetes would).
CONDITIONS = ["blood_clots", "epilepsy", "heart_condition"]


@st.composite
def intakes(draw: st.DrawFn) -> dict[str, Any]:
    """Answers, the assessment date, events and defer flags, drawn over several years (leap days included)."""
    on = draw(st.dates(dt.date(2026, 1, 1), dt.date(2030, 12, 31)))
    booked = draw(st.booleans())
    appointment = on + dt.timedelta(days=draw(st.integers(0, 200))) if booked else None
    reference = appointment or on
    sex = draw(st.sampled_from(["female", "male", "prefer_not_to_say"]))
    changes: dict[str, Any] = {
        "about.sex": sex,
        "about.date_of_birth": (on - dt.timedelta(days=draw(st.integers(18 * 366, 80 * 365)))).isoformat(),
        "about.appointment_date": appointment.isoformat() if appointment else None,
        "goals.goals": draw(st.lists(st.sampled_from(values(GOALS)), min_size=1, unique=True)),
        "goals.areas": draw(st.lists(st.sampled_from(values(AREAS)), min_size=1, unique=True)),
        "skin.fitzpatrick_type": draw(st.integers(1, 6)),
        "skin.sensitive_skin": draw(st.booleans()),
        "skin.cold_sore_history": draw(st.booleans()),
        "lifestyle.smoking": draw(st.sampled_from(["never", "former", "current"])),
        "treatments.had_mesotherapy_before": draw(st.booleans()),
        "allergies.active_allergies": draw(st.lists(st.sampled_from(values(ACTIVE_ALLERGIES)), unique=True)),
        "allergies.local_anaesthetic_allergy": draw(st.booleans()),
        "health.conditions": draw(st.lists(st.sampled_from(CONDITIONS), unique=True)),
    }
    if sex != "male":
        changes["health.hormonal_contraception"] = draw(st.sampled_from([True, False, None]))
        changes["health.trying_to_conceive"] = draw(st.booleans())
    events = draw(st.lists(st.dates(reference - dt.timedelta(days=10), reference + dt.timedelta(days=400)),
                           max_size=3))
    outcome = draw(st.sampled_from(["suitable", "precaution", "defer"]))
    flags: list[Flag] = []
    if outcome == "defer":
        lifts = draw(st.lists(st.one_of(st.none(), st.dates(on, on + dt.timedelta(days=365))), min_size=1,
                              max_size=3))
        flags = [flag(f"defer-{n}", lifts_on=day) for n, day in enumerate(lifts)]
    return {"changes": changes, "on": on, "reference": reference, "events": events, "outcome": outcome,
            "flags": flags, "defer_until": defer_until_of(flags, outcome)}


def plan_of(intake: dict[str, Any], protocols: Protocols, lexicon: Lexicon, catalogue: Catalogue,
            *, fast: bool = True) -> Plan:
    answers = load_answers(document_with(intake["changes"]))
    facts = derive_facts(answers, lexicon, intake["on"], catalogue)
    return protocols.build(facts, intake["flags"], intake["outcome"], intake["defer_until"], intake["on"],
                           events=intake["events"], fast=fast)


@PROPERTY_SETTINGS
@given(intake=intakes())
def test_the_remembered_plan_is_the_plan_built_afresh(intake: dict[str, Any], protocols: Protocols,
                                                      lexicon: Lexicon, catalogue: Catalogue) -> None:
    """The fast path (courses, series, adjusted protocols and schedules from the memos, adjustments
    through the generated function) gives the plain path's plan, the first time and from the memos."""
    plain = plan_of(intake, protocols, lexicon, catalogue, fast=False).to_dict()
    assert plan_of(intake, protocols, lexicon, catalogue).to_dict() == plain
    assert plan_of(intake, protocols, lexicon, catalogue).to_dict() == plain


@PROPERTY_SETTINGS
@given(intake=intakes())
def test_no_session_before_the_earliest_safe_date(
    intake: dict[str, Any], protocols: Protocols, lexicon: Lexicon, catalogue: Catalogue
) -> None:
    plan = plan_of(intake, protocols, lexicon, catalogue)
    if not plan.schedule:
        return
    earliest = max(intake["reference"], intake["defer_until"] or intake["reference"])
    assert plan.schedule[0].on >= earliest
    assert plan.reference_date == intake["reference"]


@PROPERTY_SETTINGS
@given(intake=intakes())
def test_sessions_follow_exactly_every_interval(
    intake: dict[str, Any], protocols: Protocols, lexicon: Lexicon, catalogue: Catalogue
) -> None:
    plan = plan_of(intake, protocols, lexicon, catalogue)
    days = [session.on for session in plan.schedule]
    assert [s.number for s in plan.schedule] == list(range(1, len(days) + 1))
    gaps = [later - earlier for earlier, later in zip(days, days[1:], strict=False)]
    assert all(gap == dt.timedelta(days=plan.interval_days) for gap in gaps)
    if days:
        assert plan.interval_days >= 1 and len(days) == plan.sessions
        assert plan.maintenance_on == days[-1] + dt.timedelta(days=plan.maintenance_interval_days or 0)


@PROPERTY_SETTINGS
@given(intake=intakes())
def test_the_first_session_is_never_in_an_events_bruising_window(
    intake: dict[str, Any], protocols: Protocols, lexicon: Lexicon, catalogue: Catalogue
) -> None:
    plan = plan_of(intake, protocols, lexicon, catalogue)
    if plan.schedule:
        first = plan.schedule[0].on
        assert not any(0 <= (event - first).days < protocols.event_window_days for event in intake["events"])


@PROPERTY_SETTINGS
@given(intake=intakes())
def test_depths_stay_within_their_protocols_range(
    intake: dict[str, Any], protocols: Protocols, lexicon: Lexicon, catalogue: Catalogue
) -> None:
    plan = plan_of(intake, protocols, lexicon, catalogue)
    for area, depth in plan.depth_mm.items():
        protocol = protocols.protocol(depth.protocol)
        assert within(area, protocol.areas)  # an area it lists, or a part of one (cheeks of the face)
        assert protocol.depth_min <= depth.min <= depth.max <= protocol.depth_max
        if depth.first_session_max is not None:
            assert depth.min <= depth.first_session_max <= depth.max


@PROPERTY_SETTINGS
@given(intake=intakes())
def test_the_combined_numbers_respect_every_protocol(
    intake: dict[str, Any], protocols: Protocols, lexicon: Lexicon, catalogue: Catalogue
) -> None:
    plan = plan_of(intake, protocols, lexicon, catalogue)
    if plan.status != "proposed":
        assert plan.schedule == () and plan.reason
        return
    chosen = [protocols.protocol(p.id) for p in plan.protocols]
    for planned, protocol in zip(plan.protocols, chosen, strict=True):
        assert protocol.sessions_min <= planned.sessions <= protocol.sessions_max
        assert set(planned.areas) <= set(intake["changes"]["goals.areas"])
        assert all(within(area, protocol.areas) for area in planned.areas)
    assert plan.sessions == max(p.sessions for p in plan.protocols)
    assert all(plan.interval_days >= protocol.interval_min for protocol in chosen)
    assert plan.maintenance_interval_days == min(p.maintenance_interval_days for p in chosen)
    if "hyaluronic_acid" in intake["changes"]["allergies.active_allergies"]:
        assert not HA_ACTIVES & {a.id for a in plan.actives}


@PROPERTY_SETTINGS
@given(intake=intakes())
def test_an_undated_deferral_dates_nothing(
    intake: dict[str, Any], protocols: Protocols, lexicon: Lexicon, catalogue: Catalogue
) -> None:
    plan = plan_of(intake, protocols, lexicon, catalogue)
    if intake["outcome"] == "defer" and any(f.lifts_on is None for f in intake["flags"]):
        assert plan.schedule == () and plan.maintenance_on is None


@PROPERTY_SETTINGS
@given(intake=intakes())
def test_the_plan_is_json_ready_reads_back_and_is_deterministic(
    intake: dict[str, Any], protocols: Protocols, lexicon: Lexicon, catalogue: Catalogue
) -> None:
    plan = plan_of(intake, protocols, lexicon, catalogue)
    data = json.loads(json.dumps(plan.to_dict()))
    assert Plan.from_dict(data) == plan
    assert plan_of(intake, protocols, lexicon, catalogue).to_dict() == plan.to_dict()


@PROPERTY_SETTINGS
@given(intake=intakes())
def test_contraindicated_never_has_a_schedule(
    intake: dict[str, Any], protocols: Protocols, lexicon: Lexicon, catalogue: Catalogue
) -> None:
    intake = {**intake, "outcome": "contraindicated", "defer_until": None,
              "flags": [flag("anticoagulant", "contraindicated")]}
    plan = plan_of(intake, protocols, lexicon, catalogue)
    assert plan.status == "no_schedule" and plan.schedule == () and "practitioner to discuss" in plan.reason
