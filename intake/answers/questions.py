"""How a question is declared: one marshmallow field that carries its own wording.

Each section of the answers document is a marshmallow schema (``sections.py``) and each
question is one field of it, made by one of the functions below (``yes_no``, ``choice``,
``text``…). The function gives the field its type and validation for the document, and
attaches a :class:`Question` as the field's metadata: the label, the hint, the choice
labels, when it is asked (``asked_if``), what to say when it is left blank or mistyped,
and a few hints for the page (a heading above it, radios side by side, a narrow box).

Everything else is generated from that one declaration: the patient form and its page
(``intake/patient/forms.py``), the JSON Schema and the OpenAPI document (``jsonschema.py``),
the FHIR Questionnaire (``fhir.py``), the summary of answers (``summary.py``), the
reference in docs/answers.md, and the list of questions the rules lint knows. Pure
marshmallow: no Flask, no WTForms.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema
from marshmallow.schema import SchemaMeta

from .vocabulary import DATE_PRECISION, N_, ChoiceParts, Choices, values

MAX_TEXT = 500
MAX_LIST = 20

#: The yes/no answer of a boolean question, as the patient sees it.
YES_NO: Choices = ((True, N_("Yes")), (False, N_("No")))

Kind = Literal["text", "long_text", "email", "phone", "date", "whole_number", "choice", "select", "yes_no",
               "checklist", "agreement", "rows", "timestamp"]

#: Invisible characters that have no place in an answer: C0 controls but tab and newline, DEL, C1 controls.
_CONTROL_CHARACTERS = frozenset(chr(code) for code in [*range(32), *range(127, 160)]) - {"\t", "\n", "\r"}
CONTROL_CHARACTER_MESSAGE = N_("Remove the invisible control characters (they may come from copying and pasting).")
#: What a decoder puts in place of bytes that were not valid UTF-8: the answer as sent was garbled.
REPLACEMENT_CHARACTER = "\ufffd"
UNREADABLE_TEXT_MESSAGE = N_("Some characters of this answer could not be read: type it again.")
#: The message a cross-section follow-up gets when it is due and missing (the form words it per question).
ANSWER_THIS = N_("Answer this question.")


def refuse_control_characters(value: str) -> None:
    """Refuse text with control characters other than tab and line breaks (a pasted NUL, ESC, bell…),
    or with characters that arrived garbled (invalid UTF-8, decoded to U+FFFD)."""
    if not _CONTROL_CHARACTERS.isdisjoint(value):
        raise ValidationError(CONTROL_CHARACTER_MESSAGE)
    if REPLACEMENT_CHARACTER in value:
        raise ValidationError(UNREADABLE_TEXT_MESSAGE)


@dataclass(frozen=True)
class When:
    """A follow-up condition: the question is asked only when another answer is one of ``values``.

    ``answer`` names a question of the same section (``"pregnant"``, or ``"status"`` in a
    list row), or ``"section.question"`` of an earlier section (``"about.sex"``). For a
    list of choices, the condition holds when any ticked value is one of ``values``.
    """

    answer: str
    values: tuple[Any, ...]
    #: Above the follow-up on the page, where it shows without JavaScript ("If yes…").
    intro: str = N_("If yes…")
    #: Refuses an answer to the follow-up when its question was answered otherwise (None: it is kept).
    otherwise: str | None = None

    @property
    def section(self) -> str | None:
        """The earlier section the condition reads, or None for a question of the same one."""
        return self.answer.split(".", 1)[0] if "." in self.answer else None

    @property
    def name(self) -> str:
        return self.answer.rsplit(".", 1)[-1]

    def holds(self, answer: Any) -> bool:
        """Whether ``answer`` (as in the answers document) makes the follow-up relevant."""
        if isinstance(answer, list | tuple):
            return any(value in self.values for value in answer)
        return answer is not None and answer in self.values

    def read(self, answers: Mapping[str, Any]) -> Any:
        """The answer the condition reads, from a complete or partial answers document."""
        section, _dot, name = self.answer.partition(".")
        return (answers.get(section) or {}).get(name)


def when(answer: str, *values: Any, intro: str | None = None, otherwise: str | None = None) -> When:
    """Ask a question only when ``answer`` is one of ``values`` (see :class:`When`)."""
    return When(answer, values, intro or When.intro, otherwise)


@dataclass(frozen=True)
class Gate:
    """A yes/no the form asks first, for a question whose answer may be "not yet" (stored as None)."""

    #: The form's name for it; it is not part of the answers document.
    name: str
    label: str
    #: The label of the "no" answer ("Not booked yet").
    no: str
    required: str


@dataclass(frozen=True)
class Question:
    """One question's wording and page hints; the marshmallow field it rides on holds the rest."""

    kind: Kind
    label: str
    hint: str | None = None
    #: A shorter label for the summary of answers, where the question reads oddly ("Dose").
    summary_label: str | None = None
    #: False when it may be left blank (the label then says "(optional)").
    mandatory: bool = True
    #: What to say when it is left blank (the document's own message is for API users).
    required: str | None = None
    #: What to say when what was typed is not of the right kind (not a date, not a number).
    invalid: str | None = None
    choices: Choices = ()
    #: For a checklist: an explicit "None of these", so that blank is not an answer.
    none_label: str | None = None
    asked_if: When | None = None
    gate: Gate | None = None
    #: Page hints: a heading above the question, a legend around consecutive questions with
    #: the same group, radios side by side, a box this many characters wide, autocomplete.
    heading: str | None = None
    group: str | None = None
    inline: bool = False
    width: int | None = None
    autocomplete: str | None = None
    #: For a list of items: what one item is called ("Medicine or supplement").
    row_title: str | None = None
    #: Choices that are parts of another (the parts of the face): shown grouped under it.
    parts: tuple[ChoiceParts, ...] = ()
    #: For a date the patient may not know exactly: the section adds "How sure are you of this date?"
    #: right after it, named by ``precision_name`` (``date(..., may_be_approximate=True)``).
    may_be_approximate: bool = False
    #: For that "How sure are you?" question: the date it qualifies (shown with it, not apart).
    precision_of: str | None = None

    @property
    def short_label(self) -> str:
        return self.summary_label or self.label

    @property
    def asked(self) -> bool:
        """False for what the server records (a timestamp): it is shown, never asked."""
        return self.kind != "timestamp"


