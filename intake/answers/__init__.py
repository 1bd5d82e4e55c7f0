"""The answers document: one complete intake, as the patient gave it, each question declared once.

This is the contract of the whole product. The patient form produces it, the JSON API
accepts it, the rules read it (by the dotted names ``section.field``), the database
stores it and the exports are made from it. Pure data plus marshmallow: no Flask, no
database, no WTForms, so the rules core can import it.

- ``sections.py``: the questions, section by section (the one place to add a question);
- ``questions.py``: the kinds of question and the wording each carries;
- ``vocabulary.py``: the choice lists (values and their labels);
- ``document.py``: the whole document, its checks across sections and against the day;
- generated from the declaration: ``jsonschema.py`` (JSON Schema, the OpenAPI converter,
  the reference page), ``fhir.py`` (Questionnaire), ``summary.py`` (answers in plain words).
"""

from .document import (
    EARLIEST_DATE,
    AnswersSchema,
    all_questions,
    cross_section_errors,
    date_errors,
    dump_answers,
    form_questions,
    load_answers,
)
from .questions import (
    CONTROL_CHARACTER_MESSAGE,
    MAX_LIST,
    MAX_TEXT,
    UNREADABLE_TEXT_MESSAGE,
    YES_NO,
    Gate,
    Question,
    Section,
    When,
    question_of,
    questions,
    refuse_control_characters,
    rows_schema,
)
from .sections import (
    SECTION_TITLES,
    SECTIONS,
    AboutSchema,
    AllergiesSchema,
    AllergySchema,
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
)
from .vocabulary import (
    ACTIVE_ALLERGIES,
    ALLERGY_REACTIONS,
    AREA_PARTS,
    AREAS,
    CONDITIONS,
    EVENT_KINDS,
    FITZPATRICK_TYPES,
    GOALS,
    MEDICATION_STATUS,
    N_,
    SEX,
    SKIN_CONCERNS,
    SMOKING,
    STOPPED_BY,
    TREATMENT_AREAS,
    TREATMENT_KINDS,
    ChoiceParts,
    Choices,
    label_of,
    values,
)

__all__ = [
    "AREA_PARTS", "ChoiceParts",
    "ACTIVE_ALLERGIES", "AREAS", "CONDITIONS", "CONTROL_CHARACTER_MESSAGE", "EARLIEST_DATE", "EVENT_KINDS",
    "FITZPATRICK_TYPES", "GOALS", "MAX_LIST", "MAX_TEXT", "MEDICATION_STATUS", "N_", "SECTIONS", "SECTION_TITLES",
    "SEX", "SKIN_CONCERNS", "SMOKING", "STOPPED_BY", "TREATMENT_AREAS", "TREATMENT_KINDS", "UNREADABLE_TEXT_MESSAGE",
    "YES_NO",
    "ALLERGY_REACTIONS", "AllergySchema",
    "AboutSchema", "AllergiesSchema", "AnswersSchema", "Choices", "ConsentSchema", "EventSchema", "EventsSchema",
    "Gate", "GoalsSchema", "HealthSchema", "LifestyleSchema", "MedicationSchema", "MedicationsSchema", "Question",
    "Section", "SkinSchema", "TreatmentSchema", "TreatmentsSchema", "When", "all_questions", "cross_section_errors",
    "date_errors", "dump_answers", "form_questions", "label_of", "load_answers", "question_of", "questions",
    "refuse_control_characters", "rows_schema", "values",
]
