"""Staff accounts: practitioners and clinic admins who sign in to review intakes."""

from __future__ import annotations

import datetime as dt
import enum

from flask_login import UserMixin
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import as_utc, utcnow
from ..extensions import Model


class Role(enum.StrEnum):
    PRACTITIONER = "practitioner"
    ADMIN = "admin"


class StaffUser(UserMixin, Model):
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
    #: Consecutive failed sign-ins since the last success or lock.
    failed_attempts: Mapped[int] = mapped_column(default=0)
    #: Sign-in is refused until then (UTC) after too many failures.
    locked_until: Mapped[dt.datetime | None]
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

    def locked_at(self, now: dt.datetime) -> bool:
        locked_until = as_utc(self.locked_until)
        return locked_until is not None and locked_until > now

    def __repr__(self) -> str:
        return f"<StaffUser {self.id} {self.email} {self.role}>"
