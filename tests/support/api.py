"""Answers documents as a booking system sends them, and helpers to store intakes through the API."""

from __future__ import annotations

import copy
from typing import Any

from intake.api import tokens
from intake.auth import service

PASSWORD = "correct horse battery"
APPOINTMENT = "2026-12-09"  # two weeks after the pinned TODAY (2026-11-25)


def document(**changes: dict[str, Any]) -> dict[str, Any]:
    """A complete, valid answers document (outcome "precaution"); ``changes`` update single sections."""
    answers: dict[str, Any] = {
        "about": {"full_name": "Ana Silva", "date_of_birth": "1990-04-02", "sex": "female",
                  "email": "ana@example.org", "phone": "+44 7700 900123", "appointment_date": APPOINTMENT},
        "goals": {"goals": ["hydration", "fine_lines"], "other_goal": "", "areas": ["face", "neck"]},
        "skin": {"concerns": ["dryness"], "fitzpatrick_type": 3, "sensitive_skin": False,
                 "active_infection_at_area": False, "active_cold_sore": False, "cold_sore_history": False,
                 "keloid_scarring": False},
        "health": {"pregnant": False, "trying_to_conceive": False, "breastfeeding": False,
                   "recently_gave_birth": False, "hormonal_contraception": False, "conditions": [],
                   "recent_illness": False, "recent_antibiotics": False},
        "medications": {"has_medications": False, "items": []},
        "allergies": {"local_anaesthetic_allergy": False, "anaphylaxis_history": False,
                      "injection_reaction": False, "active_allergies": []},
        # Plans a drink in the 2 days before: the one precaution of this document.
        "lifestyle": {"alcohol_drinks_per_week": 6, "drinking_before_appointment": True, "smoking": "never",
                      "recent_tanning": False},
        "treatments": {"had_mesotherapy_before": False, "has_recent_treatments": False, "items": []},
        "events": {"has_upcoming_events": False, "items": []},
        "consent": {"understands_procedure": True, "accepts_after_effects": True, "answers_accurate": True,
                    "data_processing": True, "signature": "Ana Silva"},
    }
    for section, values in changes.items():
        answers[section] = {**answers[section], **copy.deepcopy(values)}
    return answers


def named(name: str, email: str, appointment: str | None = APPOINTMENT, **changes: dict[str, Any]) -> dict:
    """A document for another patient (the signature follows the name)."""
    about = {"full_name": name, "email": email, "appointment_date": appointment, **changes.pop("about", {})}
    return document(about=about, consent={"signature": name}, **changes)


PREGNANT = {"health": {"pregnant": True, "pregnancy_weeks": 12}}  # outcome "defer"
ANTICOAGULANT = {"medications": {"has_medications": True, "items": [  # outcome "contraindicated"
    {"name": "Eliquis 5mg", "dose": "twice daily", "status": "taking", "prescribed": True}]}}


def make_admin(app, email: str = "ada@demo.clinic") -> int:
    with app.app_context():
        return service.create_user(email, "Ada Admin", "admin", PASSWORD).id


def make_token(app, name: str = "Booking system", by: str = "ada@demo.clinic", scope: str = "write",
               **options) -> tuple[int, str]:
    """A live API token: (id, secret); a booking system's, which creates intakes, unless ``scope`` says read."""
    with app.app_context():
        token, secret = tokens.create_token(name, by, scope=scope, **options)
        return token.id, secret


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def post_intake(client, secret: str, answers: dict[str, Any]):
    return client.post("/api/v1/intakes", json=answers, headers=bearer(secret))
