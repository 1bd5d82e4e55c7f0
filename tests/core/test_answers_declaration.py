"""Every declared question appears, with the same wording and choices, in all that is generated from it.

The declaration is intake/answers/sections.py. The patient form and its page are checked in
tests/web/test_answers_declaration.py (they need the app); here: the JSON Schema, the
FHIR Questionnaire, the summary of answers, the facts the rules read and the list the
rules lint uses.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, get_args

import pytest
from marshmallow import validate

from intake.answers import (
    SECTION_TITLES,
    SECTIONS,
    YES_NO,
    Question,
    all_questions,
    form_questions,
    question_of,
    questions,
    rows_schema,
    values,
)
from intake.answers.fhir import questionnaire
from intake.answers.jsonschema import answers_json_schema
from intake.answers.questions import Kind
from intake.answers.summary import Wording, describe
from intake.assessment.facts import Catalogue

DECLARED = dict(all_questions())


def json_property(name: str) -> dict[str, Any]:
    """The JSON Schema of ``section.field`` or ``section.items.field``."""
    section, *path = name.split(".")
    node = answers_json_schema()["properties"][section]
    for part in path:
        node = node["properties"][part] if "properties" in node else node["items"]["properties"][part]
    return node


def fhir_items() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}

    def walk(items: list[dict[str, Any]]) -> None:
        for item in items:
            found[item["linkId"]] = item
            walk(item.get("item", []))

    walk(questionnaire("urn:test")["item"])
    return found


def test_every_field_of_the_document_is_a_declared_question():
    for section, schema in SECTIONS.items():
        for name, field in schema._declared_fields.items():
            assert question_of(field) is not None, f"{section}.{name} has no wording"
            row = rows_schema(field)
            for item_name, item_field in (row._declared_fields.items() if row else []):
                assert question_of(item_field) is not None, f"{section}.{name}.{item_name} has no wording"
    # Every kind of question is declared somewhere, so the checks below cover each kind.
    assert {question.kind for question in DECLARED.values()} == set(get_args(Kind))


@pytest.mark.parametrize("name", list(DECLARED))
def test_the_json_schema_has_the_question_its_hint_and_choices(name):
    question, spec = DECLARED[name], json_property(name)
    assert spec["title"] == question.label
    assert spec.get("description") == question.hint
    if question.kind in ("choice", "select", "checklist"):
        choices = spec["items"] if question.kind == "checklist" else spec
        assert [v for v in choices["enum"] if v is not None] == values(question.choices)
        assert choices["x-enumNames"] == [label for _value, label in question.choices]
    if question.asked_if is not None:
        assert spec["x-askedIf"] == {"answer": question.asked_if.answer, "values": list(question.asked_if.values)}
    else:
        assert "x-askedIf" not in spec


@pytest.mark.parametrize("name", list(DECLARED))
def test_the_questionnaire_has_the_question_its_choices_and_when_it_is_asked(name):
    question, item = DECLARED[name], fhir_items()[name]
    assert item["text"] == question.label
    if question.kind in ("choice", "select", "checklist"):
        assert [(o["valueCoding"]["code"], o["valueCoding"]["display"]) for o in item["answerOption"]] == [
            (str(value), label) for value, label in question.choices]
    if question.kind == "yes_no":
        assert item["type"] == "boolean"
    condition = question.asked_if
    if condition is None:
        assert "enableWhen" not in item
    else:
        asked_by = {when["question"] for when in item["enableWhen"]}
        assert asked_by == {condition.answer if condition.section else name.rsplit(".", 1)[0] + "." + condition.answer}
        assert len(item["enableWhen"]) == len(condition.values)


def test_section_titles_are_the_same_everywhere():
    schema = answers_json_schema()
    assert [schema["properties"][section]["title"] for section in SECTIONS] == list(SECTION_TITLES.values())
    assert [group["text"] for group in questionnaire("urn:test")["item"]] == list(SECTION_TITLES.values())


def example_answer(question: Question, field: Any) -> Any:
    """An answer of the right kind for a question (JSON form), whatever the question."""
    if question.kind in ("choice", "select"):
        return question.choices[0][0]
    if question.kind == "checklist":
        return [question.choices[0][0]]
    if question.kind == "whole_number":
        return next(v.min for v in field.validators if isinstance(v, validate.Range))
    return {"yes_no": True, "agreement": True, "date": "2026-03-01", "email": "ana@example.org", "phone": "0770",
            "timestamp": "2026-11-25T10:00:00+00:00"}.get(question.kind, f"Typed for {question.label}")


def example_document() -> dict[str, dict[str, Any]]:
    """Every question answered, each follow-up's condition holding, as the JSON form of the document."""
    asking: dict[str, Any] = {}  # an answer a follow-up depends on -> the value(s) asking every follow-up
    for name, question in DECLARED.items():
        if question.asked_if is not None:
            parent = question.asked_if.answer if question.asked_if.section else (
                name.rsplit(".", 1)[0] + "." + question.asked_if.answer)
            value = question.asked_if.values[0]
            if DECLARED[parent].kind == "checklist":
                asking[parent] = [*asking.get(parent, []), *([] if value in asking.get(parent, []) else [value])]
            else:
                asking[parent] = value

    def answers_of(schema: Any, path: str) -> dict[str, Any]:
        given = {}
        for name, question in questions(schema):
            field = schema._declared_fields[name]
            row = rows_schema(field)
            if row is not None:
                given[name] = [answers_of(row, f"{path}.{name}")]
            else:
                given[name] = asking.get(f"{path}.{name}", example_answer(question, field))
        return given

    return {section: answers_of(schema, section) for section, schema in SECTIONS.items()}


