"""Why a flag fired, in plain words: the answer that triggered it and the test it met.

A flag keeps its triggers as facts (``lifestyle.alcohol_drinks_per_week``, 10, the test
``at_least 1``). The record shows them the way the patient answered and the way a
practitioner would say the rule: "Alcoholic drinks in a typical week: 10" and "at least
1". The raw condition stays one click away on the page. Pure: translation and dates come
in through ``Wording`` (the web shell's, as for the summary of answers).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .questions import Question, question_of
from .sections import SECTIONS
from .summary import Wording, display_answer
from .vocabulary import ALLERGY_REACTIONS, N_, TREATMENT_KINDS, Choices

#: Facts the rules derive from the answers (intake/assessment/facts.py), in words.
MEDICATION_LISTS = {
    "medications.taking": N_("Medicines taken now"),
    "medications.taking_prescribed": N_("Prescribed medicines taken now"),
    "medications.taking_unprescribed": N_("Medicines bought without a prescription"),
    "medications.stopped_prescribed": N_("Prescribed medicines stopped"),
}
DERIVED = {
    "derived.age": N_("Age on the appointment"),
    "derived.appointment_booked": N_("Appointment booked"),
    "events.next_on": N_("Next important event"),
    "medications.unrecognised": N_("Medicines the lexicon did not recognise"),
}
#: The allergy facts: the allergen classes and reactions of the allergies named, and the names not recognised.
ALLERGY_FACTS = {
    "allergies.classes": N_("Allergies named"),
    "allergies.reactions": N_("Reactions to the allergies named"),
    "allergies.unrecognised": N_("Allergies the lexicon did not recognise"),
}
STOPPED_ON = "medications.stopped_on."
LAST_TAKEN_ON = "medications.last_taken_on."
#: The earliest possible day of a date the patient was not sure of (the plain name holds the latest).
EARLIEST = "earliest."
LAST_ON = "treatments.last_on."
LAST_ON_PLANNED = "treatments.last_on_planned_area."

#: Each test of the condition language, as words around its operand.
OPERATOR_WORDS: dict[str, str] = {
    "equals": N_("is %(value)s"),
    "not_equals": N_("is not %(value)s"),
    "in": N_("is one of: %(value)s"),
    "not_in": N_("is none of: %(value)s"),
    "includes_any": N_("includes any of: %(value)s"),
    "includes_all": N_("includes all of: %(value)s"),
    "includes_none": N_("includes none of: %(value)s"),
    "overlaps": N_("includes an area that is, contains or is part of: %(value)s"),
    "less_than": N_("less than %(value)s"),
    "at_most": N_("at most %(value)s"),
    "greater_than": N_("more than %(value)s"),
    "at_least": N_("at least %(value)s"),
    "within_days_before": N_("in the %(value)s days before the appointment"),
    "within_days_after": N_("in the %(value)s days after the appointment"),
}


@dataclass(frozen=True)
class TriggerWords:
    """One trigger said plainly: what the patient answered, and what the rule looks for."""

    answer: str
    test: str
    #: The condition as the rule file writes it, for the curious.
    condition: str


def _question(name: str) -> Question | None:
    section, _, field_name = name.partition(".")
    schema = SECTIONS.get(section)
    if schema is None:
        return None
    field = schema._declared_fields.get(field_name)
    return question_of(field) if field is not None else None


def _label(choices: Choices, value: Any, wording: Wording) -> str:
    label = next((label for v, label in choices if str(v) == str(value)), None)
    return wording.translate(label) if label else str(value).replace("_", " ")


def _choices_of(name: str, class_labels: Mapping[str, str]) -> Choices:
    question = _question(name)
    if question is not None and question.choices:
        return question.choices
    if name in MEDICATION_LISTS or name == "allergies.classes":
        return tuple(class_labels.items())
    if name == "allergies.reactions":
        return ALLERGY_REACTIONS
    return ()


def _listed(values: Iterable[Any], choices: Choices, wording: Wording) -> str:
    return ", ".join(_label(choices, value, wording) for value in values) or wording.translate(N_("nothing"))


def _said(label: str, answer: str) -> str:
    """'Are you pregnant? Yes', 'Age on the appointment: 17'."""
    return f"{label} {answer}" if label.endswith("?") else f"{label}: {answer}"


def _evidence_words(evidence: Iterable[str], class_labels: Mapping[str, str]) -> str:
    """'Eliquis 5mg → doac (apixaban)' with the class's label: 'Eliquis 5mg → Direct oral anticoagulants (apixaban)'."""
    said = []
    for line in evidence:
        typed, arrow, rest = line.partition(" → ")
        classes, bracket, generics = rest.partition(" (")
        if arrow and classes and class_labels:
            classes = ", ".join(class_labels.get(cid.strip(), cid.strip()) for cid in classes.split(","))
            line = f"{typed}{arrow}{classes}{bracket}{generics}"
        said.append(line)
    return "; ".join(said)


