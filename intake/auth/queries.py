"""What the staff pages and commands read about accounts."""

from __future__ import annotations

from flask import has_request_context, session
from sqlalchemy import select

from ..extensions import db
from ..models import StaffUser
from . import session_store


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_user(email: str) -> StaffUser | None:
    """The account with this email (any case), or None."""
    return db.session.scalar(select(StaffUser).where(StaffUser.email == normalise_email(email)))


def list_users() -> list[StaffUser]:
    return list(db.session.scalars(select(StaffUser).order_by(StaffUser.email)))


def load_staff_user(session_id: str) -> StaffUser | None:
    """The user a session belongs to, if that session is still valid for them (Flask-Login's user loader)."""
    user_id, _, generation = session_id.partition(".")
    if not (user_id.isdigit() and generation.isdigit()):
        return None
    if has_request_context() and "_user_id" in session:
        # A request's signed-in user also needs the server-side session its cookie names (sign-out ends it).
        user = session_store.find_with_user(session.get(session_store.TOKEN_KEY), int(user_id))
    else:
        user = db.session.scalar(select(StaffUser).where(StaffUser.id == int(user_id)))
    if user is None or user.session_generation != int(generation):
        return None
    return user
