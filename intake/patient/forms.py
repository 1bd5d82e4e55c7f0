"""The intake form: WTForms section forms generated from the questions of intake.answers.

Nothing here names a question: each section form is built from its marshmallow schema,
whose fields carry their wording (``intake/answers/sections.py``). The kind of a question
picks the field class below (radios, tick boxes, a date, a list of rows…); its label,
hint and messages become the field's.

WTForms only parses what the browser sent (text, dates, numbers, ticks). Whether the
answers are valid is decided by the section's marshmallow schema plus its date and
cross-section checks, the same rules the API uses; their messages are then put back onto
the fields here. Labels and messages are translated lazily, when a page is rendered, in
that patient's language (they are marked for Babel where they are declared).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask_babel import gettext
from flask_babel import lazy_gettext as _
from flask_wtf import FlaskForm
from marshmallow import Schema, ValidationError, validate
from wtforms import Form
from wtforms.fields import (
    BooleanField,
    Field,
    FieldList,
    FormField,
    StringField,
    TextAreaField,
)
from wtforms.validators import ValidationError as FieldError
from wtforms.widgets import CheckboxInput, DateInput, EmailInput, RadioInput, TelInput, TextInput

from .. import answers as doc
from ..answers import N_, Question, When, checkin, question_of, rows_schema

if TYPE_CHECKING:
    # The mixins below are only ever combined with a WTForms field or form: type them as one.
    from wtforms import Field as _FieldBase
    from wtforms import Form as _FormBase
else:
    _FieldBase = _FormBase = object

#: An answer the patient left blank: the key is left out, so the schema decides.
MISSING = object()

#: marshmallow's own wording, replaced by each field's plain-words message.
_GENERIC_MISSING = {"Missing data for required field.", "Field may not be null.", "Answer this question."}
_GENERIC_INVALID = {
    "Not a valid boolean.", "Not a valid date.", "Not a valid integer.", "Not a valid string.",
    "Not a valid email address.", "Not a valid list.", "Invalid input type.", "Invalid value.",
}


class AnswerField(_FieldBase):
    """What every intake field adds to WTForms: how its input becomes an answer, and back.

    ``required_message`` replaces the schema's generic "missing" wording with a message
    that says what to do; ``invalid_message`` does the same for input of the wrong type.
    """

    template_kind = "field"

    def __init__(self, label: Any = None, validators: Any = None, *, required_message: Any = None,
                 invalid_message: Any = None, question: Question | None = None, **kwargs: Any):
        super().__init__(label, validators, **kwargs)
        self.required_message = required_message
        self.invalid_message = invalid_message
        #: The declaration the field was made from (page hints: heading, inline radios, width).
        self.question = question
        self.max_length: int | None = None
        self.autocomplete: str | None = None
        self.inputmode: str | None = None

    def answer(self) -> Any:
        """The value for the answers document, or MISSING."""
        return self.data if self.data not in (None, "") else MISSING

    def fill(self, value: Any) -> None:
        """Show a stored answer in the field."""
        self.data = value

    def is_blank(self) -> bool:
        return self.answer() is MISSING

    def message_for(self, message: str) -> str:
        if message in _GENERIC_MISSING and self.required_message:
            return str(self.required_message)
        if message in _GENERIC_INVALID:
            return str(self.invalid_message or self.required_message or gettext("Check this answer."))
        return gettext(message)

    @property
    def error_target(self) -> str:
        """The id the error summary links to (the first control of a group)."""
        return self.id


class TextField(AnswerField, StringField):
    def __init__(self, *args: Any, autocomplete: str | None = None, input_type: str = "text",
                 **kwargs: Any):
        widgets = {"email": EmailInput(), "tel": TelInput(), "text": TextInput()}
        super().__init__(*args, widget=widgets[input_type], **kwargs)
        self.autocomplete = autocomplete

    def process_formdata(self, valuelist: list[str]) -> None:
        self.data = valuelist[0].strip() if valuelist else None


class LongTextField(AnswerField, TextAreaField):
    template_kind = "textarea"

    def process_formdata(self, valuelist: list[str]) -> None:
        self.data = valuelist[0].strip() if valuelist else None


class DateAnswerField(AnswerField, Field):
    """``<input type=date>``: the browser sends YYYY-MM-DD, or what was typed where unsupported."""

    widget = DateInput()

    def __init__(self, *args: Any, autocomplete: str | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.autocomplete = autocomplete

    def process_formdata(self, valuelist: list[str]) -> None:
        text = valuelist[0].strip() if valuelist else ""
        self.data = None
        if text:
            try:
                self.data = dt.date.fromisoformat(text)
            except ValueError:
                raise ValueError(str(self.invalid_message or _("Enter a real date."))) from None

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return self.data.isoformat() if self.data else ""

    def answer(self) -> Any:
        return self.data.isoformat() if self.data else MISSING

    def fill(self, value: Any) -> None:
        self.data = dt.date.fromisoformat(value) if value else None


class WholeNumberField(AnswerField, Field):
    """A number typed in a text box (``inputmode=numeric``, not the fiddly ``type=number``)."""

    widget = TextInput()

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.inputmode = "numeric"

    def process_formdata(self, valuelist: list[str]) -> None:
        text = valuelist[0].strip() if valuelist else ""
        self.data = None
        if text:
            try:
                self.data = int(text)
            except ValueError:
                raise ValueError(str(self.invalid_message or _("Enter a whole number."))) from None

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else str(self.data)


@dataclass(frozen=True)
class ChoiceItem:
    """One choice as the page shows it: its position (for its id), value and label, and the parts
    shown under it as a group (``parts``, with ``legend`` and ``group_label``), if any."""

    index: int
    value: str
    label: str
    parts: tuple[ChoiceItem, ...] = ()
    legend: str = ""
    group_label: str = ""


def grouped_choices(choices: list[tuple[str, str]], question: Question | None) -> list[ChoiceItem]:
    """The choices in order, each part of another (a part of the face) moved into its whole's group.
    Positions are those in ``choices``, so each control keeps its id."""
    groups = {group.whole: group for group in (question.parts if question else ())}
    parts_of = {part: group.whole for group in groups.values() for part in group.parts}
    indexed = [(index, value, label) for index, (value, label) in enumerate(choices)]
    items: list[ChoiceItem] = []
    for index, value, label in indexed:
        if value in parts_of:
            continue
        group = groups.get(value)
        if group is None:
            items.append(ChoiceItem(index, value, label))
            continue
        parts = tuple(ChoiceItem(i, v, lab) for i, v, lab in indexed if parts_of.get(v) == value)
        items.append(ChoiceItem(index, value, label, parts, group.legend, group.label))
    return items


class ChoiceField(AnswerField, Field):
    """One of a list, as radios. The schema, not WTForms, says which values are allowed.

    ``choices`` are (value, untranslated label) pairs from intake.answers; the templates
    translate the labels when they render them.
    """

    template_kind = "radios"
    option_widget: Any = RadioInput()

    def __init__(self, *args: Any, choices: Any = (), coerce_answer: Any = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.choices = [(str(value), label) for value, label in choices]
        self.coerce_answer = coerce_answer

    def process_formdata(self, valuelist: list[str]) -> None:
        self.data = valuelist[0] if valuelist else None

    def answer(self) -> Any:
        if self.data in (None, ""):
            return MISSING
        if self.coerce_answer:
            try:
                return self.coerce_answer(self.data)
            except ValueError:
                return self.data
        return self.data

    def fill(self, value: Any) -> None:
        self.data = None if value is None else str(value)

    @property
    def error_target(self) -> str:
        return f"{self.id}-0"

    @property
    def grouped(self) -> list[ChoiceItem]:
        """The choices with the parts of another grouped under it (see grouped_choices)."""
        return grouped_choices(self.choices, self.question)


class YesNoField(ChoiceField):
    """Yes or no, as two radios; ``choices`` label True and False (("yes", …), ("no", …) on the page)."""

    def __init__(self, *args: Any, choices: Any = doc.YES_NO, **kwargs: Any):
        super().__init__(*args, choices=[("yes" if value else "no", label) for value, label in choices], **kwargs)

    def answer(self) -> Any:
        value = super().answer()
        return {"yes": True, "no": False}.get(value, value) if isinstance(value, str) else value

    def fill(self, value: Any) -> None:
        self.data = None if value is None else ("yes" if value else "no")


class SelectAnswerField(ChoiceField):
    """One of a list, as a drop-down (in list rows, where radios would be too long)."""

    template_kind = "select"
    option_widget = None

    @property
    def error_target(self) -> str:
        return self.id


class ChecklistField(AnswerField, Field):
    """Several of a list, as checkboxes. With ``none_label``, an explicit "None of these"."""

    template_kind = "checkboxes"
    option_widget = CheckboxInput()

    def __init__(self, *args: Any, choices: Any = (), none_label: str | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.choices = [(str(value), label) for value, label in choices]
        self.none_label = none_label

    def process_formdata(self, valuelist: list[str]) -> None:
        self.data = list(valuelist)

    def pre_validate(self, form: Any) -> None:
        if self.none_label and "none" in (self.data or []) and len(self.data) > 1:
            raise FieldError(str(_("Untick “None of these”, or untick the others.")))

    def answer(self) -> Any:
        ticked = [value for value in self.data or [] if value != "none"]
        if self.none_label and not self.data:
            return MISSING  # the patient has to say "none" out loud
        return ticked

    def fill(self, value: Any) -> None:
        self.data = list(value or [])
        if self.none_label and value == []:
            self.data = ["none"]

    def is_blank(self) -> bool:
        return not self.data

    @property
    def all_choices(self) -> list[tuple[str, str]]:
        extra = [("none", self.none_label)] if self.none_label else []
        return self.choices + extra

    @property
    def grouped(self) -> list[ChoiceItem]:
        """Every choice ("None of these" too) with the parts of another grouped under it."""
        return grouped_choices(self.all_choices, self.question)

    @property
    def error_target(self) -> str:
        return f"{self.id}-0"


class AgreementField(AnswerField, BooleanField):
    """A single "I agree" tick box; unticked is an answer (False), which the schema refuses."""

    template_kind = "agreement"

    def answer(self) -> Any:
        return bool(self.data)

    def is_blank(self) -> bool:
        return not self.data


class RowsField(AnswerField, FieldList):
    """A repeatable list (medicines, treatments, events) that works without JavaScript.

    Rows left completely empty are ignored; ``row_numbers`` maps each answered item back
    to the row it came from, so per-item errors land on the right row.
    """

    template_kind = "rows"

    def __init__(self, row_form: type[Form], label: Any = None, **kwargs: Any):
        # FieldList's signature, not AnswerField's: the row form comes first.
        question = kwargs.pop("question", None)
        FieldList.__init__(self, FormField(row_form), label, min_entries=1, max_entries=doc.MAX_LIST,
                           **kwargs)
        self.required_message = self.invalid_message = None
        self.question = question
        self.max_length = self.autocomplete = self.inputmode = None
        self.row_numbers: list[int] = []
        self.list_errors: list[str] = []

    @property
    def can_add(self) -> bool:
        return len(self.entries) < doc.MAX_LIST

    def answer(self) -> Any:
        items, self.row_numbers = [], []
        for number, entry in enumerate(self.entries):
            if not entry.form.is_blank():
                items.append(entry.form.answer_input())
                self.row_numbers.append(number)
        return items

    def fill(self, value: Any) -> None:
        self.entries: list[Any] = []
        self.last_index = -1
        for item in value or []:
            self.append_entry().form.fill(item)
        if not self.entries:
            self.append_entry()

    def is_blank(self) -> bool:
        return all(entry.form.is_blank() for entry in self.entries)

    @property
    def error_target(self) -> str:
        return self.entries[0].form.first_field.error_target if self.entries else self.id


class AnswerForm(_FormBase):
    """Shared by section forms and row forms: input → answers, answers → fields, errors back."""

    #: The marshmallow schema these fields feed.
    schema: type[Schema]
    #: follow-up field → the condition that asks it (an answer of the same form)
    follow_ups: dict[str, When] = {}
    #: question that may be "not yet" → the yes/no asked before it (about.appointment_date → appointment_booked)
    gates: dict[str, str] = {}

    def answer_fields(self) -> list[AnswerField]:
        return [field for field in self if isinstance(field, AnswerField)]

    @property
    def first_field(self) -> AnswerField:
        return self.answer_fields()[0]

    @property
    def has_rows(self) -> bool:
        return any(isinstance(field, RowsField) for field in self)

    def applies(self, name: str) -> bool:
        """Whether a follow-up question is relevant to the answer given to its parent."""
        condition = self.follow_ups.get(name)
        if condition is None:
            return True
        if condition.answer not in self:
            return False
        given = self[condition.answer].answer()
        # A follow-up of a follow-up (the last dose of a medicine taken only when needed) goes with its parent.
        return given is not MISSING and condition.holds(given) and self.applies(condition.answer)

    def answer_input(self) -> dict[str, Any]:
        """What the patient gave, as schema input. Fields that did not parse are left out.

        A follow-up its parent's answer hides is left out too (what was typed there no
        longer applies), except a list of rows: those are never dropped unseen; the
        schema asks the patient to remove them or change the answer.
        """
        data = {}
        for field in self.answer_fields():
            short = field.short_name
            if short not in self.schema._declared_fields:
                continue
            if not isinstance(field, RowsField) and not self.applies(short):
                continue
            if field.errors and not isinstance(field, RowsField):
                continue
            value = field.answer()
            if value is not MISSING:
                data[short] = value
        for name, gate in self.gates.items():
            if gate in self and self[gate].answer() is False:
                data[name] = None  # "not yet" is an answer: the document holds None
        return data

    def fill(self, stored: Mapping[str, Any]) -> None:
        """Show saved answers (the JSON form of the answers document) in the fields."""
        for field in self.answer_fields():
            if field.short_name in stored:
                field.fill(stored[field.short_name])
        for name, gate in self.gates.items():
            if name in stored and gate in self:
                self[gate].fill(stored[name] is not None)

    def is_blank(self) -> bool:
        return all(field.is_blank() for field in self.answer_fields())

    def add_errors(self, errors: Mapping[str, Any]) -> None:
        """Put the schema's messages onto the fields (the first message a field gets wins)."""
        for name, gate in self.gates.items():
            # A missing "not yet" answer means the yes/no before it was skipped.
            if name in errors and gate in self and self[gate].data is None:
                errors = {**errors, gate: errors[name]}
                errors.pop(name)
        for name, messages in errors.items():
            field = self[name] if name in self else None
            if field is None:
                self.form_errors.extend(gettext(m) for m in _flatten(messages))
            elif isinstance(field, RowsField) and isinstance(messages, Mapping):
                for item, item_errors in messages.items():
                    number = field.row_numbers[int(item)] if int(item) < len(field.row_numbers) else 0
                    field.entries[number].form.add_errors(item_errors)
            elif isinstance(field, RowsField):
                if not field.list_errors:
                    field.list_errors = [field.message_for(m) for m in _flatten(messages)][:1]
            elif not field.errors:
                field.errors = [field.message_for(m) for m in _flatten(messages)][:1]

    def problems(self) -> list[tuple[str, str]]:
        """("#id" of the control to link to, message) for the error summary, in page order."""
        found = [("", message) for message in self.form_errors]
        for field in self.answer_fields():
            if isinstance(field, RowsField):
                found += [(f"#{field.error_target}", message) for message in field.list_errors]
                for entry in field.entries:
                    found += entry.form.problems()
            else:
                found += [(f"#{field.error_target}", message) for message in field.errors]
        return found

    def layout(self) -> list[Block | Group]:
        """The questions as the page shows them: each follow-up right under its question,
        grouped by the answer that reveals it (in the order of that question's choices);
        consecutive questions of one group under a legend."""
        children: dict[str, list[AnswerField]] = {}
        top = []
        for field in self.answer_fields():
            condition = self.follow_ups.get(field.short_name)
            if condition is not None and condition.answer in self:
                children.setdefault(condition.answer, []).append(field)
            else:
                top.append(field)

        def block(field: AnswerField) -> Block:
            reveals: dict[Any, Reveal] = {}
            for child in children.get(field.short_name, []):
                condition = self.follow_ups[child.short_name]
                for value in condition.values:
                    reveal = reveals.setdefault(value, Reveal(field, _form_value(value), condition.intro))
                    reveal.blocks.append(block(child))
            choices = [value for value, _label in (field.question.choices if field.question else ())]
            ordered = sorted(reveals.items(), key=lambda item: choices.index(item[0]) if item[0] in choices else 0)
            return Block(field, [reveal for _value, reveal in ordered])

        laid: list[Block | Group] = []
        for field in top:
            legend = field.question.group if field.question else None
            if legend and laid and isinstance(laid[-1], Group) and laid[-1].legend == legend:
                laid[-1].blocks.append(block(field))
            elif legend:
                laid.append(Group(legend, [block(field)]))
            else:
                laid.append(block(field))
        return laid


