"""Ruleset versions kept in the database: saved, checked (valid, tests pass, lint clean),
activated or rolled back, compared. Every change writes its audit entry."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from sqlalchemy import delete, select, update

from ..assessment import RuleFileError, Ruleset, RulesetInvalid
from ..assessment.lint import Finding, lint
from ..assessment.ruletests import RuleTestReport, run_rule_tests
from ..audit import record
from ..extensions import db
from ..models import Assessment, PreviewChunk, PreviewRun, ReassessRun, RulesetActivation, RulesetVersion
from . import active
from .cli import form_questions
from .files import digest, folders_snapshot, load_files
from .folders import configured_folders


class NotActivatable(Exception):
    """A version that failed its checks; ``check`` holds what failed."""

    def __init__(self, check: Check):
        self.check = check
        super().__init__("the ruleset is not valid or its tests fail")


@dataclass
class Check:
    """What a candidate's files give: the ruleset (None if invalid), errors, test report, lint findings."""

    ruleset: Ruleset | None
    errors: list[RuleFileError] = field(default_factory=list)
    report: RuleTestReport | None = None
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Valid, its tests pass, and lint has no error."""
        return (self.ruleset is not None and self.report is not None and self.report.ok
                and not any(f.level == "error" for f in self.findings))


#: Recent checks by digest of the files: a version's page, preview and activation check it again.
_CHECKS: dict[str, Check] = {}
_CHECKS_KEPT = 8


def check(files: Mapping[str, Any], asked: set[str] | None = None) -> Check:
    """Validate the files, run their rule tests, lint them (remembered for the last few file sets)."""
    key = digest(files)
    if asked is None and key in _CHECKS:
        return _CHECKS[key]
    result = _check(files, asked)
    if asked is None:
        if len(_CHECKS) >= _CHECKS_KEPT:
            _CHECKS.pop(next(iter(_CHECKS)))
        _CHECKS[key] = result
    return result


def _check(files: Mapping[str, Any], asked: set[str] | None) -> Check:
    try:
        ruleset = load_files(files)
    except RulesetInvalid as invalid:
        return Check(None, invalid.errors)
    report = run_rule_tests(ruleset)
    if asked is None:
        asked = form_questions()
    return Check(ruleset, [], report, lint(ruleset, asked))


def active_version() -> RulesetVersion | None:
    """The version activated in the database, if any (else the configured folders are in force)."""
    return db.session.scalar(select(RulesetVersion).where(RulesetVersion.active.is_(True)))


def configured_files() -> dict[str, Any]:
    """The configured folders as version files (the rules in force while no version is active)."""
    return folders_snapshot(configured_folders(current_app.config))


def base_files() -> dict[str, Any]:
    """The files new edits start from: the active version's, else the configured folders'."""
    version = active_version()
    if version is not None:
        return dict(version.files)
    return configured_files()


def _actor(user: Any) -> str:
    return f"staff:{user.id}" if user is not None else "system"


def save_version(files: Mapping[str, Any], user: Any, note: str = "", parent: RulesetVersion | None = None,
                 how: str = "edit") -> RulesetVersion:
    """Store files as a new, inactive version (whatever its checks say: they are shown, and gate activation)."""
    try:
        version_hash = load_files(files).version
    except RulesetInvalid:
        version_hash = ""
    version = RulesetVersion(files=dict(files), hash=version_hash, created_by=getattr(user, "id", None),
                             note=note, active=False, parent_id=parent.id if parent else None)
    db.session.add(version)
    db.session.flush()
    record(_actor(user), "rules.candidate_saved", None, f"Rules version {version.id} saved ({how})",
           version_id=version.id, how=how, hash=version_hash)
    prune_candidates(int(current_app.config["RULES_VERSIONS_KEPT"]), _actor(user))
    db.session.commit()
    return version


def prune_candidates(keep: int, actor: str) -> list[int]:
    """Delete the oldest candidate versions beyond the newest ``keep`` (in the current transaction).

    Only candidates go: a version that is or was ever active stays (the activation history
    names it), and so does any version an assessment was made under (its flags are explained
    by it). Each upload stores a version, so without this an admin could fill the database.
    """
    activated = select(RulesetActivation.version_id)
    assessed = select(Assessment.ruleset_version_id).where(Assessment.ruleset_version_id.is_not(None))
    candidates = list(db.session.scalars(
        select(RulesetVersion.id).where(RulesetVersion.active.is_(False), RulesetVersion.id.not_in(activated),
                                        RulesetVersion.id.not_in(assessed))
        .order_by(RulesetVersion.id.desc()).offset(keep)))
    if candidates:
        db.session.execute(update(RulesetVersion).where(RulesetVersion.parent_id.in_(candidates))
                           .values(parent_id=None))
        db.session.execute(delete(ReassessRun).where(ReassessRun.version_id.in_(candidates)))
        previews = select(PreviewRun.id).where(PreviewRun.version_id.in_(candidates))
        db.session.execute(delete(PreviewChunk).where(PreviewChunk.run_id.in_(previews)))
        db.session.execute(delete(PreviewRun).where(PreviewRun.version_id.in_(candidates)))
        db.session.execute(delete(RulesetVersion).where(RulesetVersion.id.in_(candidates)))
        record(actor, "rules.candidates_pruned", None,
               f"{len(candidates)} old candidate rules versions deleted (RULES_VERSIONS_KEPT={keep})",
               version_ids=sorted(candidates))
    return candidates


def activate(version: RulesetVersion, user: Any, note: str, kind: str = "activate") -> RulesetActivation:
    """Make ``version`` the active one; NotActivatable unless it is valid and its tests pass."""
    result = check(version.files)
    if not result.ok:
        raise NotActivatable(result)
    previous = active_version()
    # One statement clears every active flag, so two activations cannot leave two active.
    db.session.execute(update(RulesetVersion).where(RulesetVersion.active.is_(True)).values(active=False))
    version.active = True
    activation = RulesetActivation(version_id=version.id, previous_version_id=previous.id if previous else None,
                                   activated_by=getattr(user, "id", None), note=note, kind=kind)
    db.session.add(activation)
    action = "rules.rolled_back" if kind == "rollback" else "rules.activated"
    record(_actor(user), action, None, f"Rules version {version.id} activated" + (f": {note}" if note else ""),
           version_id=version.id, previous_version_id=previous.id if previous else None, note=note,
           hash=version.hash)
    db.session.commit()
    active.refresh(current_app, force=True)
    return activation


def diff(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> list[tuple[str, list[str]]]:
    """Unified diffs, per changed file ('layer/path'), from ``old`` to ``new``."""

    def flat(files: Mapping[str, Any] | None) -> dict[str, str]:
        if not files:
            return {}
        return {f"{layer['name']}/{path}": text for layer in files["layers"] for path, text in layer["files"].items()}

    before, after = flat(old), flat(new)
    changed = []
    for name in sorted(set(before) | set(after)):
        if before.get(name) == after.get(name):
            continue
        lines = list(difflib.unified_diff(
            before.get(name, "").splitlines(), after.get(name, "").splitlines(),
            fromfile=f"a/{name}" if name in before else "/dev/null",
            tofile=f"b/{name}" if name in after else "/dev/null", lineterm="", n=2,
        ))
        changed.append((name, lines))
    return changed
