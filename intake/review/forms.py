"""Forms of the review pages: the queue's filters, flag reviews, the plan edit and the decision."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    EmailField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Email, InputRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget, TextInput

from .. import answers
from ..models import Outcome, ReviewStatus
from ..web.languages import offered, staff_language_name
from .queries import SEVERITIES, SORTS, STATUSES

STATUS_LABELS = {
    ReviewStatus.AWAITING_REVIEW: _l("Awaiting review"),
    ReviewStatus.INVITED: _l("Invited, not started"),
    ReviewStatus.DRAFT: _l("Started, not submitted"),
    ReviewStatus.MORE_INFORMATION_NEEDED: _l("More information needed"),
    ReviewStatus.DEFERRED: _l("Deferred"),
    ReviewStatus.APPROVED: _l("Approved"),
    ReviewStatus.APPROVED_WITH_PRECAUTIONS: _l("Approved with precautions"),
    ReviewStatus.NOT_SUITABLE: _l("Not suitable"),
}
SEVERITY_LABELS = {
    "contraindicated": _l("Contraindicated"),
    "defer": _l("Defer"),
    "precaution": _l("Precaution"),
    "suitable": _l("Suitable"),
    "info": _l("Information"),
}
SORT_LABELS = {
    "severity": _l("Highest severity, then soonest appointment"),
    "appointment": _l("Soonest appointment"),
    "submitted": _l("Oldest submission"),
}
OUTCOME_LABELS = {
    Outcome.APPROVED: _l("Approved"),
    Outcome.APPROVED_WITH_PRECAUTIONS: _l("Approved with precautions"),
    Outcome.MORE_INFORMATION_NEEDED: _l("More information needed (ask the patient a question)"),
    Outcome.DEFERRED: _l("Deferred until a date"),
    Outcome.NOT_SUITABLE: _l("Not suitable"),
}
NOTIFICATION_LABELS = {
    "invitation": _l("Invitation with the private link"),
    "new_link": _l("New private link"),
    "more_information": _l("Question for the patient (link to answer)"),
    "decision": _l("Decision (link to their status page)"),
}
NOTIFICATION_STATUS_LABELS = {
    # In the outbox: not sent yet, or an attempt failed and another follows (the error says why).
    "pending": _l("Waiting to be sent"),
    "sent": _l("Sent"),
    "failed": _l("Failed"),
    "not_sent": _l("Not sent"),
}
MAX_TEXT = 2000
# Choices are given as callables: wtforms warns on tuple choices, and the shared form
# macros unpack (value, label) pairs.


class QueueFilterForm(FlaskForm):
    """The queue's filters, read from the query string (a GET form: no CSRF token)."""

    class Meta:
        csrf = False

    status = SelectField(_l("Status"),
                         choices=lambda: [("all", _l("Any status"))] + [(s, STATUS_LABELS[s]) for s in STATUSES],
                         default=ReviewStatus.AWAITING_REVIEW, validators=[Optional()])
    severity = SelectField(_l("Highest severity"), choices=lambda: [("", _l("Any severity"))]
                           + [(s, SEVERITY_LABELS[s]) for s in SEVERITIES],
                           default="", validators=[Optional()])
    appointment_from = DateField(_l("Appointment from"), validators=[Optional()])
    appointment_to = DateField(_l("Appointment to"), validators=[Optional()])
    q = StringField(_l("Name or email (a word or its first letters)"), validators=[Optional(), Length(max=254)])
    sort = SelectField(_l("Sort by"), choices=lambda: [(s, SORT_LABELS[s]) for s in SORTS], default="severity",
                       validators=[Optional()])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Read by the shared form macros (templates/macros/forms.html).
        self.q.max_length = 254

    def problems(self) -> list[tuple[str, str]]:
        return [(f"#{f.id}", f"{f.label.text}: {f.errors[0]}") for f in self if f.errors]


class VersionedForm(FlaskForm):
    #: The intake version the page was built on: a save on an older one is a conflict.
    version = HiddenField(validators=[InputRequired()])

    def problems(self) -> list[tuple[str, str]]:
        return [(f"#{f.id}", f.errors[0]) for f in self if f.errors and f.name != "csrf_token"]

    def expected_version(self) -> int:
        try:
            return int(self.version.data)
        except (TypeError, ValueError):
            return -1


class FlagReviewForm(VersionedForm):
    """Acknowledge a flag, or override it with a reason (one form per flag, prefixed by its id)."""

    reason = TextAreaField(_l("Reason for overriding"), validators=[Optional(), Length(max=MAX_TEXT)],
                           description=_l("Required to override: why treatment may go ahead despite this flag."))


