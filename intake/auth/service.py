"""Staff accounts: create and change them, sign in and out. Each change writes its audit entry."""

from __future__ import annotations

import datetime as dt
import enum
import functools
import secrets
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from sqlalchemy.exc import IntegrityError

from ..audit import record
from ..clock import as_utc
from ..extensions import db
from ..models import Role, StaffUser
from .queries import find_user, normalise_email

MIN_PASSWORD_LENGTH = 12
#: argon2 would hash a megabyte happily; refusing it keeps sign-in from being a way to burn CPU.
MAX_PASSWORD_LENGTH = 1024
MAX_FAILED_ATTEMPTS = 5
LOCK_DURATION = dt.timedelta(minutes=15)

_hasher = PasswordHasher()


class AccountError(ValueError):
    """An account change that cannot be made; the message says why, in words for the operator."""


class SignInFailure(enum.StrEnum):
    BAD_CREDENTIALS = "bad_credentials"
    LOCKED = "locked"
    DEACTIVATED = "deactivated"


@dataclass(frozen=True)
class SignInRefused:
    """Why authenticate() said no; ``locked_until`` is set when the account is locked."""

    reason: SignInFailure
    locked_until: dt.datetime | None = None


def check_password_rules(password: str) -> None:
    """Raise AccountError when a new password is not acceptable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"The password needs at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(f"The password can have at most {MAX_PASSWORD_LENGTH} characters.")


def create_user(
    email: str, display_name: str, role: str, password: str, *, actor: str = "system"
) -> StaffUser:
    """Create an active staff account; raises AccountError when any detail is not acceptable."""
    address = _valid_email(email)
    name = display_name.strip()
    if not name or len(name) > 120:
        raise AccountError("The name must have between 1 and 120 characters.")
    if role not in set(Role):
        raise AccountError(f"The role must be one of: {', '.join(Role)}.")
    check_password_rules(password)
    if find_user(address) is not None:
        raise AccountError(f"An account for {address} already exists.")
    user = StaffUser(email=address, display_name=name, role=role, password_hash=_hasher.hash(password))
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError:
        # Someone created the same address between our check and our insert.
        db.session.rollback()
        raise AccountError(f"An account for {address} already exists.") from None
    record(actor, "staff.created", None, f"Account created: {address} ({role})", **_about(user))
    db.session.commit()
    return user


def set_password(user: StaffUser, password: str, *, actor: str = "system") -> None:
    """Replace the password, lift any lock and end the account's other sessions."""
    check_password_rules(password)
    user.password_hash = _hasher.hash(password)
    user.session_generation = user.session_generation + 1
    user.failed_attempts = 0
    user.locked_until = None
    record(actor, "staff.password_set", None, f"Password set for {user.email}", **_about(user))
    db.session.commit()


def deactivate(user: StaffUser, *, actor: str = "system") -> None:
    """Stop the account from signing in; its open sessions end on their next request."""
    if not user.active:
        raise AccountError(f"{user.email} is already deactivated.")
    user.active = False
    record(actor, "staff.deactivated", None, f"Account deactivated: {user.email}", **_about(user))
    db.session.commit()


def authenticate(
    email: str, password: str, now: dt.datetime, *, ip: str | None = None
) -> StaffUser | SignInRefused:
    """Check a sign-in attempt made at ``now``: the user on success, otherwise why not.

    Five wrong passwords in a row lock the account for 15 minutes. An unknown email and a
    wrong password are refused alike, and take about as long, so neither reveals which it was.
    """
    address = normalise_email(email)
    user = find_user(address) if address else None
    # People sometimes type their password into the email box: only keep what looks like an address.
    context = {"email": address[:254] if _looks_like_email(address) else None, "ip": ip}

    if user is None:
        _verify(_dummy_hash(), password)
        return _refuse(SignInFailure.BAD_CREDENTIALS, None, "Sign-in failed: unknown email", context)

    context |= _about(user)
    if user.locked_at(now):
        return _refuse(SignInFailure.LOCKED, user, "Sign-in refused: account locked", context)

    if len(password) > MAX_PASSWORD_LENGTH or not _verify(user.password_hash, password):
        user.failed_attempts = StaffUser.failed_attempts + 1  # in SQL, so concurrent failures all count
        db.session.flush()
        if user.failed_attempts < MAX_FAILED_ATTEMPTS:
            return _refuse(SignInFailure.BAD_CREDENTIALS, None, "Sign-in failed: wrong password", context)
        user.failed_attempts = 0
        user.locked_until = now + LOCK_DURATION
        record(
            "anonymous",
            "auth.sign_in_failed",
            None,
            "Sign-in failed: wrong password",
            reason=SignInFailure.BAD_CREDENTIALS.value,
            **context,
        )
        return _refuse(
            SignInFailure.LOCKED,
            user,
            f"Account locked after {MAX_FAILED_ATTEMPTS} failed sign-ins",
            context,
            action="auth.account_locked",
        )

    if not user.active:
        return _refuse(SignInFailure.DEACTIVATED, None, "Sign-in refused: account deactivated", context)

    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.failed_attempts = 0
    user.locked_until = None
    user.last_login_at = now
    record(user.actor, "auth.signed_in", None, f"Signed in: {user.email}", **context)
    db.session.commit()
    return user


def record_sign_out(user: StaffUser, reason: str = "requested") -> None:
    """Write the audit entry for a session that ended (by request, inactivity or deactivation)."""
    summaries = {
        "requested": "Signed out",
        "inactive": "Signed out after inactivity",
        "deactivated": "Signed out: account deactivated",
    }
    record(
        user.actor,
        "auth.signed_out",
        None,
        f"{summaries.get(reason, 'Signed out')}: {user.email}",
        reason=reason,
        **_about(user),
    )
    db.session.commit()


def _refuse(
    reason: SignInFailure,
    user: StaffUser | None,
    summary: str,
    context: dict[str, Any],
    action: str = "auth.sign_in_failed",
) -> SignInRefused:
    locked_until = as_utc(user.locked_until) if user is not None and reason is SignInFailure.LOCKED else None
    data = dict(context, reason=reason.value)
    if locked_until is not None:
        data["locked_until"] = locked_until.isoformat()
    record("anonymous", action, None, summary, **data)
    db.session.commit()
    return SignInRefused(reason, locked_until)


def _valid_email(email: str) -> str:
    try:
        return normalise_email(validate_email(email.strip(), check_deliverability=False).normalized)
    except EmailNotValidError as error:
        raise AccountError(f"{email!r} is not a valid email address: {error}") from None


def _looks_like_email(text: str) -> bool:
    local, at, domain = text.partition("@")
    return bool(at and local and "." in domain and not any(character.isspace() for character in text))


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def _about(user: StaffUser) -> dict[str, Any]:
    return {"staff_user_id": user.id, "email": user.email, "role": user.role}