ANSWERED = example_document()
PLAIN = Wording(translate=lambda text: text, long_date=lambda day: f"on {day}",
                date_time=lambda moment: f"at {moment.isoformat()}")


def shown(question: Question, value: Any) -> str | list[str]:
    """What the summary must say for ``value``: the choice's label, "on DAY", the text as typed."""
    if question.kind == "agreement":
        return "Agreed" if value else "Not agreed"
    if question.kind == "checklist":
        return [dict(question.choices)[one] for one in value]
    if question.kind == "yes_no":
        return dict(YES_NO)[value]
    if question.choices:
        return dict(question.choices)[value]
    if question.kind == "date":
        return f"on {value}"
    if question.kind == "timestamp":
        return f"at {dt.datetime.fromisoformat(value).isoformat()}"
    return str(value)


def test_the_summary_shows_every_answered_question_with_its_label_and_answer():
    described = {section["section"]: section for section in describe(ANSWERED, PLAIN)}
    assert [section["title"] for section in described.values()] == list(SECTION_TITLES.values())
    for section, schema in SECTIONS.items():
        rows = described[section]["rows"]
        expected = []
        for name, question in questions(schema):
            if question.precision_of is not None:
                continue  # said with its date ("on DAY" when exact)
            row = rows_schema(schema._declared_fields[name])
            if row is None:
                expected.append({"label": question.short_label, "value": shown(question, ANSWERED[section][name])})
                continue
            entries = []
            for item in ANSWERED[section][name]:
                # A list item may have follow-ups of the same answer asked by different values (a medicine
                # still taken, or stopped): only those its answer asks are shown.
                cells = [{"label": q.short_label, "value": shown(q, item[n])} for n, q in questions(row)
                         if q.precision_of is None
                         and (q.asked_if is None or q.asked_if.holds(item.get(q.asked_if.answer)))]
                entries.append({"title": cells[0]["value"], "details": cells[1:]})
            expected.append({"label": question.short_label, "entries": entries})
        assert rows == expected, section


def test_the_summary_leaves_out_follow_ups_that_were_not_asked():
    document = {"about": {**ANSWERED["about"], "sex": "male", "appointment_date": None},
                "health": {**ANSWERED["health"], "pregnant": None, "trying_to_conceive": None, "breastfeeding": None,
                           "recently_gave_birth": None, "hormonal_contraception": None, "conditions": []}}
    described = {section["section"]: section for section in describe(document, PLAIN)}
    about = [row["label"] for row in described["about"]["rows"]]
    assert "Date of your appointment" not in about and "Full name" in about
    health = [row["label"] for row in described["health"]["rows"]]
    assert health == ["Medical conditions", "Have you been unwell or had a fever in the last 2 weeks?",
                      "Have you taken antibiotics in the last 2 weeks?"]
    assert described["health"]["rows"][0]["value"] == "None"
    assert not described["goals"]["answered"] and described["goals"]["rows"] == []


def test_the_rules_can_read_every_answer_and_lint_knows_every_question():
    catalogue = Catalogue(medication_classes=None)
    for name, question in DECLARED.items():
        if name.count(".") == 1 and question.kind != "rows":
            assert name in catalogue, name
    asked = {name for name, question in DECLARED.items() if name.count(".") == 1 and question.asked}
    gates = {f"{name.split('.')[0]}.{question.gate.name}" for name, question in DECLARED.items() if question.gate}
    assert form_questions() == asked | gates
    assert gates == {"about.appointment_booked"}
