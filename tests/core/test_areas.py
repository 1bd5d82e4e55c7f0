"""Treatment areas: the hierarchy, overlap, the ``overlaps`` operator, the facts and the plan that read them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from intake.answers import AREA_PARTS, AREAS, TREATMENT_AREAS, load_answers, values
from intake.answers.areas import AREA_VALUES, PARENT, ancestors, descendants, overlapping, overlaps, within
from intake.assessment import Flag, RulesetInvalid, derive_facts, load_ruleset
from intake.assessment.conditions import compile_condition
from intake.assessment.errors import RuleFileError
from intake.assessment.facts import MISSING, REFERENCE_INDEX, Catalogue
from intake.assessment.medications import Lexicon
from intake.assessment.plan import Plan, Protocols, load_protocols
from intake.assessment.yamlkit import load_located

from .support import (
    CONDITION_CATALOGUE,
    GOOD,
    SMALL_LEXICON,
    SOURCES,
    compile_yaml,
    document_with,
    facts_values,
    fast_result,
)

FACE_PARTS = ("forehead", "periorbital", "under_eye", "cheeks", "nasolabial", "perioral", "jawline")


def check(field: str, operator: str, operand: str, value: Any) -> bool | None:
    """The condition's result, asserting the fast path and the traced evaluator agree."""
    condition = compile_yaml(f"field: {field}\n{operator}: {operand}\n")
    facts = facts_values(**{field.replace(".", "__"): value})
    fast = fast_result(condition, facts)
    assert fast is condition.trace(facts)[0].result is condition.evaluate(facts)
    return fast


#: Every area a patient can name, and what a recent treatment may also say ("elsewhere") or an unknown name.
ANY_AREA = st.sampled_from([*values(TREATMENT_AREAS), "elbows"])
KNOWN_AREA = st.sampled_from(AREA_VALUES)


# --- the hierarchy -------------------------------------------------------------------------------


def test_the_face_contains_its_parts_and_the_rest_stand_alone() -> None:
    assert AREA_VALUES == ("face", *FACE_PARTS, "neck", "decolletage", "scalp", "hands")
    assert PARENT == dict.fromkeys(FACE_PARTS, "face")
    assert descendants("face") == FACE_PARTS
    assert ancestors("perioral") == ("face",)
    assert [ancestors(a) for a in ("face", "neck", "decolletage", "scalp", "hands", "other")] == [()] * 6


def test_stored_answers_keep_their_names() -> None:
    """Intakes stored before the parts were offered still validate: face and under_eye keep their values."""
    assert {"face", "under_eye", "neck", "decolletage", "scalp"} <= set(AREA_VALUES)
    assert values(TREATMENT_AREAS) == [*AREA_VALUES, "other"]
    assert [group.whole for group in AREA_PARTS] == ["face"]


@pytest.mark.parametrize(("first", "second", "expected"), [
    ("perioral", "perioral", True),
    ("perioral", "face", True),      # lips are part of the whole face
    ("face", "forehead", True),
    ("forehead", "cheeks", False),   # two parts of the face
    ("periorbital", "under_eye", False),  # neighbours, not one inside the other
    ("neck", "forehead", False),
    ("neck", "face", False),
    ("hands", "hands", True),
    ("other", "other", False),       # "elsewhere" may be anywhere
    ("other", "face", False),
    ("elbows", "elbows", False),     # a name the vocabulary does not know
])
def test_overlap(first: str, second: str, expected: bool) -> None:
    assert overlaps(first, second) is expected


@given(KNOWN_AREA)
def test_overlap_is_reflexive_for_every_known_area(area: str) -> None:
    assert overlaps(area, area)


@given(ANY_AREA, ANY_AREA)
def test_overlap_is_symmetric(first: str, second: str) -> None:
    assert overlaps(first, second) is overlaps(second, first)


@given(st.sampled_from(sorted(PARENT)))
def test_a_part_overlaps_the_whole_it_is_part_of(part: str) -> None:
    assert overlaps(part, PARENT[part]) and within(part, [PARENT[part]])


