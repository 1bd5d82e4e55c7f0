"""The active ruleset of a running app: loaded at start-up, replaced only by a good one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, current_app

from .assessment import Ruleset, RulesetInvalid, load_ruleset

_KEY = "meso_ruleset"


def rule_dirs(config: Any) -> list[Path]:
    """The configured rule folders: RULES_DIRS (defaults first, clinic last), else RULES_DIR alone."""
    return [Path(folder) for folder in (config.get("RULES_DIRS") or [config["RULES_DIR"]])]


def init_ruleset(app: Flask) -> None:
    """Load the rules at start-up; an invalid ruleset stops the app with every error."""
    folders = rule_dirs(app.config)
    try:
        app.extensions[_KEY] = load_ruleset(folders)
    except RulesetInvalid as invalid:
        where = ", ".join(str(folder) for folder in folders)
        raise SystemExit(f"Meso Intake cannot start: the rules in {where} are invalid.\n{invalid}") from invalid
    from .admin.service import install

    install(app)


def active_ruleset() -> Ruleset:
    """The ruleset new assessments use (a version activated in the database, once any is)."""
    hook = current_app.extensions.get("meso_ruleset_refresh")
    if hook is not None:
        hook()
    ruleset: Ruleset = current_app.extensions[_KEY]
    return ruleset


def folder_ruleset(app: Flask) -> Ruleset:
    """The ruleset of the configured folders (what is active when no version is activated)."""
    return load_ruleset(rule_dirs(app.config))


def reload_ruleset(app: Flask) -> Ruleset:
    """Re-read the rules; on any error the last good ruleset stays active and the error is raised."""
    ruleset = folder_ruleset(app)
    app.extensions[_KEY] = ruleset
    return ruleset


def set_ruleset(app: Flask, ruleset: Ruleset) -> None:
    """Make ``ruleset`` the one new assessments use."""
    app.extensions[_KEY] = ruleset
