"""The whole answers document: its schema, the checks across sections and against the day."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator, Mapping
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validates_schema

from .approximate import day_month_year
from .questions import ANSWER_THIS, Question, When, questions, rows_schema
from .sections import (
    SECTIONS,
    AboutSchema,
    AllergiesSchema,
    ConsentSchema,
    EventsSchema,
    GoalsSchema,
    HealthSchema,
    LifestyleSchema,
    MedicationsSchema,
    SkinSchema,
    TreatmentsSchema,
)
from .vocabulary import N_

#: Medication and treatment dates older than this are not asked for.
EARLIEST_DATE = dt.date(1900, 1, 1)


def _normalise_name(name: str) -> str:
    return " ".join(name.split()).casefold()


class AnswersSchema(Schema):
    """A complete intake. ``today`` turns on the checks relative to the submission date."""

    class Meta:
        unknown = RAISE
        ordered = True

    about = fields.Nested(AboutSchema, required=True)
    goals = fields.Nested(GoalsSchema, required=True)
    skin = fields.Nested(SkinSchema, required=True)
    health = fields.Nested(HealthSchema, required=True)
    medications = fields.Nested(MedicationsSchema, required=True)
    allergies = fields.Nested(AllergiesSchema, required=True)
    lifestyle = fields.Nested(LifestyleSchema, required=True)
    treatments = fields.Nested(TreatmentsSchema, required=True)
    events = fields.Nested(EventsSchema, required=True)
    consent = fields.Nested(ConsentSchema, required=True)

    def __init__(self, *, today: dt.date | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.today = today

    @validates_schema(skip_on_field_errors=False)
    def _across_sections(self, data: dict[str, Any], **_: Any) -> None:
        errors = cross_section_errors(data)
        if self.today is not None:
            for section, section_errors in date_errors(data, self.today).items():
                errors.setdefault(section, {}).update(section_errors)
        if errors:
            raise ValidationError(errors)


def cross_section_errors(answers: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Answers that depend on another section: questions asked because of an earlier answer
    (pregnancy, by sex), the signature's name.

    Used for a complete document and for one section with the sections it depends on.
    """
    errors: dict[str, dict[str, Any]] = {}
    for section, name, condition in _asked_because_of_another_section():
        given = answers.get(section)
        if given is not None and given.get(name) is None and condition.holds(condition.read(answers)):
            errors.setdefault(section, {})[name] = [ANSWER_THIS]
    about, consent = answers.get("about") or {}, answers.get("consent") or {}
    if about.get("full_name") and consent.get("signature"):
        if _normalise_name(about["full_name"]) != _normalise_name(consent["signature"]):
            errors.setdefault("consent", {})["signature"] = [
                N_("Type your full name exactly as in “About you”.")
            ]
    return errors


@functools.cache
def _asked_because_of_another_section() -> tuple[tuple[str, str, When], ...]:
    """(section, question, condition) of each required question an earlier section's answer asks."""
    return tuple((section, name, question.asked_if) for section, schema in SECTIONS.items()
                 for name, question in questions(schema)
                 if question.asked_if is not None and question.asked_if.section is not None and question.mandatory)


def _as_date(value: Any) -> dt.date | None:
    """A date of "about", loaded or (read from the stored answers beside the page being checked) ISO text."""
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return value if isinstance(value, dt.date) else None


