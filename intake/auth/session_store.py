"""Staff sessions kept on the server too, so signing out ends a session for good.

The session cookie is signed, not stored: on its own, a copy taken before sign-out would
keep working (and every request would refresh it). Each sign-in therefore opens a row here
and puts a random token in the cookie (only its sha256 is stored); every staff request
needs the row to be open and younger than STAFF_SESSION_MAX_HOURS, however busy the
session has been. Signing out, inactivity, deactivation and the absolute limit close it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from flask import current_app, g
from sqlalchemy import select, update

from ..extensions import db
from ..models import StaffSession, StaffUser

#: Where the session's token travels in the (signed) session cookie.
TOKEN_KEY = "staff_session"  # noqa: S105  # nosec B105 # a key name, not a secret




def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def max_age() -> dt.timedelta:
    return dt.timedelta(hours=current_app.config["STAFF_SESSION_MAX_HOURS"])


def open_session(staff_user_id: int, now: dt.datetime) -> str:
    """Start a server-side session for the user (committed); returns the token for the cookie."""
    token = secrets.token_urlsafe(32)
    db.session.add(StaffSession(token_hash=_hash(token), staff_user_id=staff_user_id, started_at=now))
    db.session.commit()
    return token


def find(token: object) -> StaffSession | None:
    """The open session of this token, or None (no token, unknown, or ended). Read once per request."""
    if not isinstance(token, str) or not token or len(token) > 100:
        return None
    cached = g.get("_staff_session")
    if cached is not None and cached[0] == token:
        return cached[1]
    found = db.session.scalar(
        select(StaffSession).where(StaffSession.token_hash == _hash(token), StaffSession.ended_at.is_(None)))
    g._staff_session = (token, found)
    return found


def find_with_user(token: object, user_id: int) -> StaffUser | None:
    """The user ``user_id`` if ``token`` is one of their open sessions, in one query (the session is kept for find)."""
    if not isinstance(token, str) or not token or len(token) > 100:
        return None
    row = db.session.execute(
        select(StaffUser, StaffSession).join(StaffSession, StaffSession.staff_user_id == StaffUser.id)
        .where(StaffUser.id == user_id, StaffSession.token_hash == _hash(token), StaffSession.ended_at.is_(None))
    ).first()
    g._staff_session = (token, row[1] if row else None)
    return row[0] if row else None


def expired(record: StaffSession, now: dt.datetime) -> bool:
    """Whether the session has lasted longer than STAFF_SESSION_MAX_HOURS."""
    started = record.started_at if record.started_at.tzinfo else record.started_at.replace(tzinfo=dt.UTC)
    return now - started >= max_age()


def close(token: object, reason: str, now: dt.datetime) -> None:
    """End the session of this token, if open (in the current transaction; the caller commits)."""
    if isinstance(token, str) and token:
        db.session.execute(update(StaffSession).where(StaffSession.token_hash == _hash(token),
                                                      StaffSession.ended_at.is_(None))
                           .values(ended_at=now, end_reason=reason))
    g.pop("_staff_session", None)


def close_all(staff_user_id: int, reason: str, now: dt.datetime) -> None:
    """End every open session of a user (in the current transaction; the caller commits)."""
    db.session.execute(update(StaffSession).where(StaffSession.staff_user_id == staff_user_id,
                                                  StaffSession.ended_at.is_(None))
                       .values(ended_at=now, end_reason=reason))
