"""Sign-in throttling that answers alike for every email and that a stranger cannot turn on a colleague.

Failed sign-ins are counted for the email typed, whether or not an account has it, so the
answers to a known and an unknown address are the same page at the same moments:

- per email **and client address**: SIGN_IN_MAX_FAILURES (5) failures within
  SIGN_IN_LOCK_MINUTES (15) refuse that email from that address for SIGN_IN_LOCK_MINUTES.
  A stranger guessing a colleague's password blocks only themselves;
- per email, from anywhere: SIGN_IN_ACCOUNT_MAX_FAILURES (20) failures within the same
  window (a guesser spread over many addresses) refuse that email for SIGN_IN_LOCK_MINUTES
  to every browser it has not signed in from before. A browser that signed in to the
  account keeps a signed "known device" cookie, and the account's own user, at their usual
  computer, keeps signing in with the right password during such an attack.

The counts live in the database (every worker sees them, and they follow the app's clock);
keys are keyed digests, so the table holds no email or address in clear.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

from flask import Request, current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import case, delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from werkzeug.wrappers import Response as WerkzeugResponse

from ..extensions import db
from ..models import SignInThrottle

#: The cookie naming the accounts that signed in from this browser (signed, digests only).
DEVICE_COOKIE = "meso_known_device"
#: How many accounts one browser remembers (a shared clinic computer has a few users).
DEVICE_ACCOUNTS = 10
DEVICE_DAYS = 365




def _digest(*parts: str) -> str:
    key = hashlib.sha256(b"meso-intake sign-in throttle|" + current_app.secret_key.encode()).digest()  # type: ignore[union-attr]
    return hmac.new(key, "\x1f".join(parts).encode(), hashlib.sha256).hexdigest()


def account_key(email: str) -> str:
    return _digest("account", email)


def pair_key(email: str, address: str | None) -> str:
    return _digest("pair", email, address or "")


def _window() -> dt.timedelta:
    return dt.timedelta(minutes=current_app.config["SIGN_IN_LOCK_MINUTES"])


def _as_utc(value: dt.datetime | None) -> dt.datetime | None:
    return value.replace(tzinfo=dt.UTC) if value is not None and value.tzinfo is None else value


def blocked_until(key: str, now: dt.datetime) -> dt.datetime | None:
    """When sign-in with ``key`` is allowed again, or None when it is now."""
    until = _as_utc(db.session.scalar(select(SignInThrottle.blocked_until).where(SignInThrottle.key == key)))
    return until if until is not None and until > now else None


def count_failure(key: str, account: str, now: dt.datetime, limit: int) -> dt.datetime | None:
    """Count one failure (in the current transaction); returns the block's end when it reaches ``limit``."""
    window_start = now - _window()
    table = SignInThrottle.__table__
    model = SignInThrottle
    upsert = postgresql_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = upsert(model).values(key=key, account=account, failures=1, window_started_at=now)
    stale = table.c.window_started_at <= window_start
    db.session.execute(statement.on_conflict_do_update(index_elements=[table.c.key], set_={
        "failures": case((stale, 1), else_=table.c.failures + 1),
        "window_started_at": case((stale, now), else_=table.c.window_started_at),
    }))
    failures = db.session.scalar(select(SignInThrottle.failures).where(SignInThrottle.key == key)) or 0
    if failures < limit:
        return None
    until = now + _window()
    db.session.execute(update(SignInThrottle).where(SignInThrottle.key == key)
                       .values(blocked_until=until, failures=0, window_started_at=now))
    return until


def forget(key: str) -> None:
    """Clear the count of one key (a successful sign-in from that address)."""
    db.session.execute(delete(SignInThrottle).where(SignInThrottle.key == key))


def forget_account(email: str) -> None:
    """Lift every count and block of an account (a new password was set)."""
    db.session.execute(delete(SignInThrottle).where(SignInThrottle.account == account_key(email)))


def prune(now: dt.datetime) -> None:
    """Drop counts whose window and block are over (guesses at made-up emails would pile up)."""
    over = now - _window()
    db.session.execute(delete(SignInThrottle).where(
        SignInThrottle.window_started_at < over,
        or_(SignInThrottle.blocked_until.is_(None), SignInThrottle.blocked_until < now)))


# --- the known-device cookie ----------------------------------------------------------------


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt="meso-intake known device")  # type: ignore[arg-type]


def _device_accounts(request: Request) -> list[str]:
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw:
        return []
    try:
        accounts = _serializer().loads(raw)
    except BadSignature:
        return []
    return [a for a in accounts if isinstance(a, str)][:DEVICE_ACCOUNTS] if isinstance(accounts, list) else []


def is_known_device(request: Request, email: str) -> bool:
    """Whether this browser has signed in to the account of ``email`` before."""
    return _digest("device", email) in _device_accounts(request)


def remember_device(request: Request, response: WerkzeugResponse, email: str) -> None:
    """Mark this browser as one the account signs in from (a long-lived, signed, HttpOnly cookie)."""
    mine = _digest("device", email)
    accounts = [mine, *[a for a in _device_accounts(request) if a != mine]][:DEVICE_ACCOUNTS]
    response.set_cookie(DEVICE_COOKIE, _serializer().dumps(accounts), max_age=DEVICE_DAYS * 86400,
                        path="/staff/", secure=current_app.config["SESSION_COOKIE_SECURE"], httponly=True,
                        samesite="Lax")