def question_of(field: fields.Field[Any]) -> Question | None:
    """The question a schema field declares, or None for what the server sets (signed_at)."""
    question = field.metadata.get("question")
    return question if isinstance(question, Question) else None


def questions(schema: type[Schema] | Schema) -> Iterator[tuple[str, Question]]:
    """(name, question) of a section or list-row schema, in the order they are asked."""
    for name, field in schema._declared_fields.items():
        question = question_of(field)
        if question is not None:
            yield name, question


def rows_schema(field: fields.Field[Any]) -> type[Schema] | None:
    """The schema of one item of a list of items (medications.items), or None."""
    if isinstance(field, fields.List) and isinstance(field.inner, fields.Nested):
        nested = field.inner.nested
        return nested if isinstance(nested, type) else type(nested)
    return None


def _blank(value: Any) -> bool:
    return value is None or value == "" or value == []


#: The "How sure are you of this date?" question added after each date that may be approximate.
PRECISION_LABEL = N_("How sure are you of this date?")
PRECISION_WITHOUT_DATE = N_("Enter the date first, or leave “How sure are you of this date?” empty.")


def precision_name(date_name: str) -> str:
    """The name of the "How sure are you?" answer of a date (``stopped_on`` → ``stopped_on_precision``)."""
    return f"{date_name}_precision"


def _precision_field(date_name: str, question: Question) -> fields.Field[Any]:
    """The sibling of a date that may be approximate: optional, blank meaning the exact day (as
    stored intakes, which never had it, always meant), asked when the date is."""
    condition = question.asked_if
    asked_if = None if condition is None else When(condition.answer, condition.values, condition.intro)
    sure = Question("choice", PRECISION_LABEL, hint=N_("Leave this blank if you know the exact day."), mandatory=False,
                    choices=DATE_PRECISION, asked_if=asked_if, precision_of=date_name)
    return _field(fields.String, sure, required=False, blank=None, validate=_one_of(DATE_PRECISION))


class _SectionMeta(SchemaMeta):
    """Adds, right after each date declared ``may_be_approximate``, its "How sure are you?" question:
    one declaration gives both, so the form, JSON Schema, FHIR and summary follow from it."""

    @classmethod
    def get_declared_fields(mcs, klass: Any, cls_fields: list[tuple[str, fields.Field[Any]]],  # noqa: N804
                            inherited_fields: list[tuple[str, fields.Field[Any]]],
                            dict_cls: type[dict[str, Any]] = dict) -> dict[str, fields.Field[Any]]:
        declared: dict[str, fields.Field[Any]] = super().get_declared_fields(klass, cls_fields, inherited_fields,
                                                                            dict_cls)
        found = dict_cls()
        for name, field in declared.items():
            found[name] = field
            question = question_of(field)
            if question is not None and question.may_be_approximate and precision_name(name) not in declared:
                found[precision_name(name)] = _precision_field(name, question)
        return found


