"""The links reminders carry, signed, and what they change, each change audited: the patient's stop
and the staff's resume, and the continue link that issues the patient a new link when they ask.

``reminders_stopped_at`` and a new link are written with Core updates: neither is a change to
the intake, so a practitioner's open form does not become a conflict.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import current_app, url_for
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select, update

from ..audit import lock_chain, record
from ..clock import utcnow
from ..extensions import db
from ..models import Intake, ReviewStatus, hash_token, new_token
from .due import Kind

#: Keeps a stop link from being valid as any other signed value of the app.
STOP_SALT = "reminders.stop"
#: Keeps a continue link from being valid as a stop link, or any other signed value of the app.
CONTINUE_SALT = "reminders.continue"


class Purpose:
    """Where a continue link leads: each kind of reminder's page, as it was before reminders carried these."""

    #: The form (a reopened intake's: the answers to give again).
    FORM = "form"
    #: The appointment's check-in (the day-before reminder).
    CHECK_IN = "check_in"
    #: The read-only status page (the instruction reminder).
    STATUS = "status"


PURPOSES = (Purpose.FORM, Purpose.CHECK_IN, Purpose.STATUS)
PURPOSE_OF_KIND = {Kind.UNSUBMITTED: Purpose.FORM, Kind.DAY_BEFORE: Purpose.CHECK_IN,
                   Kind.INSTRUCTION: Purpose.STATUS}


def _serializer(salt: str = STOP_SALT) -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=salt)


def stop_token(intake_id: int) -> str:
    """The signed token of an intake's stop link (no expiry: an old email's link still works)."""
    return _serializer().dumps(intake_id)


def intake_of_stop_token(token: str) -> Intake | None:
    """The intake a stop link names, or None for a tampered, malformed or stale link."""
    if not token or len(token) > 200:
        return None
    try:
        intake_id = _serializer().loads(token)
    except BadSignature:
        return None
    if not isinstance(intake_id, int) or isinstance(intake_id, bool):
        return None
    return db.session.get(Intake, intake_id)


def _set_stopped(intake: Intake, stopped: bool) -> bool:
    """Stop or resume under the audit chain's lock (taken first, as every audit writer takes it); False if already so.

    Read again under the lock: of two clicks at once, the second finds the first's stop.
    """
    lock_chain(db.session.connection())
    current = db.session.scalar(select(Intake.reminders_stopped_at).where(Intake.id == intake.id))
    if (current is not None) == stopped:
        db.session.rollback()
        return False
    db.session.execute(update(Intake).where(Intake.id == intake.id)
                       .values(reminders_stopped_at=utcnow() if stopped else None)
                       .execution_options(synchronize_session=False))
    return True


def stop(intake: Intake, actor: str = "patient") -> bool:
    """Stop the patient's reminders; False when they were stopped already (nothing changes)."""
    if not _set_stopped(intake, True):
        return False
    record(actor, "reminders.stopped", intake, "The patient stopped reminders from an email's link")
    db.session.commit()
    return True


def resume(intake: Intake, actor: str) -> bool:
    """Send reminders to the patient again (staff, at the patient's request); False when they were not stopped."""
    if not _set_stopped(intake, False):
        return False
    record(actor, "reminders.resumed", intake, "Reminders to the patient switched back on")
    db.session.commit()
    return True


# --- the continue link ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContinueLink:
    """What a continue link names: the intake, where it leads, and the last day it works (clinic time)."""

    intake_id: int
    purpose: str
    until: dt.date


def continue_token(intake_id: int, purpose: str, until: dt.date) -> str:
    """The signed token of a reminder's continue link.

    A reminder cannot carry the patient's private link itself: only its hash is stored, so it
    would have to be a new one, and the link in the patient's open tab would stop working. This
    link changes nothing when opened; the patient's button press issues the new link.
    """
    return _serializer(CONTINUE_SALT).dumps([intake_id, purpose, until.isoformat()])


def read_continue_token(token: str) -> ContinueLink | None:
    """What a continue link names, or None for a tampered or malformed link (expiry is the caller's to judge)."""
    if not token or len(token) > 200:
        return None
    try:
        value = _serializer(CONTINUE_SALT).loads(token)
    except BadSignature:
        return None
    if not (isinstance(value, list) and len(value) == 3):
        return None
    intake_id, purpose, until = value
    if not isinstance(intake_id, int) or isinstance(intake_id, bool) or purpose not in PURPOSES:
        return None
    try:
        return ContinueLink(intake_id, purpose, dt.date.fromisoformat(until))
    except (TypeError, ValueError):
        return None


def may_continue(intake: Intake | None) -> bool:
    """Whether a continue link may still issue a link to this intake: not erased, not revoked by staff, not
    closed by a not-suitable decision."""
    return (intake is not None and intake.link_revoked_at is None
            and intake.review_status != ReviewStatus.NOT_SUITABLE)


def continue_intake(intake: Intake, purpose: str) -> str | None:
    """Issue the patient a new link for ``purpose``, audited; where to send them (None: it may not continue).

    The private link (the form, the check-in) is replaced as the record's "new link" replaces
    it, the earlier one stopping; the status link as a notification replaces it. Under the
    audit chain's lock (taken first, as every audit writer takes it), the intake read again:
    staff may have revoked its link since the page was shown.
    """
    lock_chain(db.session.connection())
    db.session.refresh(intake)
    if not may_continue(intake):
        db.session.rollback()
        return None
    token = new_token()
    if purpose == Purpose.STATUS:
        db.session.execute(update(Intake).where(Intake.id == intake.id)
                           .values(status_token_hash=hash_token(token), status_link_issued_at=utcnow())
                           .execution_options(synchronize_session=False))
        record("patient", "link.status_issued", intake, "Status page link issued from a reminder's link")
        target = url_for("patient.show_status", token=token)
    else:
        db.session.execute(update(Intake).where(Intake.id == intake.id)
                           .values(token_hash=hash_token(token), link_issued_at=utcnow(), link_revoked_at=None)
                           .execution_options(synchronize_session=False))
        record("patient", "link.issued", intake, "New private link issued from a reminder's link")
        target = url_for("patient.check_in", token=token) if purpose == Purpose.CHECK_IN else \
            url_for("patient.show_intake", token=token)
    db.session.commit()
    return target
