"""Session plans: each protocol, each adjustment, combining goals, and every scheduling constraint."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest

from intake.answers import load_answers
from intake.assessment import Catalogue, Flag, RulesetInvalid, assess, derive_facts, load_ruleset
from intake.assessment.medications import Lexicon
from intake.assessment.plan import Plan, Protocols, load_protocols

from .support import APPOINTMENT, ON, base_document, document_with, flag
from .support import SHIPPED_RULES as RULES


class Planner:
    """Builds plans from answers the way the engine does, with flags given by the test."""

    def __init__(self, protocols: Protocols, lexicon: Lexicon, catalogue: Catalogue):
        self.protocols, self.lexicon, self.catalogue = protocols, lexicon, catalogue

    def __call__(
        self,
        changes: dict[str, Any] | None = None,
        *,
        flags: Sequence[Flag] = (),
        outcome: str = "suitable",
        defer_until: dt.date | None = None,
        on: dt.date = ON,
        events: Iterable[dt.date] | None = None,
    ) -> Plan:
        answers = load_answers(document_with(changes or {}))
        facts = derive_facts(answers, self.lexicon, on, self.catalogue)
        return self.protocols.build(facts, flags, outcome, defer_until, on, events=events)


@pytest.fixture
def plan_for(protocols: Protocols, lexicon: Lexicon, catalogue: Catalogue) -> Planner:
    return Planner(protocols, lexicon, catalogue)


def dates(plan: Plan) -> list[dt.date]:
    return [session.on for session in plan.schedule]


def active_ids(plan: Plan) -> list[str]:
    return [active.id for active in plan.actives]


def applied(plan: Plan) -> list[str]:
    return [adjustment.id for adjustment in plan.adjustments]


# --- the shipped file -------------------------------------------------------------------------


def test_the_shipped_protocol_file_loads_with_every_flag_reference_checked(catalogue: Catalogue) -> None:
    ruleset = load_ruleset(RULES)
    loaded = load_protocols(RULES / "protocols.yaml", catalogue,
                            rule_ids=[rule.id for rule in ruleset.rules])
    assert [p.id for p in loaded.protocols] == [
        "hydration_glow", "fine_lines_rejuvenation", "pigmentation_tone", "acne_scars", "under_eye",
        "hair_loss_scalp", "lift_firmness",
    ]
    assert loaded.event_window_days == 14
    for protocol in loaded.protocols:
        assert protocol.source and all(s in ruleset.sources for s in protocol.source)
        assert 1 <= protocol.depth_min <= protocol.depth_max <= 4
        assert any("Bruising" in effect for effect in protocol.after_effects)
    assert all(adjustment.source for adjustment in loaded.adjustments)
    assert all(s in ruleset.sources or s == "rule-default" for a in loaded.adjustments for s in a.source)


def test_the_header_says_the_defaults_support_and_never_replace_judgement() -> None:
    header = (RULES / "protocols.yaml").read_text(encoding="utf-8").split("\n\n", 1)[0]
    assert "NEVER REPLACE IT" in header and "must review" in header


def test_the_engine_builds_the_plan_with_the_assessment() -> None:
    ruleset = load_ruleset(RULES)
    assessment = assess(load_answers(base_document()), ruleset, ON)
    assert isinstance(assessment.plan, Plan)
    stored = assessment.to_dict()["plan"]
    assert stored["status"] == "proposed" and stored["schedule"][0]["on"] == "2026-12-03"
    json.dumps(assessment.to_dict())


# --- each protocol ----------------------------------------------------------------------------

PROTOCOL_CASES = [
    # goal, areas, protocol, sessions, interval, (depth min, max), actives, maintenance
    ("hydration", ["face", "neck"], "hydration_glow", 4, 15, (1, 2),
     ["non_cross_linked_ha", "vitamins_amino_acids"], 180),
    ("dull_skin", ["decolletage"], "hydration_glow", 4, 15, (1, 2),
     ["non_cross_linked_ha", "vitamins_amino_acids"], 180),
    ("skin_rejuvenation", ["face"], "hydration_glow", 4, 15, (1, 2),
     ["non_cross_linked_ha", "vitamins_amino_acids"], 180),
    ("fine_lines", ["face"], "fine_lines_rejuvenation", 4, 21, (1, 2),
     ["non_cross_linked_ha", "vitamins_amino_acids"], 180),
    ("pigmentation", ["face"], "pigmentation_tone", 6, 14, (1, 4),
     ["tranexamic_acid", "vitamin_c", "glutathione"], 180),
    ("even_tone", ["neck"], "pigmentation_tone", 6, 14, (1, 4),
     ["tranexamic_acid", "vitamin_c", "glutathione"], 180),
    ("acne_scars", ["face"], "acne_scars", 3, 28, (2, 3), ["stabilised_ha"], 180),
    ("hair_loss", ["scalp"], "hair_loss_scalp", 8, 14, (1, 2),
     ["dutasteride", "minoxidil", "growth_factors", "biotin"], 90),  # a woman of 60
    ("lift", ["face", "neck"], "lift_firmness", 2, 28, (1, 2),
     ["stabilised_ha", "vitamins_amino_acids"], 180),
]


@pytest.mark.parametrize(
    ("goal", "areas", "protocol_id", "sessions", "interval", "depth", "actives", "maintenance"),
    PROTOCOL_CASES,
)
def test_each_goal_gets_its_protocol(
    plan_for: Planner, goal: str, areas: list[str], protocol_id: str, sessions: int, interval: int,
    depth: tuple[float, float], actives: list[str], maintenance: int,
) -> None:
    plan = plan_for({"goals.goals": [goal], "goals.areas": areas, "about.date_of_birth": "1960-01-01"})
    assert plan.status == "proposed"
    assert [p.id for p in plan.protocols] == [protocol_id]
    assert plan.protocols[0].goals == (goal,)
    assert plan.sessions == sessions and len(plan.schedule) == sessions
    assert plan.interval_days == interval
    assert list(plan.areas) == areas
    for area in areas:
        assert (plan.depth_mm[area].min, plan.depth_mm[area].max) == depth
        assert plan.depth_mm[area].protocol == protocol_id
    assert active_ids(plan) == actives
    assert plan.maintenance_interval_days == maintenance
    assert plan.maintenance_on == plan.schedule[-1].on + dt.timedelta(days=maintenance)
    assert plan.after_effects and plan.downtime
    assert plan.trace["sessions"].by == (protocol_id,)
    assert plan.trace["interval_days"].by == (protocol_id,)


def test_under_eye_protocol_uses_polynucleotides_shallow(plan_for: Planner) -> None:
    plan = plan_for({"goals.goals": ["under_eye"], "goals.areas": ["under_eye"]})
    assert [p.id for p in plan.protocols] == ["under_eye"]
    assert (plan.sessions, plan.interval_days) == (3, 14)
    assert active_ids(plan) == ["polynucleotides"]
    assert (plan.depth_mm["under_eye"].min, plan.depth_mm["under_eye"].max) == (1, 1.5)


def test_lift_counsels_quality_not_lift(plan_for: Planner) -> None:
    plan = plan_for({"goals.goals": ["lift"]})
    assert any("no lift" in text for text in plan.counselling)


def test_hair_loss_needs_the_scalp(plan_for: Planner) -> None:
    plan = plan_for({"goals.goals": ["hair_loss"], "goals.areas": ["face"]})
    assert plan.status == "no_schedule" and not plan.schedule
    assert any("hair_loss" in note and "scalp" in note for note in plan.notes)
    assert "practitioner to plan" in plan.reason


def test_an_area_no_protocol_treats_is_reported(plan_for: Planner) -> None:
    plan = plan_for({"goals.areas": ["face", "scalp"]})
    assert plan.areas == ("face",)
    assert any("scalp" in note and "no protocol" in note for note in plan.notes)


def test_the_patients_own_goal_is_left_to_the_practitioner(plan_for: Planner) -> None:
    plan = plan_for({"goals.other_goal": "Smaller pores"})
    assert any("Smaller pores" in note for note in plan.notes)


def test_only_another_goal_gives_no_schedule(plan_for: Planner) -> None:
    plan = plan_for({"goals.goals": [], "goals.other_goal": "Brighter hands"})
    assert plan.status == "no_schedule" and plan.protocols == ()


# --- each adjustment --------------------------------------------------------------------------


def test_no_adjustment_applies_to_the_base_intake(plan_for: Planner) -> None:
    plan = plan_for()
    assert applied(plan) == [] and plan.notes == ()
    assert plan.depth_mm["face"].first_session_max is None


def test_first_mesotherapy_starts_low_and_shallow(plan_for: Planner) -> None:
    plan = plan_for({"treatments.had_mesotherapy_before": False})
    assert applied(plan) == ["first-mesotherapy"]
    assert plan.sessions == 3  # hydration_glow's minimum
    assert plan.depth_mm["face"].first_session_max == 1.5
    assert plan.trace["sessions"].by == ("hydration_glow", "first-mesotherapy")
    assert plan.trace["depth_mm.face.first_session_max"].by == ("first-mesotherapy",)


def test_darker_skin_with_pigmentation_goes_shallower_and_slower(plan_for: Planner) -> None:
    plan = plan_for({"goals.goals": ["pigmentation"], "skin.fitzpatrick_type": 4})
    assert applied(plan) == ["darker-skin-pigmentation"]
    assert plan.depth_mm["face"].max == 2
    assert plan.interval_days == 28
    assert any("post-inflammatory hyperpigmentation" in note for note in plan.notes)
    assert plan.trace["interval_days"].by[-1] == "darker-skin-pigmentation"
    assert plan.trace["depth_mm.face.max"].by == ("pigmentation_tone", "darker-skin-pigmentation")


@pytest.mark.parametrize(("fitzpatrick", "goal"), [(3, "pigmentation"), (5, "hydration")])
def test_darker_skin_adjustment_needs_both_the_skin_type_and_a_pigmentation_goal(
    plan_for: Planner, fitzpatrick: int, goal: str
) -> None:
    plan = plan_for({"goals.goals": [goal], "skin.fitzpatrick_type": fitzpatrick})
    assert "darker-skin-pigmentation" not in applied(plan)


def test_sensitive_skin_goes_shallower_and_slower(plan_for: Planner) -> None:
    plan = plan_for({"skin.sensitive_skin": True})
    assert applied(plan) == ["sensitive-skin"]
    assert plan.depth_mm["face"].max == 1.5
    assert plan.interval_days == 21
    assert "raised from 15 by sensitive-skin" in plan.trace["interval_days"].how


def test_sensitive_skin_never_goes_below_a_protocols_own_minimum(plan_for: Planner) -> None:
    plan = plan_for({"goals.goals": ["acne_scars"], "skin.sensitive_skin": True})
    assert (plan.depth_mm["face"].min, plan.depth_mm["face"].max) == (2, 2)
    assert any("practitioner to decide the depth" in note for note in plan.notes)


def test_a_smoker_gets_one_more_session_and_a_note(plan_for: Planner) -> None:
    plan = plan_for({"lifestyle.smoking": "current"})
    assert applied(plan) == ["smoker"]
    assert plan.sessions == 5
    assert any("[smoker]" in note for note in plan.notes)


def test_extra_sessions_stay_within_the_protocols_maximum(plan_for: Planner) -> None:
    plan = plan_for({"goals.goals": ["under_eye"], "goals.areas": ["under_eye"],
                     "lifestyle.smoking": "current"})
    assert plan.sessions == 3
    assert "kept within 2-3" in plan.trace["sessions"].how


def test_adjustments_apply_in_file_order(plan_for: Planner) -> None:
    plan = plan_for({"treatments.had_mesotherapy_before": False, "lifestyle.smoking": "current"})
    assert plan.sessions == 4  # the minimum 3, then +1
    assert plan.trace["sessions"].by == ("hydration_glow", "first-mesotherapy", "smoker")


def test_hyaluronic_acid_allergy_leaves_out_every_ha(plan_for: Planner) -> None:
    plan = plan_for({"allergies.active_allergies": ["hyaluronic_acid"], "goals.goals": ["hydration", "lift"]})
    assert active_ids(plan) == ["vitamins_amino_acids"]
    excluded = {(a.id, a.protocol, a.by) for a in plan.excluded_actives}
    assert excluded == {
        ("non_cross_linked_ha", "hydration_glow", "allergy-hyaluronic-acid"),
        ("stabilised_ha", "lift_firmness", "allergy-hyaluronic-acid"),
    }


def test_a_protocol_with_every_active_left_out_drops_out(plan_for: Planner) -> None:
    plan = plan_for({"allergies.active_allergies": ["hyaluronic_acid"], "goals.goals": ["acne_scars"]})
    assert plan.status == "no_schedule"
    assert any("acne_scars: every active was left out" in note for note in plan.notes)


@pytest.mark.parametrize(
    ("allergy", "goal", "areas", "left_out", "adjustment"),
    [
        ("polynucleotides_fish", "under_eye", ["under_eye"], "polynucleotides", "allergy-polynucleotides"),
        ("tranexamic_acid", "pigmentation", ["face"], "tranexamic_acid", "allergy-tranexamic-acid"),
        ("minoxidil", "hair_loss", ["scalp"], "minoxidil", "allergy-minoxidil"),
        ("vitamins", "hydration", ["face"], "vitamins_amino_acids", "allergy-vitamins"),
    ],
)
def test_an_allergy_leaves_out_the_active(
    plan_for: Planner, allergy: str, goal: str, areas: list[str], left_out: str, adjustment: str
) -> None:
    plan = plan_for({"allergies.active_allergies": [allergy], "goals.goals": [goal], "goals.areas": areas})
    assert left_out not in active_ids(plan)
    assert (left_out, adjustment) in {(a.id, a.by) for a in plan.excluded_actives}


def test_fish_allergy_with_the_under_eye_goal_leaves_no_active(plan_for: Planner) -> None:
    plan = plan_for({"allergies.active_allergies": ["polynucleotides_fish"],
                     "goals.goals": ["under_eye", "hydration"], "goals.areas": ["face", "under_eye"]})
    assert [p.id for p in plan.protocols] == ["hydration_glow"]
    assert any("under_eye: every active was left out" in note for note in plan.notes)
    assert any("under_eye" in note and "no protocol" in note for note in plan.notes)


def test_local_anaesthetic_allergy_means_no_numbing_cream(plan_for: Planner) -> None:
    plan = plan_for({"allergies.local_anaesthetic_allergy": True})
    assert plan.no_numbing_cream is True
    assert any("EMLA" in note and "anaesthetic-free" in note for note in plan.notes)
    assert plan.to_dict()["no_numbing_cream"] is True


@pytest.mark.parametrize(
    "changes",
    [
        {"health.conditions": ["blood_clots"]},
        {"health.conditions": ["epilepsy"]},
        {"health.hormonal_contraception": True},
        {"health.hormonal_contraception": None},  # unanswered: leave it out, the safe side
        {"medications.has_medications": True,
         "medications.items": [{"name": "Microgynon 30", "status": "taking", "prescribed": True}]},
    ],
)
def test_tranexamic_acid_screening_leaves_it_out(plan_for: Planner, changes: dict[str, Any]) -> None:
    plan = plan_for({"goals.goals": ["pigmentation"], **changes})
    assert "tranexamic-acid-screening" in applied(plan)
    assert active_ids(plan) == ["vitamin_c", "glutathione"]


def test_an_adjustment_applied_for_want_of_an_answer_says_so(plan_for: Planner) -> None:
    plan = plan_for({"goals.goals": ["pigmentation"], "health.hormonal_contraception": None})
    assert plan.notes[0] == (
        "Not answered (health.hormonal_contraception), so applied to be safe: Tranexamic acid needs "
        "screening for clots, hormonal contraception and seizures; choose the other actives. "
        "Ask the patient [tranexamic-acid-screening].")


def test_tranexamic_acid_stays_for_a_man_with_no_risk(plan_for: Planner) -> None:
    plan = plan_for({"goals.goals": ["pigmentation"], "about.sex": "male"})
    assert "tranexamic_acid" in active_ids(plan)


@pytest.mark.parametrize(
    ("changes", "excluded"),
    [
        ({}, True),  # a woman of 40: may become pregnant
        ({"about.date_of_birth": "1960-01-01"}, False),
        ({"about.date_of_birth": "1960-01-01", "health.trying_to_conceive": True}, True),
        ({"about.sex": "male"}, False),
        ({"about.sex": "prefer_not_to_say"}, True),
    ],
)
def test_dutasteride_is_left_out_for_a_woman_who_may_become_pregnant(
    plan_for: Planner, changes: dict[str, Any], excluded: bool
) -> None:
    plan = plan_for({"goals.goals": ["hair_loss"], "goals.areas": ["scalp"], **changes})
    assert ("dutasteride" not in active_ids(plan)) is excluded
    assert ("dutasteride-child-bearing-potential" in applied(plan)) is excluded


def test_periorbital_caution_prefers_polynucleotides_shallow(plan_for: Planner) -> None:
    plan = plan_for({"goals.goals": ["under_eye"], "goals.areas": ["under_eye"]})
    assert "periorbital-caution" in applied(plan)
    assert ("non_cross_linked_ha", "periorbital-caution") in {(a.id, a.by) for a in plan.excluded_actives}
    assert plan.depth_mm["under_eye"].max == 1.5


def test_cold_sore_history_on_the_face_suggests_antiviral_discussion(plan_for: Planner) -> None:
    plan = plan_for({"skin.cold_sore_history": True})
    assert "cold-sore-antiviral" in applied(plan)
    assert any("antiviral prophylaxis" in note for note in plan.notes)


def test_cold_sore_history_for_the_scalp_only_needs_no_note(plan_for: Planner) -> None:
    plan = plan_for({"skin.cold_sore_history": True, "goals.goals": ["hair_loss"], "goals.areas": ["scalp"]})
    assert "cold-sore-antiviral" not in applied(plan)


# --- adjustments in a clinic's own file -------------------------------------------------------

SMALL_FILE = """\
scheduling:
  event_window_days: 14
  event_window_source: [delight-medical-mesotherapy-safety]
