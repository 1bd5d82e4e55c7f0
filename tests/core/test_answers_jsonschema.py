"""The published JSON Schema and reference page match the schema the app enforces."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from intake.answers.jsonschema import answers_json_schema, answers_reference, reference_in
from intake.cli import answers_group

from .test_answers import complete_document

DOCS = Path(__file__).resolve().parents[2] / "docs"


def validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(answers_json_schema(), format_checker=jsonschema.FormatChecker())


def test_committed_files_are_up_to_date():
    # Regenerate with: flask --app wsgi answers schema -o docs/answers.schema.json
    #                  flask --app wsgi answers reference -o docs/answers.md
    printed = CliRunner().invoke(answers_group, ["schema"])
    assert printed.exit_code == 0, printed.output
    assert (DOCS / "answers.schema.json").read_text() == printed.output
    assert json.loads(printed.output) == answers_json_schema()
    assert reference_in((DOCS / "answers.md").read_text()) == answers_reference()


def test_the_reference_is_written_between_its_markers(tmp_path):
    page = tmp_path / "answers.md"
    page.write_text((DOCS / "answers.md").read_text().replace("| `about.full_name` |", "| `about.stale` |"))
    result = CliRunner().invoke(answers_group, ["reference", "-o", str(page)])
    assert result.exit_code == 0, result.output
    assert page.read_text() == (DOCS / "answers.md").read_text()


def test_json_schema_accepts_a_complete_document():
    jsonschema.Draft202012Validator.check_schema(answers_json_schema())
    validator().validate(complete_document())


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("skin", "fitzpatrick_type"), 7),
        (("about", "sex"), "other"),
        (("about", "email"), "not-an-email"),
        (("goals", "areas"), []),
        (("consent", "data_processing"), False),
        (("lifestyle", "alcohol_drinks_per_week"), 500),
    ],
)
def test_json_schema_refuses_what_marshmallow_refuses(path, value):
    document = complete_document()
    document[path[0]][path[1]] = value
    assert list(validator().iter_errors(document)), f"{path} = {value!r} was accepted"


def test_json_schema_refuses_unknown_fields():
    document = complete_document()
    document["about"]["nickname"] = "Ana"
    assert [error.validator for error in validator().iter_errors(document)] == ["additionalProperties"]
