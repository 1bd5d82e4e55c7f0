"""The answers document as JSON Schema (draft 2020-12), generated from the marshmallow schemas.

Booking systems and API users build intakes from it; `docs/answers.schema.json` is this
output, and a test keeps the two identical. Rules the JSON Schema cannot express (a
follow-up required when its question is answered "yes", dates relative to today) are
listed in each object's description and enforced by the marshmallow schema.
"""

from __future__ import annotations

import inspect
from typing import Any

from marshmallow import Schema, fields, validate

from .sections import SECTION_TITLES, SECTIONS, AnswersSchema, refuse_control_characters

#: The same refusal as refuse_control_characters: tab, newline and carriage return are the only controls allowed.
NO_CONTROL_CHARACTERS = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$"

SCHEMA_ID = "https://meso-intake.example/schemas/answers.schema.json"


def _validators(field: fields.Field) -> list[Any]:
    found = field.validators if isinstance(field.validators, list) else list(field.validators)
    return found


def _apply_validators(field: fields.Field, schema: dict[str, Any]) -> None:
    for validator in _validators(field):
        if isinstance(validator, validate.OneOf):
            schema["enum"] = list(validator.choices)
        elif isinstance(validator, validate.Length):
            prefix = "Items" if schema.get("type") == "array" else "Length"
            if validator.min is not None and validator.min > 0:
                schema[f"min{prefix}"] = validator.min
            if validator.max is not None:
                schema[f"max{prefix}"] = validator.max
        elif isinstance(validator, validate.Range):
            if validator.min is not None:
                schema["minimum"] = validator.min
            if validator.max is not None:
                schema["maximum"] = validator.max
        elif isinstance(validator, validate.Equal):
            schema["const"] = validator.comparable
        elif validator is refuse_control_characters:
            schema["pattern"] = NO_CONTROL_CHARACTERS


def _field_schema(field: fields.Field) -> dict[str, Any]:
    schema: dict[str, Any]
    if isinstance(field, fields.Nested):
        nested = field.nested if inspect.isclass(field.nested) else type(field.nested)
        schema = object_schema(nested)  # type: ignore[arg-type]
    elif isinstance(field, fields.List):
        schema = {"type": "array", "items": _field_schema(field.inner)}
    elif isinstance(field, fields.Boolean):
        schema = {"type": "boolean"}
    elif isinstance(field, fields.Integer):
        schema = {"type": "integer"}
    elif isinstance(field, fields.AwareDateTime):
        schema = {"type": "string", "format": "date-time"}
    elif isinstance(field, fields.Date):
        schema = {"type": "string", "format": "date"}
    elif isinstance(field, fields.Email):
        schema = {"type": "string", "format": "email"}
    elif isinstance(field, fields.String):
        schema = {"type": "string"}
    else:  # pragma: no cover - a new field type must be taught here first
        raise TypeError(f"no JSON Schema for {type(field).__name__}")
    _apply_validators(field, schema)
    if field.allow_none:
        if "enum" in schema:
            schema["enum"] = [*schema["enum"], None]
        schema["type"] = [schema["type"], "null"]
    if field.metadata.get("description"):
        schema["description"] = field.metadata["description"]
    return schema


def object_schema(schema_class: type[Schema]) -> dict[str, Any]:
    """The JSON Schema of one marshmallow schema (unknown keys refused, as on load)."""
    instance = schema_class()
    properties = {name: _field_schema(field) for name, field in instance.fields.items()}
    required = [name for name, field in instance.fields.items() if field.required]
    result: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        result["required"] = required
    doc = schema_class.__dict__.get("__doc__")
    if doc:
        result["description"] = inspect.cleandoc(doc)
    return result


def _choice_table(values: list[Any], choice_lists: list[tuple[tuple[Any, str], ...]]) -> str:
    labels = next((dict(c) for c in choice_lists if {v for v, _ in c} == set(values)), {})
    return "<br>".join(f"`{value}`: {labels.get(value, '')}".rstrip(": ") for value in values)


def answers_reference() -> str:
    """A Markdown page describing every field of the answers document."""
    from . import sections as answers

    labels = [
        value
        for name, value in vars(answers).items()
        if name.isupper() and isinstance(value, tuple) and value and isinstance(value[0], tuple)
    ]
    lines = [
        "# The answers document",
        "",
        "One complete intake, as JSON. The patient form produces it, the JSON API accepts it,",
        "the rules read it by the dotted names `section.field`. Machine-readable:",
        "[`answers.schema.json`](answers.schema.json). Generated by `flask answers reference`;",
        "do not edit by hand.",
        "",
        "Dates are ISO `YYYY-MM-DD`. Unknown fields are refused. When the intake is submitted,",
        "dates are also checked against the day: no birth date in the future, no appointment",
        "in the past, no stop date or treatment date after today, events within two years.",
        "",
    ]
    document = answers_json_schema()
    for section, section_schema in document["properties"].items():
        lines += [f"## `{section}`: {section_schema['title']}", ""]
        if section_schema.get("description"):
            lines += [section_schema["description"], ""]
        lines += ["| field | type | required | values |", "| --- | --- | --- | --- |"]
        for field, spec in section_schema["properties"].items():
            required = field in section_schema.get("required", [])
            lines.append(_reference_row(f"{section}.{field}", spec, required, labels))
            item = spec.get("items", {})
            if item.get("type") == "object":
                for sub, sub_spec in item["properties"].items():
                    required = sub in item.get("required", [])
                    lines.append(_reference_row(f"{section}.{field}[].{sub}", sub_spec, required, labels))
        lines.append("")
    return "\n".join(lines)


def _reference_row(
    name: str, spec: dict[str, Any], required: bool, labels: list[tuple[tuple[Any, str], ...]]
) -> str:
    kind = spec.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    described = " or ".join(k for k in kinds if k)
    if spec.get("format"):
        described += f" ({spec['format']})"
    if "items" in spec and "enum" in spec["items"]:
        described = "list of choices"
        values = _choice_table(spec["items"]["enum"], labels)
    elif "enum" in spec:
        values = _choice_table([v for v in spec["enum"] if v is not None], labels)
    elif "const" in spec:
        values = f"must be `{str(spec['const']).lower()}`"
    else:
        bounds = [f"{k} {spec[k]}" for k in ("minimum", "maximum", "minLength", "maxLength", "maxItems") if k in spec]
        values = ", ".join(bounds)
    return f"| `{name}` | {described} | {'yes' if required else 'no'} | {values} |"


def answers_json_schema() -> dict[str, Any]:
    """The whole answers document, each section titled as the patient sees it."""
    schema = object_schema(AnswersSchema)
    for name in SECTIONS:
        schema["properties"][name]["title"] = SECTION_TITLES[name]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "Meso Intake answers document",
        **schema,
    }
