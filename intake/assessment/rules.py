"""Precaution rule files: their schema, and each rule checked and compiled.

A rules folder holds ``precautions/*.yaml``, each a list of rules (the language is in
docs/rules.md). ``parse_rules(text, relative, display, catalogue, errors, sources=ids)``
returns the valid rules of one file, each with the node of its id, and appends every
problem (file, line, column, rule id, what is wrong) to ``errors``; with ``sources``, a
rule citing an id that is not among them (nor ``rule-default``) is one of them. Loading a whole folder, or layers of
them, is :mod:`intake.assessment.ruleset`; assessing with the rules is
:mod:`intake.assessment.engine`.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Final

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from .conditions import Condition, compile_condition
from .errors import RuleFileError, RulesetInvalid
from .facts import Catalogue, suggestion
from .model import SEVERITIES
from .sources import SOURCE_ID, unknown_citations
from .yamlkit import Located, Path_, load_located, schema_errors

IF_UNANSWERED: Final = ("ask", "fire", "skip")
RULE_ID: Final = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
PLACEHOLDER: Final = re.compile(r"\{([^{}]*)\}")
#: A rule's title is a short line of plain English ("Alcohol in the 48 hours before").
TITLE_MAX: Final = 80


@dataclass(frozen=True)
class InstructionSpec:
    """A rule's instruction for the patient, before it is dated."""

    text: str
    days_before: int | None = None


@dataclass(frozen=True)
class Rule:
    """One precaution rule, compiled."""

    id: str
    #: A short line of plain English that names the concern ("Isotretinoin taken in the last 6 months").
    title: str
    severity: str
    when: Condition
    if_unanswered: str
    message: str
    instruction: InstructionSpec | None
    defer_for_days: int | None
    source: tuple[str, ...]
    #: The rule file, relative to the rules folder (precautions/skin.yaml).
    file: str
    line: int
    #: ``override: true`` in the file: replaces the rule of the same id of an earlier layer.
    override: bool = False
    #: The layer the rule comes from: its folder, or its name (set by the loader; "" when parsed alone).
    folder: str = ""


# --- the schema of a rule file -----------------------------------------------------------


def _messages(what: str) -> dict[str, str | list[Any] | dict[Any, Any]]:
    return {
        "required": "missing",
        "null": f"needs {what}, not nothing (null)",
        "invalid": f"needs {what}",
    }


def _whole_days(minimum: int) -> fields.Integer:
    return fields.Integer(
        strict=True,
        validate=validate.Range(min=minimum, error=f"needs a whole number of days of at least {minimum}"),
        error_messages=_messages(f"a whole number of days of at least {minimum}"),
    )


class _InstructionSchema(Schema):
    class Meta:
        unknown = RAISE

    error_messages = {"type": "needs a mapping with 'text' (and 'days_before' to date it)"}

    text = fields.String(
        required=True, validate=validate.Length(min=1, error="needs some text"),
        error_messages=_messages("text"),
    )
    days_before = _whole_days(0)


class _RuleSchema(Schema):
    class Meta:
        unknown = RAISE

    id = fields.String(
        required=True,
        validate=validate.Regexp(RULE_ID, error="must be lowercase words joined by '-', like recent-filler"),
        error_messages=_messages("lowercase words joined by '-', like recent-filler"),
    )
    title = fields.String(
        required=True,
        validate=validate.Length(min=1, max=TITLE_MAX,
                                 error=f"needs a short line of text (at most {TITLE_MAX} characters), "
                                       "such as: Alcohol in the 48 hours before"),
        error_messages=_messages("a short line of text, such as: Alcohol in the 48 hours before"),
    )
    severity = fields.String(
        required=True,
        validate=validate.OneOf(SEVERITIES, error="must be one of: " + ", ".join(SEVERITIES)),
        error_messages=_messages("one of: " + ", ".join(SEVERITIES)),
    )
    when = fields.Raw(required=True, allow_none=True)  # checked by the condition compiler
    if_unanswered = fields.String(
        validate=validate.OneOf(IF_UNANSWERED, error="must be one of: " + ", ".join(IF_UNANSWERED)),
        error_messages=_messages("one of: " + ", ".join(IF_UNANSWERED)),
    )
    message = fields.String(
        required=True, validate=validate.Length(min=1, error="needs some text"),
        error_messages=_messages("text"),
    )
    instruction = fields.Nested(_InstructionSchema, error_messages=_messages("a mapping with 'text'"))
    defer_for_days = _whole_days(1)
    source = fields.List(
        fields.String(validate=validate.Regexp(SOURCE_ID, error="must be the id of a source in sources.yaml "
                                                                 "(lowercase words joined by '-'), or rule-default"),
                      error_messages=_messages("a source id such as niaaa-drinking-levels")),
        required=True,
        validate=validate.Length(min=1, error="needs at least one source id from sources.yaml, "
                                              "such as [niaaa-drinking-levels]"),
        error_messages=_messages("a list of source ids from sources.yaml, such as [niaaa-drinking-levels]"),
    )
    override = fields.Boolean(truthy={True}, falsy={False}, error_messages=_messages("true or false"))

    @validates_schema
    def _consistent(self, data: dict[str, Any], **_: Any) -> None:
        errors: dict[str, Any] = {}
        title = data.get("title")
        if isinstance(title, str) and ("\n" in title.strip() or not title.strip()):
            errors["title"] = ["needs one short line of text, such as: Alcohol in the 48 hours before"]
        if data.get("defer_for_days") is not None and data.get("severity") != "defer":
            errors["defer_for_days"] = ["is only for defer rules"]
        instruction = data.get("instruction") or {}
        for name in PLACEHOLDER.findall(instruction.get("text", "")):
            if name != "start":
                problem = f"has an unknown placeholder {{{name}}}: only {{start}} is known"
            elif instruction.get("days_before") is None:
                problem = "uses {start}, which needs instruction.days_before to date it"
            else:
                continue
            errors["instruction"] = {"text": [problem]}
        if errors:
            raise ValidationError(errors)