class Section(Schema, metaclass=_SectionMeta):
    """One section (or one list item) of the answers document; follow-ups checked from their questions."""

    class Meta:
        unknown = RAISE
        ordered = True

    @validates_schema
    def _follow_ups(self, data: dict[str, Any], **_: Any) -> None:
        errors: dict[str, list[str]] = {}
        for name, question, condition in _follow_ups_of(type(self)):
            parent = data.get(condition.answer)
            if condition.holds(parent):
                if question.mandatory and _blank(data.get(name)):
                    errors[name] = [question.required or ANSWER_THIS]
            elif parent is not None and condition.otherwise and not _blank(data.get(name)):
                errors[name] = [condition.otherwise]
        for name, date_name in _precisions_of(type(self)):
            if data.get(name) is not None and data.get(date_name) is None:
                errors.setdefault(name, [PRECISION_WITHOUT_DATE])
        if errors:
            raise ValidationError(errors)


@functools.cache
def _follow_ups_of(schema: type[Schema]) -> tuple[tuple[str, Question, When], ...]:
    """The questions of a section asked because of another answer of the same section (read once)."""
    return tuple((name, question, question.asked_if) for name, question in questions(schema)
                 if question.asked_if is not None and question.asked_if.section is None)


@functools.cache
def _precisions_of(schema: type[Schema]) -> tuple[tuple[str, str], ...]:
    """(the "How sure are you?" answer, the date it qualifies) of a section (read once)."""
    return tuple((name, question.precision_of) for name, question in questions(schema)
                 if question.precision_of is not None)


# -- the kinds of question ------------------------------------------------------------------
# Each returns the marshmallow field of one question. Without ``optional`` or ``asked_if`` an
# answer is required; a follow-up (``asked_if``) is required when its condition holds.


F = TypeVar("F", bound=fields.Field[Any])


def _field(field_class: type[F], question: Question, *, required: bool, blank: Any, **kwargs: Any) -> F:
    """The field, required or defaulting to ``blank`` (None also accepted when blank is None)."""
    if required:
        return field_class(required=True, metadata={"question": question}, **kwargs)
    if blank is None:
        kwargs["allow_none"] = True
    return field_class(load_default=blank, metadata={"question": question}, **kwargs)


def text(label: str, *, required: str | None = None, optional: bool = False, max_length: int = MAX_TEXT,
         hint: str | None = None, summary_label: str | None = None, asked_if: When | None = None,
         autocomplete: str | None = None, width: int | None = None, long: bool = False,
         kind: Kind | None = None) -> fields.String:
    """Free text on one line (``long``: a box of several lines)."""
    question = Question(kind or ("long_text" if long else "text"), label, hint=hint, summary_label=summary_label,
                        mandatory=not optional, required=required, asked_if=asked_if, autocomplete=autocomplete,
                        width=width)
    must = not optional and asked_if is None
    length = (validate.Length(min=1, max=max_length, error=N_("Use between {min} and {max} characters."))
              if must else validate.Length(max=max_length, error=N_("Use at most {max} characters.")))
    return _field(fields.String, question, required=must, blank="", validate=[length, refuse_control_characters])


def phone_number(label: str, *, summary_label: str | None = None, width: int | None = None) -> fields.String:
    """An optional phone number (a telephone keypad on phones)."""
    return text(label, optional=True, max_length=40, summary_label=summary_label, autocomplete="tel", width=width,
                kind="phone")


def email_address(label: str, *, required: str, invalid: str, hint: str | None = None) -> fields.Email:
    """An email address."""
    question = Question("email", label, hint=hint, required=required, invalid=invalid, autocomplete="email")
    return fields.Email(required=True, validate=validate.Length(max=254), metadata={"question": question})


def date(label: str, *, required: str | None = None, invalid: str | None = None, hint: str | None = None,
         summary_label: str | None = None, asked_if: When | None = None, gate: Gate | None = None,
         autocomplete: str | None = None, optional: bool = False, may_be_approximate: bool = False) -> fields.Date:
    """A date (YYYY-MM-DD). With ``gate``, a yes/no comes first and "no" stores None ("not booked yet").

    ``may_be_approximate``: a date the patient may not know (when they stopped a medicine). The section
    then also asks "How sure are you of this date?" (``NAME_precision``: the exact day, only the month,
    only the year, roughly); the rules read the range it allows (``approximate.date_range``).
    """
    question = Question("date", label, hint=hint, summary_label=summary_label, required=required, invalid=invalid,
                        asked_if=asked_if, gate=gate, autocomplete=autocomplete, mandatory=not optional,
                        may_be_approximate=may_be_approximate)
    if gate is not None:
        return fields.Date(required=True, allow_none=True, metadata={"question": question})
    return _field(fields.Date, question, required=not optional and asked_if is None, blank=None)


