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
from flask import current_app
from sqlalchemy.exc import IntegrityError

from ..audit import record
from ..clock import now
from ..extensions import db
from ..models import Role, StaffUser
from . import session_store, throttle
from .queries import find_user, normalise_email

MIN_PASSWORD_LENGTH = 12
#: argon2 would hash a megabyte happily; refusing it keeps sign-in from being a way to burn CPU.
MAX_PASSWORD_LENGTH = 1024

_hasher = PasswordHasher()


class AccountError(ValueError):
    """An account change that cannot be made; the message says why, in words for the operator."""


class SignInFailure(enum.StrEnum):
    BAD_CREDENTIALS = "bad_credentials"
    LOCKED = "locked"
    DEACTIVATED = "deactivated"


@dataclass(frozen=True)
class SignInRefused:
    """Why authenticate() said no; ``locked_until`` is set when sign-in is throttled (LOCKED)."""

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
    session_store.close_all(user.id, "password_changed", now())
    throttle.forget_account(user.email)
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
    email: str, password: str, now: dt.datetime, *, ip: str | None = None, known_device: bool = False
) -> StaffUser | SignInRefused:
    """Check a sign-in attempt made at ``now``: the user on success, otherwise why not.

    An unknown email and a wrong password are refused alike: the same argon2 work (against a
    dummy hash for an unknown email), the same failure counts, the same throttling
    (intake.auth.throttle: per email and address, and per email from browsers that never
    signed in to it), so no answer tells whether an account exists.
    """
    address = normalise_email(email)
    # People sometimes type their password into the email box: only keep what looks like an address.
    context = {"email": address[:254] if _looks_like_email(address) else None, "ip": ip}
    pair, account = throttle.pair_key(address, ip), throttle.account_key(address)
    config = current_app.config

    until = throttle.blocked_until(pair, now) or (None if known_device else throttle.blocked_until(account, now))
    if until is not None:
        return _refuse(SignInFailure.LOCKED, until, "Sign-in refused: too many failed attempts", context,
                       action="auth.sign_in_throttled")

    user = find_user(address) if address else None
    if user is not None:
        context |= _about(user)
    # The same argon2 work whether or not the account exists: the time taken tells nothing either.
    verified = len(password) <= MAX_PASSWORD_LENGTH and _verify(
        user.password_hash if user is not None else _dummy_hash(), password)
    if user is None or not verified:
        throttle.prune(now)
        until = throttle.count_failure(pair, account, now, config["SIGN_IN_MAX_FAILURES"])
        account_until = throttle.count_failure(account, account, now, config["SIGN_IN_ACCOUNT_MAX_FAILURES"])
        if until is None and not known_device:
            until = account_until
        if until is None:
            return _refuse(SignInFailure.BAD_CREDENTIALS, None, "Sign-in failed: wrong email or password", context)
        record("anonymous", "auth.sign_in_failed", None, "Sign-in failed: wrong email or password",
               reason=SignInFailure.BAD_CREDENTIALS.value, **context)
        return _refuse(SignInFailure.LOCKED, until, "Sign-in refused: too many failed attempts", context,
                       action="auth.sign_in_throttled")

    if not user.active:
        return _refuse(SignInFailure.DEACTIVATED, None, "Sign-in refused: account deactivated", context)

    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    throttle.forget(pair)
    user.last_login_at = now
    record(user.actor, "auth.signed_in", None, f"Signed in: {user.email}", **context)
    db.session.commit()
    return user


def throttled_until(user: StaffUser, now: dt.datetime) -> dt.datetime | None:
    """Until when browsers new to the account are refused after many failures from anywhere (else None)."""
    return throttle.blocked_until(throttle.account_key(user.email), now)


def record_sign_out(user: StaffUser, reason: str = "requested") -> None:
    """Write the audit entry for a session that ended (by request, inactivity or deactivation)."""
    summaries = {
        "requested": "Signed out",
        "inactive": "Signed out after inactivity",
        "deactivated": "Signed out: account deactivated",
        "expired": "Signed out: the session reached its longest lifetime",
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
    locked_until: dt.datetime | None,
    summary: str,
    context: dict[str, Any],
    action: str = "auth.sign_in_failed",
) -> SignInRefused:
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
