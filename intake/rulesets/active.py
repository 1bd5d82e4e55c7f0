"""The ruleset in force in a running app: loaded at start-up, replaced only by a good one.

Each worker keeps its own; ``active_ruleset()`` looks in the database for a newly
activated version at most every RULES_REFRESH_SECONDS, and keeps the last good ruleset
when the new one cannot be read or loaded.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from ..assessment import Ruleset, RulesetInvalid, load_ruleset
from ..extensions import db
from ..models import RulesetVersion
from .files import load_files
from .folders import configured_folders

_KEY = "meso_ruleset"
_STATE = "meso_ruleset_db"


@dataclass(frozen=True)
class ActiveRuleset:
    """The ruleset new assessments use, and the database version it came from."""

    ruleset: Ruleset
    #: The RulesetVersion it was loaded from; None when it is the configured folders'.
    version_id: int | None = None


def init_app(app: Flask) -> None:
    """Load the rules at start-up; an invalid ruleset stops the app with every error."""
    folders = configured_folders(app.config)
    try:
        app.extensions[_KEY] = ActiveRuleset(load_ruleset(folders))
    except RulesetInvalid as invalid:
        where = ", ".join(str(folder) for folder in folders)
        raise SystemExit(f"Meso Intake cannot start: the rules in {where} are invalid.\n{invalid}") from invalid
    watch_database(app)


def active_ruleset() -> ActiveRuleset:
    """The ruleset new assessments use (a version activated in the database, once any is)."""
    refresh(current_app)
    found: ActiveRuleset = current_app.extensions[_KEY]
    return found


def folder_ruleset(app: Flask) -> Ruleset:
    """The ruleset of the configured folders (what is active when no version is activated)."""
    return load_ruleset(configured_folders(app.config))


def set_ruleset(app: Flask, ruleset: ActiveRuleset) -> None:
    """Make ``ruleset`` the one new assessments use."""
    app.extensions[_KEY] = ruleset


def snapshot(app: Flask) -> tuple[ActiveRuleset, dict[str, Any] | None]:
    """The ruleset in force and what was last read of the database (to put back with restore)."""
    state = app.extensions.get(_STATE)
    return app.extensions[_KEY], dict(state) if state is not None else None


def restore(app: Flask, saved: tuple[ActiveRuleset, dict[str, Any] | None]) -> None:
    """Put back what snapshot() took."""
    app.extensions[_KEY], state = saved
    if state is not None:
        app.extensions[_STATE] = dict(state)


def watch_database(app: Flask) -> None:
    """Look for the version active in the database on the next active_ruleset() call."""
    app.extensions[_STATE] = {"checked": float("-inf"), "version_id": None}


def refresh(app: Flask, *, force: bool = False) -> None:
    """Load the active version if it changed since the last look; keep the last good ruleset on any error."""
    state: dict[str, Any] | None = app.extensions.get(_STATE)
    if state is None:
        return
    now = time.monotonic()
    if not force and now - state["checked"] < float(app.config.get("RULES_REFRESH_SECONDS", 5)):
        return
    state["checked"] = now
    try:
        # Its own connection: the request's session and transaction stay untouched.
        with db.engine.connect() as connection:
            row = connection.execute(
                select(RulesetVersion.id).where(RulesetVersion.active.is_(True))
            ).first()
            wanted = row[0] if row else None
            if wanted == state["version_id"]:
                return
            files = None
            if wanted is not None:
                files = connection.execute(
                    select(RulesetVersion.files).where(RulesetVersion.id == wanted)).scalar_one()
    except SQLAlchemyError:
        app.logger.warning("cannot read the active ruleset version; keeping the current rules", exc_info=True)
        return
    try:
        if files is None:
            found = ActiveRuleset(folder_ruleset(app))
        else:
            with app.app_context():
                found = ActiveRuleset(load_files(files), wanted)
    except RulesetInvalid:
        app.logger.error("ruleset version %s does not load; keeping the current rules", wanted, exc_info=True)
        return
    set_ruleset(app, found)
    state["version_id"] = wanted
