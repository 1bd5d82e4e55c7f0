"""What the rules admin pages read: versions, activations and re-assessment runs."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ..extensions import db
from ..models import ClinicProfile, ReassessRun, RulesetActivation, RulesetVersion
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
