"""The vocabulary of the answers document: the choice lists, each value with its label.

The value is what the document, the rules and the database hold; the label is for
people. Labels are wrapped in ``N_`` (a no-op marker): Babel extracts them and they are
translated where they are shown, never here. The rules core imports these lists too
(areas and goals shape the session plan).
"""

from __future__ import annotations

from typing import Any, NamedTuple

#: (value, label) pairs, in the order they are offered.
Choices = tuple[tuple[Any, str], ...]


def N_(text: str) -> str:  # noqa: N802 - the conventional gettext no-op name
    """Mark a string for translation without translating it (done where it is shown)."""
    return text


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
#: The parts of the face a patient may choose instead of the whole face (intake.answers.areas
#: says which area contains which, and when two overlap).
FACE_PARTS = (
    ("forehead", N_("Forehead")),
    ("periorbital", N_("Around the eyes (crow's feet)")),
    ("under_eye", N_("Under the eyes")),
    ("cheeks", N_("Cheeks")),
    ("nasolabial", N_("Nose-to-mouth lines (nasolabial folds)")),
    ("perioral", N_("Around the mouth and lips")),
    ("jawline", N_("Jawline and chin")),
)
#: ``face`` is the whole face (what intakes stored before the parts were offered mean by it).
AREAS = (
    ("face", N_("Whole face")),
    *FACE_PARTS,
    ("neck", N_("Neck")),
    ("decolletage", N_("Décolletage (upper chest)")),
    ("scalp", N_("Scalp")),
    ("hands", N_("Backs of the hands")),
)


class ChoiceParts(NamedTuple):
    """Choices that are parts of another choice: the form shows them under it, as a group."""

    whole: str
    parts: tuple[str, ...]
    #: The group's name (a drop-down's group of options).
    label: str
    #: Above the parts in a checklist, under the whole.
    legend: str


#: The areas that contain others, with their parts in the order offered.
AREA_PARTS = (
    ChoiceParts("face", tuple(value for value, _label in FACE_PARTS), N_("Face"),
                N_("Or only some parts of the face")),
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
#: How a medicine still taken is taken: an as-needed painkiller matters by its last dose.
HOW_TAKEN = (
    ("regularly", N_("Every day, or on a regular schedule")),
    ("as_needed", N_("Only when I need it")),
)
#: How sure the patient is of a date (``date(..., may_be_approximate=True)``); blank is the exact day.
#: ``approximate.date_range`` turns the date and this answer into the earliest and latest possible days.
DATE_PRECISION = (
    ("exact", N_("I know the day")),
    ("month", N_("I only know the month")),
    ("year", N_("I only know the year")),
    ("roughly", N_("Roughly: give or take 2 weeks")),
)
#: Who stopped a medicine: a prescribed medicine stopped by the patient is the risk.
STOPPED_BY = (
    ("prescriber", N_("My doctor stopped it")),
    ("switched", N_("My doctor switched me to another medicine")),
    ("me", N_("I stopped it myself")),
)
ACTIVE_ALLERGIES = (
    ("hyaluronic_acid", N_("Hyaluronic acid")),
    ("vitamins", N_("Vitamins in injections or supplements")),
    ("polynucleotides_fish", N_("Fish or salmon-derived products (polynucleotides)")),
    ("tranexamic_acid", N_("Tranexamic acid")),
    ("minoxidil", N_("Minoxidil")),
)
#: How bad a reaction to an allergen was: an anaphylaxis makes any allergy serious.
ALLERGY_REACTIONS = (
    ("rash", N_("Rash, itching or hives")),
    ("swelling", N_("Swelling of the face, lips, tongue or eyes")),
    ("anaphylaxis", N_("Severe reaction (anaphylaxis): trouble breathing, collapse, or needed adrenaline")),
    ("unsure", N_("I am not sure or do not remember")),
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



def values(choices: Choices) -> list[Any]:
    """The vocabulary values of a choice list, in order."""
    return [value for value, _label in choices]


def label_of(choices: Choices, value: Any) -> str:
    """The (untranslated) label of ``value`` in a choice list, or the value itself."""
    return next((label for v, label in choices if v == value), str(value))
