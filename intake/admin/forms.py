"""Forms of the admin pages: the rules' (upload, edit, activate with a note, the preview's range), the clinic's
details, its reminders, and API tokens.

The pages are drawn by hand (templates/admin/); these read and check what they send.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    EmailField,
    Field,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.validators import AnyOf, DataRequired, Email, InputRequired, Length, Optional, ValidationError

from ..answers.vocabulary import N_
from ..api import tokens
from ..reminders.due import ReminderSettings
from ..reminders.settings import MAX_DAYS_BEFORE, MAX_WHAT_TO_BRING, ClinicReminders, format_days, parse_days
from ..rulesets.files import check_path

#: Notes longer than this are cut (the history shows them in a table cell).
MAX_NOTE = 500
#: The most past intakes a preview page may ask for.
MAX_LAST = 100_000


def _stripped(value: Any) -> str:
    return (value or "").strip()


def _note(value: Any) -> str:
    return _stripped(value)[:MAX_NOTE]


class RulesChangeForm(FlaskForm):
    """What every change carries: the version it starts from (none: the active rules)."""

    from_version = HiddenField(name="from", filters=[_stripped])

    def from_version_id(self) -> int | None:
        wanted = self.from_version.data or ""
        return int(wanted) if wanted.isdigit() else None


class UploadForm(RulesChangeForm):
    """A rule file or a zip of the clinic folder, where it goes, and a note."""

    file = FileField(validators=[FileRequired(_l("Choose a rule file (.yaml) or a zip of your rules folder."))])
    path = StringField(filters=[_stripped])
    note = StringField(filters=[_note])


class EditForm(RulesChangeForm):
    """One clinic file's path and text (empty text removes the file), and a note."""

    path = StringField(filters=[_stripped],
                       validators=[DataRequired(_l("Enter the file's path, such as precautions/our-rules.yaml."))])
    #: Kept exactly as typed: it goes back into the textarea when something is wrong.
    text = TextAreaField()
    note = StringField(filters=[_note])

    def validate_path(self, field: Field) -> None:
        problem = check_path(field.data)
        if problem:
            raise ValidationError(problem)


class ActivateForm(FlaskForm):
    """Why a version goes live (kept in the history)."""

    note = StringField(filters=[_note], validators=[DataRequired(_l("Say why this version goes live (a short note)."))])


def _iso_date(_form: FlaskForm, field: Field) -> None:
    if field.data:
        try:
            dt.date.fromisoformat(field.data)
        except ValueError:
            raise ValidationError(_l("Enter a date as YYYY-MM-DD, such as 2026-11-01.")) from None


def _count(_form: FlaskForm, field: Field) -> None:
    if field.data and (not field.data.isdigit() or not 1 <= int(field.data) <= MAX_LAST):
        raise ValidationError(_l("Enter a whole number from 1 to %(max)s.", max=MAX_LAST))


class PreviewForm(FlaskForm):
    """Which past intakes a preview runs on: submitted between two dates, or the last N (a GET form)."""

    class Meta:
        csrf = False

    since = StringField(filters=[_stripped], validators=[_iso_date])
    until = StringField(filters=[_stripped], validators=[_iso_date])
    last = StringField(filters=[_stripped], validators=[_count])

    def day(self, name: str) -> dt.date | None:
        """The date asked for in ``name`` (since, until), once validated."""
        value = self[name].data
        return dt.date.fromisoformat(value) if value and not self[name].errors else None

    def count(self) -> int | None:
        value = self.last.data
        return int(value) if value and not self.last.errors else None


class ClinicForm(FlaskForm):
    """The clinic's identity: how patients reach it (blank: the CLINIC_* setting applies)."""

    name = StringField(_l("Clinic name"), validators=[Optional(), Length(max=120)], filters=[_stripped])
    phone = TelField(_l("Phone"), validators=[Optional(), Length(max=40)], filters=[_stripped],
                     description=_l("As patients should dial it, e.g. 020 7946 0000."))
    email = EmailField(_l("Email"), validators=[Optional(), Length(max=254),
                                                 Email(_l("Enter an email address like clinic@example.com."),
                                                       check_deliverability=False)], filters=[_stripped])
    address = TextAreaField(_l("Address"), validators=[Optional(), Length(max=500)], filters=[_stripped])
    opening_hours = TextAreaField(_l("Opening hours"), validators=[Optional(), Length(max=500)], filters=[_stripped],
                                  description=_l("For example: Monday to Friday, 9am to 6pm; Saturday 10am to 2pm."))
    contact_note = TextAreaField(_l("How to reach us"), validators=[Optional(), Length(max=500)], filters=[_stripped],
                                 description=_l("A sentence or two shown wherever a patient is told to contact the "
                                                "clinic, e.g. the best time to call."))

    def problems(self) -> list[tuple[str, str]]:
        return [(f"#{f.id}", f.errors[0]) for f in self if f.errors and f.name != "csrf_token"]


