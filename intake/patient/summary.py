"""What stops a submission, and the patient's instructions and plan in plain words.

The answers themselves are described from their declaration (intake.answers.summary,
through intake.web.templating.describe_answers), for the patient's pages and the staff's alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import url_for
from flask_babel import gettext

from .. import answers as doc
from ..web.templating import choice_label
from .forms import section_form
from .queries import rule_text


def describe_problems(messages: Mapping[str, Any], answers: Mapping[str, Any],
                      token: str) -> list[tuple[str, str]]:
    """What stops a submission, each linked to the question on its section's page."""
    problems = []
    for section, errors in messages.items():
        if section not in doc.SECTIONS:
            problems += [("", gettext(str(m))) for m in _as_list(errors)]
            continue
        url = url_for("patient.edit_section", token=token, section=section, next="review")
        title = gettext(doc.SECTION_TITLES[section])
        if not isinstance(errors, Mapping):
            problems.append((url, gettext("%(section)s: this section is not finished.", section=title)))
            continue
        form = section_form(section, answers, formdata=None)
        form.fill(answers.get(section) or {})
        form.add_errors(errors)
        for target, message in form.problems():
            problems.append((url + target, f"{title}: {message}"))
    return problems


def _as_list(errors: Any) -> list[Any]:
    return list(errors) if isinstance(errors, list | tuple) else [errors]


def patient_instructions(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The patient's own instructions from an assessment, earliest first."""
    instructions = list(document.get("instructions") or [])

    def order(item: Mapping[str, Any]) -> tuple[Any, ...]:
        days = item.get("days_before")
        return (days is not None, item.get("starts_on") or "", -(days or 0), item.get("text", ""))

    return sorted(instructions, key=order)


def patient_plan(document: Mapping[str, Any]) -> dict[str, Any] | None:
    """The proposed plan in the patient's words: what, how often, when, and what to expect.

    Only what is meant for the patient: the practitioner's notes, adjustment reasons,
    depths and traces stay on the staff side. None when the assessment has no plan.
    """
    plan = document.get("plan")
    if not isinstance(plan, Mapping) or not plan:
        return None
    if plan.get("status") != "proposed":
        return {"proposed": False}
    schedule = [
        {"number": s["number"], "on": s["on"], "close_to_event": bool(s.get("warning")),
         "areas": [choice_label(doc.AREAS, area) for area in s.get("areas") or []]}
        for s in plan.get("schedule") or []
    ]
    return {
        "proposed": True,
        "treatments": [rule_text(p["label"]) for p in plan.get("protocols") or []],
        "sessions": plan.get("sessions") or len(schedule),
        "interval_days": plan.get("interval_days") or 0,
        "areas": [choice_label(doc.AREAS, area) for area in plan.get("areas") or []],
        "schedule": schedule,
        "maintenance_on": (plan.get("maintenance") or {}).get("on"),
        "after_effects": [rule_text(effect) for effect in plan.get("after_effects") or []],
        "downtime": [rule_text(line) for line in plan.get("downtime") or []],
    }
