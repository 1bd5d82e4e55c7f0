"""Staff accounts: practitioners and clinic admins who sign in to review intakes."""

from __future__ import annotations

import datetime as dt
import enum

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import utcnow
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


class StaffSession(Model):
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


class SignInThrottle(Model):
    """Failed sign-ins counted for one email (``kind`` account) or one email and address (``kind`` pair)."""

    __tablename__ = "sign_in_throttle"

    #: Keyed digest of the kind, the email and (for a pair) the client address.
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: Keyed digest of the email alone, so a new password can lift every count of the account.
    account: Mapped[str] = mapped_column(String(64), index=True)
    failures: Mapped[int] = mapped_column(default=0)
    window_started_at: Mapped[dt.datetime]
    #: Sign-in with this key is refused until then.
    blocked_until: Mapped[dt.datetime | None]
