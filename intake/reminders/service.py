"""The patient's stop and the staff's resume: the signed stop link, each change audited.

``reminders_stopped_at`` is written with a Core update: stopping reminders is not a change to
the intake, so a practitioner's open form does not become a conflict.
"""

from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select, update

from ..audit import lock_chain, record
from ..clock import utcnow
from ..extensions import db
from ..models import Intake

#: Keeps a stop link from being valid as any other signed value of the app.
STOP_SALT = "reminders.stop"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=STOP_SALT)


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
