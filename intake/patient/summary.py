"""The patient's answers, instructions and plan in plain words, for the review and confirmation pages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from flask import url_for
from flask_babel import format_datetime, gettext

from .. import answers as doc
from ..web.templating import long_date
from .forms import (
    AgreementField,
    AnswerField,
    ChecklistField,
    ChoiceField,
    DateAnswerField,
    RowsField,
    SectionForm,
    section_form,
)

#: Form-only questions whose answer is shown through another one.
_NOT_SHOWN = {"appointment_booked"}


def _label(choices: Any, value: Any) -> str:
    label = next((label for v, label in choices if str(v) == str(value)), None)
    return gettext(label) if label else str(value)


def display(field: AnswerField) -> str | list[str] | None:
    """A field's answer as the patient would say it; None when there is nothing to show."""
    if isinstance(field, AgreementField):
        return gettext("Agreed") if field.data else gettext("Not agreed")
    if isinstance(field, ChecklistField):
        ticked = [value for value in field.data or [] if value != "none"]
        return [_label(field.choices, value) for value in ticked] or gettext("None")
    if isinstance(field, ChoiceField):
        return _label(field.choices, field.data) if field.data not in (None, "") else None
    if isinstance(field, DateAnswerField):
        return long_date(field.data) if field.data else None
    if field.data in (None, ""):
        return None
    return str(field.data)


def _rows(form: SectionForm | Any) -> list[dict[str, Any]]:
    rows = []
    for field in form.answer_fields():
        if field.short_name in _NOT_SHOWN or not form.applies(field.short_name):
            continue
        label = str(field.summary_label or field.label.text)
        if isinstance(field, RowsField):
            items = [_item(entry.form) for entry in field.entries if not entry.form.is_blank()]
            if items:
                rows.append({"label": label, "entries": items})
            continue
        value = display(field)
        if field.short_name == "appointment_date" and value is None:
            value = gettext("Not booked yet")
        if value is not None:
            rows.append({"label": label, "value": value})
    return rows


def _item(row: Any) -> dict[str, Any]:
    """One medicine, treatment or event: its first answer as a title, then the details."""
    title, *details = _rows(row)
    return {"title": title["value"], "details": details}


def describe_answers(answers: Mapping[str, Any] | None, token: str | None = None) -> list[dict[str, Any]]:
    """Every section with its answers; with ``token``, a "Change" link for each."""
    answers = answers or {}
    sections = []
    for section in doc.SECTIONS:
        stored = answers.get(section)
        rows: list[dict[str, Any]] = []
        if stored is not None:
            form = section_form(section, answers, formdata=None)
            form.fill(stored)
            rows = _rows(form)
            if section == "consent" and stored.get("signed_at"):
                signed_at = dt.datetime.fromisoformat(stored["signed_at"])
                when = format_datetime(signed_at, "d MMMM y, HH:mm")
                rows.append({"label": gettext("Signed"), "value": when})
        sections.append({
            "section": section,
            "title": gettext(doc.SECTION_TITLES[section]),
            "rows": rows,
            "answered": stored is not None,
            "change_url": url_for("patient.edit_section", token=token, section=section, next="review")
            if token else None,
        })
    return sections


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
         "areas": [_label(doc.AREAS, area) for area in s.get("areas") or []]}
        for s in plan.get("schedule") or []
    ]
    return {
        "proposed": True,
        "treatments": [p["label"] for p in plan.get("protocols") or []],
        "sessions": plan.get("sessions") or len(schedule),
        "interval_days": plan.get("interval_days") or 0,
        "areas": [_label(doc.AREAS, area) for area in plan.get("areas") or []],
        "schedule": schedule,
        "maintenance_on": (plan.get("maintenance") or {}).get("on"),
        "after_effects": list(plan.get("after_effects") or []),
        "downtime": list(plan.get("downtime") or []),
    }
