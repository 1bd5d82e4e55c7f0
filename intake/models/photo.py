"""Photos of the areas of concern (the patient's) and of each session (the practitioner's before/after).

The pixels are never in this table: ``image_key`` and ``thumbnail_key`` name encrypted
blobs in the photo store (intake.photos.storage: the ``photo_blob`` table below by default,
or a directory). What is here says whose photo it is, of what, when, and what the patient
agreed to.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import utcnow
from ..extensions import Model
from ..protection.encryption import EncryptedText


class PhotoKind(enum.StrEnum):
    """What a photo shows: the patient's area of concern, or the practitioner's photo before or after a session."""

    CONCERN = "concern"
    BEFORE = "before"
    AFTER = "after"


class Photo(Model):
    """One photo held for an intake (its bytes live in the photo store, encrypted)."""

    __tablename__ = "photo"

    id: Mapped[int] = mapped_column(primary_key=True)
    intake_id: Mapped[int] = mapped_column(ForeignKey("intake.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    #: "patient", or the practitioner's actor name (StaffUser.actor).
    added_by: Mapped[str] = mapped_column(String(80))
    #: One of PhotoKind.
    kind: Mapped[str] = mapped_column(String(20))
    #: One of intake.answers.TREATMENT_AREAS (the answers' own area names).
    area: Mapped[str] = mapped_column(String(30))
    #: The day it was taken: the session's for a practitioner's photo, the upload's for a patient's.
    taken_on: Mapped[dt.date]
    note: Mapped[str] = mapped_column(EncryptedText, default="")
    media_type: Mapped[str] = mapped_column(String(30))
    width: Mapped[int]
    height: Mapped[int]
    size_bytes: Mapped[int]
    thumbnail_width: Mapped[int]
    thumbnail_height: Mapped[int]
    image_key: Mapped[str] = mapped_column(String(64), unique=True)
    thumbnail_key: Mapped[str] = mapped_column(String(64), unique=True)
    #: When the patient agreed to clinical use (required before a patient's photo is kept).
    clinical_consent_at: Mapped[dt.datetime | None]
    #: When the patient agreed to marketing use, a separate and optional consent, and when they withdrew it.
    marketing_consent_at: Mapped[dt.datetime | None]
    marketing_withdrawn_at: Mapped[dt.datetime | None]

    @property
    def marketing_allowed(self) -> bool:
        return self.marketing_consent_at is not None and self.marketing_withdrawn_at is None


class PhotoBlob(Model):
    """An encrypted photo or thumbnail (a Fernet token) in the database store (PHOTO_STORAGE=database)."""

    __tablename__ = "photo_blob"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
