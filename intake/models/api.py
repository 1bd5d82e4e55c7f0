"""Staff API tokens: how a clinic's other systems (booking, records) sign their API requests."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import utcnow
from ..extensions import Model


class ApiToken(Model):
    """One system's bearer token; only its sha256 is stored, the token is shown once at creation."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: What the token is for, e.g. "Booking system".
    name: Mapped[str] = mapped_column(String(120))
    #: sha256 hex digest of the token.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: The admin who created it.
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[dt.datetime | None]
    #: Set once; a revoked token never works again.
    revoked_at: Mapped[dt.datetime | None]
    #: "read" (GET only) or "write" (may also create intakes).
    scope: Mapped[str] = mapped_column(String(10), default="read")
    #: The token stops working then (None: never; the CLI sets a year unless told otherwise).
    expires_at: Mapped[dt.datetime | None]

    @property
    def actor(self) -> str:
        """How requests made with this token appear in the audit log."""
        return f"api:{self.id}"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def __repr__(self) -> str:
        return f"<ApiToken {self.id} {self.name!r}>"
