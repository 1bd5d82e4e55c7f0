"""Ruleset versions as files: every layer's rule files by path, as the database keeps them.

``{"layers": [{"name": "rules", "files": {"precautions/x.yaml": "text", ...}}, ...]}``,
defaults first; admins change only the last layer, the clinic's.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import current_app

from ..assessment import RuleFileError, Ruleset, load_ruleset

#: The files a rules folder may hold, relative to it.
ALLOWED_PATH = re.compile(
    r"^(?:(?:medications|protocols|disabled)\.yaml|(?:precautions|tests)/[A-Za-z0-9_-]{1,80}\.yaml)$")
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
        return (f"'{path}' is not a rule file: use medications.yaml, protocols.yaml, disabled.yaml, "
                "precautions/NAME.yaml or tests/NAME.yaml")
    return None


def digest(files: Mapping[str, Any]) -> str:
    """A digest of the files (names and texts of every layer)."""
    return hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()


def load_files(files: Mapping[str, Any]) -> Ruleset:
    """The ruleset of version files (RulesetInvalid with every error).

    The one place where versions touch the disk: the core loads folders, so the layers are
    written out (once, by digest, under RULES_VERSIONS_DIR, default <instance>/rulesets/)
    and loaded from there. When the core loads layers held in memory, only this function
    changes (shorten_errors and display_path then find no written-out folder to rename).
    """
    base = Path(current_app.config.get("RULES_VERSIONS_DIR") or Path(current_app.instance_path) / "rulesets")
    target = base / digest(files)[:32]
    layers = files["layers"]
    folders = [target / f"{i}-{re.sub(r'[^A-Za-z0-9_-]', '_', layer['name'])}" for i, layer in enumerate(layers)]
    if not target.is_dir():
        base.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(dir=base, prefix=".tmp-"))
        try:
            for folder, layer in zip(folders, layers, strict=True):
                root = scratch / folder.name
                root.mkdir()
                for relative, text in layer["files"].items():
                    problem = check_path(relative)
                    if problem:
                        raise UnsafePath(problem)
                    path = root / relative
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_text(text, encoding="utf-8")
            try:
                os.rename(scratch, target)
            except OSError:  # another worker wrote it first
                shutil.rmtree(scratch, ignore_errors=True)
        except BaseException:
            shutil.rmtree(scratch, ignore_errors=True)
            raise
    return load_ruleset(folders)


def shorten_errors(errors: list[RuleFileError]) -> list[RuleFileError]:
    """Errors with the materialised folder replaced by the layer name (what the admin knows)."""
    shortened = []
    for error in errors:
        name = error.file
        match = re.search(r"/[0-9a-f]{32}/\d+-([^/]+)/(.*)$", name)
        if match:
            name = f"{match.group(1)}/{match.group(2)}"
        shortened.append(RuleFileError(name, error.line, error.column, error.rule_id, error.message))
    return shortened


def display_path(path: str) -> str:
    """A rule folder as its layer name, 'layer/relative' inside a materialised version (admin pages).

    A configured folder shows as its own name ("rules", "clinic"): the server's directory
    layout is not the clinic's business and made the origins too wide to read.
    """
    match = re.search(r"/[0-9a-f]{32}/\d+-([^/]+)(?:/(.*))?$", path)
    if not match:
        return Path(path).name or path
    return f"{match.group(1)}/{match.group(2)}" if match.group(2) else match.group(1)