def _operand_words(trigger: Mapping[str, Any], choices: Choices, wording: Wording) -> str:
    operator, operand = trigger.get("operator") or "", trigger.get("operand")
    if operator == "answered":
        return wording.translate(N_("answered") if operand else N_("not answered"))
    if operator == "is_empty":
        return wording.translate(N_("none given") if operand else N_("at least one given"))
    template = OPERATOR_WORDS.get(operator)
    if template is None:
        return str(trigger.get("condition") or "")
    if isinstance(operand, bool):
        value = wording.translate(N_("yes") if operand else N_("no"))
    elif isinstance(operand, (list, tuple, set, frozenset)):
        value = _listed(operand, choices, wording)
    elif choices and operand is not None:
        value = _label(choices, operand, wording)
    else:
        value = str(operand)
    return wording.translate(template) % {"value": value}


def _date_words(value: Any, wording: Wording) -> str:
    if isinstance(value, dt.date):
        value = value.isoformat()
    return wording.long_date(value) if value else wording.translate(N_("not given"))


def _answer_words(trigger: Mapping[str, Any], answers: Mapping[str, Any], wording: Wording,
                  class_labels: Mapping[str, str]) -> str:
    name, value = str(trigger["field"]), trigger.get("value")
    if name.startswith(EARLIEST):
        said = _answer_words({**trigger, "field": name[len(EARLIEST):]}, answers, wording, class_labels)
        return wording.translate(N_("Earliest possible: %(said)s")) % {"said": said}
    evidence = _evidence_words(trigger.get("evidence") or (), class_labels)
    if name in MEDICATION_LISTS:
        said = evidence or _listed(value or [], _choices_of(name, class_labels), wording)
        return _said(wording.translate(MEDICATION_LISTS[name]), said)
    if name in ALLERGY_FACTS:
        said = evidence or _listed(value or [], _choices_of(name, class_labels), wording)
        return _said(wording.translate(ALLERGY_FACTS[name]), said)
    if name.startswith(STOPPED_ON):
        kind = _label(tuple(class_labels.items()), name[len(STOPPED_ON):], wording)
        said = wording.translate(N_("%(kind)s stopped on %(date)s")) % {
            "kind": kind, "date": _date_words(value, wording)}
        return f"{said} ({evidence})" if evidence else said
    if name.startswith(LAST_TAKEN_ON):
        kind = _label(tuple(class_labels.items()), name[len(LAST_TAKEN_ON):], wording)
        said = wording.translate(N_("%(kind)s last taken %(date)s (taken every day: up to the appointment)")) % {
            "kind": kind, "date": _date_words(value, wording)}
        return f"{said} ({evidence})" if evidence else said
    for prefix, words in ((LAST_ON_PLANNED, N_("Last %(kind)s on an area to be treated")),
                          (LAST_ON, N_("Last %(kind)s"))):
        if name.startswith(prefix):
            kind = _label(TREATMENT_KINDS, name[len(prefix):], wording).lower()
            return _said(wording.translate(words) % {"kind": kind}, _date_words(value, wording))
    if name == "events.next_on":
        return _said(wording.translate(DERIVED[name]), _date_words(value, wording))
    if name == "medications.unrecognised":
        return _said(wording.translate(DERIVED[name]), evidence or ", ".join(map(str, value or [])))
    if name in DERIVED:
        shown = wording.translate(N_("yes") if value else N_("no")) if isinstance(value, bool) else str(value)
        return _said(wording.translate(DERIVED[name]), shown)
    question = _question(name)
    if question is None:
        return _said(name, str(value))
    label = wording.translate(question.short_label)
    if value is None:
        return _said(label, wording.translate(N_("not answered")))
    if question.kind == "yes_no" or isinstance(value, bool):
        shown = wording.translate(N_("Yes") if value else N_("No"))
    else:
        displayed = display_answer(question, value, wording)
        shown = ", ".join(displayed) if isinstance(displayed, list) else str(displayed or "")
    return _said(label, shown)


def describe_trigger(trigger: Mapping[str, Any], answers: Mapping[str, Any], wording: Wording,
                     class_labels: Mapping[str, str] | None = None) -> TriggerWords:
    """A stored trigger (``Trigger.to_dict()``) in words; ``class_labels``: medication and allergen class id → label."""
    labels = class_labels or {}
    choices = _choices_of(str(trigger["field"]), labels)
    return TriggerWords(
        answer=_answer_words(trigger, answers, wording, labels),
        test=_operand_words(trigger, choices, wording),
        condition=str(trigger.get("condition") or ""),
    )
