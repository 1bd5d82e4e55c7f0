"""What the clinic keeps, for how long, and what a patient can ask for: key rotation,
draft expiry, a patient's export and erasure, backups. The `flask keys` and `flask data`
commands (intake.cli.data) call these."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sqlite3
import subprocess  # nosec B404 # pg_dump/pg_restore, with argument lists, never a shell
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import delete, select

from .. import audit
from ..audit import ERASED, allow_rewrite, record
from ..clock import utcnow
from ..extensions import db
from ..models import (
    Assessment,
    AuditEntry,
    CheckIn,
    Decision,
    FlagReview,
    Intake,
    IntakeStatus,
    Notification,
    OutboxMessage,
    OutboxState,
    Photo,
    PlanEdit,
    Reminder,
    SearchTerm,
)
from ..photos import storage as photo_storage
from .encryption import ENCRYPTED_COLUMNS, active_keyring
from .search import matching_search, normalise, reindex

BATCH = 500


# --- key rotation -------------------------------------------------------------------------------


def rotate_keys(batch: int = BATCH) -> dict[str, int]:
    """Re-encrypt every encrypted value under the first key, then rebuild the search index.

    Works in batches of ``batch`` rows, one transaction each, so a big table never holds
    locks for long; running it again after an interruption is harmless.
    """
    keyring = active_keyring()
    # Before anything changes: re-sealing a chain that does not verify would hide the tampering.
    audit_result = audit.verify(db.session())
    if not audit_result.ok:
        raise audit.CheckpointError(f"the audit log does not verify at entry {audit_result.broken_id}: "
                                    f"{audit_result.problem}; investigate before rotating")
    counts: dict[str, int] = {}
    for table_name, columns in ENCRYPTED_COLUMNS.items():
        table = sa.table(table_name, sa.column("id", sa.Integer), *(sa.column(c, sa.Text) for c in columns))
        after, done = 0, 0
        while True:
            connection = db.session.connection()
            rows = connection.execute(select(table).where(table.c.id > after).order_by(table.c.id).limit(batch)).all()
            if not rows:
                break
            if table_name == "audit_entry":
                allow_rewrite(connection)
            for row in rows:
                values = {c: keyring.rotate(getattr(row, c)) for c in columns if getattr(row, c) is not None}
                if values:
                    connection.execute(sa.update(table).where(table.c.id == row.id).values(**values))
                after = row.id
                done += 1
            db.session.commit()
        counts[table_name] = done
    counts["photos"] = photo_storage.rotate(batch)
    counts["search_index"] = reindex_all(batch)
    counts["audit_seals"] = audit.reseal(db.session(), batch)
    record("system", "keys.rotated", None, "Encrypted data re-encrypted with the first key; search index rebuilt",
           rows=counts)
    db.session.commit()
    return counts


def reindex_all(batch: int = BATCH) -> int:
    """Rebuild the search terms of every intake under the current search key."""
    after, done = 0, 0
    while True:
        rows = db.session.execute(
            select(Intake.id, Intake.full_name, Intake.email).where(Intake.id > after).order_by(Intake.id).limit(batch)
        ).all()
        if not rows:
            return done
        for intake_id, full_name, email in rows:
            reindex(db.session, intake_id, full_name, email)
            after = intake_id
            done += 1
        db.session.commit()


# --- retention ----------------------------------------------------------------------------------


def _delete_intakes(ids: list[int]) -> None:
    # Explicit, child tables first: SQLite does not enforce ON DELETE CASCADE here. A photo's bytes
    # go with its row (in the database store, in the same transaction).
    keys = db.session.execute(select(Photo.image_key, Photo.thumbnail_key).where(Photo.intake_id.in_(ids))).all()
    photo_storage.remove([key for pair in keys for key in pair])
    # A reminder before its outbox message, which goes before its Notification (each refers to the next).
    for model in (FlagReview, PlanEdit, Decision, SearchTerm, Reminder, Photo, CheckIn, OutboxMessage, Notification,
                  Assessment):
        db.session.execute(delete(model).where(model.intake_id.in_(ids)))
    db.session.execute(delete(Intake).where(Intake.id.in_(ids)))


def expired_drafts(now: dt.datetime, days: int) -> list[int]:
    cutoff = now - dt.timedelta(days=days)
    return list(db.session.scalars(
        select(Intake.id).where(Intake.status == IntakeStatus.DRAFT, Intake.updated_at < cutoff).order_by(Intake.id)
    ))


def purge_drafts(days: int, now: dt.datetime | None = None) -> list[int]:
    """Delete drafts untouched for ``days`` days; their audit entries stay, with one saying so."""
    ids = expired_drafts(now or utcnow(), days)
    if ids:
        _delete_intakes(ids)
        record("system", "data.purged", None, f"{len(ids)} unsubmitted intakes older than {days} days deleted",
               intakes=ids, retention_days=days)
    db.session.commit()
    return ids


#: Outbox messages whose sending is over: sent, or failed after the last attempt.
DONE = (OutboxState.SENT, OutboxState.FAILED)


def purge_outbox(days: int, now: dt.datetime | None = None) -> int:
    """Delete outbox messages sent (or failed for good) more than ``days`` days ago; how many.

    The message bodies carry links and words about a patient's consultation: once an email is
    out, the record keeps only that it went (its Notification, or its reminder's row) and the
    audit entry. Messages still to be sent are never touched.
    """
    cutoff = (now or utcnow()) - dt.timedelta(days=days)
    ended = sa.func.coalesce(OutboxMessage.sent_at, OutboxMessage.created_at)
    ids = list(db.session.scalars(select(OutboxMessage.id).where(OutboxMessage.state.in_(DONE), ended < cutoff)))
    for first in range(0, len(ids), BATCH):
        _settle_reminders(ids[first:first + BATCH])
        db.session.execute(delete(OutboxMessage).where(OutboxMessage.id.in_(ids[first:first + BATCH])))
    if ids:
        record("system", "outbox.purged", None, f"{len(ids)} sent or failed emails older than {days} days deleted",
               messages=len(ids), retention_days=days)
    db.session.commit()
    return len(ids)


def _settle_reminders(message_ids: list[int]) -> None:
    """The reminders these messages carried keep their outcome on their own row (the message's state, when it
    was sent, why it failed) and let go of the message (SQLite would leave the link dangling)."""
    outcomes = db.session.execute(
        select(OutboxMessage.id, OutboxMessage.state, OutboxMessage.sent_at, OutboxMessage.last_error)
        .where(OutboxMessage.id.in_(message_ids))).all()
    if not outcomes:
        return
    table = db.metadata.tables["reminder"]
    db.session.execute(
        table.update().where(table.c.outbox_message_id == sa.bindparam("the_message"))
        .values(status=sa.bindparam("the_state"), sent_at=sa.bindparam("the_time"),
                reason=sa.bindparam("the_reason"), outbox_message_id=None),
        [{"the_message": row.id, "the_state": str(row.state), "the_time": row.sent_at, "the_reason": row.last_error}
         for row in outcomes])


def messages_to(email: str) -> list[OutboxMessage]:
    """Outbox messages to ``email`` that are not about one of its intakes (no intake id).

    The recipient is encrypted, so each such message is read and compared: they are few, as
    every message to a patient names its intake and the purge keeps the outbox short.
    """
    wanted = normalise(email)
    if not wanted:
        return []
    # The recipients alone are read (and decrypted), then only the messages that match.
    loose = db.session.execute(select(OutboxMessage.id, OutboxMessage.recipient)
                               .where(OutboxMessage.intake_id.is_(None)))
    ids = [message_id for message_id, recipient in loose if normalise(recipient) == wanted]
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids))
                                   .order_by(OutboxMessage.id))) if ids else []


def intakes_of(email: str) -> list[Intake]:
    """Every intake whose email is ``email`` (found through the search index, then compared)."""
    wanted = normalise(email)
    if not wanted:
        return []
    candidates = db.session.scalars(select(Intake).where(matching_search(email)).order_by(Intake.id))
    return [intake for intake in candidates if intake.email and normalise(intake.email) == wanted]


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date | dt.datetime) else value


def _row(obj: Any, columns: tuple[str, ...]) -> dict[str, Any]:
    return {column: _jsonable(getattr(obj, column)) for column in columns}


#: What the export says of each email to the patient: the whole message, as the outbox holds it.
MESSAGE_COLUMNS = ("kind", "recipient", "subject", "text", "html", "language", "state", "created_at", "sent_at")


def export_patient(email: str, actor: str = "system") -> dict[str, Any]:
    """All that is held about the patient with this email, as one JSON-able document: each intake with what
    hangs on it (the emails sent about it and the check-ins included), and the emails to them about no intake."""
    intakes = intakes_of(email)
    ids = [intake.id for intake in intakes]
    document: dict[str, Any] = {"format": "meso-intake.patient-export", "version": 1,
                                "exported_at": utcnow().isoformat(), "email": email, "intakes": []}
    for intake in intakes:
        def rows(model: Any, columns: tuple[str, ...], of: Intake = intake) -> list[dict[str, Any]]:
            found = db.session.scalars(select(model).where(model.intake_id == of.id).order_by(model.id))
            return [_row(obj, columns) for obj in found]

        document["intakes"].append({
            **_row(intake, ("id", "status", "full_name", "email", "appointment_date", "created_at", "updated_at",
                            "submitted_at", "completed_sections")),
            "answers": intake.answers,
            "assessments": rows(Assessment, ("id", "created_at", "assessed_on", "ruleset_version", "outcome",
                                             "defer_until", "document")),
            "flag_reviews": rows(FlagReview, ("assessment_id", "rule_id", "action", "reason", "at")),
            "plan_edits": rows(PlanEdit, ("assessment_id", "plan", "changes", "at")),
            "decisions": rows(Decision, ("assessment_id", "outcome", "defer_until", "question", "note", "plan",
                                         "signed_at", "ruleset_version")),
            "photos": [{**_row(photo, ("id", "kind", "area", "taken_on", "note", "created_at", "added_by",
                                       "media_type", "width", "height", "clinical_consent_at",
                                       "marketing_consent_at", "marketing_withdrawn_at")),
                        "file": photo_file_name(photo)}
                       for photo in db.session.scalars(select(Photo).where(Photo.intake_id == intake.id)
                                                       .order_by(Photo.id))],
            "check_ins": rows(CheckIn, ("id", "created_at", "answers", "previous_assessment_id", "assessment_id",
                                        "raised", "lifted")),
            "messages": rows(OutboxMessage, MESSAGE_COLUMNS),
            # A reminder's outcome, as its outbox message says (``Reminder.outcome``), under the row's own names.
            "reminders": [{**_row(reminder, ("kind", "due_on", "created_at")), "status": reminder.outcome,
                           "reason": reminder.outcome_reason, "sent_at": _jsonable(reminder.outcome_at)}
                          for reminder in db.session.scalars(select(Reminder).where(Reminder.intake_id == intake.id)
                                                             .order_by(Reminder.id))],
            "audit_trail": rows(AuditEntry, ("at", "actor", "action", "summary", "data", "redacted")),
        })
    document["other_messages"] = [_row(message, MESSAGE_COLUMNS) for message in messages_to(email)]
    record(actor, "patient.exported", None, f"Patient data exported: {len(ids)} intakes", intakes=ids)
    db.session.commit()
    return document


def photo_file_name(photo: Photo) -> str:
    """The name of a photo's file beside an export (intake, photo, kind, area, date)."""
    return f"intake-{photo.intake_id}-photo-{photo.id}-{photo.kind}-{photo.area}-{photo.taken_on.isoformat()}.jpg"


def export_patient_photos(email: str) -> list[tuple[str, bytes]]:
    """The patient's photos as files (name, bytes): what export_patient lists under each intake's "photos"."""
    ids = [intake.id for intake in intakes_of(email)]
    photos = list(db.session.scalars(select(Photo).where(Photo.intake_id.in_(ids)).order_by(Photo.id)))
    return [(photo_file_name(photo), photo_storage.load(photo.image_key)) for photo in photos]


@dataclass
class Erasure:
    intakes: list[int] = field(default_factory=list)
    redacted_entries: list[int] = field(default_factory=list)
    #: Emails to the patient about no intake, deleted (those about an intake go with it).
    messages: int = 0


def erase_patient(email: str, actor: str = "system") -> Erasure:
    """Erase the health data of the patient with this email: their intakes and everything
    hung on them are deleted (the emails about them in the outbox too, and any email to this
    address about no intake), the summary and data of their audit entries are redacted (the
    chain still verifies), and one minimal audit entry records that it happened."""
    intakes = intakes_of(email)
    erased = Erasure([intake.id for intake in intakes])
    loose = [message.id for message in messages_to(email)]
    if not intakes and not loose:
        return erased
    erased.messages = len(loose)
    entries = list(db.session.scalars(select(AuditEntry).where(AuditEntry.intake_id.in_(erased.intakes))
                                      .order_by(AuditEntry.id)))
    allow_rewrite(db.session.connection())
    for entry in entries:
        entry.summary, entry.data, entry.redacted = "", {}, True
        erased.redacted_entries.append(entry.id)
    db.session.flush()
    db.session.expunge_all()
    _delete_intakes(erased.intakes)
    db.session.execute(delete(OutboxMessage).where(OutboxMessage.id.in_(loose)))
    record(actor, ERASED, None, f"Health data erased at the patient's request: {len(erased.intakes)} intakes",
           intakes=erased.intakes, redacted_entries=erased.redacted_entries, other_messages=len(loose))
    db.session.commit()
    return erased


# --- backups ------------------------------------------------------------------------------------


class BackupError(RuntimeError):
    """The backup or restore could not be made; the message says why."""


def _libpq_url(url: sa.engine.URL) -> str:
    """The database's address for pg_dump/pg_restore, without the password: argv is visible in `ps`."""
    bare = sa.engine.URL.create("postgresql", username=url.username, host=url.host, port=url.port,
                                database=url.database, query=url.query)
    return bare.render_as_string(hide_password=False)


def _libpq_environment(url: sa.engine.URL) -> dict[str, str]:
    """The child's environment, with the password in PGPASSWORD (readable by the same user only)."""
    environment = dict(os.environ)
    if url.password is not None:
        environment["PGPASSWORD"] = str(url.password)
    return environment


def _sqlite_path(url: sa.engine.URL) -> str:
    if not url.database or url.database == ":memory:":
        raise BackupError("this SQLite database is in memory: there is no file to back up")
    return url.database


def backup(path: Path) -> None:
    """A consistent copy of the live database: SQLite's online backup API, or pg_dump (custom format)."""
    url = db.engine.url
    if url.get_backend_name() == "sqlite":
        source = sqlite3.connect(_sqlite_path(url))
        target = sqlite3.connect(path)
        try:
            with target:
                source.backup(target)
        finally:
            target.close()
            source.close()
    elif url.get_backend_name() == "postgresql":
        _run(["pg_dump", "--format=custom", "--no-owner", "--file", str(path), "--dbname", _libpq_url(url)],
             _libpq_environment(url))
    else:  # pragma: no cover
        raise BackupError(f"no backup method for {url.get_backend_name()}")


def restore(path: Path) -> None:
    """Replace the live database's contents with a backup made by backup()."""
    if not path.is_file():
        raise BackupError(f"{path} is not a file")
    url = db.engine.url
    db.session.remove()
    db.engine.dispose()
    if url.get_backend_name() == "sqlite":
        source = sqlite3.connect(path)
        target = sqlite3.connect(_sqlite_path(url))
        try:
            source.execute("PRAGMA schema_version")  # fails early on a file that is no database
            with target:
                source.backup(target)
        except sqlite3.DatabaseError as error:
            raise BackupError(f"{path} is not a SQLite backup: {error}") from error
        finally:
            target.close()
            source.close()
    elif url.get_backend_name() == "postgresql":
        _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
              "--dbname", _libpq_url(url), str(path)], _libpq_environment(url))
    else:  # pragma: no cover
        raise BackupError(f"no restore method for {url.get_backend_name()}")


def _run(command: list[str], environment: dict[str, str]) -> None:
    if shutil.which(command[0]) is None:
        raise BackupError(f"{command[0]} is not installed (apt-get install postgresql-client)")
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=environment)  # noqa: S603  # nosec B603 # the command is a fixed list (pg_dump/pg_restore + our paths), no shell
    if done.returncode != 0:
        raise BackupError(f"{command[0]} failed: {done.stderr.strip()}")