protocols:
  - id: monthly
    label: Monthly
    goals: [hydration]
    actives: [{id: ha, label: HA}, {id: vit, label: Vitamins}]
    sessions: {min: 2, max: 6, default: 3}
    interval_days: {min: 30, default: 30}
    depth_mm: {min: 1, max: 3}
    areas: [face, neck]
    maintenance_interval_days: 120
    downtime: None.
    after_effects: [Redness]
    source: [konda-thappa-mesotherapy-2013]
adjustments:
"""


def small_protocols(tmp_path: Path, catalogue: Catalogue, adjustments: str = "", **kwargs: Any) -> Protocols:
    path = tmp_path / "protocols.yaml"
    path.write_text(SMALL_FILE + adjustments, encoding="utf-8")
    return load_protocols(path, catalogue, **kwargs)


def build(protocols: Protocols, lexicon: Lexicon, catalogue: Catalogue, changes: dict[str, Any] | None = None,
          flags: Sequence[Flag] = (), on: dt.date = ON) -> Plan:
    facts = derive_facts(load_answers(document_with(changes or {})), lexicon, on, catalogue)
    return protocols.build(facts, flags, "suitable", None, on)


def test_an_adjustment_can_test_which_flags_fired(
    tmp_path: Path, catalogue: Catalogue, lexicon: Lexicon
) -> None:
    adjustments = """\
  - id: after-a-flag
    when: {field: flags.fired, includes_any: [some-rule]}
    reason: Because some-rule fired.
    remove_areas: [neck]
    source: [rule-default]
