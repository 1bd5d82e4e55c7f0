"""The configured rule folders: worked out here, and only here."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..config import REPO_ROOT

#: The default rules shipped with the app, used when neither RULES_DIRS nor RULES_DIR is set.
DEFAULT_RULES_DIR = REPO_ROOT / "rules"


def configured_folders(settings: Mapping[str, Any]) -> list[Path]:
    """RULES_DIRS (defaults first, clinic last), else RULES_DIR alone, else the shipped rules.

    ``settings`` is an app's config (RULES_DIRS a list) or the environment, for the
    commands that run without an app (RULES_DIRS separated by ``os.pathsep``).
    """
    layered = settings.get("RULES_DIRS") or []
    if isinstance(layered, str):
        layered = layered.split(os.pathsep)
    folders = [Path(folder) for folder in layered if str(folder).strip()]
    return folders or [Path(settings.get("RULES_DIR") or DEFAULT_RULES_DIR)]


def default_layers(settings: Mapping[str, Any]) -> list[Path]:
    """The folders a candidate clinic folder goes over: every configured one but the clinic's (the last)."""
    folders = configured_folders(settings)
    return folders[:-1] if len(folders) > 1 else folders
