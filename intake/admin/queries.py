"""What the admin pages read: rule versions, activations and re-assessment runs, the clinic, API tokens."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ..api import tokens
from ..clock import utcnow
from ..extensions import db
from ..models import ApiToken, ClinicProfile, PreviewRun, ReassessRun, RulesetActivation, RulesetVersion, StaffUser
from ..rulesets import versions


def find_version(version_id: int) -> RulesetVersion | None:
    return db.session.get(RulesetVersion, version_id)


def find_run(run_id: int) -> ReassessRun | None:
    return db.session.get(ReassessRun, run_id)


def find_preview_run(version_id: int, run_id: int) -> PreviewRun | None:
    """A chunked preview of ``version_id`` (None when the run is of another version, or gone)."""
    run = db.session.get(PreviewRun, run_id)
    return run if run is not None and run.version_id == version_id else None


def preview_runs(version_id: int, limit: int = 5) -> list[PreviewRun]:
    """The latest chunked previews of a version still kept, newest first."""
    return list(db.session.scalars(select(PreviewRun).where(PreviewRun.version_id == version_id)
                                   .order_by(PreviewRun.id.desc()).limit(limit)))


def change_base(from_version_id: int | None) -> tuple[dict[str, Any], RulesetVersion | None]:
    """What a change starts from: the version named (a candidate), else the active rules."""
    if from_version_id is not None:
        version = find_version(from_version_id)
        if version is not None:
            return dict(version.files), version
    return versions.base_files(), versions.active_version()


def all_versions() -> list[RulesetVersion]:
    """Every version, newest first."""
    return list(db.session.scalars(select(RulesetVersion).order_by(RulesetVersion.id.desc())))


def all_activations() -> list[RulesetActivation]:
    """Every activation and roll back, newest first."""
    return list(db.session.scalars(select(RulesetActivation).order_by(RulesetActivation.id.desc())))


def clinic_profile() -> ClinicProfile | None:
    """The clinic's identity as an admin set it (None until first saved)."""
    return db.session.get(ClinicProfile, 1)


def api_tokens() -> list[tuple[ApiToken, StaffUser | None, str]]:
    """Every API token, newest first, with the admin who created it and its status now
    ("active", "expired", "revoked", "owner deactivated")."""
    now = utcnow()
    return [(token, owner, tokens.status(token, owner, now)) for token, owner in reversed(tokens.list_tokens())]


def find_api_token(token_id: int) -> ApiToken | None:
    return db.session.get(ApiToken, token_id)
