"""Database models: intakes, their assessments, and the audit log."""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import secrets
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class IntakeStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"


def hash_token(token: str) -> str:
    """The stored form of a patient link token; the token itself is never stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """An unguessable patient link token (256 bits)."""
    return secrets.token_urlsafe(32)


class Intake(db.Model):
    """One patient's consultation intake, from first draft to submission."""

    __tablename__ = "intake"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: sha256 of the patient's private link token.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(20), default=IntakeStatus.DRAFT, index=True)
    #: The answers document as far as the patient got (JSON form of intake.answers).
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: Sections the patient has completed, in the order of intake.answers.SECTIONS.
    completed_sections: Mapped[list[str]] = mapped_column(JSON, default=list)
    full_name: Mapped[str | None] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    appointment_date: Mapped[dt.date | None] = mapped_column(index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[dt.datetime | None]
    #: Bumped on every write; a stale writer gets a conflict instead of overwriting.
    version: Mapped[int] = mapped_column(default=1)

    assessments: Mapped[list[Assessment]] = relationship(
        back_populates="intake", order_by="Assessment.id", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def latest_assessment(self) -> Assessment | None:
        return self.assessments[-1] if self.assessments else None

    @property
    def is_submitted(self) -> bool:
        return self.status != IntakeStatus.DRAFT


class Assessment(db.Model):
    """What the rules found for an intake under one ruleset version."""

    __tablename__ = "assessment"

    id: Mapped[int] = mapped_column(primary_key=True)
    intake_id: Mapped[int] = mapped_column(ForeignKey("intake.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    #: The date the rules were evaluated on (instructions and schedule are relative to it).
    assessed_on: Mapped[dt.date]
    #: Content hash of the rule files that produced it.
    ruleset_version: Mapped[str] = mapped_column(String(64), index=True)
    outcome: Mapped[str] = mapped_column(String(20), index=True)
    defer_until: Mapped[dt.date | None]
    #: Assessment.to_dict() of the core: flags, instructions, plan.
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: The ruleset version activated in the database that produced it (None: the rule folders).
    ruleset_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("ruleset_version.id", ondelete="SET NULL"), index=True
    )

    intake: Mapped[Intake] = relationship(back_populates="assessments")


class AuditEntry(db.Model):
    """Who did what to which intake, and when. Written by the operations, never by views."""

    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    #: "patient", "staff:<id>", "api:<token id>" or "system".
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(40))
    intake_id: Mapped[int | None] = mapped_column(ForeignKey("intake.id", ondelete="SET NULL"))
    summary: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __table_args__ = (Index("ix_audit_entry_intake_at", "intake_id", "at"),)


from .admin.models import ReassessRun, RulesetActivation, RulesetVersion  # noqa: E402, F401 - rules versions
from .api.models import ApiToken  # noqa: E402, F401 - API tokens are part of the metadata
from .auth.models import StaffUser  # noqa: E402, F401 - staff accounts are part of the metadata
