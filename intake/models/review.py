"""What practitioners add to an intake: flag reviews, plan edits and signed decisions."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import utcnow
from ..extensions import Model
from ..protection.encryption import EncryptedJSON, EncryptedText
from .intake import ReviewStatus
from .staff import StaffUser


class FlagAction(enum.StrEnum):
    ACKNOWLEDGED = "acknowledged"
    OVERRIDDEN = "overridden"


class Outcome(enum.StrEnum):
    """What a practitioner decides; the intake's review status becomes the same word."""

    APPROVED = ReviewStatus.APPROVED.value
    APPROVED_WITH_PRECAUTIONS = ReviewStatus.APPROVED_WITH_PRECAUTIONS.value
    MORE_INFORMATION_NEEDED = ReviewStatus.MORE_INFORMATION_NEEDED.value
    DEFERRED = ReviewStatus.DEFERRED.value
    NOT_SUITABLE = ReviewStatus.NOT_SUITABLE.value


#: Outcomes that let treatment go ahead (a contraindication must be overridden first).
APPROVALS = frozenset({Outcome.APPROVED, Outcome.APPROVED_WITH_PRECAUTIONS})


class FlagReview(Model):
    """A practitioner's answer to one flag of one assessment; the latest per flag counts."""

    __tablename__ = "flag_review"

    id: Mapped[int] = mapped_column(primary_key=True)
    intake_id: Mapped[int] = mapped_column(ForeignKey("intake.id", ondelete="CASCADE"))
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessment.id", ondelete="CASCADE"))
    rule_id: Mapped[str] = mapped_column(String(80))
    #: One of FlagAction.
    action: Mapped[str] = mapped_column(String(20))
    #: Required for an override: why treatment may go ahead despite the flag.
    reason: Mapped[str] = mapped_column(EncryptedText, default="")
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    #: The review of the previous assessment this one repeats: the same rule fired on the same answers.
    carried_from_id: Mapped[int | None] = mapped_column(
        ForeignKey("flag_review.id", ondelete="SET NULL", name="fk_flag_review_carried_from_id"))

    staff_user: Mapped[StaffUser] = relationship()

    # With id last, the latest review of each flag is read from the index alone (the override report).
    __table_args__ = (Index("ix_flag_review_latest", "assessment_id", "rule_id", "id"),)


class PlanEdit(Model):
    """The plan as a practitioner changed it, kept beside the suggestion it started from."""

    __tablename__ = "plan_edit"

    id: Mapped[int] = mapped_column(primary_key=True)
    intake_id: Mapped[int] = mapped_column(ForeignKey("intake.id", ondelete="CASCADE"))
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessment.id", ondelete="CASCADE"), index=True)
    #: The edited plan: the suggestion's plan dict with sessions, interval, depths and schedule changed.
    plan: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON)
    #: What changed, field by field: {"sessions": [suggested, edited], ...}.
    changes: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON, default=dict)
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    #: The edit of the previous assessment this one repeats on the new suggestion.
    carried_from_id: Mapped[int | None] = mapped_column(
        ForeignKey("plan_edit.id", ondelete="SET NULL", name="fk_plan_edit_carried_from_id"))

    staff_user: Mapped[StaffUser] = relationship()


class Decision(Model):
    """A signed decision on an intake: who, when, on which ruleset version, with which plan."""

    __tablename__ = "decision"

    id: Mapped[int] = mapped_column(primary_key=True)
    intake_id: Mapped[int] = mapped_column(ForeignKey("intake.id", ondelete="CASCADE"))
    #: The assessment the decision was made on; a re-assessed intake needs a new decision.
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessment.id", ondelete="CASCADE"))
    #: One of Outcome.
    outcome: Mapped[str] = mapped_column(String(30), index=True)
    defer_until: Mapped[dt.date | None]
    #: For "more information needed": the question for the patient.
    question: Mapped[str] = mapped_column(EncryptedText, default="")
    #: For "more information needed": the answer sections reopened for the patient.
    reopened_sections: Mapped[list[str] | None] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(EncryptedText, default="")
    #: The plan agreed (the practitioner's edit, else the suggestion); None without a plan.
    plan: Mapped[dict[str, Any] | None] = mapped_column(EncryptedJSON)
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    signed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    ruleset_version: Mapped[str] = mapped_column(String(64))
    #: What the patient reads on their status page: why, and what to do (deferred, not suitable).
    patient_message: Mapped[str] = mapped_column(EncryptedText, default="")
    #: An amendment: the signed decision it replaces, and why.
    supersedes_id: Mapped[int | None] = mapped_column(
        ForeignKey("decision.id", ondelete="SET NULL", name="fk_decision_supersedes_id"))
    amendment_reason: Mapped[str] = mapped_column(EncryptedText, default="")
    #: For "more information needed": the patient's reply in their own words, when they sent their answers.
    reply: Mapped[str] = mapped_column(EncryptedText, default="")
    replied_at: Mapped[dt.datetime | None]

    staff_user: Mapped[StaffUser] = relationship()

    __table_args__ = (Index("ix_decision_intake_id_id", "intake_id", "id"),)


class NotificationStatus(enum.StrEnum):
    #: In the outbox: not sent yet, or a failed attempt that will be tried again (intake.outbox).
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    #: No email address, or no mail server set up: nothing was sent.
    NOT_SENT = "not_sent"


class Notification(Model):
    """A message to the patient: what kind, whether it went, and why not (no health data is kept here)."""

    __tablename__ = "notification"

    id: Mapped[int] = mapped_column(primary_key=True)
    intake_id: Mapped[int] = mapped_column(
        ForeignKey("intake.id", ondelete="CASCADE", name="fk_notification_intake_id"), index=True)
    #: "invitation", "new_link", "more_information", "decision".
    kind: Mapped[str] = mapped_column(String(30))
    #: One of NotificationStatus.
    status: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    #: Why it failed, in words for staff (the transport's error, cut short).
    error: Mapped[str] = mapped_column(String(300), default="")
    #: Who caused it ("staff:3", "patient", "system").
    actor: Mapped[str] = mapped_column(String(80), default="system")
