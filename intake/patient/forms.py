"""The intake form: one WTForms class per section of the answers document.

WTForms only parses what the browser sent (text, dates, numbers, ticks). Whether the
answers are valid is decided by the section's marshmallow schema in intake.answers plus
its date and cross-section checks, the same rules the API uses; their messages are then
put back onto the fields here.

Labels and messages are lazy (``lazy_gettext``, imported as ``_`` so Babel extracts
them): they are translated when a page is rendered, in that patient's language.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from flask_babel import gettext
from flask_babel import lazy_gettext as _
from flask_wtf import FlaskForm
from marshmallow import ValidationError, validate
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
from ..answers import N_

#: An answer the patient left blank: the key is left out, so the schema decides.
MISSING = object()

YES_NO = (("yes", N_("Yes")), ("no", N_("No")))

#: marshmallow's own wording, replaced by each field's plain-words message.
_GENERIC_MISSING = {"Missing data for required field.", "Field may not be null.", "Answer this question."}
_GENERIC_INVALID = {
    "Not a valid boolean.", "Not a valid date.", "Not a valid integer.", "Not a valid string.",
    "Not a valid email address.", "Not a valid list.", "Invalid input type.", "Invalid value.",
}


class AnswerField:
    """What every intake field adds to WTForms: how its input becomes an answer, and back.

    ``required_message`` replaces the schema's generic "missing" wording with a message
    that says what to do; ``invalid_message`` does the same for input of the wrong type.
    """

    template_kind = "field"

    def __init__(self, label: Any = None, validators: Any = None, *, required_message: Any = None,
                 invalid_message: Any = None, summary_label: Any = None, **kwargs: Any):
        super().__init__(label, validators, **kwargs)
        self.required_message = required_message
        self.invalid_message = invalid_message
        #: A shorter label for the summary of answers, where the question reads oddly.
        self.summary_label = summary_label
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


class YesNoField(ChoiceField):
    def __init__(self, *args: Any, choices: Any = YES_NO, **kwargs: Any):
        super().__init__(*args, choices=choices, **kwargs)

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
        FieldList.__init__(self, FormField(row_form), label, min_entries=1, max_entries=doc.MAX_LIST,
                           **kwargs)
        self.required_message = self.invalid_message = self.summary_label = None
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
        self.entries, self.last_index = [], -1
        for item in value or []:
            self.append_entry().form.fill(item)
        if not self.entries:
            self.append_entry()

    def is_blank(self) -> bool:
        return all(entry.form.is_blank() for entry in self.entries)

    @property
    def error_target(self) -> str:
        return self.entries[0].form.first_field.error_target if self.entries else self.id


class AnswerForm:
    """Shared by section forms and row forms: input → answers, answers → fields, errors back."""

    #: The marshmallow schema these fields feed.
    schema: type
    #: follow-up field → (question it depends on, answer that makes it relevant)
    follow_ups: dict[str, tuple[str, str]] = {}

    def answer_fields(self) -> list[AnswerField]:
        return [field for field in self if isinstance(field, AnswerField)]

    @property
    def first_field(self) -> AnswerField:
        return self.answer_fields()[0]

    def applies(self, name: str) -> bool:
        """Whether a follow-up question is relevant to the answer given to its parent."""
        if name not in self.follow_ups:
            return True
        parent, value = self.follow_ups[name]
        if parent not in self:
            return False
        given = self[parent].data
        return value in given if isinstance(given, list) else given == value

    def answer_input(self) -> dict[str, Any]:
        """What the patient gave, as schema input. Fields that did not parse are left out."""
        data = {}
        for field in self.answer_fields():
            short = field.short_name
            if short not in self.schema._declared_fields or not self.applies(short):
                continue
            if field.errors and not isinstance(field, RowsField):
                continue
            value = field.answer()
            if value is not MISSING:
                data[short] = value
        return data

    def fill(self, stored: Mapping[str, Any]) -> None:
        """Show saved answers (the JSON form of the answers document) in the fields."""
        for field in self.answer_fields():
            if field.short_name in stored:
                field.fill(stored[field.short_name])

    def is_blank(self) -> bool:
        return all(field.is_blank() for field in self.answer_fields())

    def add_errors(self, errors: Mapping[str, Any]) -> None:
        """Put the schema's messages onto the fields (the first message a field gets wins)."""
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

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.form_errors: list[str] = []
        _set_max_lengths(self)

    @property
    def schema(self) -> type:  # type: ignore[override]
        return doc.SECTIONS[self.section]

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
        _merge(errors, doc.date_errors({self.section: loaded}, today).get(self.section, {}))
        context = {key: value for key, value in answers_so_far.items() if key != self.section}
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