def date_errors(answers: Mapping[str, Any], today: dt.date) -> dict[str, dict[str, Any]]:
    """Dates that make no sense on ``today``: a birth date in the future, a past appointment…

    Used for a complete document and for a single section (the form checks each page).
    """
    errors: dict[str, dict[str, Any]] = {}

    def add(section: str, field: str, message: str, index: int | None = None) -> None:
        target = errors.setdefault(section, {})
        if index is None:
            target[field] = [message]
        else:
            target.setdefault("items", {}).setdefault(index, {})[field] = [message]

    about = answers.get("about") or {}
    birth = _as_date(about.get("date_of_birth"))
    if birth is not None:
        if birth > today:
            add("about", "date_of_birth", N_("Your date of birth cannot be in the future."))
        elif birth < EARLIEST_DATE:
            add("about", "date_of_birth", N_("Check the year of your date of birth."))
    appointment = _as_date(about.get("appointment_date"))
    if appointment is not None:
        if appointment < today:
            add("about", "appointment_date", N_("The appointment date cannot be in the past."))
        elif appointment > today + dt.timedelta(days=730):
            add("about", "appointment_date", N_("Enter an appointment within the next two years."))
    health = answers.get("health") or {}
    delivery = health.get("delivery_date")
    if delivery is not None and (delivery > today or delivery < today - dt.timedelta(days=366)):
        add("health", "delivery_date", N_("Enter a date within the last year."))
    last_drink = (answers.get("lifestyle") or {}).get("last_drink_on")
    if last_drink is not None and appointment is not None and last_drink > appointment:
        add("lifestyle", "last_drink_on", N_("The date of your last drink cannot be after your appointment on "
                                             "{appointment}.").format(appointment=day_month_year(appointment)))
    elif last_drink is not None and (last_drink > today or last_drink < EARLIEST_DATE):
        add("lifestyle", "last_drink_on", N_("The date of your last drink cannot be in the future."))
    for index, item in enumerate((answers.get("medications") or {}).get("items") or []):
        last_dose = item.get("last_taken_on")
        if last_dose is not None and appointment is not None and last_dose > appointment:
            add("medications", "last_taken_on", N_("The date you last took it cannot be after your appointment on "
                                                   "{appointment}.").format(appointment=day_month_year(appointment)),
                index)
        elif last_dose is not None and last_dose > today:
            add("medications", "last_taken_on", N_("The date you last took it cannot be in the future."), index)
        elif last_dose is not None and last_dose < EARLIEST_DATE:
            add("medications", "last_taken_on", N_("Check the year of this date."), index)
        stopped = item.get("stopped_on")
        if stopped is not None and stopped > today:
            add("medications", "stopped_on", N_("The date you stopped cannot be in the future."), index)
        elif stopped is not None and stopped < EARLIEST_DATE:
            add("medications", "stopped_on", N_("Check the year of this date."), index)
    for index, item in enumerate((answers.get("treatments") or {}).get("items") or []):
        on = item.get("on")
        if on is not None and (on > today or on < EARLIEST_DATE):
            add("treatments", "on", N_("Enter a past date for this treatment."), index)
    for index, item in enumerate((answers.get("events") or {}).get("items") or []):
        on = item.get("on")
        if on is not None and (on < today or on > today + dt.timedelta(days=730)):
            add("events", "on", N_("Enter a date in the next two years."), index)
    return errors


def load_answers(document: Mapping[str, Any], today: dt.date | None = None) -> dict[str, Any]:
    """Validate a complete answers document; raises ValidationError naming each field."""
    loaded: dict[str, Any] = AnswersSchema(today=today).load(document)
    return loaded


def dump_answers(answers: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON-ready form of loaded answers (dates as ISO strings)."""
    dumped: dict[str, Any] = AnswersSchema().dump(answers)
    return dumped


def all_questions() -> Iterator[tuple[str, Question]]:
    """Every question of the document by its dotted name (``medications.items.name`` for list items)."""
    for section, schema in SECTIONS.items():
        for name, question in questions(schema):
            yield f"{section}.{name}", question
            row = rows_schema(schema._declared_fields[name])
            if row is not None:
                for item_name, item_question in questions(row):
                    yield f"{section}.{name}.{item_name}", item_question


def form_questions() -> set[str]:
    """The questions the patient form asks, as ``section.field`` (for the rules lint).

    A list of items counts once (``medications.items``); a yes/no the form asks before a
    question that may be "not yet" counts under its own name (``about.appointment_booked``).
    """
    asked = set()
    for section, schema in SECTIONS.items():
        for name, question in questions(schema):
            if question.asked:
                asked.add(f"{section}.{name}")
            if question.gate is not None:
                asked.add(f"{section}.{question.gate.name}")
    return asked
