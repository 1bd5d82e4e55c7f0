"""What the admin pages read: rule versions, activations and re-assessment runs, the clinic, API tokens."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ..api import tokens
from ..clock import utcnow
from ..extensions import db
from ..models import ApiToken, ClinicProfile, ReassessRun, RulesetActivation, RulesetVersion, StaffUser
from ..rulesets import versions


def find_version(version_id: int) -> RulesetVersion | None:
    return db.session.get(RulesetVersion, version_id)


def find_run(run_id: int) -> ReassessRun | None:
    return db.session.get(ReassessRun, run_id)


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
