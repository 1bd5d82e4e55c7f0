"""What the patient's pages read: the intake behind a private link, the link's life, the practitioner's question."""

from __future__ import annotations

import datetime as dt

from flask import current_app, url_for
from sqlalchemy import select

from ..clock import as_utc, utcnow
from ..extensions import db
from ..models import Decision, Intake, hash_token


def find_intake_by_token(token: str) -> Intake | None:
    """The intake a patient link opens, or None for a wrong, revoked or expired link.

    The caller answers the same for any miss, so a link's state cannot be probed.
    """
    if not token or len(token) > 100:
        return None
    intake = db.session.scalar(select(Intake).where(Intake.token_hash == hash_token(token)))
    if intake is None or intake.link_revoked_at is not None:
        return None
    expires = link_expires_at(intake)
    if expires is not None and expires <= utcnow():
        return None
    return intake


def link_expires_at(intake: Intake) -> dt.datetime | None:
    """When the intake's current private link stops working."""
    issued = as_utc(intake.link_issued_at or intake.created_at)
    if issued is None:
        return None
    return issued + dt.timedelta(days=current_app.config["PATIENT_LINK_DAYS"])


def link_is_live(intake: Intake) -> bool:
    expires = link_expires_at(intake)
    return intake.link_revoked_at is None and (expires is None or expires > utcnow())


def private_link(token: str) -> str:
    """The patient's private link, as they open it."""
    return url_for("patient.show_intake", token=token, _external=True)


def patient_question(intake: Intake) -> str:
    """The practitioner's question to the patient of a reopened intake."""
    if not intake.is_reopened:
        return ""
    return db.session.scalar(
        select(Decision.question).where(Decision.intake_id == intake.id).order_by(Decision.id.desc()).limit(1)
    ) or ""
