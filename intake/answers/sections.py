"""The answers document: one complete intake, as the patient gave it.

This is the contract of the whole product. The patient form produces it, the JSON API
accepts it, the rules read it (by the dotted names ``section.field`` used here), the
database stores it and the exports are made from it. It is pure data plus marshmallow:
no Flask, no database, so the rules core can import it.

User-facing labels are wrapped in ``N_`` (a no-op marker): they are extracted by Babel
and translated where they are shown, never here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    validate,
    validates_schema,
)


def N_(text: str) -> str:  # noqa: N802 - the conventional gettext no-op name
    """Mark a string for translation without translating it (done where it is shown)."""
    return text


# Choices are (value, label) pairs; the value is the vocabulary, the label is for people.
SEX = (
    ("female", N_("Female")),
    ("male", N_("Male")),
    ("prefer_not_to_say", N_("Prefer not to say")),
)
GOALS = (
    ("skin_rejuvenation", N_("Skin rejuvenation")),
    ("fine_lines", N_("Fine lines and wrinkles")),
    ("hydration", N_("Hydration")),
    ("even_tone", N_("Even skin tone and blemishes")),
    ("pigmentation", N_("Pigmentation")),
    ("acne_scars", N_("Acne scars")),
    ("under_eye", N_("Under-eye bags and dark circles")),
    ("dull_skin", N_("Dull skin")),
    ("hair_loss", N_("Hair loss")),
    ("lift", N_("Non-surgical lift")),
)
AREAS = (
    ("face", N_("Face")),
    ("under_eye", N_("Under the eyes")),
    ("neck", N_("Neck")),
    ("decolletage", N_("Décolletage (upper chest)")),
    ("scalp", N_("Scalp")),
)
SKIN_CONCERNS = (
    ("dryness", N_("Dryness or tightness")),
    ("oiliness", N_("Oiliness")),
    ("redness", N_("Redness")),
    ("enlarged_pores", N_("Enlarged pores")),
    ("breakouts", N_("Spots or breakouts")),
    ("dark_spots", N_("Dark spots")),
    ("uneven_texture", N_("Uneven texture")),
    ("sagging", N_("Loss of firmness")),
)
FITZPATRICK_TYPES = (
    (1, N_("Type I: very fair, always burns, never tans")),
    (2, N_("Type II: fair, usually burns, tans with difficulty")),
    (3, N_("Type III: medium, sometimes burns, tans gradually")),
    (4, N_("Type IV: olive or light brown, rarely burns, tans easily")),
    (5, N_("Type V: brown, very rarely burns, tans very easily")),
    (6, N_("Type VI: dark brown or black, never burns")),
)
CONDITIONS = (
    ("bleeding_disorder", N_("A bleeding or clotting disorder (for example haemophilia, "
                             "von Willebrand disease, low platelets)")),
    ("blood_clots", N_("A blood clot in the past (deep vein thrombosis, pulmonary embolism) or a stroke")),
    ("autoimmune", N_("An autoimmune disease (for example lupus, rheumatoid arthritis)")),
    ("diabetes", N_("Diabetes")),
    ("cancer_treatment", N_("Cancer treatment now or in the last 12 months (chemotherapy, radiotherapy)")),
    ("epilepsy", N_("Epilepsy or seizures")),
    ("immune_suppression", N_("A weakened immune system or an organ transplant")),
    ("heart_condition", N_("A heart condition")),
    ("skin_disease_at_area", N_("A skin disease where you want treatment "
                                "(for example eczema, psoriasis, rosacea)")),
    ("other", N_("Another condition")),
)
MEDICATION_STATUS = (
    ("taking", N_("Still taking")),
    ("stopped", N_("Stopped")),
)
ACTIVE_ALLERGIES = (
    ("hyaluronic_acid", N_("Hyaluronic acid")),
    ("vitamins", N_("Vitamins in injections or supplements")),
    ("polynucleotides_fish", N_("Fish or salmon-derived products (polynucleotides)")),
    ("tranexamic_acid", N_("Tranexamic acid")),
    ("minoxidil", N_("Minoxidil")),
)
SMOKING = (
    ("never", N_("Never")),
    ("former", N_("I used to")),
    ("current", N_("Yes, currently (including vaping)")),
)
TREATMENT_KINDS = (
    ("filler", N_("Dermal filler")),
    ("skin_booster", N_("Skin booster (for example Profhilo)")),
    ("botulinum_toxin", N_("Anti-wrinkle injections (botulinum toxin)")),
    ("laser", N_("Laser or IPL")),
    ("chemical_peel", N_("Chemical peel")),
    ("microneedling", N_("Microneedling")),
    ("microdermabrasion", N_("Microdermabrasion")),
    ("mesotherapy", N_("Mesotherapy")),
    ("facial_surgery", N_("Facial surgery")),
    ("dental_work", N_("Dental work")),
)
TREATMENT_AREAS = AREAS + (("other", N_("Elsewhere")),)
EVENT_KINDS = (
    ("wedding", N_("Wedding")),
    ("holiday", N_("Holiday")),
    ("photos", N_("Photos or filming")),
    ("other", N_("Something else")),
)

MAX_TEXT = 500
MAX_LIST = 20
#: Medication and treatment dates older than this are not asked for.
EARLIEST_DATE = dt.date(1900, 1, 1)


def values(choices: tuple[tuple[Any, str], ...]) -> list[Any]:
    """The vocabulary values of a choice list, in order."""
    return [value for value, _label in choices]


def label_of(choices: tuple[tuple[Any, str], ...], value: Any) -> str:
    """The (untranslated) label of ``value`` in a choice list, or the value itself."""
    return next((label for v, label in choices if v == value), str(value))


def _one_of(choices: tuple[tuple[Any, str], ...]) -> validate.OneOf:
    return validate.OneOf(values(choices), error=N_("Choose one of the options given."))


#: Invisible characters that have no place in an answer: C0 controls but tab and newline, DEL, C1 controls.
_CONTROL_CHARACTERS = frozenset(chr(code) for code in [*range(32), *range(127, 160)]) - {"\t", "\n", "\r"}
CONTROL_CHARACTER_MESSAGE = N_("Remove the invisible control characters (they may come from copying and pasting).")
#: What a decoder puts in place of bytes that were not valid UTF-8: the answer as sent was garbled.
REPLACEMENT_CHARACTER = "\ufffd"
UNREADABLE_TEXT_MESSAGE = N_("Some characters of this answer could not be read: type it again.")


def refuse_control_characters(value: str) -> None:
    """Refuse text with control characters other than tab and line breaks (a pasted NUL, ESC, bell…),
    or with characters that arrived garbled (invalid UTF-8, decoded to U+FFFD)."""
    if not _CONTROL_CHARACTERS.isdisjoint(value):
        raise ValidationError(CONTROL_CHARACTER_MESSAGE)
    if REPLACEMENT_CHARACTER in value:
        raise ValidationError(UNREADABLE_TEXT_MESSAGE)


def _text(required: bool = False, max_length: int = MAX_TEXT, **kwargs: Any) -> fields.String:
    length = (
        validate.Length(min=1, max=max_length, error=N_("Use between {min} and {max} characters."))
        if required
        else validate.Length(max=max_length, error=N_("Use at most {max} characters."))
    )
    return fields.String(required=required, validate=[length, refuse_control_characters], **kwargs)


def _choice_list(
    choices: tuple[tuple[Any, str], ...], min_length: int = 0, error: str | None = None, **kwargs: Any
) -> fields.List:
    return fields.List(
        fields.String(validate=_one_of(choices)),
        validate=validate.Length(min=min_length, max=len(choices), error=error),
        **kwargs,
    )


class _Section(Schema):
    class Meta:
        unknown = RAISE
        ordered = True


def _required_if(data: Mapping[str, Any], condition: bool, field: str, message: str) -> dict[str, list[str]]:
    if condition and data.get(field) in (None, "", []):
        return {field: [message]}
    return {}


class AboutSchema(_Section):
    full_name = _text(required=True, max_length=120)
    date_of_birth = fields.Date(required=True)
    #: Sex recorded at birth: drinking thresholds and some hair-loss actives depend on it.
    sex = fields.String(required=True, validate=_one_of(SEX))
    email = fields.Email(required=True, validate=validate.Length(max=254))
    phone = _text(max_length=40, load_default="")
    #: None means "not booked yet".
    appointment_date = fields.Date(required=True, allow_none=True)


class GoalsSchema(_Section):
    goals = _choice_list(GOALS, load_default=list)
    other_goal = _text(load_default="")
    areas = _choice_list(
        AREAS, required=True, min_length=1, error=N_("Choose at least one area.")
    )

    @validates_schema
    def _some_goal(self, data: dict[str, Any], **_: Any) -> None:
        if not data.get("goals") and not data.get("other_goal"):
            raise ValidationError(N_("Choose at least one goal, or describe yours."), "goals")


class SkinSchema(_Section):
    concerns = _choice_list(SKIN_CONCERNS, load_default=list)
    fitzpatrick_type = fields.Integer(
        required=True, validate=_one_of(FITZPATRICK_TYPES), strict=True
    )
    sensitive_skin = fields.Boolean(required=True)
    #: Breakouts, infection, rash or a wound at the treatment area today.
    active_infection_at_area = fields.Boolean(required=True)
    active_cold_sore = fields.Boolean(required=True)
    cold_sore_history = fields.Boolean(required=True)
    keloid_scarring = fields.Boolean(required=True)


class HealthSchema(_Section):
    # The pregnancy questions are not asked of patients recorded as male.
    pregnant = fields.Boolean(allow_none=True, load_default=None)
    pregnancy_weeks = fields.Integer(
        allow_none=True, load_default=None, strict=True,
        validate=validate.Range(min=1, max=45, error=N_("Enter a number of weeks from 1 to 45.")),
    )
    trying_to_conceive = fields.Boolean(allow_none=True, load_default=None)
    breastfeeding = fields.Boolean(allow_none=True, load_default=None)
    recently_gave_birth = fields.Boolean(allow_none=True, load_default=None)
    delivery_date = fields.Date(allow_none=True, load_default=None)
    hormonal_contraception = fields.Boolean(allow_none=True, load_default=None)
    conditions = _choice_list(CONDITIONS, required=True)
    other_condition = _text(load_default="")
    diabetes_controlled = fields.Boolean(allow_none=True, load_default=None)
    uses_insulin = fields.Boolean(allow_none=True, load_default=None)
    #: Unwell or feverish in the last two weeks.
    recent_illness = fields.Boolean(required=True)
    #: Antibiotics in the last two weeks.
    recent_antibiotics = fields.Boolean(required=True)

    @validates_schema
    def _follow_ups(self, data: dict[str, Any], **_: Any) -> None:
        conditions = data.get("conditions") or []
        errors: dict[str, list[str]] = {}
        errors |= _required_if(data, bool(data.get("pregnant")), "pregnancy_weeks",
                               N_("Say how many weeks pregnant you are."))
        errors |= _required_if(data, bool(data.get("recently_gave_birth")), "delivery_date",
                               N_("Enter the date you gave birth."))
        errors |= _required_if(data, "other" in conditions, "other_condition",
                               N_("Describe the other condition."))
        for field in ("diabetes_controlled", "uses_insulin"):
            if "diabetes" in conditions and data.get(field) is None:
                errors[field] = [N_("Answer this question about your diabetes.")]
        if errors:
            raise ValidationError(errors)


class MedicationSchema(_Section):
    #: As the patient typed it; the medication lexicon recognises it.
    name = _text(required=True, max_length=120)
    dose = _text(max_length=60, load_default="")
    status = fields.String(required=True, validate=_one_of(MEDICATION_STATUS))
    stopped_on = fields.Date(allow_none=True, load_default=None)
    #: Prescribed by a doctor (a prescribed antithrombotic is never to be stopped).
    prescribed = fields.Boolean(required=True)

    @validates_schema
    def _stopped_on(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("status") == "stopped" and data.get("stopped_on") is None:
            raise ValidationError(N_("Enter the date you stopped."), "stopped_on")
        if data.get("status") == "taking" and data.get("stopped_on") is not None:
            raise ValidationError(N_("Leave the date empty if you are still taking it."), "stopped_on")


class MedicationsSchema(_Section):
    has_medications = fields.Boolean(required=True)
    items = fields.List(fields.Nested(MedicationSchema), load_default=list,
                        validate=validate.Length(max=MAX_LIST))

    @validates_schema
    def _items_match_answer(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("has_medications") and not data.get("items"):
            raise ValidationError(N_("Add at least one medication or supplement."), "items")
        if data.get("has_medications") is False and data.get("items"):
            raise ValidationError(N_("You said you take none: remove the list or change the answer."),
                                  "items")


class AllergiesSchema(_Section):
    local_anaesthetic_allergy = fields.Boolean(required=True)
    anaphylaxis_history = fields.Boolean(required=True)
    injection_reaction = fields.Boolean(required=True)
    injection_reaction_details = _text(load_default="")
    active_allergies = _choice_list(ACTIVE_ALLERGIES, load_default=list)
    other_allergies = _text(load_default="")

    @validates_schema
    def _details(self, data: dict[str, Any], **_: Any) -> None:
        errors = _required_if(data, bool(data.get("injection_reaction")), "injection_reaction_details",
                              N_("Describe the reaction you had."))
        if errors:
            raise ValidationError(errors)


class LifestyleSchema(_Section):
    alcohol_drinks_per_week = fields.Integer(
        required=True, strict=True,
        validate=validate.Range(min=0, max=200, error=N_("Enter a number from 0 to 200.")),
    )
    smoking = fields.String(required=True, validate=_one_of(SMOKING))
    #: Sunburn, sunbeds or unprotected sun in the last two weeks.
    recent_tanning = fields.Boolean(required=True)


class TreatmentSchema(_Section):
    kind = fields.String(required=True, validate=_one_of(TREATMENT_KINDS))
    on = fields.Date(required=True)
    area = fields.String(allow_none=True, load_default=None, validate=_one_of(TREATMENT_AREAS))


class TreatmentsSchema(_Section):
    had_mesotherapy_before = fields.Boolean(required=True)
    #: Any cosmetic or dental treatment in the last six months.
    has_recent_treatments = fields.Boolean(required=True)
    items = fields.List(fields.Nested(TreatmentSchema), load_default=list,
                        validate=validate.Length(max=MAX_LIST))

    @validates_schema
    def _items_match_answer(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("has_recent_treatments") and not data.get("items"):
            raise ValidationError(N_("Add the treatment and its date."), "items")
        if data.get("has_recent_treatments") is False and data.get("items"):
            raise ValidationError(N_("You said you had none: remove the list or change the answer."), "items")


class EventSchema(_Section):
    kind = fields.String(required=True, validate=_one_of(EVENT_KINDS))
    on = fields.Date(required=True)
    description = _text(max_length=120, load_default="")


class EventsSchema(_Section):
    has_upcoming_events = fields.Boolean(required=True)
    items = fields.List(fields.Nested(EventSchema), load_default=list,
                        validate=validate.Length(max=MAX_LIST))

    @validates_schema
    def _items_match_answer(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("has_upcoming_events") and not data.get("items"):
            raise ValidationError(N_("Add the event and its date."), "items")
        if data.get("has_upcoming_events") is False and data.get("items"):
            raise ValidationError(N_("You said you have none: remove the list or change the answer."),
                                  "items")


def _must_agree() -> validate.Equal:
    return validate.Equal(True, error=N_("You need to agree to this to continue."))


class ConsentSchema(_Section):
    understands_procedure = fields.Boolean(required=True, validate=_must_agree())
    accepts_after_effects = fields.Boolean(required=True, validate=_must_agree())
    answers_accurate = fields.Boolean(required=True, validate=_must_agree())
    data_processing = fields.Boolean(required=True, validate=_must_agree())
    #: The patient's full name typed as a signature.
    signature = _text(required=True, max_length=120)
    #: Set by the server when the consent section is saved, never typed.
    signed_at = fields.AwareDateTime(allow_none=True, load_default=None)


#: The sections, in the order the patient sees them.
SECTIONS: dict[str, type[_Section]] = {
    "about": AboutSchema,
    "goals": GoalsSchema,
    "skin": SkinSchema,
    "health": HealthSchema,
    "medications": MedicationsSchema,
    "allergies": AllergiesSchema,
    "lifestyle": LifestyleSchema,
    "treatments": TreatmentsSchema,
    "events": EventsSchema,
    "consent": ConsentSchema,
}

SECTION_TITLES = {
    "about": N_("About you"),
    "goals": N_("Your goals"),
    "skin": N_("Your skin"),
    "health": N_("Your health"),
    "medications": N_("Medicines and supplements"),
    "allergies": N_("Allergies"),
    "lifestyle": N_("Lifestyle"),
    "treatments": N_("Previous treatments"),
    "events": N_("Upcoming events"),
    "consent": N_("Consent"),
}


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


#: Asked only of patients recorded as female or "prefer not to say".
PREGNANCY_QUESTIONS = ("pregnant", "trying_to_conceive", "breastfeeding", "recently_gave_birth")


def asks_pregnancy_questions(sex: str | None) -> bool:
    """Whether the pregnancy questions apply to a patient of this recorded sex."""
    return sex in ("female", "prefer_not_to_say")


def cross_section_errors(answers: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Answers that depend on another section: pregnancy questions by sex, the signature's name.

    Used for a complete document and for one section with the sections it depends on.
    """
    errors: dict[str, dict[str, Any]] = {}
    about, health = answers.get("about") or {}, answers.get("health")
    if health is not None and asks_pregnancy_questions(about.get("sex")):
        for field in PREGNANCY_QUESTIONS:
            if health.get(field) is None:
                errors.setdefault("health", {})[field] = [N_("Answer this question.")]
    consent = answers.get("consent") or {}
    if about.get("full_name") and consent.get("signature"):
        if _normalise_name(about["full_name"]) != _normalise_name(consent["signature"]):
            errors.setdefault("consent", {})["signature"] = [
                N_("Type your full name exactly as in “About you”.")
            ]
    return errors


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
    birth = about.get("date_of_birth")
    if birth is not None:
        if birth > today:
            add("about", "date_of_birth", N_("Your date of birth cannot be in the future."))
        elif birth < EARLIEST_DATE:
            add("about", "date_of_birth", N_("Check the year of your date of birth."))
    appointment = about.get("appointment_date")
    if appointment is not None:
        if appointment < today:
            add("about", "appointment_date", N_("The appointment date cannot be in the past."))
        elif appointment > today + dt.timedelta(days=730):
            add("about", "appointment_date", N_("Enter an appointment within the next two years."))
    health = answers.get("health") or {}
    delivery = health.get("delivery_date")
    if delivery is not None and (delivery > today or delivery < today - dt.timedelta(days=366)):
        add("health", "delivery_date", N_("Enter a date within the last year."))
    for index, item in enumerate((answers.get("medications") or {}).get("items") or []):
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
    return AnswersSchema(today=today).load(document)


def dump_answers(answers: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON-ready form of loaded answers (dates as ISO strings)."""
    return AnswersSchema().dump(answers)
