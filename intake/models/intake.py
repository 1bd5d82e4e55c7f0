"""An intake, its assessments, and what is kept beside them for the queue, the report and the search."""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import secrets
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..assessment import OUTCOMES
from ..clock import utcnow
from ..extensions import Model
from ..protection.encryption import EncryptedJSON, EncryptedText


class IntakeStatus(enum.StrEnum):
    """Where the patient's document is: being filled in, submitted, or reopened for more answers."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    #: Submitted, then sent back by a practitioner: only ``reopened_sections`` may change.
    REOPENED = "reopened"


class ReviewStatus(enum.StrEnum):
    """Where an intake stands in the review queue (``Intake.review_status``), in the queue's order.

    Before a decision it says how far the patient got; after one, it is the decision's
    outcome (the last five, intake.models.review.Outcome).
    """

    AWAITING_REVIEW = "awaiting_review"
    INVITED = "invited"
    DRAFT = "draft"
    MORE_INFORMATION_NEEDED = "more_information_needed"
    DEFERRED = "deferred"
    APPROVED = "approved"
    APPROVED_WITH_PRECAUTIONS = "approved_with_precautions"
    NOT_SUITABLE = "not_suitable"


#: Letters and digits no one confuses when reading them out (no 0/O, 1/I/L, 5/S, 2/Z, 8/B).
CODE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"


def new_check_in_code() -> str:
    """A check-in code: eight characters of CODE_ALPHABET in two groups (about 2^37 codes)."""
    letters = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
    return f"{letters[:4]}-{letters[4:]}"


def normalise_code(typed: str) -> str:
    """A typed code as stored: upper case, without spaces or dashes."""
    return "".join(ch for ch in typed.upper() if ch.isalnum())


def hash_token(token: str) -> str:
    """The stored form of a patient link token; the token itself is never stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """An unguessable patient link token (256 bits)."""
    return secrets.token_urlsafe(32)


def severity_band(outcome: str | None) -> int:
    """Where an outcome sorts in the queue: 0 for the most severe of the core's OUTCOMES, one more per step
    down, and one past the least severe for an intake not assessed yet."""
    return len(OUTCOMES) - 1 - OUTCOMES.index(outcome) if outcome in OUTCOMES else len(OUTCOMES)


def queue_sort_key(outcome: str | None, appointment_date: dt.date | None) -> int:
    """The queue's default order in one indexable number: most severe first, booked before not booked."""
    return severity_band(outcome) * 2 + (0 if appointment_date else 1)


