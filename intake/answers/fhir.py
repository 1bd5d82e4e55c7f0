"""The answers document as FHIR R4: a Questionnaire describing our form, a QuestionnaireResponse per intake.

Both are generated from the declaration in ``sections.py``, so they follow the document
when it changes: each item's text is its question's label, choice answers are codes with
their labels as display, and a follow-up is enabled only when its question is answered
the way that asks it (``enableWhen``). Item linkIds are the document's dotted names
(``about.email``, ``medications.items.name``). Plain data in, plain dicts out: no Flask,
no database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

from marshmallow import Schema, fields, validate

from .questions import When, question_of, rows_schema
from .sections import SECTION_TITLES, SECTIONS
from .vocabulary import Choices

QUESTIONNAIRE_ID = "meso-intake"
#: Bumped when the Questionnaire's shape changes in a way a reader must notice.
QUESTIONNAIRE_VERSION = "1"
CODE_SYSTEM_PREFIX = "urn:meso-intake:choices:"


def _choices_of(field: fields.Field[Any]) -> Choices | None:
    """The (value, label) pairs a field accepts, from its OneOf validator; None when it is not a choice."""
    for validator in field.validators:
        if isinstance(validator, validate.OneOf):
            labels = list(validator.labels) or [str(value) for value in validator.choices]
            return tuple(zip(validator.choices, labels, strict=True))
    return None


def _item_type(field: fields.Field[Any]) -> str:
    if _choices_of(field) is not None:
        return "choice"
    if isinstance(field, fields.Boolean):
        return "boolean"
    if isinstance(field, fields.Integer):
        return "integer"
    if isinstance(field, fields.DateTime):
        return "dateTime"
    if isinstance(field, fields.Date):
        return "date"
    return "string"


def _text_of(field: fields.Field[Any], name: str) -> str:
    question = question_of(field)
    return question.label if question is not None else name.replace("_", " ").capitalize()


def _enable_when(prefix: str, condition: When, schema: Schema) -> dict[str, Any]:
    """``enableWhen`` for a follow-up: its question's linkId, and one answer per value that asks it."""
    if condition.section is not None:
        link_id, parent = condition.answer, SECTIONS[condition.section]().fields[condition.name]
    else:
        link_id, parent = f"{prefix}.{condition.answer}", schema.fields[condition.answer]
    inner = parent.inner if isinstance(parent, fields.List) else parent
    choices = _choices_of(inner)
    conditions = []
    for value in condition.values:
        answer: dict[str, Any]
        if choices is not None:
            answer = {"answerCoding": _coding(link_id, choices, value)}
        else:
            answer = {"answerBoolean": value} if isinstance(value, bool) else {"answerString": str(value)}
        conditions.append({"question": link_id, "operator": "=", **answer})
    enabled: dict[str, Any] = {"enableWhen": conditions}
    if len(conditions) > 1:
        enabled["enableBehavior"] = "any"
    return enabled


def _question(prefix: str, name: str, field: fields.Field[Any], schema: Schema) -> dict[str, Any]:
    link_id = f"{prefix}.{name}"
    question = question_of(field)
    enabled = _enable_when(prefix, question.asked_if, schema) if question and question.asked_if else {}
    row = rows_schema(field)
    if row is not None:
        return {"linkId": link_id, "text": _text_of(field, name), "type": "group", "repeats": True, **enabled,
                "item": list(_questions(link_id, row()))}
    repeats = isinstance(field, fields.List)
    inner = field.inner if isinstance(field, fields.List) else field
    item: dict[str, Any] = {"linkId": link_id, "text": _text_of(field, name), "type": _item_type(inner), **enabled}
    if field.required and not field.allow_none:  # allow_none: "not known yet" is an answer
        item["required"] = True
    if repeats:
        item["repeats"] = True
    choices = _choices_of(inner)
    if choices is not None:
        item["answerOption"] = [{"valueCoding": _coding(link_id, choices, value)} for value, _label in choices]
    if isinstance(field, fields.String) and not choices:
        length = next((v.max for v in field.validators if isinstance(v, validate.Length) and v.max), None)
        if length:
            item["maxLength"] = length
    return item


def _questions(prefix: str, schema: Schema) -> Iterator[dict[str, Any]]:
    for name, field in schema.fields.items():
        yield _question(prefix, name, field, schema)


def _coding(link_id: str, choices: Choices, value: Any) -> dict[str, str]:
    label = next((label for v, label in choices if str(v) == str(value)), str(value))
    return {"system": CODE_SYSTEM_PREFIX + link_id, "code": str(value), "display": label}


def questionnaire(url: str) -> dict[str, Any]:
    """The Questionnaire resource describing the intake form; ``url`` is its canonical address."""
    return {
        "resourceType": "Questionnaire",
        "id": QUESTIONNAIRE_ID,
        "url": url,
        "version": QUESTIONNAIRE_VERSION,
        "name": "MesoIntake",
        "title": "Mesotherapy consultation intake",
        "status": "active",
        "subjectType": ["Patient"],
        "item": [
            {"linkId": section, "text": SECTION_TITLES[section], "type": "group", "required": True,
             "item": list(_questions(section, schema()))}
            for section, schema in SECTIONS.items()
        ],
    }


def _answer(question: Mapping[str, Any], value: Any) -> dict[str, Any] | None:
    if value is None or value == "":
        return None
    kind = question["type"]
    if kind == "choice":
        codings = {option["valueCoding"]["code"]: option["valueCoding"] for option in question["answerOption"]}
        coding = codings.get(str(value))
        return {"valueCoding": coding} if coding else {"valueString": str(value)}
    if kind == "boolean":
        return {"valueBoolean": bool(value)}
    if kind == "integer":
        return {"valueInteger": int(value)}
    if kind in ("date", "dateTime"):
        text = value.isoformat() if isinstance(value, dt.date) else str(value)
        return {"valueDate" if kind == "date" else "valueDateTime": text}
    return {"valueString": str(value)}


def _response_items(questions: list[dict[str, Any]], data: Mapping[str, Any]) -> list[dict[str, Any]]:
    items = []
    for question in questions:
        name = question["linkId"].rsplit(".", 1)[-1]
        value = data.get(name)
        if question["type"] == "group":
            for entry in value or []:
                children = _response_items(question["item"], entry)
                if children:
                    items.append({"linkId": question["linkId"], "text": question["text"], "item": children})
            continue
        answers = [_answer(question, one) for one in (value if isinstance(value, list) else [value])]
        answers = [answer for answer in answers if answer is not None]
        if answers:
            items.append({"linkId": question["linkId"], "text": question["text"], "answer": answers})
    return items


def questionnaire_response(
    *, intake_id: int, submitted: bool, answers: Mapping[str, Any], authored: dt.datetime | None,
    questionnaire_url: str,
) -> dict[str, Any]:
    """One intake's answers as a QuestionnaireResponse of ``questionnaire``; unanswered questions are left out."""
    form = questionnaire(questionnaire_url)
    sections = []
    for group in form["item"]:
        children = _response_items(group["item"], answers.get(group["linkId"]) or {})
        if children:
            sections.append({"linkId": group["linkId"], "text": group["text"], "item": children})
    resource: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "id": f"intake-{intake_id}",
        "identifier": {"system": "urn:meso-intake:intake", "value": str(intake_id)},
        "questionnaire": f"{questionnaire_url}|{QUESTIONNAIRE_VERSION}",
        "status": "completed" if submitted else "in-progress",
        "item": sections,
    }
    if authored is not None:
        resource["authored"] = authored.isoformat()
    return resource
