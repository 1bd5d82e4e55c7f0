"""Ruleset versions: snapshots of rule folders, candidates, checks, activation, roll back, diffs.

A version's ``files`` hold every layer (defaults first); admins change only the last
one, the clinic layer. Versions are written to disk (``<instance>/rulesets/<digest>/``)
to be loaded by the core, which reads folders. Every change writes its audit entry.
"""

from __future__ import annotations

import difflib
import hashlib
import io
import json
import os
import re
import shutil
import tempfile
import time
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError

from ..assessment import RuleFileError, Ruleset, RulesetInvalid, load_ruleset
from ..assessment.lint import Finding, lint
from ..assessment.ruletests import RuleTestReport, run_rule_tests
from ..extensions import db
from ..models import utcnow as _utcnow  # noqa: F401 - intake.models first: it closes an import cycle
from ..operations import record
from ..ruleset import folder_ruleset, rule_dirs, set_ruleset
from .models import RulesetActivation, RulesetVersion

#: The files a rules folder may hold, relative to it.
ALLOWED_PATH = re.compile(
    r"^(?:(?:medications|protocols|disabled)\.yaml|(?:precautions|tests)/[A-Za-z0-9_-]{1,80}\.yaml)$")
CLINIC_LAYER = "clinic"
_STATE = "meso_ruleset_db"


