"""The practitioner's photo form (a session photo): staff pages stay in the clinic's language (not extracted)."""

from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import DateField, RadioField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from ..models import PhotoKind
from .forms import MAX_NOTE, PhotoForm


def _kind_choices() -> list[tuple[str, str]]:
    return [(PhotoKind.BEFORE.value, _l("Before the session")), (PhotoKind.AFTER.value, _l("After the session"))]


class SessionPhotoForm(PhotoForm):
    """A practitioner's photo of a session: before or after, dated, of an area."""

    camera = FileField(_l("Take a photo now"), description=_l("Opens the camera on a tablet or phone."))
    upload = FileField(_l("Or choose a file"), description=_l("JPEG, PNG, WebP or HEIC."))
    kind = RadioField(_l("Before or after"), choices=_kind_choices,
                      validators=[InputRequired(_l("Say whether it is before or after the session."))])
    taken_on = DateField(_l("Date of the session"),
                         validators=[InputRequired(_l("Enter the date of the session, for example 2026-11-25."))])
    note = TextAreaField(_l("Note (optional)"), validators=[Optional(), Length(max=MAX_NOTE)])

    def validate_taken_on(self, field: DateField) -> None:
        if field.data and field.data < dt.date(2000, 1, 1):
            raise ValidationError(_l("Enter the date of the session, for example 2026-11-25."))
