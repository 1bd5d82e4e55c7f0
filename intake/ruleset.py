"""The active ruleset of a running app: loaded at start-up, replaced only by a good one."""

from __future__ import annotations

from flask import Flask, current_app

from .assessment import Ruleset, RulesetInvalid, load_ruleset

_KEY = "meso_ruleset"


def init_ruleset(app: Flask) -> None:
    """Load the rules at start-up; an invalid ruleset stops the app with every error."""
    try:
        app.extensions[_KEY] = load_ruleset(app.config["RULES_DIR"])
    except RulesetInvalid as invalid:
        raise SystemExit(
            f"Meso Intake cannot start: the rules in {app.config['RULES_DIR']} are invalid.\n{invalid}"
        ) from invalid


def active_ruleset() -> Ruleset:
    """The ruleset new assessments use."""
    ruleset: Ruleset = current_app.extensions[_KEY]
    return ruleset


def reload_ruleset(app: Flask) -> Ruleset:
    """Re-read the rules; on any error the last good ruleset stays active and the error is raised."""
    ruleset = load_ruleset(app.config["RULES_DIR"])
    app.extensions[_KEY] = ruleset
    return ruleset