@given(st.sampled_from(sorted(PARENT)), st.sampled_from(sorted(PARENT)))
def test_two_different_parts_of_one_whole_do_not_overlap(first: str, second: str) -> None:
    assert overlaps(first, second) is (first == second)


@given(st.lists(ANY_AREA, max_size=4), ANY_AREA)
def test_overlapping_is_every_area_that_overlaps_one_given(given_areas: list[str], area: str) -> None:
    assert (area in overlapping(given_areas)) is any(overlaps(area, other) for other in given_areas)


# --- the overlaps operator -----------------------------------------------------------------------


@pytest.mark.parametrize(("operand", "planned", "expected"), [
    ("[perioral]", ("perioral",), True),
    ("[perioral]", ("face", "neck"), True),      # the whole face includes the lips
    ("[perioral]", ("cheeks", "forehead"), False),
    ("[face]", ("jawline",), True),             # any part of the face
    ("[face]", ("neck", "decolletage", "hands"), False),
    ("[face, neck]", ("neck",), True),
    ("[perioral]", (), False),
    ("[perioral]", MISSING, None),
])
def test_overlaps_on_the_planned_areas(operand: str, planned: Any, expected: bool | None) -> None:
    # check() compiles the condition and asserts the fast path and the traced evaluator agree.
    assert check("goals.areas", "overlaps", operand, planned) is expected


@given(st.lists(KNOWN_AREA, min_size=1, max_size=3, unique=True),
       st.none() | st.lists(KNOWN_AREA, max_size=4, unique=True))
def test_overlaps_gives_the_same_on_the_fast_path_and_in_plain_evaluation(
    listed: list[str], planned: list[str] | None
) -> None:
    value = MISSING if planned is None else tuple(planned)
    result = check("goals.areas", "overlaps", "[" + ", ".join(listed) + "]", value)
    expected = None if planned is None else any(overlaps(a, b) for a in listed for b in planned)
    assert result is expected


def test_overlaps_under_not_and_all_is_kleene_on_both_paths() -> None:
    condition = compile_yaml(
        "all:\n  - field: skin.cold_sore_history\n    equals: true\n"
        "  - not:\n      field: goals.areas\n      overlaps: [neck]\n"
    )
    for history in (True, False, MISSING):
        for planned in (("face",), ("neck",), MISSING):
            facts = facts_values(skin__cold_sore_history=history, goals__areas=planned)
            assert fast_result(condition, facts) is condition.evaluate(facts)


def test_overlaps_is_described_and_triggers_with_the_listed_areas() -> None:
    condition = compile_yaml("field: goals.areas\noverlaps: [perioral]\n")
    assert condition.root.description == "goals.areas overlaps [perioral]"
    [trigger] = condition.triggers(condition.trace(facts_values(goals__areas=("face",))))
    assert (trigger.field, trigger.operator, trigger.operand, trigger.value) == (
        "goals.areas", "overlaps", ("perioral",), ("face",))


def compile_errors(text: str) -> list[str]:
    errors: list[RuleFileError] = []
    compile_condition(load_located(text, "t.yaml"), CONDITION_CATALOGUE, file="t.yaml", rule_id="r", errors=errors)
    return [str(error) for error in errors]


@pytest.mark.parametrize(("text", "message"), [
    ("field: goals.areas\noverlaps: [cheek]\n",
     "t.yaml:2:12 [rule r]: 'cheek' is not a choice of goals.areas (did you mean 'cheeks'?); choices: face, "
     "forehead, periorbital, under_eye, cheeks, nasolabial, perioral, jawline, neck, decolletage, scalp, hands"),
    ("field: goals.areas\noverlaps: []\n", "t.yaml:2:11 [rule r]: 'overlaps' on goals.areas needs at least one value"),
    ("field: goals.areas\noverlaps: perioral\n",
     "t.yaml:2:11 [rule r]: 'overlaps' on goals.areas needs a list of values such as [a, b], not 'perioral'"),
    ("field: goals.goals\noverlaps: [under_eye]\n",
     "t.yaml:2:1 [rule r]: 'overlaps' compares treatment areas: goals.goals is not an area field "
     "(area fields: goals.areas)"),
    ("field: health.pregnant\noverlaps: [face]\n",
     "t.yaml:2:1 [rule r]: 'overlaps' does not apply to health.pregnant, a yes/no field (use one of: equals, "
     "not_equals, answered)"),
    ("field: goals.areas\noverlap: [face]\n", "t.yaml:2:1 [rule r]: unknown operator 'overlap' (did you mean "
     "'overlaps'?)"),
])
def test_a_bad_overlaps_is_an_error_with_file_line_rule_and_suggestion(text: str, message: str) -> None:
    assert compile_errors(text) == [message]


