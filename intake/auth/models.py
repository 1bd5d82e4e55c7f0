"""Staff accounts: practitioners and clinic admins who sign in to review intakes."""

from __future__ import annotations

import datetime as dt
import enum

from flask import has_request_context, session
from flask_login import UserMixin
from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db, login_manager
from ..models import utcnow


class Role(enum.StrEnum):
    PRACTITIONER = "practitioner"
    ADMIN = "admin"


def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """A stored timestamp as an aware UTC datetime (SQLite hands them back naive)."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)


class StaffUser(UserMixin, db.Model):
    """A member of the clinic's staff who can sign in."""

    __tablename__ = "staff_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Always stored lowercased and stripped, so sign-in is case-insensitive.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    #: One of Role.
    role: Mapped[str] = mapped_column(String(20), default=Role.PRACTITIONER)
    #: argon2id hash in PHC string form (parameters included, so they can be upgraded).
    password_hash: Mapped[str] = mapped_column(String(255))
    #: A deactivated account cannot sign in, and its open sessions end on their next request.
    active: Mapped[bool] = mapped_column(default=True)
    last_login_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    #: Bumped when the password changes: every session signed in before then stops working.
    session_generation: Mapped[int] = mapped_column(default=0)

    @property
    def is_active(self) -> bool:  # Flask-Login's name for "may be signed in"
        return self.active

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def actor(self) -> str:
        """How this user appears in the audit log."""
        return f"staff:{self.id}"

    def get_id(self) -> str:
        # The generation travels in the session, so a password reset signs out every other session.
        return f"{self.id}.{self.session_generation}"

    def __repr__(self) -> str:
        return f"<StaffUser {self.id} {self.email} {self.role}>"


@login_manager.user_loader
def load_staff_user(session_id: str) -> StaffUser | None:
    """The user a session belongs to, if that session is still valid for them."""
    user_id, _, generation = session_id.partition(".")
    if not (user_id.isdigit() and generation.isdigit()):
        return None
    if has_request_context() and "_user_id" in session:
        # A request's signed-in user also needs the server-side session its cookie names (sign-out ends it).
        from .session_store import TOKEN_KEY, find_with_user

        user = find_with_user(session.get(TOKEN_KEY), StaffUser, int(user_id))
    else:
        user = db.session.scalar(select(StaffUser).where(StaffUser.id == int(user_id)))
    if user is None or user.session_generation != int(generation):
        return None
    return user
