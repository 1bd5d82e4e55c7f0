"""Ruleset versions as files: every layer's rule files by path, as the database keeps them.

``{"layers": [{"name": "rules", "files": {"precautions/x.yaml": "text", ...}}, ...]}``,
defaults first; admins change only the last layer, the clinic's.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..assessment import Layer, Ruleset, load_layers

#: The files a rules folder may hold, relative to it.
ALLOWED_PATH = re.compile(
    r"^(?:(?:medications|allergens|protocols|disabled|sources)\.yaml|(?:precautions|tests)/[A-Za-z0-9_-]{1,80}\.yaml)$")
CLINIC_LAYER = "clinic"


class UnsafePath(ValueError):
    """A version file whose path is not a rule file's (``str()`` says why)."""


def folder_files(folder: Path) -> dict[str, str]:
    """The rule files of one folder, by path relative to it."""
    found: dict[str, str] = {}
    for path in sorted(folder.rglob("*.yaml")):
        relative = path.relative_to(folder).as_posix()
        if ALLOWED_PATH.match(relative):
            found[relative] = path.read_text(encoding="utf-8")
    return found


def folders_snapshot(folders: list[Path]) -> dict[str, Any]:
    """The configured folders as version files; the clinic layer is the last folder when there are several."""
    layers = [{"name": folder.name or "rules", "files": folder_files(folder)} for folder in folders]
    if len(layers) == 1:
        layers.append({"name": CLINIC_LAYER, "files": {}})
    layers[-1]["name"] = CLINIC_LAYER
    return {"layers": layers}


def clinic_files(files: Mapping[str, Any]) -> dict[str, str]:
    """The files of the clinic (last) layer."""
    return dict(files["layers"][-1]["files"])


def with_clinic_files(files: Mapping[str, Any], clinic: Mapping[str, str]) -> dict[str, Any]:
    """``files`` with the clinic layer replaced by ``clinic``."""
    layers = [dict(layer) for layer in files["layers"]]
    layers[-1] = {"name": CLINIC_LAYER, "files": dict(sorted(clinic.items()))}
    return {"layers": layers}


def check_path(path: str) -> str | None:
    """Why ``path`` cannot be a rule file path, or None when it can."""
    if not path or path.startswith("/") or "\\" in path or ".." in path.split("/"):
        return f"'{path}' is not a path inside the rules folder"
    if not ALLOWED_PATH.match(path):
        return (f"'{path}' is not a rule file: use medications.yaml, allergens.yaml, protocols.yaml, "
                "disabled.yaml, sources.yaml, precautions/NAME.yaml or tests/NAME.yaml")
    return None


def digest(files: Mapping[str, Any]) -> str:
    """A digest of the files (names and texts of every layer)."""
    return hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()


def load_files(files: Mapping[str, Any]) -> Ruleset:
    """The ruleset of version files, loaded from memory (RulesetInvalid with every error).

    Errors and rule origins name each file by its layer ("clinic/precautions/ours.yaml"),
    which is what the admin knows; nothing is written to disk.
    """
    layers = []
    for layer in files["layers"]:
        for relative in layer["files"]:
            problem = check_path(relative)
            if problem:
                raise UnsafePath(problem)
        layers.append(Layer(layer["name"], dict(layer["files"])))
    return load_layers(layers)


def display_path(path: str) -> str:
    """A rule folder as its layer's name (admin pages).

    A configured folder shows as its own name ("rules", "clinic"): the server's directory
    layout is not the clinic's business and made the origins too wide to read.
    """
    return Path(path).name or path
