"""The appointment-day check-in: the time-sensitive questions again, and what they change.

An intake is filled days or weeks before the appointment; drinking, painkillers, a cold
sore starting, a fever, a new medicine or pregnancy news happen in the last days. From
``WINDOW_DAYS`` before the appointment until its end, the patient answers these few
questions again (``CheckInSchema``, declared like every section, so the page, its
validation and its messages come from here). ``apply_check_in`` writes the answers into a
copy of the answers document, dated on the check-in day, for the rules to assess again.
Pure: no Flask, no database.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Mapping
from typing import Any

from .questions import Section, choice, date, text, when, yes_no
from .vocabulary import N_, TREATMENT_KINDS

#: The check-in opens this many days before the appointment (and closes when its day ends).
WINDOW_DAYS = 2
#: When the patient last drank, as days before the check-in (None: not since the form).
LAST_DRINK = (
    ("today", N_("Today")),
    ("yesterday", N_("Yesterday")),
    ("two_days_ago", N_("2 days ago")),
    ("earlier", N_("Earlier, or not at all")),
)
DAYS_AGO = {"today": 0, "yesterday": 1, "two_days_ago": 2}
MAY_BE_PREGNANT = when("about.sex", "female", "prefer_not_to_say")


class CheckInSchema(Section):
    last_drink = choice(LAST_DRINK, N_("When did you last drink alcohol?"),
                        required=N_("Say when you last drank alcohol."))
    painkillers = yes_no(
        N_("In the last 7 days, have you taken a painkiller such as ibuprofen or aspirin, or a supplement such as "
           "fish oil or vitamin E?"),
        required=N_("Select yes if you have taken a painkiller or supplement in the last 7 days."),
        summary_label=N_("Painkillers or supplements in the last 7 days"))
    painkillers_which = text(N_("Which ones?"), max_length=120, asked_if=when("painkillers", True),
                             required=N_("Write which painkillers or supplements you took."),
                             summary_label=N_("Which painkillers or supplements"))
    new_medicine = yes_no(N_("Have you started a new medicine since you filled in the form?"),
                          required=N_("Select yes if you have started a new medicine."),
                          summary_label=N_("A new medicine"))
    new_medicine_which = text(N_("Which medicine?"), max_length=120, asked_if=when("new_medicine", True),
                              required=N_("Write the name of the new medicine."), summary_label=N_("Which"))
    new_medicine_prescribed = yes_no(N_("Was it prescribed by a doctor?"), asked_if=when("new_medicine", True),
                                     required=N_("Select yes if a doctor prescribed it."),
                                     summary_label=N_("Prescribed"))
    cold_sore = yes_no(N_("Do you have a cold sore now, or feel one starting?"),
                       required=N_("Select yes if you have a cold sore or feel one starting."),
                       summary_label=N_("Cold sore now"))
    infection = yes_no(N_("Do you have spots, a rash, an infection or a wound where you will be treated?"),
                       required=N_("Select yes if you have spots, a rash, an infection or a wound there."),
                       summary_label=N_("Infection or wound where treated"))
    unwell = yes_no(N_("Are you unwell, or have you had a fever, since you filled in the form?"),
                    required=N_("Select yes if you are unwell or have had a fever."),
                    summary_label=N_("Unwell or fever"))
    pregnant = yes_no(N_("Are you pregnant, or could you be?"), asked_if=MAY_BE_PREGNANT,
                      required=N_("Select yes if you are or could be pregnant."), summary_label=N_("Pregnant"))
    treatment = yes_no(
        N_("Since you filled in the form, have you had a filler, anti-wrinkle injections, a peel, laser or any "
           "other skin treatment?"),
        required=N_("Select yes if you have had another treatment."), summary_label=N_("Another treatment since"))
    treatment_kind = choice(TREATMENT_KINDS, N_("Which treatment?"), drop_down=True,
                            asked_if=when("treatment", True), required=N_("Choose the treatment."),
                            summary_label=N_("Treatment"))
    treatment_on = date(N_("Date of the treatment"), asked_if=when("treatment", True),
                        required=N_("Enter the date of the treatment."), summary_label=N_("Date"))


def window(appointment: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last day a patient may check in for ``appointment``."""
    return appointment - dt.timedelta(days=WINDOW_DAYS), appointment


def check_in_errors(check_in: Mapping[str, Any], on: dt.date) -> dict[str, list[str]]:
    """Dates that make no sense on the check-in day (a treatment in the future)."""
    treated = check_in.get("treatment_on")
    if check_in.get("treatment") and treated is not None and treated > on:
        return {"treatment_on": [N_("The treatment cannot be in the future.")]}
    return {}


def apply_check_in(document: Mapping[str, Any], check_in: Mapping[str, Any], on: dt.date) -> dict[str, Any]:
    """A copy of the answers ``document`` (JSON form) with the check-in's answers written in, as of ``on``.

    What the patient says now replaces what they said then (a cold sore now, unwell now,
    pregnant now); what they add (a painkiller, a new medicine, a treatment) is added to
    their lists; a drink on one of the last days becomes their last drink.
    """
    answers: dict[str, Any] = copy.deepcopy(dict(document))
    lifestyle = answers.setdefault("lifestyle", {})
    days_ago = DAYS_AGO.get(check_in.get("last_drink") or "")
    if days_ago is not None:
        lifestyle["last_drink_on"] = (on - dt.timedelta(days=days_ago)).isoformat()
    medications = answers.setdefault("medications", {"has_medications": False, "items": []})
    added = []
    # Added as still taken, not said how: counted as taken up to the appointment. The last dose
    # it stands for ("in the last 7 days", at most WINDOW_DAYS before) is inside the 7-day
    # washout whatever its day, so the last-dose rules give the same precaution.
    if check_in.get("painkillers") and check_in.get("painkillers_which"):
        added.append({"name": check_in["painkillers_which"], "dose": "", "status": "taking", "stopped_on": None,
                      "prescribed": False})
    if check_in.get("new_medicine") and check_in.get("new_medicine_which"):
        added.append({"name": check_in["new_medicine_which"], "dose": "", "status": "taking", "stopped_on": None,
                      "prescribed": bool(check_in.get("new_medicine_prescribed"))})
    if added:
        medications["has_medications"] = True
        medications["items"] = [*(medications.get("items") or []), *added]
    skin = answers.setdefault("skin", {})
    skin["active_cold_sore"] = bool(check_in.get("cold_sore"))
    skin["active_infection_at_area"] = bool(check_in.get("infection"))
    health = answers.setdefault("health", {})
    health["recent_illness"] = bool(check_in.get("unwell"))
    if check_in.get("pregnant") is not None:
        health["pregnant"] = bool(check_in["pregnant"])
    if check_in.get("treatment") and check_in.get("treatment_kind") and check_in.get("treatment_on"):
        treatments = answers.setdefault("treatments", {"had_mesotherapy_before": False, "items": []})
        treated = check_in["treatment_on"]
        treatments["has_recent_treatments"] = True
        treatments["items"] = [*(treatments.get("items") or []), {
            "kind": check_in["treatment_kind"], "area": None,
            "on": treated.isoformat() if isinstance(treated, dt.date) else treated}]
    return answers
