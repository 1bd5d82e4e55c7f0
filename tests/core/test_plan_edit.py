"""A practitioner's plan edit: its bounds, and carrying it onto the suggestion of a new assessment."""

from __future__ import annotations

import copy

from intake.answers import load_answers
from intake.assessment import assess
from intake.assessment.plan.edit import carry_plan_edit, edited_plan, plan_bounds, plan_values

from .support import ON, base_document


def suggested(shipped, **goals) -> dict:
    document = base_document()
    document["goals"].update(goals)
    return assess(load_answers(document, today=ON), shipped, ON).to_dict()["plan"]


def test_an_edit_carries_onto_the_same_suggestion_with_the_practitioners_numbers(shipped) -> None:
    plan = suggested(shipped)
    bounds = plan_bounds(plan, shipped.protocols)
    assert bounds is not None
    values = {**plan_values(plan), "sessions": bounds.sessions[1], "interval_days": bounds.interval_min + 7}
    edit = edited_plan(plan, values)
    carried, problems = carry_plan_edit(edit, copy.deepcopy(plan), shipped.protocols)
    assert problems == [] and carried is not None
    assert (carried["sessions"], carried["interval_days"]) == (values["sessions"], values["interval_days"])
    assert len(carried["schedule"]) == values["sessions"]
    assert carried["schedule"][0]["on"] == plan["schedule"][0]["on"]


def test_an_edit_is_dropped_when_the_treatment_changes(shipped) -> None:
    edit = edited_plan(suggested(shipped), plan_values(suggested(shipped)))
    carried, problems = carry_plan_edit(edit, suggested(shipped, goals=["hair_loss"], areas=["scalp"]),
                                        shipped.protocols)
    assert carried is None and problems == ["The suggested treatment changed with the new answers."]


def test_an_edit_is_dropped_when_the_new_assessment_suggests_no_plan(shipped) -> None:
    edit = edited_plan(suggested(shipped), plan_values(suggested(shipped)))
    carried, problems = carry_plan_edit(edit, {"status": "not_proposed"}, shipped.protocols)
    assert carried is None and problems == ["The new assessment suggests no plan to edit."]


def test_an_edit_outside_the_new_bounds_is_dropped_with_the_reason(shipped) -> None:
    plan = suggested(shipped)
    edit = copy.deepcopy(plan)
    edit["sessions"] = 99  # beyond any protocol: unsafe on the new suggestion
    carried, problems = carry_plan_edit(edit, plan, shipped.protocols)
    assert carried is None and len(problems) == 1 and problems[0].startswith("Sessions must be from")