def test_a_misspelt_area_in_a_rule_file_stops_the_ruleset_loading(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    root = Path("rules")
    (root / "precautions").mkdir(parents=True)
    (root / "sources.yaml").write_text(SOURCES)
    (root / "medications.yaml").write_text(SMALL_LEXICON)
    (root / "precautions" / "a.yaml").write_text(GOOD.replace(
        "field: health.pregnant\n    equals: true", "field: goals.areas\n    overlaps: [perioal]"))
    with pytest.raises(RulesetInvalid) as raised:
        load_ruleset("rules")
    [error] = [str(e) for e in raised.value.errors]
    assert error.startswith("rules/precautions/a.yaml:5:") and "[rule pregnancy]" in error
    assert "'perioal' is not a choice of goals.areas (did you mean 'perioral'?)" in error


# --- the derived facts ---------------------------------------------------------------------------

ON = dt.date(2026, 11, 25)


def last_filler_on_planned_area(planned: list[str] | None, area: str | None) -> Any:
    answers: dict[str, Any] = {"treatments": {"has_recent_treatments": True, "items": [
        {"kind": "filler", "on": "2026-11-20", "area": area}]}}
    if planned is not None:
        answers["goals"] = {"areas": planned}
    return derive_facts(answers, None, ON)["treatments.last_on_planned_area.filler"]


@pytest.mark.parametrize(("planned", "area", "expected"), [
    (["face"], "perioral", dt.date(2026, 11, 20)),   # lip filler, whole face planned
    (["perioral"], "face", dt.date(2026, 11, 20)),   # whole-face filler, lips planned
    (["perioral", "neck"], "perioral", dt.date(2026, 11, 20)),
    (["forehead"], "neck", None),                    # another area: no such treatment there
    (["forehead"], "cheeks", None),                  # another part of the face
    (["face"], "other", None),                       # "elsewhere"
    (["forehead"], None, dt.date(2026, 11, 20)),     # area not given: counts, to be safe
    (None, "perioral", MISSING),                     # planned areas unknown, so is the fact
])
def test_a_recent_treatment_counts_in_an_overlapping_planned_area(
    planned: list[str] | None, area: str | None, expected: Any
) -> None:
    assert last_filler_on_planned_area(planned, area) == expected


@given(st.lists(KNOWN_AREA, min_size=1, max_size=3, unique=True), ANY_AREA)
def test_the_planned_area_fact_follows_overlap(planned: list[str], area: str) -> None:
    found = last_filler_on_planned_area(planned, area)
    assert (found is not None) is any(overlaps(area, p) for p in planned)
    assert derive_facts({"treatments": {"has_recent_treatments": True, "items": [
        {"kind": "filler", "on": "2026-11-20", "area": area}]}}, None, ON
    )["treatments.last_on.filler"] == dt.date(2026, 11, 20)  # any area: unchanged


# --- the plan ------------------------------------------------------------------------------------


class Planner:
    """Builds plans from answers the way the engine does (no flags)."""

    def __init__(self, protocols: Protocols, lexicon: Lexicon, catalogue: Catalogue):
        self.protocols, self.lexicon, self.catalogue = protocols, lexicon, catalogue

    def __call__(self, changes: dict[str, Any] | None = None, flags: Sequence[Flag] = ()) -> Plan:
        facts = derive_facts(load_answers(document_with(changes or {})), self.lexicon, ON, self.catalogue)
        return self.protocols.build(facts, flags, "suitable", None, ON)


@pytest.fixture
def plan_for(protocols: Protocols, lexicon: Lexicon, catalogue: Catalogue) -> Planner:
    return Planner(protocols, lexicon, catalogue)


SMALL_PROTOCOLS = """\
scheduling:
  event_window_days: 14
  event_window_source: [delight-medical-mesotherapy-safety]
protocols:
  - id: monthly
    label: Monthly
    goals: [hydration]
    actives: [{id: ha, label: HA}]
    sessions: {min: 2, max: 6, default: 3}
    interval_days: {min: 30, default: 30}
    depth_mm: {min: 1, max: 3}
    areas: [face, neck]
    maintenance_interval_days: 120
    downtime: None.
    after_effects: [Redness]
    source: [konda-thappa-mesotherapy-2013]
adjustments:
  - id: no-face
    when: {field: skin.sensitive_skin, equals: true}
    reason: Not the face this time.
    remove_areas: [face]
    source: [rule-default]
"""


def test_parts_of_the_face_are_treated_by_the_face_protocol(plan_for: Planner) -> None:
    plan = plan_for({"goals.goals": ["hydration"], "goals.areas": ["cheeks", "perioral", "neck"]})
    assert [(p.id, p.areas) for p in plan.protocols] == [("hydration_glow", ("cheeks", "perioral", "neck"))]
    assert plan.areas == ("cheeks", "perioral", "neck")
    assert set(plan.depth_mm) == {"cheeks", "perioral", "neck"}
    assert not any("no protocol" in note for note in plan.notes)


def test_under_the_eyes_has_its_own_protocol_so_the_face_protocol_leaves_it(plan_for: Planner) -> None:
    alone = plan_for({"goals.goals": ["hydration"], "goals.areas": ["under_eye", "forehead"]})
    assert alone.areas == ("forehead",)
    assert any("under_eye" in note and "no protocol" in note for note in alone.notes)
    both = plan_for({"goals.goals": ["hydration", "under_eye"], "goals.areas": ["under_eye", "forehead"]})
    assert [(p.id, p.areas) for p in both.protocols] == [
        ("hydration_glow", ("forehead",)), ("under_eye", ("under_eye",))]


def test_an_area_off_the_face_no_protocol_treats_is_reported(plan_for: Planner) -> None:
    plan = plan_for({"goals.goals": ["lift"], "goals.areas": ["jawline", "hands"]})
    assert plan.areas == ("jawline",)
    assert any("hands" in note and "no protocol" in note for note in plan.notes)


def test_the_antiviral_note_comes_with_any_part_of_the_face(plan_for: Planner) -> None:
    def noted(areas: list[str]) -> bool:
        plan = plan_for({"skin.cold_sore_history": True, "goals.areas": areas})
        return "cold-sore-antiviral" in [a.id for a in plan.adjustments]

    assert noted(["perioral"]) and noted(["face"]) and noted(["cheeks", "neck"])
    assert not noted(["neck", "decolletage"])


def test_removing_the_face_removes_its_parts(tmp_path: Path, catalogue: Catalogue, lexicon: Lexicon) -> None:
    path = tmp_path / "protocols.yaml"
    path.write_text(SMALL_PROTOCOLS, encoding="utf-8")
    build = Planner(load_protocols(path, catalogue), lexicon, catalogue)
    changes = {"goals.goals": ["hydration"], "goals.areas": ["forehead", "cheeks", "neck"],
               "skin.sensitive_skin": True}
    assert build(changes).areas == ("neck",)
    changes["skin.sensitive_skin"] = False
    assert build(changes).areas == ("forehead", "cheeks", "neck")


def test_the_documents_with_parts_of_the_face_load() -> None:
    document = load_answers(document_with({"goals.areas": ["forehead", "perioral", "hands"]}))
    assert document["goals"]["areas"] == ["forehead", "perioral", "hands"]
    assert values(AREAS)[0] == "face"


def test_no_fact_index_is_lost(catalogue: Catalogue) -> None:
    facts = derive_facts(load_answers(document_with({"goals.areas": ["cheeks"]})), None, ON, catalogue)
    assert facts.values[REFERENCE_INDEX] is not MISSING
    assert facts["goals.areas"] == ("cheeks",)
