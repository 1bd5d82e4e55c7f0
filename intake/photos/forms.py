"""The patient's photo form (an area of concern, with its consents), and what it shares with the practitioner's.

What a patient reads here is extracted into the catalogs (babel.cfg); the practitioner's form is in
staff_forms, which stays in the clinic's language.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from werkzeug.datastructures import FileStorage
from wtforms import BooleanField, SelectField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from ..answers import TREATMENT_AREAS
from .images import PhotoRefused

MAX_NOTE = 500


def _area_choices() -> list[tuple[str, str]]:
    return [("", _l("Choose an area"))] + [(value, label) for value, label in TREATMENT_AREAS]


class PhotoForm(FlaskForm):
    """What both forms share: the file (from the camera or from the files), the area, a short note."""

    camera = FileField(_l("Take a photo now"), description=_l("Opens the camera on a phone."))
    upload = FileField(_l("Or choose a photo you already have"),
                       description=_l("JPEG, PNG, WebP or HEIC (as iPhones take them)."))
    area = SelectField(_l("Area"), choices=_area_choices, validators=[InputRequired(_l("Choose the area."))])
    note = TextAreaField(_l("A short note (optional)"), validators=[Optional(), Length(max=MAX_NOTE)])

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.note.max_length = MAX_NOTE  # read by the shared form macros

    def chosen_file(self) -> FileStorage | None:
        """The one file sent (the camera's or the chosen one), or None."""
        for field in (self.camera, self.upload):
            if isinstance(field.data, FileStorage) and field.data.filename:
                return field.data
        return None

    def validate_upload(self, field: FileField) -> None:
        if self.chosen_file() is None:
            raise ValidationError(_l("Take a photo or choose one."))

    def problems(self) -> list[tuple[str, str]]:
        return [(f"#{f.id}", str(f.errors[0])) for f in self if f.errors and f.name != "csrf_token"]


class PatientPhotoForm(PhotoForm):
    area = SelectField(_l("Which area does it show?"), choices=_area_choices,
                       validators=[InputRequired(_l("Choose the area the photo shows."))])
    clinical_consent = BooleanField(
        _l("I agree that the clinic keeps this photo in my record and uses it only for my care: to judge whether "
           "the treatment suits me and to compare results. It is never shown to anyone outside my care."),
        validators=[InputRequired(_l("To send a photo, agree to its use for your care. Without it, the photo is "
                                     "not kept."))])
    marketing_consent = BooleanField(
        _l("Separately, and only if I wish: the clinic may use this photo in its marketing (its website or social "
           "media). I can withdraw this at any time on this page."))


def refusal(refused: PhotoRefused) -> str:
    """Why an upload was refused, in the patient's language (images.py is pure: its texts are marked only)."""
    return gettext(refused.template, **refused.values) if refused.values else gettext(refused.template)


def too_many() -> str:
    return gettext("You have sent %(most)d photos, the most the clinic accepts. Remove one to send another.",
                   most=current_app.config["PATIENT_PHOTOS_MAX"])