# -- the sections -------------------------------------------------------------------------


class AboutForm(SectionForm):
    section = "about"
    follow_ups = {"appointment_date": ("appointment_booked", "yes")}

    full_name = TextField(_("Full name"), autocomplete="name",
                          required_message=_("Enter your full name."))
    date_of_birth = DateAnswerField(_("Date of birth"), autocomplete="bday",
                                    required_message=_("Enter your date of birth."),
                                    invalid_message=_("Enter your date of birth as a real date."))
    sex = ChoiceField(
        _("Sex recorded at birth"), choices=doc.SEX,
        description=_("Some advice depends on it, for example safe drinking levels "
                       "and some hair-loss treatments."),
        required_message=_("Select your sex recorded at birth."),
    )
    email = TextField(_("Email address"), autocomplete="email", input_type="email",
                      description=_("The clinic uses it only about your appointment."),
                      required_message=_("Enter your email address."),
                      invalid_message=_("Enter an email address like name@example.com."))
    phone = TextField(_("Phone number (optional)"), autocomplete="tel", input_type="tel",
                      summary_label=_("Phone number"))
    appointment_booked = YesNoField(
        _("Have you booked your appointment?"),
        choices=(("yes", N_("Yes")), ("no", N_("Not booked yet"))),
        required_message=_("Say whether you have booked your appointment."),
    )
    appointment_date = DateAnswerField(_("Date of your appointment"),
                                       required_message=_("Enter the date of your appointment."))

    def answer_input(self) -> dict[str, Any]:
        data = super().answer_input()
        if self.appointment_booked.data == "no":
            data["appointment_date"] = None
        return data

    def add_errors(self, errors: Mapping[str, Any]) -> None:
        # "appointment date missing" means the yes/no question itself was skipped.
        if "appointment_date" in errors and self.appointment_booked.data is None:
            errors = {**errors, "appointment_booked": errors["appointment_date"]}
            errors.pop("appointment_date")
        super().add_errors(errors)

    def fill(self, stored: Mapping[str, Any]) -> None:
        super().fill(stored)
        if "appointment_date" in stored:
            self.appointment_booked.data = "no" if stored["appointment_date"] is None else "yes"


class GoalsForm(SectionForm):
    section = "goals"

    goals = ChecklistField(_("What would you like to improve?"), choices=doc.GOALS,
                           description=_("Tick all that apply."))
    other_goal = TextField(_("Anything else you would like to improve? (optional)"),
                           description=_("In your own words."), summary_label=_("Anything else"))
    areas = ChecklistField(_("Which areas would you like treated?"), choices=doc.AREAS,
                           description=_("Tick all that apply."))