"""
    protocols = small_protocols(tmp_path, catalogue, adjustments, rule_ids=["some-rule"])
    changes = {"goals.areas": ["face", "neck"]}
    fired = build(protocols, lexicon, catalogue, changes, flags=[flag("some-rule", "precaution")])
    assert fired.areas == ("face",) and applied(fired) == ["after-a-flag"]
    assert any("neck removed from monthly" in note for note in fired.notes)
    question = flag("some-rule", "precaution", unanswered=("health.pregnant",))
    assert build(protocols, lexicon, catalogue, changes, flags=[question]).areas == ("face", "neck")
    assert build(protocols, lexicon, catalogue, changes).areas == ("face", "neck")


def test_an_unanswered_adjustment_asks_by_default(
    tmp_path: Path, catalogue: Catalogue, lexicon: Lexicon
) -> None:
    adjustments = """\
  - id: contraception-note
    when: {field: health.hormonal_contraception, equals: true}
    reason: Uses hormonal contraception.
    note: Hormonal contraception.
    source: [droracle-tranexamic-acid-screening]
  - id: quiet
    when: {field: health.hormonal_contraception, equals: true}
    if_unanswered: skip
    reason: Silent when unknown.
    sessions: +1
    source: [droracle-tranexamic-acid-screening]
"""
    protocols = small_protocols(tmp_path, catalogue, adjustments)
    plan = build(protocols, lexicon, catalogue, {"health.hormonal_contraception": None})
    assert applied(plan) == [] and plan.sessions == 3
    assert plan.notes == (
        "Not answered (health.hormonal_contraception), so not applied: Uses hormonal contraception. "
        "Ask the patient [contraception-note].",
    )


def test_sessions_default_and_interval_effects(
    tmp_path: Path, catalogue: Catalogue, lexicon: Lexicon
) -> None:
    adjustments = """\
  - id: longer-course
    when: {field: skin.sensitive_skin, equals: false}
    reason: Set to five, then the maximum wins.
    sessions_default: 5
    interval_days_min: 45
    first_session_depth_mm_max: 2
    source: [rule-default]
