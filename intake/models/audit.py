"""The audit log's rows (written through intake.audit.record, chained by intake.audit)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import utcnow
from ..extensions import Model
from ..protection.encryption import EncryptedJSON, EncryptedText


class AuditEntry(Model):
    """Who did what to which intake, and when. Written by the services (intake.audit.record), never by views."""

    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    #: "patient", "staff:<id>", "api:<token id>" or "system".
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(40))
    #: No foreign key: the log is append-only and outlives the intakes it mentions.
    intake_id: Mapped[int | None]
    #: Summary and data are encrypted: they can mention answers and practitioners' reasons.
    summary: Mapped[str] = mapped_column(EncryptedText, default="")
    data: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON, default=dict)
    #: The chain (intake.audit): sha256 of summary and data, the previous entry's hash, this one's.
    content_hash: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    #: HMAC-SHA256 of ``hash`` under the audit key ``key_id`` (derived from an encryption key, so not in
    #: the database): rewriting the chain from the plain columns cannot make seals that verify.
    mac: Mapped[str] = mapped_column(String(64), default="")
    key_id: Mapped[str] = mapped_column(String(16), default="")
    #: Summary and data erased at the patient's request (the content hash is kept).
    redacted: Mapped[bool] = mapped_column(default=False)

    __table_args__ = (
        Index("ix_audit_entry_intake_at", "intake_id", "at"),
        # One successor per entry: two writers can never fork the chain.
        UniqueConstraint("prev_hash", name="uq_audit_entry_prev_hash"),
    )