class SkinForm(SectionForm):
    section = "skin"

    concerns = ChecklistField(_("Do you have any of these skin concerns? (optional)"),
                              choices=doc.SKIN_CONCERNS, description=_("Tick all that apply."),
                              summary_label=_("Skin concerns"))
    fitzpatrick_type = ChoiceField(
        _("Which best describes your skin in the sun?"), choices=doc.FITZPATRICK_TYPES,
        coerce_answer=int,
        description=_("This is your skin type (the Fitzpatrick scale). It helps the practitioner "
                       "choose what suits your skin."),
        required_message=_("Select the description closest to your skin."),
    )
    sensitive_skin = YesNoField(_("Is your skin sensitive or easily irritated?"),
                                required_message=_("Select yes if your skin is sensitive."))
    active_infection_at_area = YesNoField(
        _("Do you have spots, an infection, a rash or a wound where you want treatment?"),
        description=_("Now, or in the last few days."),
        required_message=_("Select yes if you have spots, an infection, a rash or a wound there."),
    )
    active_cold_sore = YesNoField(_("Do you have a cold sore now, or feel one starting?"),
                                  required_message=_("Select yes if you have a cold sore now."))
    cold_sore_history = YesNoField(_("Have you ever had cold sores?"),
                                   required_message=_("Select yes if you have ever had cold sores."))
    keloid_scarring = YesNoField(
        _("Do you get raised or thick scars (keloid scars)?"),
        description=_("Scars that grow bigger than the wound that caused them."),
        required_message=_("Select yes if you get raised or thick scars."),
    )


#: Health questions asked only when the pregnancy questions apply.
PREGNANCY_FIELDS = (*doc.PREGNANCY_QUESTIONS, "pregnancy_weeks", "delivery_date", "hormonal_contraception")


