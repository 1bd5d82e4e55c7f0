"""Adding, reading and removing photos, and the patient's consents: each with its audit entry."""

from __future__ import annotations

import datetime as dt

from flask import current_app
from sqlalchemy import func, select

from ..audit import record
from ..clock import clinic_today, utcnow
from ..extensions import db
from ..models import Intake, Photo, PhotoKind
from . import storage
from .images import Limits, ProcessedPhoto, process

PATIENT = "patient"


class TooManyPhotos(Exception):
    """The patient already sent as many photos as the clinic accepts (PATIENT_PHOTOS_MAX)."""


def limits() -> Limits:
    return Limits(max_bytes=current_app.config["PHOTO_MAX_BYTES"], max_pixels=current_app.config["PHOTO_MAX_PIXELS"])


def verify(data: bytes) -> ProcessedPhoto:
    """The photo re-encoded without metadata, or PhotoRefused with the reason."""
    return process(data, limits())


def photos_of(intake: Intake, kind: str | None = None) -> list[Photo]:
    query = select(Photo).where(Photo.intake_id == intake.id)
    if kind is not None:
        query = query.where(Photo.kind == kind)
    return list(db.session.scalars(query.order_by(Photo.taken_on, Photo.id)))


def patient_photo_count(intake: Intake) -> int:
    return db.session.scalar(select(func.count()).select_from(Photo).where(
        Photo.intake_id == intake.id, Photo.kind == PhotoKind.CONCERN)) or 0


def patient_photos_left(intake: Intake) -> int:
    return max(0, current_app.config["PATIENT_PHOTOS_MAX"] - patient_photo_count(intake))


def find_photo(intake: Intake, photo_id: int) -> Photo | None:
    """The intake's photo ``photo_id``; None for another intake's (the same answer as a missing one)."""
    photo = db.session.get(Photo, photo_id)
    return photo if photo is not None and photo.intake_id == intake.id else None


def _keep(intake: Intake, processed: ProcessedPhoto, **fields: object) -> Photo:
    image_key = storage.save(processed.data)
    thumbnail_key = storage.save(processed.thumbnail)
    photo = Photo(intake_id=intake.id, media_type=processed.media_type, width=processed.width,
                  height=processed.height, size_bytes=len(processed.data), thumbnail_width=processed.thumbnail_width,
                  thumbnail_height=processed.thumbnail_height, image_key=image_key, thumbnail_key=thumbnail_key,
                  **fields)
    db.session.add(photo)
    db.session.flush()
    return photo


def add_patient_photo(intake: Intake, processed: ProcessedPhoto, *, area: str, note: str,
                      marketing: bool) -> Photo:
    """Keep a patient's photo of an area of concern; the clinical-use consent was given (the form requires it)."""
    if patient_photos_left(intake) <= 0:
        raise TooManyPhotos()
    now = utcnow()
    photo = _keep(intake, processed, added_by=PATIENT, kind=PhotoKind.CONCERN, area=area, note=note,
                  taken_on=clinic_today(), clinical_consent_at=now, marketing_consent_at=now if marketing else None)
    record(PATIENT, "photo.added", intake, f"Photo {photo.id} added by the patient ({area})", photo=photo.id,
           area=area, clinical_consent=True, marketing_consent=marketing)
    db.session.commit()
    return photo


def add_session_photo(intake: Intake, processed: ProcessedPhoto, *, actor: str, kind: str, area: str,
                      taken_on: dt.date, note: str) -> Photo:
    """Keep a practitioner's photo of a session (before or after)."""
    photo = _keep(intake, processed, added_by=actor, kind=kind, area=area, note=note, taken_on=taken_on)
    record(actor, "photo.added", intake, f"Photo {photo.id} added ({kind}, {area}, {taken_on.isoformat()})",
           photo=photo.id, kind=kind, area=area, taken_on=taken_on.isoformat())
    db.session.commit()
    return photo


def read(intake: Intake, photo: Photo, *, actor: str, thumbnail: bool = False) -> bytes:
    """The photo's (or its thumbnail's) clear bytes; every view is audited."""
    data = storage.load(photo.thumbnail_key if thumbnail else photo.image_key)
    what = "thumbnail" if thumbnail else "photo"
    record(actor, "photo.viewed", intake, f"Photo {photo.id} viewed ({what})", photo=photo.id, size=what)
    db.session.commit()
    return data


def set_marketing_consent(intake: Intake, photo: Photo, given: bool) -> None:
    """The patient gives, or withdraws, the separate marketing consent of one photo; both are dated."""
    now = utcnow()
    if given:
        photo.marketing_consent_at, photo.marketing_withdrawn_at = now, None
    elif photo.marketing_consent_at is not None and photo.marketing_withdrawn_at is None:
        photo.marketing_withdrawn_at = now
    else:
        return
    record(PATIENT, "photo.marketing_consent_given" if given else "photo.marketing_consent_withdrawn", intake,
           f"Marketing consent {'given' if given else 'withdrawn'} for photo {photo.id}", photo=photo.id)
    db.session.commit()


def remove_photo(intake: Intake, photo: Photo, *, actor: str) -> None:
    """Delete a photo and its bytes (the patient withdrawing it, or a practitioner removing their own)."""
    storage.remove([photo.image_key, photo.thumbnail_key])
    db.session.delete(photo)
    record(actor, "photo.removed", intake, f"Photo {photo.id} removed", photo=photo.id)
    db.session.commit()