@dataclass
class Reveal:
    """Follow-ups shown when ``parent`` has ``value`` (visible without JavaScript, after ``intro``)."""

    parent: AnswerField
    value: str
    intro: str
    blocks: list[Block] = dataclasses.field(default_factory=list)


@dataclass
class Block:
    """One question on the page, with the follow-ups its answers reveal."""

    field: AnswerField
    reveals: list[Reveal]

    @property
    def question(self) -> Question | None:
        return self.field.question


@dataclass
class Group:
    """Consecutive questions under one legend ("Your agreement")."""

    legend: str
    blocks: list[Block]


def _form_value(value: Any) -> str:
    """An answer as the form posts it (True → "yes")."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _flatten(messages: Any) -> list[str]:
    if isinstance(messages, Mapping):
        return [m for value in messages.values() for m in _flatten(value)]
    if isinstance(messages, list | tuple):
        return [m for value in messages for m in _flatten(value)]
    return [str(messages)]


def _merge(into: dict[str, Any], more: Mapping[str, Any]) -> None:
    for key, value in more.items():
        if key not in into:
            into[key] = value
        elif isinstance(into[key], dict) and isinstance(value, Mapping):
            _merge(into[key], value)


class RowForm(AnswerForm, Form):
    """One row of a repeatable list."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.form_errors: list[str] = []
        _set_max_lengths(self)