class CheckboxesField(SelectMultipleField):
    """Several of a list, as checkboxes (rendered by the shared ``checkboxes`` macro)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    @property
    def all_choices(self) -> list[tuple[str, Any]]:
        return [(value, label) for value, label, *_rest in self.iter_choices()]

    def pre_validate(self, form: Any) -> None:
        known = {value for value, _label in self.all_choices}
        unknown = [value for value in self.data or [] if value not in known]
        if unknown:
            raise ValidationError(_l("Choose sections from the list."))


class DecisionForm(VersionedForm):
    outcome = RadioField(_l("Decision"), choices=lambda: [(o.value, label) for o, label in OUTCOME_LABELS.items()],
                         validators=[InputRequired(_l("Choose a decision."))])
    defer_until = DateField(_l("Deferred until"), validators=[Optional()],
                            description=_l("For a deferral: the earliest date to treat."))
    question = TextAreaField(_l("Question for the patient"), validators=[Optional(), Length(max=MAX_TEXT)],
                             description=_l("For more information: what the patient should tell you."))
    reopen = CheckboxesField(_l("Sections the patient should answer again"),
                             choices=lambda: [(s, answers.SECTION_TITLES[s]) for s in answers.SECTIONS],
                             validators=[Optional()],
                             description=_l("For more information: only these open again; the rest stay read-only."))
    patient_message = TextAreaField(
        _l("What the patient reads"), validators=[Optional(), Length(max=MAX_TEXT)],
        description=_l("On the patient's status page; required to defer or decline. Plain words: why, and what "
                       "to do next."))
    note = TextAreaField(_l("Note for the record"), validators=[Optional(), Length(max=MAX_TEXT)],
                         description=_l("For the clinic only; the patient does not see it."))


class AmendForm(VersionedForm):
    """Open a signed decision for amendment: the record may change again, and a new decision supersedes it."""

    amendment_reason = TextAreaField(_l("Why the decision needs amending"),
                                     validators=[InputRequired(_l("Write why the signed decision needs amending.")),
                                                 Length(max=MAX_TEXT)])


class InviteForm(FlaskForm):
    """Invite a booked patient: their intake starts prefilled and they get a private link."""

    full_name = StringField(_l("Patient's full name"), validators=[InputRequired(_l("Enter the patient's name.")),
                                                                   Length(max=120)])
    email = EmailField(_l("Patient's email"), validators=[
        InputRequired(_l("Enter the patient's email address.")),
        Email(_l("Enter an email address like name@example.com."), check_deliverability=False),
        Length(max=254)])
    appointment_date = DateField(_l("Appointment date"), validators=[InputRequired(_l("Enter the appointment date."))])
    # The language of the email and of the form the patient opens (shown when LANGUAGES offers several).
    language = SelectField(_l("Patient's language"),
                           choices=lambda: [(tag, staff_language_name(tag)) for tag in offered()],
                           default=lambda: offered()[0], validators=[Optional()])
    send_email = BooleanField(_l("Email the link to the patient now"), default=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.full_name.max_length, self.full_name.autocomplete = 120, "off"
        self.email.max_length, self.email.autocomplete = 254, "off"

    def problems(self) -> list[tuple[str, str]]:
        return [(f"#{f.id}", f.errors[0]) for f in self if f.errors and f.name != "csrf_token"]


class LinkForm(FlaskForm):
    """Revoke the patient's link, or issue a new one (optionally emailed)."""

    send_email = BooleanField(_l("Email the new link to the patient"), default=True)


class PlanEditForm(VersionedForm):
    #: The plan's areas, each with a depth range (set by plan_form_class).
    areas: list[str] = []

    sessions = IntegerField(_l("Sessions"), validators=[InputRequired(_l("Enter the number of sessions.")),
                                                        NumberRange(min=1, max=50)])
    interval_days = IntegerField(_l("Days between sessions"),
                                 validators=[InputRequired(_l("Enter the days between sessions.")),
                                             NumberRange(min=1, max=365)])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for counted in (self.sessions, self.interval_days):
            counted.inputmode = "numeric"
        for area in self.areas:
            for end in ("min", "max"):
                self[f"depth_{area}_{end}"].inputmode = "decimal"

    def depth_fields(self) -> list[tuple[str, Any, Any]]:
        """(area label, min field, max field) for every area of the plan."""
        return [(answers.label_of(answers.AREAS, area), self[f"depth_{area}_min"], self[f"depth_{area}_max"])
                for area in self.areas]

    def values(self) -> dict[str, Any]:
        return {
            "sessions": self.sessions.data,
            "interval_days": self.interval_days.data,
            "depth_mm": {area: (_number(self[f"depth_{area}_min"].data), _number(self[f"depth_{area}_max"].data))
                         for area in self.areas},
        }


def _number(value: Any) -> int | float:
    number = float(value)
    return int(number) if number.is_integer() else number


def plan_form_class(areas: list[str]) -> type[PlanEditForm]:
    """A plan form with a depth range for each of ``areas``."""
    depth = {}
    for area in areas:
        label = answers.label_of(answers.AREAS, area)
        for end in ("min", "max"):
            # Text with a decimal keypad: a number input would refuse half millimetres.
            depth[f"depth_{area}_{end}"] = DecimalField(
                f"{label}: {end}imum depth (mm)", places=1, widget=TextInput(),
                validators=[InputRequired(f"Enter the {end}imum depth for {label}."), NumberRange(min=0, max=10)],
            )
    return type("PlanEditForm", (PlanEditForm,), {**depth, "areas": list(areas)})