class Intake(Model):
    """One patient's consultation intake, from first draft to submission."""

    __tablename__ = "intake"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: sha256 of the patient's private link token.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(20), default=IntakeStatus.DRAFT, index=True)
    #: The answers document as far as the patient got (JSON form of intake.answers), encrypted.
    answers: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON, default=dict)
    #: Sections the patient has completed, in the order of intake.answers.SECTIONS.
    completed_sections: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: Contact details, encrypted; searched through SearchTerm (intake.protection.search).
    full_name: Mapped[str | None] = mapped_column(EncryptedText)
    email: Mapped[str | None] = mapped_column(EncryptedText)
    appointment_date: Mapped[dt.date | None] = mapped_column(index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[dt.datetime | None]
    #: Bumped on every write; a stale writer gets a conflict instead of overwriting.
    version: Mapped[int] = mapped_column(default=1)
    #: When staff invited the patient (None: the patient started on their own or via the API).
    invited_at: Mapped[dt.datetime | None]
    #: When the patient first saved a section.
    started_at: Mapped[dt.datetime | None]
    #: When the current private link was issued; it expires PATIENT_LINK_DAYS later.
    link_issued_at: Mapped[dt.datetime | None] = mapped_column(default=utcnow)
    #: Set when staff revoke the current link (a new one clears it).
    link_revoked_at: Mapped[dt.datetime | None]
    #: The sections a "more information needed" decision reopened for the patient.
    reopened_sections: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Kept by the operations so the queue filters and sorts on this table alone (no
    # per-request grouping over assessments and decisions):
    #: invited, draft, awaiting_review, or the latest decision's outcome (ReviewStatus).
    review_status: Mapped[str] = mapped_column(String(30), default=ReviewStatus.DRAFT, index=True)
    #: The latest assessment's outcome (None before submission).
    latest_outcome: Mapped[str | None] = mapped_column(String(20))
    #: queue_sort_key(latest_outcome, appointment_date).
    queue_sort: Mapped[int] = mapped_column(default=9)
    #: What the patient typed on a section saved for later that did not yet pass its checks,
    #: by section: the form's raw input, kept apart so ``answers`` stays a valid document.
    drafts: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON, default=dict)
    #: While a practitioner amends a signed decision: that decision's id, and why (cleared on signing).
    amending_decision_id: Mapped[int | None]
    amendment_reason: Mapped[str] = mapped_column(EncryptedText, default="")
    #: sha256 of the read-only link to the patient's status page that notifications carry
    #: (the private link stays the patient's own; this one is replaced by each notification).
    status_token_hash: Mapped[str | None] = mapped_column(String(64))
    status_link_issued_at: Mapped[dt.datetime | None]
    #: The latest appointment-day check-in, and whether it raised a flag the intake did not have.
    checked_in_at: Mapped[dt.datetime | None]
    flagged_at_check_in: Mapped[bool] = mapped_column(default=False)
    #: The code the patient types on the clinic's tablet to check in ("K7QF-M2XD"), shown to them and
    #: to staff; found by its keyed digest.
    check_in_code: Mapped[str] = mapped_column(EncryptedText, default="")
    check_in_code_digest: Mapped[str | None] = mapped_column(String(64))
    #: The language the patient reads their pages in (a BCP 47 tag of LANGUAGES: "fr", "ar"), so the
    #: saved link, status page, emails and .ics come back in it; "" before one was recorded (the default).
    language: Mapped[str] = mapped_column(String(16), default="", server_default="")
    #: When the patient stopped reminders from an email's link (None: reminders go; staff can clear it).
    #: Written with a Core update: it is not a change to the intake (no version step).
    reminders_stopped_at: Mapped[dt.datetime | None]

    __table_args__ = (
        Index("ix_intake_queue", "review_status", "queue_sort", "appointment_date", "id"),
        # The preview's order (newest first): its slices are read in order, never sorted whole.
        Index("ix_intake_submitted", "submitted_at", "id"),
        UniqueConstraint("status_token_hash", name="uq_intake_status_token_hash"),
        UniqueConstraint("check_in_code_digest", name="uq_intake_check_in_code_digest"),
    )

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

    def refresh_queue_columns(self) -> None:
        """Recompute queue_sort after the outcome or the appointment changed."""
        self.queue_sort = queue_sort_key(self.latest_outcome, self.appointment_date)

    @property
    def is_reopened(self) -> bool:
        return self.status == IntakeStatus.REOPENED

    def may_edit(self, section: str) -> bool:
        """Whether the patient may change ``section`` now: any in a draft, the reopened ones after."""
        if self.status == IntakeStatus.DRAFT:
            return True
        return self.is_reopened and section in (self.reopened_sections or [])


class Assessment(Model):
    """What the rules found for an intake under one ruleset version."""

    __tablename__ = "assessment"

    id: Mapped[int] = mapped_column(primary_key=True)
    intake_id: Mapped[int] = mapped_column(ForeignKey("intake.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    #: The date the rules were evaluated on (instructions and schedule are relative to it).
    assessed_on: Mapped[dt.date]
    #: Content hash of the rule files that produced it.
    ruleset_version: Mapped[str] = mapped_column(String(64), index=True)
    outcome: Mapped[str] = mapped_column(String(20), index=True)
    defer_until: Mapped[dt.date | None]
    #: The flags in short, "rule-id:severity" apart by spaces (preview.flag_summary): what a preview reuses
    #: of this assessment without decrypting and parsing the whole document (a hundred times longer).
    #: None for assessments stored before it was kept: a preview assesses those again. Before the
    #: document: SQLite reads a row's columns in order, through the document's overflow pages to reach a later one.
    flag_summary: Mapped[str | None] = mapped_column(EncryptedText)
    #: Assessment.to_dict() of the core: flags, instructions, plan (encrypted: flags carry answers).
    document: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON)
    #: How many flags to review the document holds (info items are not flags to review), in clear
    #: so the queue never decrypts documents.
    flag_count: Mapped[int] = mapped_column(default=0)
    #: The answers document this assessment was made from (None for assessments stored before it was kept).
    answers: Mapped[dict[str, Any] | None] = mapped_column(EncryptedJSON)
    #: What carried over from the previous assessment's review (intake.rulesets.assessments.carry_over).
    carried: Mapped[dict[str, Any] | None] = mapped_column(EncryptedJSON)
    #: The ruleset version activated in the database that produced it (None: the rule folders).
    ruleset_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("ruleset_version.id", ondelete="SET NULL"), index=True
    )

    intake: Mapped[Intake] = relationship(back_populates="assessments")

    __table_args__ = (
        # An intake's assessments, and its latest one (the largest id) read from the index alone: on
        # intake_id only, PostgreSQL without fresh statistics found the latest by walking the whole
        # primary key backwards, once per intake of a preview.
        Index("ix_assessment_intake_latest", "intake_id", "id"),
    )


class RuleTally(Model):
    """How many assessments flagged each rule: counts only, tied to no intake (the override report).

    The flags themselves live in the encrypted assessment documents; counting them there
    would mean decrypting every assessment the clinic ever made for one report.
    """

    __tablename__ = "rule_tally"

    rule_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    flagged: Mapped[int] = mapped_column(default=0)


class SearchTerm(Model):
    """A keyed digest of a word (or prefix) of an intake's name or email (intake.protection.search)."""

    __tablename__ = "search_term"

    id: Mapped[int] = mapped_column(primary_key=True)
    intake_id: Mapped[int] = mapped_column(ForeignKey("intake.id", ondelete="CASCADE"))
    digest: Mapped[str] = mapped_column(String(32))

    __table_args__ = (
        UniqueConstraint("intake_id", "digest", name="uq_search_term_intake_digest"),
        Index("ix_search_term_digest_intake", "digest", "intake_id"),
    )


class CheckIn(Model):
    """The patient's answers on the days before the appointment, and the re-assessment they gave."""

    __tablename__ = "check_in"

    id: Mapped[int] = mapped_column(primary_key=True)
    intake_id: Mapped[int] = mapped_column(ForeignKey("intake.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    #: The check-in's answers (intake.answers.checkin.CheckInSchema), as JSON.
    answers: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON)
    #: The assessment before the check-in, and the one it produced.
    previous_assessment_id: Mapped[int | None] = mapped_column(ForeignKey("assessment.id", ondelete="SET NULL"))
    assessment_id: Mapped[int | None] = mapped_column(ForeignKey("assessment.id", ondelete="SET NULL"))
    #: Rule ids of flags to review the check-in raised, and of those it lifted.
    raised: Mapped[list[str]] = mapped_column(JSON, default=list)
    lifted: Mapped[list[str]] = mapped_column(JSON, default=list)