#: The hours a reminder may go from, as the page offers them ("00:00" to "23:00", clinic time).
HOURS = [(str(hour), f"{hour:02d}:00") for hour in range(24)]


def _hour(_form: FlaskForm, field: Field) -> None:
    if field.data not in {value for value, _label in HOURS}:
        raise ValidationError(_l("Choose an hour from 00:00 to 23:00."))


def _hour_field(label: Any, default: int) -> SelectField:
    # validate_choice off: one message of ours, for nothing chosen and for a value that is no choice.
    return SelectField(label, choices=lambda: HOURS, default=str(default), validate_choice=False, validators=[_hour],
                       description=_l("From this hour, the clinic's time."))


class ReminderSettingsForm(FlaskForm):
    """Each kind of reminder on or off, and when it goes (the REMINDERS_* settings until first saved)."""

    unsubmitted = BooleanField(_l("Remind invited patients whose form is not sent"))
    unsubmitted_days = StringField(
        _l("Days before the appointment"), filters=[_stripped],
        description=_l("Whole numbers from 1 to %(max)s, separated by commas, e.g. 3, 1.", max=MAX_DAYS_BEFORE))
    unsubmitted_hour = _hour_field(_l("Time of the form reminder"), 10)
    instructions = BooleanField(_l("Remind patients on the day their instructions start"))
    instruction_hour = _hour_field(_l("Time of the instructions reminder"), 8)
    day_before = BooleanField(_l("Send the day-before reminder"))
    day_before_hour = _hour_field(_l("Time of the day-before reminder"), 10)
    what_to_bring = TextAreaField(
        _l("What to bring"), filters=[_stripped],
        validators=[Length(max=MAX_WHAT_TO_BRING, message=_l("Use %(max)s characters or fewer.",
                                                             max=MAX_WHAT_TO_BRING))],
        description=_l("Said in the day-before reminder, e.g. a list of your medicines. Leave it blank to say "
                       "nothing."))
    digest = BooleanField(_l("Send staff a morning digest of intakes awaiting review"))
    digest_hour = _hour_field(_l("Time of the digest"), 7)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Read by the shared form macros (templates/macros/forms.html).
        self.unsubmitted_days.inputmode, self.unsubmitted_days.max_length = "numeric", 100
        self.unsubmitted_days.autocomplete = "off"
        self.what_to_bring.max_length = MAX_WHAT_TO_BRING

    def validate_unsubmitted_days(self, field: Field) -> None:
        # Checked even while the reminder is off: the days are kept for when it is switched back on.
        if not field.data and not self.unsubmitted.data:
            return
        try:
            parse_days(field.data or "")
        except ValueError:
            raise ValidationError(_l("Enter days from 1 to %(max)s, separated by commas, e.g. 3, 1.",
                                     max=MAX_DAYS_BEFORE)) from None

    def chosen(self) -> ClinicReminders:
        """What the admin chose, once validated (days left blank while off: the usual 3 and 1)."""
        days = parse_days(self.unsubmitted_days.data) if self.unsubmitted_days.data else \
            ReminderSettings().unsubmitted_days
        timing = ReminderSettings(
            unsubmitted_days=days if self.unsubmitted.data else (), unsubmitted_hour=int(self.unsubmitted_hour.data),
            instructions=bool(self.instructions.data), instruction_hour=int(self.instruction_hour.data),
            day_before=bool(self.day_before.data), day_before_hour=int(self.day_before_hour.data),
            digest=bool(self.digest.data), digest_hour=int(self.digest_hour.data))
        return ClinicReminders(timing, bool(self.unsubmitted.data), days, self.what_to_bring.data or "")

    @classmethod
    def showing(cls, reminders: ClinicReminders) -> ReminderSettingsForm:
        """The form filled with the settings in force."""
        timing = reminders.timing
        return cls(data={
            "unsubmitted": reminders.unsubmitted, "unsubmitted_days": format_days(reminders.unsubmitted_days),
            "unsubmitted_hour": str(timing.unsubmitted_hour), "instructions": timing.instructions,
            "instruction_hour": str(timing.instruction_hour), "day_before": timing.day_before,
            "day_before_hour": str(timing.day_before_hour), "what_to_bring": reminders.what_to_bring,
            "digest": timing.digest, "digest_hour": str(timing.digest_hour)})

    def problems(self) -> list[tuple[str, str]]:
        return [(f"#{f.id}", str(f.errors[0])) for f in self if f.errors and f.name != "csrf_token"]


