"""The answers document: one complete intake, as the patient gave it, declared once.

This is the contract of the whole product. The patient form produces it, the JSON API
accepts it, the rules read it (by the dotted names ``section.field``), the database
stores it and the exports are made from it. Pure data plus marshmallow: no Flask, no
database, no WTForms, so the rules core can import it.
"""

from .sections import (
    ACTIVE_ALLERGIES,
    AREAS,
    CONDITIONS,
    CONTROL_CHARACTER_MESSAGE,
    EARLIEST_DATE,
    EVENT_KINDS,
    FITZPATRICK_TYPES,
    GOALS,
    MAX_LIST,
    MAX_TEXT,
    MEDICATION_STATUS,
    N_,
    PREGNANCY_QUESTIONS,
    SECTION_TITLES,
    SECTIONS,
    SEX,
    SKIN_CONCERNS,
    SMOKING,
    TREATMENT_AREAS,
    TREATMENT_KINDS,
    UNREADABLE_TEXT_MESSAGE,
    AboutSchema,
    AllergiesSchema,
    AnswersSchema,
    ConsentSchema,
    EventSchema,
    EventsSchema,
    GoalsSchema,
    HealthSchema,
    LifestyleSchema,
    MedicationSchema,
    MedicationsSchema,
    SkinSchema,
    TreatmentSchema,
    TreatmentsSchema,
    asks_pregnancy_questions,
    cross_section_errors,
    date_errors,
    dump_answers,
    label_of,
    load_answers,
    refuse_control_characters,
    values,
)

__all__ = [
    "ACTIVE_ALLERGIES", "AREAS", "CONDITIONS", "CONTROL_CHARACTER_MESSAGE", "EARLIEST_DATE", "EVENT_KINDS",
    "FITZPATRICK_TYPES", "GOALS", "MAX_LIST", "MAX_TEXT", "MEDICATION_STATUS", "N_", "PREGNANCY_QUESTIONS",
    "SECTIONS", "SECTION_TITLES", "SEX", "SKIN_CONCERNS", "SMOKING", "TREATMENT_AREAS", "TREATMENT_KINDS",
    "UNREADABLE_TEXT_MESSAGE", "AboutSchema", "AllergiesSchema", "AnswersSchema", "ConsentSchema", "EventSchema",
    "EventsSchema", "GoalsSchema", "HealthSchema", "LifestyleSchema", "MedicationSchema", "MedicationsSchema",
    "SkinSchema", "TreatmentSchema", "TreatmentsSchema", "asks_pregnancy_questions", "cross_section_errors",
    "date_errors", "dump_answers", "label_of", "load_answers", "refuse_control_characters", "values",
]
