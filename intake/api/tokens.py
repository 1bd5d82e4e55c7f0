"""Create, list, revoke and check staff API tokens. Each change writes its audit entry."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import select

from ..audit import record
from ..auth.queries import find_user, normalise_email
from ..clock import as_utc, utcnow
from ..extensions import db
from ..models import ApiToken, Role, StaffUser

#: Lets secret scanners (and people) recognise a leaked token.
TOKEN_PREFIX = "meso_"  # noqa: S105  # nosec B105 # a label, not a secret
MAX_TOKEN_LENGTH = 200
MAX_NAME_LENGTH = 120
#: A token's scopes: READ may only read (GET); WRITE may also create intakes.
READ, WRITE = "read", "write"
SCOPES = (READ, WRITE)


class TokenError(ValueError):
    """A token change that cannot be made; the message says why, for the operator."""


def hash_api_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(name: str, created_by_email: str, *, scope: str = READ, expires_at: dt.datetime | None = None,
                 actor: str = "system") -> tuple[ApiToken, str]:
    """Create a token on behalf of an active admin; returns it with the secret (shown once, stored hashed).

    ``scope``: READ (GET only) or WRITE (may also create intakes); ``expires_at``: when it stops
    working (None: never). The token also stops working if its creator's account is deactivated.
    """
    name = " ".join(name.split())
    if not name or len(name) > MAX_NAME_LENGTH:
        raise TokenError(f"Give the token a name of 1 to {MAX_NAME_LENGTH} characters (what it is for).")
    if scope not in SCOPES:
        raise TokenError(f"The scope must be one of: {', '.join(SCOPES)}.")
    if expires_at is not None and as_utc(expires_at) <= utcnow():  # type: ignore[operator]
        raise TokenError("The expiry must be in the future.")
    admin = find_user(created_by_email)
    if admin is None:
        raise TokenError(f"No staff account for {normalise_email(created_by_email)}.")
    if not admin.active or admin.role != Role.ADMIN:
        raise TokenError(f"{admin.email} is not an active admin: only an admin can create API tokens.")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(name=name, token_hash=hash_api_token(secret), created_by=admin.id, scope=scope,
                     expires_at=expires_at)
    db.session.add(token)
    db.session.flush()
    record(actor, "api_token.created", None, f"API token {token.id} ({name}, {scope}) created by {admin.email}",
           token_id=token.id, name=name, created_by=admin.id, scope=scope,
           expires_at=expires_at.isoformat() if expires_at else None)
    db.session.commit()
    return token, secret


def list_tokens() -> list[tuple[ApiToken, StaffUser | None]]:
    """Every token, oldest first, with the admin who created it."""
    rows = db.session.execute(
        select(ApiToken, StaffUser).outerjoin(StaffUser, StaffUser.id == ApiToken.created_by).order_by(ApiToken.id)
    )
    return [(token, user) for token, user in rows]


def revoke_token(token_id: int, *, actor: str = "system") -> ApiToken:
    """Revoke a token for good."""
    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise TokenError(f"No API token with id {token_id}. See them with: flask api-tokens list")
    if token.is_revoked:
        raise TokenError(f"API token {token_id} is already revoked.")
    token.revoked_at = utcnow()
    record(actor, "api_token.revoked", None, f"API token {token.id} ({token.name}) revoked", token_id=token.id)
    db.session.commit()
    return token


def status(token: ApiToken, owner: StaffUser | None, now: dt.datetime) -> str:
    """Why the token does not work ("revoked", "expired", "owner deactivated"), or "active"."""
    if token.is_revoked:
        return "revoked"
    expires = as_utc(token.expires_at)
    if expires is not None and expires <= now:
        return "expired"
    if owner is None or not owner.active:
        return "owner deactivated"
    return "active"


REFUSALS = {
    "unknown": "This API token is not valid or was revoked.",
    "revoked": "This API token is not valid or was revoked.",
    "expired": "This API token has expired: ask a clinic admin for a new one.",
    "owner deactivated": "This API token belonged to an account that was deactivated: ask a clinic admin "
                         "for a new one.",
}


def check(secret: str) -> tuple[ApiToken | None, str]:
    """The live token ``secret`` belongs to, marked as used now, with "active"; or None and why not."""
    if not secret or len(secret) > MAX_TOKEN_LENGTH:
        return None, "unknown"
    # Looked up by hash: the stored digest is useless to whoever reads the table.
    row = db.session.execute(
        select(ApiToken, StaffUser).outerjoin(StaffUser, StaffUser.id == ApiToken.created_by)
        .where(ApiToken.token_hash == hash_api_token(secret))).first()
    if row is None:
        return None, "unknown"
    token, owner = row
    state = status(token, owner, utcnow())
    if state != "active":
        return None, state
    token.last_used_at = utcnow()
    return token, state


def authenticate(secret: str) -> ApiToken | None:
    """The live token ``secret`` belongs to, marked as used now; None for an unknown, revoked or expired one."""
    return check(secret)[0]


#: The HTTP methods a READ token may use; any other method needs WRITE.
READ_METHODS = ("GET", "HEAD", "OPTIONS")


def scope_needed(method: str) -> str:
    """The scope a request with this HTTP method needs (what the API documentation page lists too)."""
    return READ if method.upper() in READ_METHODS else WRITE


def may(token: ApiToken, method: str) -> bool:
    """Whether the token's scope allows a request with this HTTP method."""
    return scope_needed(method) == READ or token.scope == WRITE
