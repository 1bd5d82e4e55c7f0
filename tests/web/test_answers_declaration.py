"""The patient form, its pages and the API's OpenAPI document say what intake/answers/sections.py declares.

(The JSON Schema, FHIR Questionnaire, summary and rules' facts: tests/core/test_answers_declaration.py.)
"""

from __future__ import annotations

from typing import Any

import pytest
from bs4 import BeautifulSoup

from intake.answers import SECTIONS, questions, rows_schema
from intake.answers.jsonschema import answers_json_schema
from tests.support.patient import section_url, seed, start

#: An earlier answer that asks every question (the pregnancy questions are asked of women).
ASKS_EVERYTHING = {"about": {"sex": "female"}}


def form_value(value: Any) -> str:
    return ("yes" if value else "no") if isinstance(value, bool) else str(value)


def check_field(field: Any, question: Any) -> None:
    """A form field says what its question declares: label, hint, messages, choices."""
    from intake.patient.forms import ChecklistField, SelectAnswerField

    assert str(field.label.text) == question.label
    assert field.question is question
    assert str(field.description or "") == (question.hint or "")
    assert str(field.required_message or "") == (question.required or "")
    assert str(field.invalid_message or "") == (question.invalid or "")
    choices = [(form_value(value), label) for value, label in question.choices]
    if isinstance(field, SelectAnswerField):
        assert field.choices[1:] == choices
    elif choices:
        assert field.choices == choices
    if isinstance(field, ChecklistField):
        assert field.none_label == question.none_label


@pytest.mark.parametrize("section", list(SECTIONS))
def test_the_form_has_each_question_with_its_wording_and_choices(app, section):
    from intake.patient.forms import RowsField, section_form

    schema = SECTIONS[section]
    with app.test_request_context():
        form = section_form(section, ASKS_EVERYTHING, formdata=None)
        checked = 0
        for name, question in questions(schema):
            if not question.asked:
                assert name not in form
                continue
            field = form[name]
            if isinstance(field, RowsField):
                assert str(field.label.text) == question.label and field.question is question
                row_form = field.entries[0].form
                for item_name, item_question in questions(rows_schema(schema._declared_fields[name])):
                    check_field(row_form[item_name], item_question)
                    checked += 1
                continue
            check_field(field, question)
            checked += 1
        assert checked >= 2, checked


def test_every_section_page_shows_each_question_and_choice(app, client, forms):
    token = start(forms)
    seed(app, token)  # every section saved: each page is reachable, the pregnancy questions asked
    for section, schema in SECTIONS.items():
        page = BeautifulSoup(client.get(section_url(token, section)).get_data(as_text=True), "html.parser")
        shown = {" ".join(tag.get_text(" ").split()) for tag in page.find_all(["label", "legend", "option"])}
        declared = []
        for name, question in questions(schema):
            row = rows_schema(schema._declared_fields[name])
            declared += [(name, question), *(questions(row) if row else [])]
        for name, question in declared:
            if not question.asked or question.kind == "rows":
                continue
            assert question.label in shown, (section, name)
            for _value, label in question.choices:
                assert label in shown, (section, name, label)
            if question.none_label:
                assert question.none_label in shown


def inline(node: Any, components: dict[str, Any]) -> Any:
    """An OpenAPI 3.0 schema with its $refs resolved and `nullable` spelled as JSON Schema 2020-12 does."""
    if isinstance(node, list):
        return [inline(item, components) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return inline(components[node["$ref"].rsplit("/", 1)[1]], components)
    result = {key: inline(value, components) for key, value in node.items() if key != "nullable"}
    if node.get("nullable"):
        result["type"] = [node["type"], "null"]
    return result


def test_the_openapi_document_describes_the_answers_as_the_json_schema_does(client):
    document = client.get("/api/v1/openapi.json").json
    components = document["components"]["schemas"]
    answers = inline(components["Answers"], components)
    published = answers_json_schema()
    for section in SECTIONS:
        expected = {key: value for key, value in published["properties"][section].items() if key != "title"}
        assert answers["properties"][section] == expected, section
    assert answers["required"] == published["required"]