class SectionForm(AnswerForm, FlaskForm):
    """One page of the intake. CSRF is checked for every POST by CSRFProtect, app-wide."""

    class Meta:
        csrf = False

    section: str
    #: question → the condition on an earlier section that asks it (pregnancy, by sex)
    asked_because: dict[str, When] = {}

    def __init__(self, *args: Any, answers_so_far: Mapping[str, Any] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.form_errors: list[str] = []
        # Questions an earlier answer makes irrelevant are not asked, nor their follow-ups.
        for name, condition in self.asked_because.items():
            if not condition.holds(condition.read(answers_so_far or {})):
                self._drop(name)
        _set_max_lengths(self)

    def _drop(self, name: str) -> None:
        if name in self:
            del self[name]
        for child, condition in self.follow_ups.items():
            if condition.answer == name:
                self._drop(child)

    def check(self, today: dt.date, answers_so_far: Mapping[str, Any]) -> dict[str, Any] | None:
        """The loaded section when every rule passes; otherwise None, with messages on the fields."""
        self.validate()
        data = self.answer_input()
        try:
            loaded = self.schema().load(data)
            errors: dict[str, Any] = {}
        except ValidationError as invalid:
            loaded = invalid.valid_data or {}
            errors = dict(invalid.normalized_messages())
        context = {key: value for key, value in answers_so_far.items() if key != self.section}
        # With the appointment already given: a last dose or drink is checked against it.
        booked = {"about": {"appointment_date": (context.get("about") or {}).get("appointment_date")}}
        _merge(errors, doc.date_errors({**booked, self.section: loaded}, today).get(self.section, {}))
        _merge(errors, doc.cross_section_errors({**context, self.section: loaded}).get(self.section, {}))
        self.add_errors(errors)
        return None if self.problems() else loaded


def _set_max_lengths(form: AnswerForm) -> None:
    # The browser stops overlong text before the schema has to.
    for field in form.answer_fields():
        schema_field = form.schema._declared_fields.get(field.short_name)
        for validator in getattr(schema_field, "validators", []):
            if isinstance(validator, validate.Length) and isinstance(field, TextField | LongTextField):
                field.max_length = validator.max


# -- the forms, generated from the declaration ----------------------------------------------

#: The first option of a drop-down, so that nothing is chosen until the patient chooses.
_CHOOSE = (("", N_("Choose…")),)
_TEXT_INPUTS = {"text": "text", "email": "email", "phone": "tel"}


def _translated(text: str | None) -> Any:
    return _(text) if text else None


def _field(question: Question, schema_field: Any) -> Any:
    """The unbound WTForms field of one declared question."""
    common: dict[str, Any] = {
        "label": _(question.label),
        "description": _translated(question.hint) or "",
        "required_message": _translated(question.required),
        "invalid_message": _translated(question.invalid),
        "question": question,
    }
    kind = question.kind
    if kind in _TEXT_INPUTS:
        return TextField(autocomplete=question.autocomplete, input_type=_TEXT_INPUTS[kind], **common)
    if kind == "long_text":
        return LongTextField(**common)
    if kind == "date":
        return DateAnswerField(autocomplete=question.autocomplete, **common)
    if kind == "whole_number":
        return WholeNumberField(**common)
    if kind == "yes_no":
        return YesNoField(choices=question.choices, **common)
    if kind == "choice":
        numbers = all(isinstance(value, int) for value, _label in question.choices)
        return ChoiceField(choices=question.choices, coerce_answer=int if numbers else None, **common)
    if kind == "select":
        return SelectAnswerField(choices=_CHOOSE + question.choices, **common)
    if kind == "checklist":
        return ChecklistField(choices=question.choices, none_label=question.none_label, **common)
    if kind == "agreement":
        return AgreementField(**common)
    if kind == "rows":
        row = rows_schema(schema_field)
        assert row is not None  # nosec B101 # a "rows" question is always a list of nested items
        return RowsField(_form_class(row, RowForm), label=common["label"], question=question)
    raise TypeError(f"no form field for a {kind!r} question")  # pragma: no cover - a new kind is taught here


def _gate_question(question: Question) -> Question:
    """The yes/no asked before a question that may be "not yet", as a question of its own."""
    assert question.gate is not None  # nosec B101 # called only for gated questions
    gate = question.gate
    return Question("yes_no", gate.label, required=gate.required, choices=((True, N_("Yes")), (False, gate.no)),
                    inline=True)


@functools.cache
def _form_class(schema: type[Schema], base: type[AnswerForm], section: str = "") -> type[AnswerForm]:
    """The form of one section (or one list row), a field per declared question, in order."""
    attributes: dict[str, Any] = {"schema": schema, "section": section, "follow_ups": {}, "gates": {},
                                  "asked_because": {}}
    for name, schema_field in schema._declared_fields.items():
        question = question_of(schema_field)
        if question is None or not question.asked:
            continue
        if question.gate is not None:
            attributes[question.gate.name] = _field(_gate_question(question), None)
            attributes["gates"][name] = question.gate.name
            attributes["follow_ups"][name] = When(question.gate.name, (True,))
        attributes[name] = _field(question, schema_field)
        condition = question.asked_if
        if condition is not None and condition.section is None:
            attributes["follow_ups"][name] = condition
        elif condition is not None:
            attributes["asked_because"][name] = condition
    return type(f"{schema.__name__.removesuffix('Schema')}Form", (base,), attributes)


FORMS: dict[str, type[SectionForm]] = {
    section: _form_class(schema, SectionForm, section)
    for section, schema in doc.SECTIONS.items()
}


def section_form(section: str, answers_so_far: Mapping[str, Any], **kwargs: Any) -> SectionForm:
    """The form of ``section``, shaped by earlier answers (no pregnancy questions for male patients)."""
    return FORMS[section](answers_so_far=answers_so_far, **kwargs)


class CheckInForm(SectionForm):
    """The appointment-day check-in: the time-sensitive questions, one page (answers.checkin)."""

    def check(self, today: dt.date, answers_so_far: Mapping[str, Any]) -> dict[str, Any] | None:
        """The check-in's answers when they pass; otherwise None, with messages on the fields."""
        self.validate()
        try:
            loaded = self.schema().load(self.answer_input())
            errors: dict[str, Any] = {}
        except ValidationError as invalid:
            loaded = invalid.valid_data or {}
            errors = dict(invalid.normalized_messages())
        _merge(errors, checkin.check_in_errors(loaded, today))
        self.add_errors(errors)
        return None if self.problems() else loaded


CHECK_IN_FORM = _form_class(checkin.CheckInSchema, CheckInForm, "check_in")


def check_in_form(answers_so_far: Mapping[str, Any], **kwargs: Any) -> CheckInForm:
    """The check-in form, shaped by the intake's answers (no pregnancy question for male patients)."""
    form = CHECK_IN_FORM(answers_so_far=answers_so_far, **kwargs)
    assert isinstance(form, CheckInForm)  # nosec B101 # narrows the type for the checker
    return form
