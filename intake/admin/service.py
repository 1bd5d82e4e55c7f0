"""What admins change: uploads and edits of the rules become candidate versions; activating one
(or rolling back to one) re-assesses the open intakes. Each change writes its audit entry
(in intake.rulesets.versions and intake.rulesets.reassess). And the clinic's details, its
reminder settings, and API tokens."""

from __future__ import annotations

import datetime as dt
import io
import struct
import zipfile
import zlib
from collections.abc import Mapping
from typing import Any

from flask import current_app

from ..api import tokens
from ..audit import record
from ..clock import utcnow
from ..extensions import db
from ..models import ApiToken, ClinicProfile, ReassessRun, RulesetVersion, SavedReminderSettings, StaffUser
from ..reminders import settings as clinic_reminders
from ..reminders.settings import ClinicReminders
from ..rulesets import reassess, versions
from ..rulesets.active import active_ruleset
from ..rulesets.files import ALLOWED_PATH, check_path, clinic_files, with_clinic_files
from ..web import clinic

#: Top-level rule files; any other uploaded file goes to precautions/ unless a path is given.
TOP_LEVEL_FILES = ("medications.yaml", "allergens.yaml", "protocols.yaml", "disabled.yaml", "sources.yaml")


class UploadRefused(Exception):
    """An upload or edit that cannot become a candidate; ``problems`` say why, one per line."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


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
    total = sum(len(content.encode("utf-8")) for content in clinic.values())
    if total > max_total_bytes():
        raise UploadRefused([f"the clinic folder would hold {total:,} bytes; the limit is {max_total_bytes():,} "
                             "(RULES_UPLOAD_MAX_TOTAL_BYTES)"])
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
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, struct.error):
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
        if total > max_total_bytes():
            problems.append(f"the zip unpacks to more than {max_total_bytes():,} bytes, the limit for a clinic "
                            "folder (RULES_UPLOAD_MAX_TOTAL_BYTES)")
            break
        try:
            clinic[name] = _text(name, _unpack(archive, info, name), max_bytes).replace("\r\n", "\n")
        except UploadRefused as refused:
            problems.extend(refused.problems)
    if problems:
        raise UploadRefused(problems)
    if not clinic:
        raise UploadRefused(["the zip holds no rule files"])
    return with_clinic_files(files, clinic)


def max_total_bytes() -> int:
    """RULES_UPLOAD_MAX_TOTAL_BYTES: the most a clinic folder may hold, all files together (a zip unpacked)."""
    return int(current_app.config["RULES_UPLOAD_MAX_TOTAL_BYTES"])


def _unpack(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> bytes:
    """One member of an uploaded zip, or UploadRefused saying in words why it cannot be read."""
    if info.flag_bits & 0x1:
        raise UploadRefused([f"'{name}' is encrypted in the zip: zip the folder again without a password"])
    try:
        return archive.read(info)
    except NotImplementedError:
        raise UploadRefused([f"'{name}' is compressed in a way this server does not read: zip the folder again "
                             "with the usual (deflate) compression"]) from None
    except RuntimeError:  # zipfile's "password required" for an encryption it found later
        raise UploadRefused([f"'{name}' is encrypted in the zip: zip the folder again without a password"]) from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, struct.error):
        raise UploadRefused([f"'{name}' is damaged in the zip (it does not unpack to what the zip says): "
                             "zip the folder again"]) from None


def with_upload(files: Mapping[str, Any], filename: str, raw: bytes, path: str = "") -> dict[str, Any]:
    """``files`` with an uploaded file or zip in the clinic layer (UploadRefused on anything unsafe)."""
    name = filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    if name.lower().endswith(".zip"):
        return with_zip(files, raw)
    if not path:
        path = name if name in TOP_LEVEL_FILES else f"precautions/{name}"
    return with_file(files, path, raw)


def with_edit(files: Mapping[str, Any], path: str, text: str) -> dict[str, Any]:
    """``files`` with one clinic file replaced by ``text``, or removed when ``text`` is blank."""
    return with_file(files, path, text) if text.strip() else without_file(files, path)


def save_candidate(files: Mapping[str, Any], user: StaffUser, note: str, origin: RulesetVersion | None,
                   how: str) -> RulesetVersion:
    """Store the changed files as a new, inactive version."""
    return versions.save_version(files, user, note, origin, how=how)


def activate(version: RulesetVersion, user: StaffUser, note: str, kind: str = "activate") -> ReassessRun:
    """Make ``version`` the rules in force, then re-assess the open intakes under it.

    Raises versions.NotActivatable (nothing changed) unless it loads, its tests pass and lint finds no error.
    """
    versions.activate(version, user, note, kind)
    return reassess.start(version.id, active_ruleset().ruleset, user.actor)


#: The clinic profile's fields an admin may change.
CLINIC_FIELDS = ("name", "phone", "email", "address", "opening_hours", "contact_note")


def update_clinic(values: Mapping[str, str], user: StaffUser) -> ClinicProfile:
    """Store the clinic's identity (a blank field falls back to its setting), audited field by field."""
    profile = db.session.get(ClinicProfile, 1)
    if profile is None:
        profile = ClinicProfile(id=1)
        db.session.add(profile)
    changed = {name: [getattr(profile, name) or "", values.get(name, "")] for name in CLINIC_FIELDS
               if (getattr(profile, name) or "") != values.get(name, "")}
    for name in CLINIC_FIELDS:
        setattr(profile, name, values.get(name, ""))
    profile.updated_at, profile.updated_by = utcnow(), user.id
    record(user.actor, "clinic.updated", None, "Clinic details changed: " + (", ".join(changed) or "nothing"),
           changes=changed)
    db.session.commit()
    clinic.forget(current_app)
    return profile


