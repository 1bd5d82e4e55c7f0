"""A complete intake as a browser would post it, and helpers to walk a patient through the form."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

from werkzeug.datastructures import MultiDict

from intake.clock import clinic_today
from intake.patient.forms import section_form
from intake.patient.queries import find_intake_by_token
from intake.patient.service import save_section

from .html import problems

SECTIONS = ["about", "goals", "skin", "health", "medications", "allergies", "lifestyle", "treatments",
            "events", "consent"]

APPOINTMENT = "2026-12-09"  # two weeks after the pinned TODAY (2026-11-25)

#: Every section filled in validly, as form fields (lists are ticked checkboxes).
COMPLETE: dict[str, dict[str, Any]] = {
    "about": {"full_name": "Ana Pereira", "date_of_birth": "1988-04-12", "sex": "female",
              "email": "ana@example.com", "phone": "07700 900123", "appointment_booked": "yes",
              "appointment_date": APPOINTMENT},
    "goals": {"goals": ["hydration", "fine_lines"], "other_goal": "", "areas": ["face", "neck"]},
    "skin": {"concerns": ["dryness"], "fitzpatrick_type": "3", "sensitive_skin": "no",
             "active_infection_at_area": "no", "active_cold_sore": "no", "cold_sore_history": "yes",
             "keloid_scarring": "no"},
    "health": {"pregnant": "no", "trying_to_conceive": "no", "breastfeeding": "no",
               "recently_gave_birth": "no", "hormonal_contraception": "yes", "conditions": ["none"],
               "recent_illness": "no", "recent_antibiotics": "no"},
    "medications": {"has_medications": "yes",
                    "items-0-name": "Ibuprofen 200mg", "items-0-dose": "as needed",
                    "items-0-status": "taking", "items-0-prescribed": "no",
                    "items-1-name": "Fish oil", "items-1-dose": "", "items-1-status": "stopped",
                    "items-1-stopped_on": "2026-11-01", "items-1-stopped_on_precision": "month",
                    "items-1-prescribed": "no"},
    "allergies": {"local_anaesthetic_allergy": "no", "anaphylaxis_history": "no", "injection_reaction": "no",
                  "injection_reaction_details": "", "active_allergies": [], "other_allergies": ""},
    "lifestyle": {"alcohol_drinks_per_week": "4", "smoking": "never", "recent_tanning": "no"},
    "treatments": {"had_mesotherapy_before": "no", "has_recent_treatments": "yes",
                   "items-0-kind": "botulinum_toxin", "items-0-on": "2026-09-01", "items-0-area": "face"},
    "events": {"has_upcoming_events": "no", "items-0-kind": "", "items-0-on": "", "items-0-description": ""},
    "consent": {"understands_procedure": "y", "accepts_after_effects": "y", "answers_accurate": "y",
                "data_processing": "y", "signature": "Ana Pereira"},
}

#: What the answers document holds after COMPLETE is saved (signed_at aside).
EXPECTED_MEDICATIONS = {
    "has_medications": True,
    "items": [
        {"name": "Ibuprofen 200mg", "dose": "as needed", "status": "taking", "how_taken": None,
         "last_taken_on": None, "last_taken_on_precision": None, "stopped_on": None, "stopped_on_precision": None,
         "stopped_by": None, "prescribed": False},
        {"name": "Fish oil", "dose": "", "status": "stopped", "how_taken": None, "last_taken_on": None,
         "last_taken_on_precision": None, "stopped_on": "2026-11-01", "stopped_on_precision": "month",
         "stopped_by": None, "prescribed": False},
    ],
}


def fields(section: str, changes: Mapping[str, Any] | None = None, **more: Any) -> list[tuple[str, str]]:
    """The form fields of ``section`` from COMPLETE, with ``changes`` applied (None removes a field)."""
    values = {**COMPLETE[section], **(changes or {}), **more}
    pairs = []
    for name, value in values.items():
        if value is None:
            continue
        for one in value if isinstance(value, list) else [value]:
            pairs.append((name, one))
    return pairs


def section_url(token: str, section: str) -> str:
    return f"/i/{token}/{section}"


def start(forms) -> str:
    """Press Start on the public page; returns the private link token."""
    response = forms.post("/start", {}, page="/")
    assert response.status_code == 302, response.status_code
    match = re.fullmatch(r".*/i/([^/]+)/about", response.location)
    assert match, response.location
    return match.group(1)


def save(forms, token: str, section: str, changes: Mapping[str, Any] | None = None, action: str = "continue",
         **more: Any):
    """Post one section (from COMPLETE, with changes) and return the response."""
    data = [*fields(section, changes, **more), ("action", action)]
    return forms.post(section_url(token, section), data)


def complete(forms, token: str, until: str | None = None,
             overrides: Mapping[str, Mapping] | None = None) -> None:
    """Save every section in order, stopping before ``until``; ``overrides`` change single sections."""
    for section in SECTIONS:
        if section == until:
            return
        response = save(forms, token, section, (overrides or {}).get(section))
        assert response.status_code == 302, (section, problems(response.get_data(as_text=True)))


def seed(app, token: str, until: str | None = None, overrides: Mapping[str, Mapping] | None = None) -> None:
    """Save the sections before ``until`` (default: all) through the forms and operations, without HTTP.

    For tests about one later section: the same validation and the same save_section as a
    post, a fraction of the requests.
    """
    with app.test_request_context():
        intake = find_intake_by_token(token)
        for section in SECTIONS[:SECTIONS.index(until) if until else None]:
            data = MultiDict(fields(section, (overrides or {}).get(section)))
            form = section_form(section, intake.answers, formdata=data)
            loaded = form.check(clinic_today(), intake.answers)
            assert loaded is not None, (section, form.problems())
            save_section(intake, section, loaded)


def submit(forms, token: str):
    return forms.post(f"/i/{token}/submit", {}, page=f"/i/{token}/review")


def text(response) -> str:
    """The page as text, with entities decoded, for comparing with messages."""
    return html.unescape(response.get_data(as_text=True))