"""
    plan = build(small_protocols(tmp_path, catalogue, adjustments), lexicon, catalogue)
    assert plan.sessions == 5 and plan.interval_days == 45
    assert plan.depth_mm["face"].first_session_max == 2
    assert [d - c for c, d in zip(dates(plan), dates(plan)[1:], strict=False)] == [dt.timedelta(days=45)] * 4


# --- combining goals --------------------------------------------------------------------------


def test_two_goals_on_the_same_areas_make_one_series(plan_for: Planner) -> None:
    plan = plan_for({"goals.goals": ["fine_lines", "hydration"], "goals.areas": ["face", "neck"]})
    assert [p.id for p in plan.protocols] == ["hydration_glow", "fine_lines_rejuvenation"]  # file order
    assert plan.sessions == 4
    assert plan.interval_days == 15  # shortest default (15, 21), not below any minimum (14, 14)
    assert plan.depth_mm["face"].protocol == "hydration_glow"  # equal depths: priority
    assert [(a.id, a.protocols) for a in plan.actives] == [
        ("non_cross_linked_ha", ("hydration_glow", "fine_lines_rejuvenation")),
        ("vitamins_amino_acids", ("hydration_glow", "fine_lines_rejuvenation")),
    ]
    assert all(session.areas == ("face", "neck") for session in plan.schedule)


def test_two_goals_on_different_areas(plan_for: Planner) -> None:
    plan = plan_for({"goals.goals": ["hair_loss", "hydration"], "goals.areas": ["scalp", "face"],
                     "about.date_of_birth": "1960-01-01"})
    assert [p.id for p in plan.protocols] == ["hydration_glow", "hair_loss_scalp"]
    assert plan.sessions == 8  # the longer course
    assert plan.interval_days == 14  # shortest default 14 (hair), largest minimum 14 (hydration)
    assert plan.areas == ("face", "scalp")
    assert plan.depth_mm["face"].protocol == "hydration_glow"
    assert plan.depth_mm["scalp"].protocol == "hair_loss_scalp"
    assert [s.areas for s in plan.schedule] == [("face", "scalp")] * 4 + [("scalp",)] * 4
    assert any("face can stop after session 4" in note for note in plan.notes)
    assert plan.maintenance_interval_days == 90
    assert plan.trace["maintenance_interval_days"].by == ("hair_loss_scalp",)


def test_three_goals_on_one_area(plan_for: Planner) -> None:
    plan = plan_for({"goals.goals": ["acne_scars", "pigmentation", "hydration"], "goals.areas": ["face"]})
    assert [p.id for p in plan.protocols] == ["hydration_glow", "pigmentation_tone", "acne_scars"]
    assert plan.sessions == 6
    # Shortest default is 14, but acne_scars needs at least 28 days between sessions.
    assert plan.interval_days == 28
    assert plan.trace["interval_days"].by == ("acne_scars",)
    face = plan.depth_mm["face"]
    assert (face.min, face.max, face.protocol) == (1, 2, "hydration_glow")  # the shallowest of three
    assert active_ids(plan) == ["non_cross_linked_ha", "vitamins_amino_acids", "tranexamic_acid", "vitamin_c",
                                "glutathione", "stabilised_ha"]


def test_three_goals_on_different_areas(plan_for: Planner) -> None:
    plan = plan_for({"goals.goals": ["under_eye", "lift", "pigmentation"],
                     "goals.areas": ["under_eye", "neck", "decolletage"]})
    assert [p.id for p in plan.protocols] == ["pigmentation_tone", "under_eye", "lift_firmness"]
    assert plan.sessions == 6
    assert plan.interval_days == 28  # lift's minimum
    assert plan.depth_mm["under_eye"].protocol == "under_eye"
    assert plan.depth_mm["neck"].protocol == "lift_firmness"  # 1-2 mm beats pigmentation's 1-4 mm
    assert plan.schedule[3].areas == ("neck", "decolletage")  # under-eye stops after 3 sessions


def test_the_deeper_protocol_keeps_its_range_where_it_alone_treats(plan_for: Planner) -> None:
    plan = plan_for({"goals.goals": ["pigmentation", "under_eye"], "goals.areas": ["face", "under_eye"]})
    assert (plan.depth_mm["face"].max, plan.depth_mm["under_eye"].max) == (4, 1.5)


# --- scheduling -------------------------------------------------------------------------------


def test_booked_first_session_is_the_appointment(plan_for: Planner) -> None:
    plan = plan_for()
    assert plan.first_session_on == APPOINTMENT
    assert plan.first_session_reason == "appointment date"
    assert plan.first_session_constraint == "appointment"
    assert dates(plan) == [APPOINTMENT + dt.timedelta(days=15 * n) for n in range(4)]


def test_not_booked_starts_from_the_assessment_date(plan_for: Planner) -> None:
    plan = plan_for({"about.appointment_date": None})
    assert plan.first_session_on == ON and plan.reference_date == ON
    assert plan.first_session_reason == "not booked: from the assessment date"


def test_a_deferral_moves_the_first_session_to_its_lift_date(plan_for: Planner) -> None:
    lifts = dt.date(2026, 12, 10)
    flags = [flag("recent-filler", lifts_on=lifts), flag("sunburn", lifts_on=dt.date(2026, 12, 5))]
    plan = plan_for(flags=flags, outcome="defer", defer_until=lifts)
    assert plan.first_session_on == lifts
    assert plan.first_session_reason == "deferral: recent-filler lifts on Thursday 10 December 2026"
    assert plan.trace["first_session_on"].by == ("recent-filler",)


def test_a_deferral_that_lifts_before_the_appointment_keeps_the_appointment(plan_for: Planner) -> None:
    lifts = dt.date(2026, 11, 30)
    plan = plan_for(flags=[flag("recent-peel", lifts_on=lifts)], outcome="defer", defer_until=lifts)
    assert plan.first_session_on == APPOINTMENT and plan.first_session_reason == "appointment date"


def test_a_deferral_with_no_date_leaves_the_schedule_to_the_practitioner(plan_for: Planner) -> None:
    flags = [flag("recent-filler", lifts_on=dt.date(2026, 12, 10)), flag("pregnancy")]
    plan = plan_for(flags=flags, outcome="defer", defer_until=None)
    assert plan.status == "proposed" and plan.schedule == () and plan.maintenance_on is None
    assert plan.first_session_constraint == "undated"
    assert plan.first_session_reason == (
        "deferral: pregnancy has no date it lifts: date to be set by the practitioner")
    assert plan.sessions == 4  # the course is still suggested


def test_contraindicated_gives_no_schedule(plan_for: Planner) -> None:
    plan = plan_for(flags=[flag("anticoagulant", "contraindicated")], outcome="contraindicated")
    assert plan.status == "no_schedule"
    assert plan.reason == "contraindicated (anticoagulant): practitioner to discuss"
    assert plan.schedule == () and plan.protocols == () and plan.actives == ()
    assert plan.to_dict()["schedule"] == []


@pytest.mark.parametrize(
    ("days_after", "moved"),
    [(0, True), (5, True), (10, True), (13, True), (14, False), (20, False)],
)
def test_no_first_session_in_the_bruising_window_before_an_event(
    plan_for: Planner, days_after: int, moved: bool
) -> None:
    event = APPOINTMENT + dt.timedelta(days=days_after)
    plan = plan_for({"events.has_upcoming_events": True,
                     "events.items": [{"kind": "wedding", "on": event.isoformat()}]})
    if moved:
        assert plan.first_session_on == event + dt.timedelta(days=1)
        assert plan.first_session_constraint == "event"
        assert plan.first_session_reason.startswith(
            f"event: bruising window before the event on {event.strftime('%A')} {event.day}")
    else:
        assert plan.first_session_on == APPOINTMENT
        assert plan.first_session_reason == "appointment date"


def test_an_event_before_the_appointment_is_ignored(plan_for: Planner) -> None:
    plan = plan_for(events=[APPOINTMENT - dt.timedelta(days=1)])
    assert plan.first_session_on == APPOINTMENT


def test_an_event_moves_a_deferred_first_session_too(plan_for: Planner) -> None:
    lifts = dt.date(2026, 12, 10)
    event = dt.date(2026, 12, 20)
    plan = plan_for(flags=[flag("recent-filler", lifts_on=lifts)], outcome="defer", defer_until=lifts,
                    events=[event])
    assert plan.first_session_on == dt.date(2026, 12, 21)
    assert plan.first_session_constraint == "event"


def test_moving_past_one_event_can_meet_the_next(plan_for: Planner) -> None:
    events = [APPOINTMENT + dt.timedelta(days=3), APPOINTMENT + dt.timedelta(days=12)]
    plan = plan_for(events=events)
    assert plan.first_session_on == events[1] + dt.timedelta(days=1)


def test_a_later_session_in_an_event_window_keeps_the_interval_and_warns(plan_for: Planner) -> None:
    event = APPOINTMENT + dt.timedelta(days=20)  # session 2 is on day 15: 5 days before
    plan = plan_for(events=[event])
    assert plan.first_session_on == APPOINTMENT
    warning = plan.schedule[1].warning
    assert warning is not None and warning.startswith("5 days before the event")
    assert [s.warning for s in plan.schedule[2:]] == [None, None]
    assert any("Session 2 falls within 14 days" in note for note in plan.notes)


def test_the_next_event_comes_from_the_facts(plan_for: Planner) -> None:
    plan = plan_for({"events.has_upcoming_events": True,
                     "events.items": [{"kind": "holiday", "on": "2026-12-05"}]})
    assert plan.first_session_on == dt.date(2026, 12, 6)


def test_month_ends(tmp_path: Path, catalogue: Catalogue, lexicon: Lexicon) -> None:
    protocols = small_protocols(tmp_path, catalogue)
    changes = {"about.appointment_date": "2027-01-31"}
    plan = build(protocols, lexicon, catalogue, changes, on=dt.date(2027, 1, 20))
    assert dates(plan) == [dt.date(2027, 1, 31), dt.date(2027, 3, 2), dt.date(2027, 4, 1)]
    assert plan.maintenance_on == dt.date(2027, 7, 30)


def test_acne_scar_course_from_the_last_day_of_january(plan_for: Planner) -> None:
    plan = plan_for({"goals.goals": ["acne_scars"], "about.appointment_date": "2027-01-31"},
                    on=dt.date(2027, 1, 10))
    assert dates(plan) == [dt.date(2027, 1, 31), dt.date(2027, 2, 28), dt.date(2027, 3, 28)]


def test_sessions_across_the_leap_day(plan_for: Planner) -> None:
    plan = plan_for({"goals.goals": ["pigmentation"], "about.appointment_date": "2028-02-15",
                     "about.date_of_birth": "1960-01-01"}, on=dt.date(2028, 2, 1))
    assert dates(plan)[:3] == [dt.date(2028, 2, 15), dt.date(2028, 2, 29), dt.date(2028, 3, 14)]


def test_a_deferral_lifting_on_the_leap_day(plan_for: Planner) -> None:
    lifts = dt.date(2028, 2, 29)
    plan = plan_for({"about.appointment_date": "2028-02-20"}, flags=[flag("recent-laser", lifts_on=lifts)],
                    outcome="defer", defer_until=lifts, on=dt.date(2028, 2, 10))
    assert plan.first_session_on == lifts
    assert "Tuesday 29 February 2028" in plan.first_session_reason


def test_the_plan_is_deterministic(plan_for: Planner) -> None:
    changes = {"goals.goals": ["pigmentation", "hydration"], "skin.sensitive_skin": True}
    assert plan_for(changes).to_dict() == plan_for(changes).to_dict()


# --- the plan as data -------------------------------------------------------------------------


def test_to_dict_is_json_ready_and_reads_back(plan_for: Planner) -> None:
    plan = plan_for({"goals.goals": ["hydration", "hair_loss"], "goals.areas": ["face", "scalp"],
                     "treatments.had_mesotherapy_before": False, "allergies.active_allergies": ["minoxidil"]})
    data = json.loads(json.dumps(plan.to_dict()))
    assert data["schedule"][0] == {
        "number": 1, "on": "2026-12-03", "areas": ["face", "scalp"], "warning": None}
    assert data["depth_mm"]["face"] == {
        "min": 1, "max": 2, "protocol": "hydration_glow", "first_session_max": 1.5}
    assert data["maintenance"] == {"interval_days": 90, "on": plan.maintenance_on.isoformat()}
    assert data["trace"]["sessions"]["by"][0] == "hair_loss_scalp"
    assert Plan.from_dict(data) == plan


def test_an_undated_plan_reads_back(plan_for: Planner) -> None:
    plan = plan_for(flags=[flag("pregnancy")], outcome="defer")
    assert Plan.from_dict(json.loads(json.dumps(plan.to_dict()))) == plan


# --- errors in a clinic's file ----------------------------------------------------------------

BROKEN = """\
protocols:
  - id: hydration_glow
    label: Hydration
    goals: [hydration, sparkle]
    actives: [{id: ha, label: HA}]
    sessions: {min: 4, max: 5, default: 3}
    interval_days: {min: 14, default: 15}
    depth_mm: {min: 1, max: 5}
    areas: [face]
    maintenance_interval_days: 180
    downtime: None.
    after_effects: [Redness]
    source: [konda-thappa-mesotherapy-2013]
  - id: glow
    label: Glow
    goals: [dull_skin]
    actives: [{id: ha, label: Hyaluronic acid}]
    sessions: {min: 1, max: 2, default: 2}
    interval_days: {min: 14, default: 14}
    depth_mm: {min: 1, max: 2}
    areas: [face]
    maintenance_interval_days: 180
    downtime: None.
    after_effects: [Redness]
    source: [konda-thappa-mesotherapy-2013]
    colour: blue