def whole_number(label: str, *, minimum: int, maximum: int, out_of_range: str, required: str | None = None,
                 invalid: str | None = None, hint: str | None = None, asked_if: When | None = None,
                 width: int | None = None) -> fields.Integer:
    """A whole number between ``minimum`` and ``maximum``."""
    question = Question("whole_number", label, hint=hint, required=required, invalid=invalid, asked_if=asked_if,
                        width=width)
    return _field(fields.Integer, question, required=asked_if is None, blank=None, strict=True,
                  validate=validate.Range(min=minimum, max=maximum, error=out_of_range))


def yes_no(label: str, *, required: str | None = None, optional: bool = False, hint: str | None = None,
           summary_label: str | None = None, asked_if: When | None = None,
           heading: str | None = None) -> fields.Boolean:
    """Yes or no (true or false in the document)."""
    question = Question("yes_no", label, hint=hint, summary_label=summary_label, mandatory=not optional,
                        required=required, choices=YES_NO, asked_if=asked_if, heading=heading, inline=True)
    return _field(fields.Boolean, question, required=not optional and asked_if is None, blank=None)


def _one_of(choices: Choices) -> validate.OneOf:
    return validate.OneOf(values(choices), labels=[label for _value, label in choices],
                          error=N_("Choose one of the options given."))


def choice(choices: Choices, label: str, *, required: str | None = None, optional: bool = False,
           hint: str | None = None, summary_label: str | None = None, inline: bool = False,
           drop_down: bool = False, asked_if: When | None = None,
           parts: tuple[ChoiceParts, ...] = ()) -> fields.Field[Any]:
    """One of ``choices``: radios, or a drop-down (``drop_down``, for long lists in list rows)."""
    question = Question("select" if drop_down else "choice", label, hint=hint, summary_label=summary_label,
                        mandatory=not optional, required=required, choices=choices, inline=inline,
                        asked_if=asked_if, parts=parts)
    must = not optional and asked_if is None
    if all(isinstance(value, int) for value in values(choices)):
        return _field(fields.Integer, question, required=must, blank=None, validate=_one_of(choices),
                      strict=True)
    return _field(fields.String, question, required=must, blank=None, validate=_one_of(choices))


def checklist(choices: Choices, label: str, *, optional: bool = False, required: str | None = None,
              none_label: str | None = None, min_choices: int = 0, too_few: str | None = None,
              hint: str | None = None, summary_label: str | None = None,
              heading: str | None = None, parts: tuple[ChoiceParts, ...] = ()) -> fields.List[Any]:
    """Any of ``choices``, as tick boxes. With ``none_label``, "None of these" must be ticked to tick none.
    ``parts``: choices that are parts of another, ticked instead of it or with it."""
    question = Question("checklist", label, hint=hint, summary_label=summary_label, mandatory=not optional,
                        required=required, choices=choices, none_label=none_label, heading=heading, parts=parts)
    return _field(fields.List, question, required=not optional, blank=list, cls_or_instance=fields.String(
        validate=_one_of(choices)), validate=validate.Length(min=min_choices, max=len(choices), error=too_few))


def agreement(label: str, *, group: str | None = None) -> fields.Boolean:
    """A statement the patient must tick to agree to."""
    question = Question("agreement", label, group=group)
    return fields.Boolean(required=True, validate=validate.Equal(True, error=N_("You need to agree to this to "
                                                                                "continue.")),
                          metadata={"question": question})


def item_list(row: type[Section], label: str, *, row_title: str, asked_if: When, required: str) -> fields.List[Any]:
    """A list of items, each a small section of its own (the patient's medicines, treatments, events)."""
    question = Question("rows", label, required=required, asked_if=asked_if, row_title=row_title)
    return fields.List(fields.Nested(row), load_default=list, validate=validate.Length(max=MAX_LIST),
                       metadata={"question": question})


def timestamp(label: str) -> fields.AwareDateTime:
    """A moment the server records (not asked): shown in the summary under ``label``."""
    return fields.AwareDateTime(allow_none=True, load_default=None,
                                metadata={"question": Question("timestamp", label, mandatory=False)})
