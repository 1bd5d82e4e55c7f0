"""A dozen realistic example intakes for the demo clinic, across every outcome.

Dates are relative to the day the demo is seeded, so the queue always looks current.
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from ..answers import dump_answers
from ..extensions import db
from ..patient.service import start_intake, submit_intake
from ..rulesets.active import active_ruleset


def _healthy(
    today: dt.date, name: str, email: str, born: dt.date, sex: str, days_to_appointment: int | None
) -> dict[str, Any]:
    female = sex != "male"
    return {
        "about": {
            "full_name": name, "date_of_birth": born, "sex": sex, "email": email, "phone": "",
            "appointment_date": today + dt.timedelta(days=days_to_appointment)
            if days_to_appointment is not None else None,
        },
        "goals": {"goals": ["hydration"], "other_goal": "", "areas": ["face"]},
        "skin": {
            "concerns": ["dryness"], "fitzpatrick_type": 2, "sensitive_skin": False,
            "active_infection_at_area": False, "active_cold_sore": False,
            "cold_sore_history": False, "keloid_scarring": False,
        },
        "health": {
            "pregnant": False if female else None, "pregnancy_weeks": None,
            "trying_to_conceive": False if female else None, "breastfeeding": False if female else None,
            "recently_gave_birth": False if female else None, "delivery_date": None,
            "hormonal_contraception": False if female else None, "conditions": [], "other_condition": "",
            "diabetes_controlled": None, "uses_insulin": None,
            "recent_illness": False, "recent_antibiotics": False,
        },
        "medications": {"has_medications": False, "items": []},
        "allergies": {
            "local_anaesthetic_allergy": False, "anaphylaxis_history": False, "injection_reaction": False,
            "injection_reaction_details": "", "active_allergies": [], "other_allergies": "",
        },
        "lifestyle": {"alcohol_drinks_per_week": 0, "smoking": "never", "recent_tanning": False},
        "treatments": {"had_mesotherapy_before": True, "has_recent_treatments": False, "items": []},
        "events": {"has_upcoming_events": False, "items": []},
        "consent": {
            "understands_procedure": True, "accepts_after_effects": True, "answers_accurate": True,
            "data_processing": True, "signature": name, "signed_at": None,
        },
    }


def _medicine(
    name: str, status: str = "taking", stopped_on: dt.date | None = None, prescribed: bool = True
) -> dict[str, Any]:
    return {"name": name, "dose": "", "status": status, "stopped_on": stopped_on, "prescribed": prescribed}


def demo_documents(today: dt.date) -> list[dict[str, Any]]:
    """Complete answers documents (JSON form), one per demo patient."""
    day = dt.timedelta(days=1)
    patients: list[dict[str, Any]] = []

    def patient(name: str, email: str, born: tuple[int, int, int], sex: str, days: int | None) -> dict[str, Any]:
        document = _healthy(today, name, email, dt.date(*born), sex, days)
        patients.append(document)
        return document

    patient("Amelia Hart", "amelia.hart@example.org", (1988, 3, 14), "female", 9)

    chloe = patient("Chloé Martin", "chloe.martin@example.org", (1992, 7, 2), "female", 6)
    chloe["goals"].update(goals=["fine_lines", "hydration"], areas=["forehead", "periorbital", "perioral", "neck"])
    chloe["skin"]["cold_sore_history"] = True
    chloe["lifestyle"]["alcohol_drinks_per_week"] = 10

    priya = patient("Priya Nair", "priya.nair@example.org", (1985, 11, 30), "female", 12)
    priya["goals"].update(goals=["pigmentation", "even_tone"], areas=["cheeks", "jawline"])
    priya["skin"]["fitzpatrick_type"] = 5
    # Anti-wrinkle injections in the forehead last week: not an area she wants treated now.
    priya["treatments"].update(has_recent_treatments=True, items=[
        {"kind": "botulinum_toxin", "on": today - 7 * day, "area": "forehead"}])
    priya["medications"] = {"has_medications": True, "items": [
        _medicine("Differin gel", prescribed=True), _medicine("fish oil 1000mg", prescribed=False)]}

    tom = patient("Tom Becker", "tom.becker@example.org", (1979, 5, 21), "male", 4)
    tom["goals"].update(goals=["hair_loss"], areas=["scalp"])
    tom["medications"] = {"has_medications": True, "items": [
        _medicine("ibuprofen 400mg", prescribed=False), _medicine("Propecia 1mg")]}
    tom["lifestyle"].update(alcohol_drinks_per_week=18, smoking="current")

    sofia = patient("Sofia Rossi", "sofia.rossi@example.org", (1990, 1, 8), "female", 3)
    sofia["treatments"].update(has_recent_treatments=True, items=[
        {"kind": "filler", "on": today - 5 * day, "area": "perioral"}])  # lip filler: the whole face waits

    grace = patient("Grace Okafor", "grace.okafor@example.org", (1996, 9, 17), "female", 10)
    grace["goals"].update(goals=["acne_scars"], areas=["cheeks"])
    grace["medications"] = {"has_medications": True, "items": [
        _medicine("Roaccutane 20mg", status="stopped", stopped_on=today - 90 * day)]}

    hannah = patient("Hannah Lewis", "hannah.lewis@example.org", (1993, 4, 25), "female", 14)
    hannah["health"].update(pregnant=True, pregnancy_weeks=14)

    lucy = patient("Lucy Brennan", "lucy.brennan@example.org", (1987, 12, 1), "female", 5)
    lucy["events"] = {"has_upcoming_events": True, "items": [
        {"kind": "wedding", "on": today + 9 * day, "description": "My own wedding"}]}
    lucy["goals"].update(goals=["under_eye"], areas=["under_eye"])

    margaret = patient("Margaret Doyle", "margaret.doyle@example.org", (1958, 6, 19), "female", 7)
    margaret["goals"].update(goals=["lift", "fine_lines"], areas=["jawline", "neck", "decolletage", "hands"])
    margaret["medications"] = {"has_medications": True, "items": [
        _medicine("Eliquis 5mg tablets"), _medicine("sertraline 50 mg")]}

    jade = patient("Jade Carter", "jade.carter@example.org", (2009, 2, 11), "female", 8)
    jade["goals"].update(goals=["acne_scars"], areas=["face"])

    daniel = patient("Daniel Kim", "daniel.kim@example.org", (1983, 10, 5), "male", None)
    daniel["goals"].update(goals=["skin_rejuvenation"], areas=["face"])
    daniel["allergies"].update(anaphylaxis_history=True, other_allergies="Peanuts (anaphylaxis, carries an EpiPen)")

    nina = patient("Nina Petrova", "nina.petrova@example.org", (1991, 8, 28), "female", 11)
    nina["medications"] = {"has_medications": True, "items": [
        _medicine("Zyrtec-D", prescribed=False), _medicine("Vitamin D3", prescribed=False)]}
    nina["allergies"].update(local_anaesthetic_allergy=True)

    return [dump_answers(copy.deepcopy(document)) for document in patients]


def seed_intakes(today: dt.date) -> int:
    """Submit the demo intakes (and leave one half-finished draft); returns how many were made."""
    documents = demo_documents(today)
    for document in documents:
        intake, _token = start_intake()
        intake.answers = document
        db.session.commit()
        submit_intake(intake, active_ruleset(), today)
    about = documents[0]["about"] | {"full_name": "Oliver Grant", "email": "oliver.grant@example.org"}
    draft, _token = start_intake(prefill=about)
    draft.completed_sections = ["about"]
    db.session.commit()
    return len(documents) + 1