adjustments:
  - id: bad-field
    when: {field: skin.sensitiv, equals: true}
    reason: Typo.
    note: x
    source: [Smith 2020]
  - id: no-effect
    when: {field: skin.sensitive_skin, equals: true}
    reason: Nothing happens.
    source: [konda-thappa-mesotherapy-2013]
  - id: unknown-things
    protocols: [glowing]
    when: {field: flags.fired, includes_any: [no-such-rule]}
    reason: Unknown protocol, active and rule.
    exclude_actives: [vitamin_k]
    source: [konda-thappa-mesotherapy-2013]
  - id: pregnancy
    when: {field: skin.sensitive_skin, equals: true}
    reason: Same id as a rule.
    sessions: +1
    source: [konda-thappa-mesotherapy-2013]
"""


def test_every_problem_is_reported_with_its_place(tmp_path: Path, catalogue: Catalogue) -> None:
    path = tmp_path / "protocols.yaml"
    path.write_text(BROKEN, encoding="utf-8")
    with pytest.raises(RulesetInvalid) as raised:
        load_protocols(path, catalogue, rule_ids=["pregnancy"])
    errors = raised.value.errors
    messages = "\n".join(str(e) for e in errors)

    def has(line: int, rule_id: str, text: str) -> bool:
        return any(e.line == line and e.rule_id == rule_id and text in e.message for e in errors)

    assert all(e.file == str(path) for e in errors)
    assert has(4, "hydration_glow", "sparkle is not a known goal"), messages
    assert has(6, "hydration_glow", "min <= default <= max")
    assert has(8, "hydration_glow", "from 1 to 4")
    assert has(26, "glow", "unknown key 'colour'")
    assert has(29, "bad-field", "(did you mean 'skin.sensitive_skin'?)")
    assert has(32, "bad-field", "must be the id of a source in sources.yaml")
    assert has(33, "no-effect", "at least one effect")
    assert has(38, "unknown-things", "unknown protocol 'glowing' (did you mean 'glow'?)")
    assert has(39, "unknown-things", "unknown rule id 'no-such-rule'")
    assert has(41, "unknown-things", "unknown active 'vitamin_k'")
    assert has(43, "pregnancy", "also a precaution rule id")
    assert len(raised.value.errors) == 11, messages


def test_a_goal_served_twice_and_a_duplicate_id(tmp_path: Path, catalogue: Catalogue) -> None:
    twice = SMALL_FILE.replace("adjustments:\n", "") + SMALL_FILE.split("protocols:\n", 1)[1].replace(
        "adjustments:\n", "")
    path = tmp_path / "protocols.yaml"
    path.write_text(twice, encoding="utf-8")
    with pytest.raises(RulesetInvalid) as raised:
        load_protocols(path, catalogue)
    messages = [e.message for e in raised.value.errors]
    assert any(m.startswith("duplicate protocol id 'monthly'") for m in messages)


def test_one_label_per_active(tmp_path: Path, catalogue: Catalogue) -> None:
    second = SMALL_FILE.split("protocols:\n", 1)[1].replace("adjustments:\n", "")
    second = second.replace("id: monthly", "id: weekly").replace("[hydration]", "[dull_skin]")
    second = second.replace("label: HA}", "label: Hyaluronic acid}")
    path = tmp_path / "protocols.yaml"
    path.write_text(SMALL_FILE.replace("adjustments:\n", "") + second, encoding="utf-8")
    with pytest.raises(RulesetInvalid) as raised:
        load_protocols(path, catalogue)
    (error,) = raised.value.errors
    assert (error.line, error.rule_id) == (20, "weekly")
    assert "active ha is labelled 'HA' on line 8: use one label per active" in error.message


def test_malformed_yaml_names_the_line(tmp_path: Path, catalogue: Catalogue) -> None:
    path = tmp_path / "protocols.yaml"
    path.write_text("protocols:\n  - id: x\n  title: X\n    label: Reason: colon\n", encoding="utf-8")
    with pytest.raises(RulesetInvalid) as raised:
        load_protocols(path, catalogue)
    assert raised.value.errors[0].line == 3


def test_a_broken_protocol_file_fails_the_whole_ruleset(tmp_path: Path) -> None:
    import shutil

    copied = tmp_path / "rules"
    shutil.copytree(RULES, copied)
    text = (copied / "protocols.yaml").read_text(encoding="utf-8")
    broken = text.replace("depth_mm: {min: 2, max: 3}", "depth_mm: {min: 2, max: 9}")
    (copied / "protocols.yaml").write_text(broken, encoding="utf-8")
    with pytest.raises(RulesetInvalid) as raised:
        load_ruleset(copied)
    assert any(e.rule_id == "acne_scars" and "depth" in e.message for e in raised.value.errors)


def test_a_protocol_without_goals_or_areas_is_an_error_not_a_crash(tmp_path: Path, catalogue: Catalogue) -> None:
    """Found by the loader's fuzz target (tests/core/test_fuzz_loader.py): a KeyError before."""
    text = (RULES / "protocols.yaml").read_text()
    path = tmp_path / "protocols.yaml"
    path.write_text(text.replace("    goals: [hydration, dull_skin, skin_rejuvenation]\n", "", 1)
                    .replace("    areas: [face, neck, decolletage]\n", "", 1))
    with pytest.raises(RulesetInvalid) as raised:
        load_protocols(path, catalogue)
    assert [(error.rule_id, error.message) for error in raised.value.errors] == [
        ("hydration_glow", "missing 'areas'"), ("hydration_glow", "missing 'goals'")]
