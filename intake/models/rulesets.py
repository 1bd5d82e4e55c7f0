"""Ruleset versions kept in the database, their activations, and re-assessment runs."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import utcnow
from ..extensions import Model
from .staff import StaffUser


class RulesetVersion(Model):
    """Every rule file of every layer, as uploaded or edited; at most one is active."""

    __tablename__ = "ruleset_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: {"layers": [{"name": "rules", "files": {"precautions/x.yaml": "text", ...}}, ...]}, defaults first.
    files: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: The core's Ruleset.version of these files ("" when they did not load).
    hash: Mapped[str] = mapped_column(String(64), default="", index=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    note: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(default=False, index=True)
    #: The version this one was made from (an edit or upload), if any.
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("ruleset_version.id", ondelete="SET NULL"))

    author: Mapped[StaffUser | None] = relationship("StaffUser")


class RulesetActivation(Model):
    """One activation (or roll back) of a version: who, when, why, and what was active before."""

    __tablename__ = "ruleset_activation"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("ruleset_version.id", ondelete="CASCADE"), index=True)
    previous_version_id: Mapped[int | None] = mapped_column(ForeignKey("ruleset_version.id", ondelete="SET NULL"))
    activated_by: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id", ondelete="SET NULL"))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    note: Mapped[str] = mapped_column(Text, default="")
    #: "activate" or "rollback".
    kind: Mapped[str] = mapped_column(String(20), default="activate")

    staff_user: Mapped[StaffUser | None] = relationship("StaffUser")


class ReassessRun(Model):
    """Re-assessing open intakes under a newly active version: its progress, for the progress page."""

    __tablename__ = "reassess_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("ruleset_version.id", ondelete="CASCADE"))
    #: "running", "done" or "failed".
    status: Mapped[str] = mapped_column(String(20), default="running")
    total: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)
    changed: Mapped[int] = mapped_column(default=0)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]
    error: Mapped[str] = mapped_column(Text, default="")
    #: The last intake id done: a run resumed after its worker died carries on after it.
    cursor: Mapped[int] = mapped_column(default=0)
    #: Who activated the version: the re-assessments are recorded under them.
    actor: Mapped[str] = mapped_column(String(80), default="system")
    #: Which worker holds the run ("" while it waits in the queue), and until when: a run whose lease ran
    #: out is picked up again.
    lease_owner: Mapped[str] = mapped_column(String(100), default="")
    lease_until: Mapped[dt.datetime | None]


class PreviewRun(Model):
    """A preview of a candidate ruleset split in chunks run by workers (intake.rulesets.parallel_preview)."""

    __tablename__ = "preview_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The version previewed, when an admin started the run from its page (None: `flask rules preview`).
    version_id: Mapped[int | None] = mapped_column(ForeignKey("ruleset_version.id", ondelete="CASCADE"), index=True)
    #: Who started it (an audit actor, as ReassessRun.actor).
    started_by: Mapped[str] = mapped_column(String(80), default="system")
    #: The two rulesets, as version files: a worker loads them from here.
    current_files: Mapped[dict[str, Any]] = mapped_column(JSON)
    candidate_files: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: "running", "done", "failed" or "cancelled".
    status: Mapped[str] = mapped_column(String(20), default="running")
    total: Mapped[int] = mapped_column(default=0)
    max_rows: Mapped[int] = mapped_column(default=500)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]


class PreviewChunk(Model):
    """One slice of a preview (rows ``offset`` to ``offset + size`` of the intakes, in preview order) and its result."""

    __tablename__ = "preview_chunk"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("preview_run.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    offset: Mapped[int] = mapped_column(default=0)
    size: Mapped[int] = mapped_column(default=0)
    #: "pending", "running", "done", "failed" or "cancelled".
    state: Mapped[str] = mapped_column(String(20), default="pending")
    #: Intakes previewed so far (the progress shown).
    done: Mapped[int] = mapped_column(default=0)
    #: preview.result_to_json of this slice, once done; no patient's name (labels are filled in at the merge).
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str] = mapped_column(Text, default="")