_RULE_KEYS: Final = tuple(_RuleSchema().fields)
_INSTRUCTION_KEYS: Final = tuple(_InstructionSchema().fields)



def _known_keys(path: Path_) -> tuple[str, ...]:
    return _INSTRUCTION_KEYS if path[:1] == ("instruction",) else _RULE_KEYS


def parse_rules(
    text: str,
    relative: str,
    display: str,
    catalogue: Catalogue,
    errors: list[RuleFileError],
    *,
    sources: Collection[str] | None = None,
) -> list[tuple[Rule, Located]]:
    """The valid rules of one precautions file, each with its id's node; problems go to ``errors``.

    With ``sources`` (the ids of the merged sources.yaml files), every cited id must be one
    of them or ``rule-default``.
    """
    try:
        document = load_located(text, display)
    except RulesetInvalid as invalid:
        errors.extend(invalid.errors)
        return []
    if document.is_scalar and document.value is None:
        return []  # an empty file: nothing to check
    if not document.is_sequence:
        errors.append(RuleFileError(display, document.line, document.column, None,
                                    "a rule file is a list of rules, each starting with '- id:'"))
        return []
    found = []
    for node in document.items_():
        rule = _parse_rule(node, relative, display, catalogue, errors, sources)
        if rule is not None:
            found.append((rule, node["id"]))
    return found


def _parse_rule(
    node: Located,
    relative: str,
    display: str,
    catalogue: Catalogue,
    errors: list[RuleFileError],
    sources: Collection[str] | None,
) -> Rule | None:
    if not node.is_mapping:
        errors.append(RuleFileError(display, node.line, node.column, None,
                                    "each rule is a mapping that starts with 'id:'"))
        return None
    id_node = node.get("id")
    rule_id = id_node.value if id_node is not None and isinstance(id_node.value, str) else None
    before = len(errors)
    data: dict[str, Any] | None
    try:
        data = _RuleSchema().load(node.plain())
    except ValidationError as invalid:
        errors.extend(schema_errors(invalid, node, display, rule_id, _known_keys, suggest=suggestion))
        data = None
    if sources is not None:
        for at, problem in unknown_citations(node.get("source"), sources):
            errors.append(RuleFileError(display, at.line, at.column, rule_id, f"'source' {problem}"))
    when_node = node.get("when")
    condition = None
    if when_node is not None:
        condition = compile_condition(when_node, catalogue, file=display, rule_id=rule_id, errors=errors)
    if data is None or condition is None or len(errors) > before:
        return None
    instruction = data.get("instruction")
    severity = data["severity"]
    return Rule(
        id=data["id"],
        title=data["title"].strip(),
        severity=severity,
        when=condition,
        if_unanswered=data.get("if_unanswered") or ("skip" if severity == "info" else "ask"),
        message=data["message"].strip(),
        instruction=InstructionSpec(instruction["text"].strip(), instruction.get("days_before"))
        if instruction else None,
        defer_for_days=data.get("defer_for_days"),
        source=tuple(data["source"]),
        file=relative,
        line=node.line,
        override=bool(data.get("override", False)),
    )


