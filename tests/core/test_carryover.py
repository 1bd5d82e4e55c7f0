"""Which flags of a new assessment are the same as before, so a practitioner's review carries over."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from intake.assessment.carryover import compare_flags, flag_identity


def flag(rule_id: str, *triggers: tuple[str, object], severity: str = "precaution") -> dict:
    return {"rule_id": rule_id, "severity": severity,
            "triggered_by": [{"field": field, "value": value, "condition": "…", "evidence": []}
                             for field, value in triggers]}


def test_the_same_rule_on_the_same_answers_is_unchanged() -> None:
    before = [flag("alcohol", ("lifestyle.alcohol_drinks_per_week", 10)), flag("cold-sore", ("skin.cold_sore", True))]
    after = [flag("cold-sore", ("skin.cold_sore", True)), flag("alcohol", ("lifestyle.alcohol_drinks_per_week", 10))]
    comparison = compare_flags(before, after)
    assert [b["rule_id"] for b, _a in comparison.unchanged] == ["cold-sore", "alcohol"]
    assert comparison.changed == [] and comparison.added == [] and comparison.gone == []


def test_different_answers_behind_a_flag_reopen_it() -> None:
    comparison = compare_flags([flag("alcohol", ("lifestyle.alcohol_drinks_per_week", 10))],
                               [flag("alcohol", ("lifestyle.alcohol_drinks_per_week", 20))])
    assert [b["rule_id"] for b, _a in comparison.changed] == ["alcohol"] and comparison.unchanged == []


def test_a_flag_that_became_more_severe_is_changed_even_on_the_same_answers() -> None:
    comparison = compare_flags([flag("isotretinoin", ("medications.stopped_on.oral_retinoid", "2026-09-01"))],
                               [flag("isotretinoin", ("medications.stopped_on.oral_retinoid", "2026-09-01"),
                                     severity="defer")])
    assert len(comparison.changed) == 1


def test_new_flags_are_added_and_missing_ones_are_gone() -> None:
    comparison = compare_flags([flag("pregnancy", ("health.pregnant", True))],
                               [flag("alcohol", ("lifestyle.alcohol_drinks_per_week", 3))])
    assert [f["rule_id"] for f in comparison.added] == ["alcohol"]
    assert [f["rule_id"] for f in comparison.gone] == ["pregnancy"]


def test_the_order_of_triggers_does_not_change_identity() -> None:
    one = flag("bleeding", ("medications.active.doac", True), ("medications.active.nsaid", True))
    other = flag("bleeding", ("medications.active.nsaid", True), ("medications.active.doac", True))
    assert flag_identity(one) == flag_identity(other)


values = st.one_of(st.booleans(), st.integers(), st.text(max_size=5), st.lists(st.text(max_size=3), max_size=3))
flags = st.lists(st.builds(lambda rule, field, value: flag(rule, (field, value)),
                           st.sampled_from(["a", "b", "c", "d"]), st.sampled_from(["x.y", "x.z"]), values),
                 unique_by=lambda f: f["rule_id"], max_size=4)


@given(flags, flags)
def test_every_flag_lands_in_exactly_one_place(before: list, after: list) -> None:
    comparison = compare_flags(before, after)
    placed = ([a["rule_id"] for _b, a in comparison.unchanged] + [a["rule_id"] for _b, a in comparison.changed]
              + [f["rule_id"] for f in comparison.added])
    assert sorted(placed) == sorted(f["rule_id"] for f in after)
    assert sorted(f["rule_id"] for f in comparison.gone) == sorted(
        {f["rule_id"] for f in before} - {f["rule_id"] for f in after})
    assert compare_flags(after, after).unchanged == [(f, f) for f in after]
