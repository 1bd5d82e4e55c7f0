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
from typing import Any

from flask import current_app, g
from sqlalchemy import ForeignKey, String, select, update
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..models import utcnow

#: Where the session's token travels in the (signed) session cookie.
TOKEN_KEY = "staff_session"  # noqa: S105  # nosec B105 # a key name, not a secret


class StaffSession(db.Model):
    """One signed-in session of a member of staff, from sign-in until it ends."""

    __tablename__ = "staff_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: sha256 of the token in the session cookie (the token itself is never stored).
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    #: Set when the session ends; an ended session never opens a page again.
    ended_at: Mapped[dt.datetime | None]
    #: "requested", "inactive", "expired", "deactivated", "password_changed" or "replaced".
    end_reason: Mapped[str | None] = mapped_column(String(20))


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


def find_with_user(token: object, user_model: type, user_id: int) -> Any:
    """The user ``user_id`` if ``token`` is one of their open sessions, in one query (the session is kept for find)."""
    if not isinstance(token, str) or not token or len(token) > 100:
        return None
    row = db.session.execute(
        select(user_model, StaffSession).join(StaffSession, StaffSession.staff_user_id == user_model.id)
        .where(user_model.id == user_id, StaffSession.token_hash == _hash(token), StaffSession.ended_at.is_(None))
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