class UploadRefused(Exception):
    """An upload or edit that cannot become a candidate; ``problems`` say why, one per line."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


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


# --- files ------------------------------------------------------------------------------------


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


def _limits() -> tuple[int, int]:
    return int(current_app.config["RULES_UPLOAD_MAX_BYTES"]), int(current_app.config["RULES_UPLOAD_MAX_FILES"])


def _text(path: str, raw: bytes, max_bytes: int) -> str:
    if len(raw) > max_bytes:
        raise UploadRefused([f"'{path}' is {len(raw):,} bytes; the limit is {max_bytes:,}"])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UploadRefused([f"'{path}' is not UTF-8 text"]) from None


def with_file(files: Mapping[str, Any], path: str, raw: bytes | str) -> dict[str, Any]:
    """``files`` with one clinic file added or replaced (UploadRefused on a bad path or size)."""
    problem = check_path(path)
    if problem:
        raise UploadRefused([problem])
    max_bytes, max_files = _limits()
    text = _text(path, raw.encode("utf-8") if isinstance(raw, str) else raw, max_bytes)
    clinic = clinic_files(files)
    clinic[path] = text.replace("\r\n", "\n")
    if len(clinic) > max_files:
        raise UploadRefused([f"the clinic folder would hold {len(clinic)} files; the limit is {max_files}"])
    return with_clinic_files(files, clinic)


def without_file(files: Mapping[str, Any], path: str) -> dict[str, Any]:
    """``files`` without one clinic file."""
    clinic = clinic_files(files)
    clinic.pop(path, None)
    return with_clinic_files(files, clinic)


def with_zip(files: Mapping[str, Any], raw: bytes) -> dict[str, Any]:
    """``files`` with the clinic layer replaced by a zip of a rules folder (UploadRefused on anything unsafe)."""
    max_bytes, max_files = _limits()
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
    except zipfile.BadZipFile:
        raise UploadRefused(["the file is not a zip archive"]) from None
    members = [info for info in archive.infolist() if not info.is_dir()]
    if len(members) > max_files:
        raise UploadRefused([f"the zip holds {len(members)} files; the limit is {max_files}"])
    names = [info.filename for info in members]
    unsafe = [name for name in names
              if name.startswith("/") or "\\" in name or ".." in name.split("/") or ":" in name.split("/")[0]]
    if unsafe:
        raise UploadRefused([f"'{name}' is not a path inside the rules folder" for name in unsafe])
    # A zip of the folder itself ("clinic/precautions/a.yaml"): drop the common top folder.
    tops = {name.split("/", 1)[0] for name in names}
    strip = len(tops) == 1 and all("/" in name for name in names) and not ALLOWED_PATH.match(names[0])
    problems: list[str] = []
    clinic: dict[str, str] = {}
    total = 0
    for info in members:
        name = info.filename.split("/", 1)[1] if strip else info.filename
        problem = check_path(name)
        if problem:
            problems.append(problem)
            continue
        if info.file_size > max_bytes:
            problems.append(f"'{name}' is {info.file_size:,} bytes; the limit is {max_bytes:,}")
            continue
        total += info.file_size
        if total > max_bytes * max_files:
            problems.append("the zip unpacks to too much data")
            break
        try:
            clinic[name] = _text(name, archive.read(info), max_bytes).replace("\r\n", "\n")
        except UploadRefused as refused:
            problems.extend(refused.problems)
    if problems:
        raise UploadRefused(problems)
    if not clinic:
        raise UploadRefused(["the zip holds no rule files"])
    return with_clinic_files(files, clinic)


def digest(files: Mapping[str, Any]) -> str:
    """A digest of the files (names and texts of every layer)."""
    return hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()


def materialise(files: Mapping[str, Any], base: Path | None = None) -> list[Path]:
    """The layers written as folders (kept, by digest, under the instance folder); returns them in order."""
    base = base or Path(current_app.config.get("RULES_VERSIONS_DIR") or Path(current_app.instance_path) / "rulesets")
    target = base / digest(files)[:32]
    layers = files["layers"]
    folders = [target / f"{i}-{re.sub(r'[^A-Za-z0-9_-]', '_', layer['name'])}" for i, layer in enumerate(layers)]
    if target.is_dir():
        return folders
    base.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(dir=base, prefix=".tmp-"))
    try:
        for folder, layer in zip(folders, layers, strict=True):
            root = scratch / folder.name
            root.mkdir()
            for relative, text in layer["files"].items():
                if check_path(relative):
                    raise UploadRefused([check_path(relative) or relative])
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
    return folders


def load_files(files: Mapping[str, Any]) -> Ruleset:
    """The ruleset of version files (RulesetInvalid with every error)."""
    return load_ruleset(materialise(files))


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
        return Check(None, _shorten(invalid.errors))
    report = run_rule_tests(ruleset)
    if asked is None:
        from ..rules_cli import form_questions

        asked = form_questions()
    return Check(ruleset, [], report, lint(ruleset, asked))


def _shorten(errors: list[RuleFileError]) -> list[RuleFileError]:
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


# --- versions ---------------------------------------------------------------------------------


def active_version() -> RulesetVersion | None:
    return db.session.scalar(select(RulesetVersion).where(RulesetVersion.active.is_(True)))


def base_files() -> dict[str, Any]:
    """The files new edits start from: the active version's, else the configured folders'."""
    version = active_version()
    if version is not None:
        return dict(version.files)
    return folders_snapshot(rule_dirs(current_app.config))


def rule_dirs_of_app() -> list[Path]:
    """The configured rule folders of the current app."""
    return rule_dirs(current_app.config)


def _actor(user: Any) -> str:
    return f"staff:{user.id}" if user is not None else "system"


def save_candidate(files: Mapping[str, Any], user: Any, note: str = "", parent: RulesetVersion | None = None,
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
    db.session.commit()
    return version


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
    refresh(current_app._get_current_object(), force=True)  # type: ignore[attr-defined]
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


# --- the running app's ruleset ----------------------------------------------------------------


def install(app: Flask) -> None:
    """Let active_ruleset() pick up the version active in the database (checked every RULES_REFRESH_SECONDS)."""
    app.extensions[_STATE] = {"checked": float("-inf"), "version_id": None}
    app.extensions["meso_ruleset_refresh"] = lambda: refresh(app)


def refresh(app: Flask, *, force: bool = False) -> None:
    """Load the active version if it changed since the last look; keep the last good ruleset on any error."""
    state = app.extensions.setdefault(_STATE, {"checked": float("-inf"), "version_id": None})
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
            ruleset = folder_ruleset(app)
        else:
            with app.app_context():
                ruleset = load_files(files)
            ruleset.db_version_id = wanted  # type: ignore[attr-defined]
    except RulesetInvalid:
        app.logger.error("ruleset version %s does not load; keeping the current rules", wanted, exc_info=True)
        return
    set_ruleset(app, ruleset)
    state["version_id"] = wanted