def update_reminder_settings(chosen: ClinicReminders, user: StaffUser) -> SavedReminderSettings:
    """Store the reminders as an admin set them (from now on over the REMINDERS_* settings), audited value by value."""
    row = clinic_reminders.saved()
    before = _reminder_values(clinic_reminders.from_row(row) if row is not None
                              else clinic_reminders.from_config(current_app.config))
    after = _reminder_values(chosen)
    if row is None:
        row = SavedReminderSettings(id=1)
        db.session.add(row)
    for name, value in after.items():
        setattr(row, name, value)
    row.updated_at, row.updated_by = utcnow(), user.id
    changed = {name: [before[name], value] for name, value in after.items() if before[name] != value}
    record(user.actor, "reminders.settings_changed", None,
           "Reminder settings changed: " + (", ".join(changed) or "nothing"), changes=changed)
    db.session.commit()
    return row


def _reminder_values(reminders: ClinicReminders) -> dict[str, Any]:
    """The saved row's columns for ``reminders``."""
    timing = reminders.timing
    return {"unsubmitted": reminders.unsubmitted, "unsubmitted_days": clinic_reminders.format_days(
                reminders.unsubmitted_days),
            "unsubmitted_hour": timing.unsubmitted_hour, "instructions": timing.instructions,
            "instruction_hour": timing.instruction_hour, "day_before": timing.day_before,
            "day_before_hour": timing.day_before_hour, "digest": timing.digest, "digest_hour": timing.digest_hour,
            "what_to_bring": reminders.what_to_bring}


def create_api_token(name: str, scope: str, days: int | None, user: StaffUser) -> tuple[ApiToken, str]:
    """A new API token created by ``user`` (an admin) from the tokens page: it and its secret, shown once.

    It lasts ``days`` from now (None: it never expires) and dies with ``user``'s account. The audit
    entry is tokens.create_token's, with ``user`` as the actor. Raises tokens.TokenError when refused.
    """
    expires_at = None if days is None else utcnow() + dt.timedelta(days=days)
    return tokens.create_token(name, user.email, scope=scope, expires_at=expires_at, actor=user.actor)


def revoke_api_token(token: ApiToken, user: StaffUser) -> ApiToken:
    """Revoke a token from the tokens page, audited (tokens.revoke_token) with ``user`` as the actor."""
    return tokens.revoke_token(token.id, actor=user.actor)