#: A new API token expires after this many days unless the admin says otherwise.
DEFAULT_TOKEN_DAYS = 90
#: The longest expiry offered (about ten years); "never expires" is the way past it.
MAX_TOKEN_DAYS = 3650


class ApiTokenForm(FlaskForm):
    """A new API token: what it is for, what it may do, and how long it lasts."""

    name = StringField(_l("Name"), filters=[_stripped],
                       validators=[DataRequired(_l("Enter a name for the token, such as Booking system.")),
                                   Length(max=tokens.MAX_NAME_LENGTH,
                                          message=_l("Use %(max)s characters or fewer.", max=tokens.MAX_NAME_LENGTH))],
                       description=_l("What the token is for: the system that will use it."))
    scope = RadioField(_l("What the token may do"), default=tokens.READ,
                       choices=lambda: [(tokens.READ, N_("Read: list and read intakes")),
                                        (tokens.WRITE, N_("Write: read, and also create intakes (a booking system)"))],
                       # One message for nothing chosen and for a value that is no choice (validate_choice off).
                       validate_choice=False,
                       validators=[InputRequired(_l("Choose what the token may do: read, or write.")),
                                   AnyOf(tokens.SCOPES, _l("Choose what the token may do: read, or write."))],
                       description=_l("Give a system only what it needs: read, unless it sends intakes."))
    days = StringField(_l("Expires after (days)"), default=str(DEFAULT_TOKEN_DAYS), filters=[_stripped],
                       description=_l("The token stops working after this many days. Default %(days)s.",
                                      days=DEFAULT_TOKEN_DAYS))
    never_expires = BooleanField(_l("Never expires (revoke it by hand when it is no longer needed)"))
    #: One key per form shown: the same form sent twice (a refresh of the "token created" page) creates one token.
    form_key = HiddenField(default=lambda: secrets.token_urlsafe(16), filters=[lambda key: (key or "")[:64]])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Read by the shared form macros (templates/macros/forms.html).
        self.name.max_length, self.name.autocomplete = tokens.MAX_NAME_LENGTH, "off"
        self.days.inputmode, self.days.max_length, self.days.autocomplete = "numeric", 4, "off"

    def validate_days(self, field: Field) -> None:
        if self.never_expires.data:
            return  # what was typed is kept on the page, and ignored
        if not re.fullmatch(r"[0-9]{1,4}", field.data or "") or not 1 <= int(field.data) <= MAX_TOKEN_DAYS:
            raise ValidationError(_l("Enter a whole number of days from 1 to %(max)s, or tick Never expires.",
                                     max=MAX_TOKEN_DAYS))

    def chosen_scope(self) -> str:
        """The scope chosen, once validated (one of tokens.SCOPES)."""
        return str(self.scope.data)

    def expires_in_days(self) -> int | None:
        """How many days the token lasts once validated (None: it never expires)."""
        return None if self.never_expires.data else int(self.days.data)

    def problems(self) -> list[tuple[str, str]]:
        """(link to the field, message) for the error summary; a group of radios is reached by its first."""
        found = []
        for field in (self.name, self.scope, self.days):
            if field.errors:
                target = f"{field.id}-0" if field is self.scope else field.id
                found.append((f"#{target}", str(field.errors[0])))
        return found


class RevokeTokenForm(FlaskForm):
    """Revoking a token: the button on the list asks, the confirmation page's button (confirm=yes) does it."""

    confirm = HiddenField()

    def confirmed(self) -> bool:
        return self.confirm.data == "yes"