class HealthForm(SectionForm):
    section = "health"
    follow_ups = {
        "pregnancy_weeks": ("pregnant", "yes"),
        "delivery_date": ("recently_gave_birth", "yes"),
        "other_condition": ("conditions", "other"),
        "diabetes_controlled": ("conditions", "diabetes"),
        "uses_insulin": ("conditions", "diabetes"),
    }

    pregnant = YesNoField(_("Are you pregnant?"), required_message=_("Select yes if you are pregnant."))
    pregnancy_weeks = WholeNumberField(
        _("How many weeks pregnant are you?"), description=_("An estimate is fine."),
        required_message=_("Say how many weeks pregnant you are."),
        invalid_message=_("Enter the number of weeks as a whole number, like 12."),
    )
    trying_to_conceive = YesNoField(_("Are you trying to get pregnant?"),
                                    required_message=_("Select yes if you are trying to get pregnant."))
    breastfeeding = YesNoField(_("Are you breastfeeding?"),
                               required_message=_("Select yes if you are breastfeeding."))
    recently_gave_birth = YesNoField(_("Have you given birth in the last 12 months?"),
                                     required_message=_("Select yes if you have given birth in the "
                                                         "last 12 months."))
    delivery_date = DateAnswerField(_("Date you gave birth"),
                                    required_message=_("Enter the date you gave birth."))
    hormonal_contraception = YesNoField(
        _("Do you use hormonal contraception or hormone therapy? (optional)"),
        description=_("For example the pill, an implant, an injection, a hormonal coil or HRT."),
        summary_label=_("Hormonal contraception or hormone therapy"),
    )
    conditions = ChecklistField(
        _("Do you have, or have you had, any of these?"), choices=doc.CONDITIONS,
        none_label=N_("None of these"), description=_("Tick all that apply."),
        required_message=_("Tick the conditions that apply to you, or “None of these”."),
        summary_label=_("Medical conditions"),
    )
    other_condition = TextField(_("What is the other condition?"),
                                required_message=_("Describe the other condition."))
    diabetes_controlled = YesNoField(
        _("Is your diabetes well controlled?"),
        description=_("For example, your doctor or nurse is happy with your recent blood sugar results."),
        required_message=_("Answer this question about your diabetes."),
    )
    uses_insulin = YesNoField(_("Do you use insulin?"),
                              required_message=_("Answer this question about your diabetes."))
    recent_illness = YesNoField(_("Have you been unwell or had a fever in the last 2 weeks?"),
                                required_message=_("Select yes if you have been unwell or had a fever."))
    recent_antibiotics = YesNoField(_("Have you taken antibiotics in the last 2 weeks?"),
                                    required_message=_("Select yes if you have taken antibiotics."))

    def __init__(self, *args: Any, sex: str | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if not doc.asks_pregnancy_questions(sex):
            for name in PREGNANCY_FIELDS:
                del self[name]

    @property
    def asks_pregnancy(self) -> bool:
        return "pregnant" in self


class MedicationRow(RowForm):
    schema = doc.MedicationSchema
    follow_ups = {"stopped_on": ("status", "stopped")}

    name = TextField(_("Name of the medicine or supplement"),
                     description=_("As written on the packet, for example Eliquis or fish oil."),
                     required_message=_("Enter the name of the medicine or supplement."))
    dose = TextField(_("Dose (optional)"), description=_("For example 5 mg twice a day."),
                     summary_label=_("Dose"))
    status = ChoiceField(_("Are you still taking it?"), choices=doc.MEDICATION_STATUS,
                         required_message=_("Say whether you are still taking it."),
                         summary_label=_("Status"))
    stopped_on = DateAnswerField(_("Date you stopped"), summary_label=_("Stopped on"))
    prescribed = YesNoField(_("Was it prescribed by a doctor?"),
                            required_message=_("Select yes if a doctor prescribed it."),
                            summary_label=_("Prescribed"))


class MedicationsForm(SectionForm):
    section = "medications"

    has_medications = YesNoField(
        _("Do you take any medicines or supplements, or have you stopped any in the last 6 months?"),
        description=_("Include medicines from your doctor, painkillers you buy yourself, creams you put "
                       "on your skin, vitamins and herbal supplements."),
        required_message=_("Select yes if you take any medicines or supplements."),
    )
    items = RowsField(MedicationRow, _("Your medicines and supplements"))


class AllergiesForm(SectionForm):
    section = "allergies"
    follow_ups = {"injection_reaction_details": ("injection_reaction", "yes")}

    local_anaesthetic_allergy = YesNoField(
        _("Have you ever had an allergic reaction to a local anaesthetic?"),
        description=_("For example lidocaine, a numbing cream such as EMLA, or a dental injection."),
        required_message=_("Select yes if you have reacted to a local anaesthetic."),
    )
    anaphylaxis_history = YesNoField(
        _("Have you ever had a severe allergic reaction (anaphylaxis)?"),
        description=_("For example swelling of the throat, difficulty breathing, or needing an "
                       "adrenaline pen."),
        required_message=_("Select yes if you have ever had a severe allergic reaction."),
    )
    injection_reaction = YesNoField(
        _("Have you reacted badly to an injection or a skincare product before?"),
        required_message=_("Select yes if you have reacted badly to an injection or skincare."),
    )
    injection_reaction_details = LongTextField(_("What happened?"),
                                               required_message=_("Describe the reaction you had."))
    active_allergies = ChecklistField(_("Are you allergic to any of these? (optional)"),
                                      choices=doc.ACTIVE_ALLERGIES,
                                      description=_("Tick all that apply. Leave blank if none."),
                                      summary_label=_("Allergic to"))
    other_allergies = LongTextField(_("Any other allergies? (optional)"),
                                    description=_("For example foods, plasters, latex or medicines."),
                                    summary_label=_("Other allergies"))


class LifestyleForm(SectionForm):
    section = "lifestyle"

    alcohol_drinks_per_week = WholeNumberField(
        _("How many alcoholic drinks do you have in a typical week?"),
        description=_("One drink is a small glass of wine, half a pint of beer or a single measure of "
                       "spirits. Enter 0 if you do not drink."),
        required_message=_("Enter how many drinks you have in a typical week."),
        invalid_message=_("Enter a whole number of drinks, like 0 or 6."),
    )
    smoking = ChoiceField(_("Do you smoke or vape?"), choices=doc.SMOKING,
                          required_message=_("Say whether you smoke or vape."))
    recent_tanning = YesNoField(
        _("In the last 2 weeks, have you been sunburnt, used a sunbed or spent long in strong sun "
           "without protection?"),
        required_message=_("Select yes if you have been sunburnt, used a sunbed or been in strong sun."),
    )


_CHOOSE = (("", N_("Choose…")),)


class TreatmentRow(RowForm):
    schema = doc.TreatmentSchema

    kind = SelectAnswerField(_("Treatment"), choices=_CHOOSE + doc.TREATMENT_KINDS,
                             required_message=_("Choose the treatment."))
    on = DateAnswerField(_("Date of the treatment"),
                         required_message=_("Enter the date of the treatment."),
                         description=_("If you are not sure of the day, choose the first of the month."),
                         summary_label=_("Date"))
    area = SelectAnswerField(_("Area treated (optional)"), choices=_CHOOSE + doc.TREATMENT_AREAS,
                             summary_label=_("Area"))


class TreatmentsForm(SectionForm):
    section = "treatments"

    had_mesotherapy_before = YesNoField(_("Have you had mesotherapy before?"),
                                        required_message=_("Select yes if you have had mesotherapy "
                                                            "before."))
    has_recent_treatments = YesNoField(
        _("Have you had any cosmetic or dental treatment in the last 6 months?"),
        description=_("For example fillers, anti-wrinkle injections, laser, a peel, microneedling or "
                       "dental work."),
        required_message=_("Select yes if you have had any treatment in the last 6 months."),
    )
    items = RowsField(TreatmentRow, _("Your recent treatments"))


class EventRow(RowForm):
    schema = doc.EventSchema

    kind = SelectAnswerField(_("Event"), choices=_CHOOSE + doc.EVENT_KINDS,
                             required_message=_("Choose the kind of event."))
    on = DateAnswerField(_("Date of the event"), required_message=_("Enter the date of the event."),
                         summary_label=_("Date"))
    description = TextField(_("Details (optional)"), description=_("For example “my sister’s wedding”."),
                            summary_label=_("Details"))


class EventsForm(SectionForm):
    section = "events"

    has_upcoming_events = YesNoField(
        _("Do you have an important event coming up, such as a wedding, a holiday or photos?"),
        description=_("Redness and bruising can take a week or more to fade, so the clinic plans around "
                       "it."),
        required_message=_("Select yes if you have an event coming up."),
    )
    items = RowsField(EventRow, _("Your upcoming events"))


class ConsentForm(SectionForm):
    section = "consent"

    understands_procedure = AgreementField(_("I have read what mesotherapy involves."))
    accepts_after_effects = AgreementField(
        _("I understand the usual after-effects (redness, swelling and bruising for a few days) "
           "and the rare risks.")
    )
    answers_accurate = AgreementField(
        _("My answers are accurate and complete, as far as I know. I will tell the clinic if anything "
           "changes before my appointment.")
    )
    data_processing = AgreementField(
        _("I agree that the clinic may store and use my health information to decide whether the "
           "treatment is suitable for me.")
    )
    signature = TextField(
        _("Type your full name to sign"), autocomplete="name",
        description=_("Exactly as you gave it in “About you”. We record the date and time you sign."),
        required_message=_("Type your full name to sign."),
    )


FORMS: dict[str, type[SectionForm]] = {
    form.section: form
    for form in (AboutForm, GoalsForm, SkinForm, HealthForm, MedicationsForm, AllergiesForm,
                 LifestyleForm, TreatmentsForm, EventsForm, ConsentForm)
}
assert list(FORMS) == list(doc.SECTIONS), "one form per section, in order"  # nosec B101 # import-time self-check


def section_form(section: str, answers_so_far: Mapping[str, Any], **kwargs: Any) -> SectionForm:
    """The form of ``section``, shaped by earlier answers (no pregnancy questions for male patients)."""
    form_class = FORMS[section]
    if form_class is HealthForm:
        kwargs["sex"] = (answers_so_far.get("about") or {}).get("sex")
    return form_class(**kwargs)
