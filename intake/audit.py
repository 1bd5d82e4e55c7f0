"""The audit log is append-only and tamper-evident.

Each entry stores ``content_hash`` (sha256 of its summary and data), ``prev_hash`` (the
``hash`` of the entry before it) and ``hash`` (sha256 over its time, actor, action, intake
id, content hash and prev_hash). Editing, deleting or inserting an entry anywhere breaks
the chain from there on, and ``flask audit verify`` names the first broken entry.

The chain alone has no key: anyone who can write to the database could edit an entry and
recompute every hash after it. So each entry is also **sealed**: ``mac`` is an HMAC-SHA256
of its ``hash`` under an audit key derived from the first encryption key (``key_id`` names
which; the keys are never in the database). ``flask keys rotate`` verifies the whole chain
under the keys in force, then re-seals every entry under the new first key (the hashes do
not change) and writes a checkpoint, so ``verify`` keeps working once the old key is gone.

Deleting the newest entries (or everything, and starting a fresh chain) leaves a chain that
verifies; **checkpoints** catch that. ``flask audit checkpoint`` verifies the chain and
appends a sealed line (count, head id, head hash, time) to AUDIT_CHECKPOINT_FILE, outside
the database, and prints it for the log: ship it off the machine. ``verify`` checks the
database against the latest checkpoint: the entry it anchored must be there, unchanged,
with as many entries up to it as it counted.

Writers are serialised: before entries are flushed the session takes a transaction-level
advisory lock on PostgreSQL (SQLite serialises writers itself), reads the last hash and
chains the new entries; ``prev_hash`` is unique, so two chains can never fork. On
PostgreSQL a trigger refuses UPDATE and DELETE on ``audit_entry``, except the two rewrites
the application itself makes, under ``SET LOCAL meso.audit_rewrite = 'on'``: re-encrypting
summary and data (and re-sealing) with a new key, and redacting them when a patient's data is
erased (the content hash is kept, so the chain still verifies and shows the entry was
redacted); a second trigger refuses TRUNCATE.

Every state change writes its entry with ``record()``, in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy import DDL, event, select, text
from sqlalchemy.orm import Session
from sqlalchemy.orm.base import instance_state

from .clock import utcnow
from .extensions import db
from .models.audit import AuditEntry
from .models.intake import Intake
from .protection.encryption import EncryptionKeyError, Keyring, active_keyring, dump_json

GENESIS = "0" * 64
#: pg_advisory_xact_lock key of the audit chain ("meso" in ASCII).
LOCK_KEY = 0x6D65736F
#: The action of the entry that records a patient's erasure (it lists the entries it redacted).
ERASED = "patient.erased"

TRIGGER_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_entry_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND current_setting('meso.audit_rewrite', true) = 'on'
       AND NEW.id = OLD.id AND NEW.at = OLD.at AND NEW.actor = OLD.actor AND NEW.action = OLD.action
       AND NEW.intake_id IS NOT DISTINCT FROM OLD.intake_id AND NEW.prev_hash = OLD.prev_hash
       AND NEW.hash = OLD.hash AND NEW.content_hash = OLD.content_hash THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION USING MESSAGE = 'audit_entry is append-only: ' || TG_OP || ' refused',
                          ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql
"""
TRIGGER = """
CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_entry
FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only()
"""
DROP_TRIGGER = "DROP TRIGGER IF EXISTS audit_entry_append_only ON audit_entry"
DROP_FUNCTION = "DROP FUNCTION IF EXISTS audit_entry_append_only()"
#: TRUNCATE fires no row trigger: without this one, emptying the table and starting a fresh chain passed.
TRUNCATE_TRIGGER_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_entry_no_truncate() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION USING MESSAGE = 'audit_entry is append-only: TRUNCATE refused',
                          ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql
"""
TRUNCATE_TRIGGER = """
CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON audit_entry
FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_no_truncate()
"""
DROP_TRUNCATE_TRIGGER = "DROP TRIGGER IF EXISTS audit_entry_no_truncate ON audit_entry"
DROP_TRUNCATE_FUNCTION = "DROP FUNCTION IF EXISTS audit_entry_no_truncate()"


def record(actor: str, action: str, intake: Intake | None, summary: str = "", **data: Any) -> AuditEntry:
    """Add an audit entry to the current transaction (the caller commits it with its change)."""
    entry = AuditEntry(
        actor=actor, action=action, intake_id=intake.id if intake else None, summary=summary, data=data
    )
    db.session.add(entry)
    return entry


def _utc_text(at: dt.datetime) -> str:
    # SQLite gives naive datetimes back: every stored time is UTC.
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def content_hash(summary: str | None, data: Any) -> str:
    return hashlib.sha256(dump_json({"summary": summary or "", "data": data or {}}).encode()).hexdigest()


def entry_hash(at: dt.datetime, actor: str, action: str, intake_id: int | None, content: str, prev: str) -> str:
    canonical = dump_json({"at": _utc_text(at), "actor": actor, "action": action, "intake_id": intake_id,
                           "content": content, "prev": prev})
    return hashlib.sha256(canonical.encode()).hexdigest()


def seal(entry: Any, prev: str) -> str:
    """Fill in an entry's hashes after ``prev``; returns its hash."""
    if entry.at is None:
        entry.at = utcnow()
    if entry.summary is None:
        entry.summary = ""
    if entry.data is None:
        entry.data = {}
    entry.content_hash = content_hash(entry.summary, entry.data)
    entry.prev_hash = prev
    entry.hash = entry_hash(entry.at, entry.actor, entry.action, entry.intake_id, entry.content_hash, prev)
    keyring = active_keyring()
    entry.key_id, entry.mac = keyring.audit_key_id, keyring.seal(entry.hash)
    return entry.hash


def last_hash(connection: Any) -> str:
    found = connection.execute(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)).scalar()
    return found or GENESIS


def lock_chain(connection: Any) -> None:
    """Serialise audit writers until the end of the transaction, before the last hash is read.

    PostgreSQL: a transaction-level advisory lock. SQLite: the database's write lock, taken
    now (BEGIN IMMEDIATE; a busy writer is waited for) rather than at the first INSERT: the
    Python driver reads outside any transaction until a statement writes, so two writers
    read the same last hash and the second one's insert broke the unique prev_hash.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
    elif connection.dialect.name == "sqlite":
        driver = connection.connection.driver_connection
        if driver is not None and not driver.in_transaction:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def allow_rewrite(connection: Any) -> None:
    """Let this transaction re-encrypt or redact audit content (the trigger checks this)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT set_config('meso.audit_rewrite', 'on', true)"))


def _chain_new_entries(session: Session, _context: Any, _instances: Any) -> None:
    new = [obj for obj in session.new if isinstance(obj, AuditEntry)]
    if not new:
        return
    new.sort(key=lambda obj: instance_state(obj).insert_order or 0)
    connection = session.connection()
    lock_chain(connection)
    prev = last_hash(connection)
    for entry in new:
        prev = seal(entry, prev)


_listening = False


def init_app(_app: Flask) -> None:
    """Chain every new entry on flush, and create PostgreSQL's append-only triggers with the table."""
    global _listening
    if not _listening:
        event.listen(Session, "before_flush", _chain_new_entries)
        table = AuditEntry.__table__
        event.listen(table, "after_create", DDL(TRIGGER_FUNCTION).execute_if(dialect="postgresql"))
        event.listen(table, "after_create", DDL(TRIGGER).execute_if(dialect="postgresql"))
        event.listen(table, "after_create", DDL(TRUNCATE_TRIGGER_FUNCTION).execute_if(dialect="postgresql"))
        event.listen(table, "after_create", DDL(TRUNCATE_TRIGGER).execute_if(dialect="postgresql"))
        _listening = True


@dataclass
class Verification:
    checked: int
    broken_id: int | None = None
    problem: str = ""
    redacted: int = 0
    #: What the database was checked against: the latest checkpoint, or why there was none.
    checkpoint: str = ""

    @property
    def ok(self) -> bool:
        return not self.problem


#: The columns verify reads, raw: summary and data decrypted one entry at a time, so an entry
#: that cannot be decrypted is named instead of failing the whole batch.
_RAW = sa.table("audit_entry", *(sa.column(name) for name in (
    "id", "at", "actor", "action", "intake_id", "content_hash", "prev_hash", "hash", "mac", "key_id", "redacted")),
    sa.column("summary", sa.Text), sa.column("data", sa.Text))


def _at(value: Any) -> dt.datetime:
    if isinstance(value, str):  # SQLite without the column's type
        value = dt.datetime.fromisoformat(value)
    return value


def _check_entry(row: Any, prev: str, keyring: Keyring, redactions: set[int]) -> str:
    """What is wrong with one raw entry after ``prev``, or ""."""
    if row.prev_hash != prev:
        return "its link to the entry before does not match (an entry was deleted, inserted or reordered)"
    if row.redacted:
        if row.id not in redactions:
            return "it is redacted but no erasure entry says so"
    else:
        try:
            summary = keyring.decrypt(row.summary) if row.summary is not None else ""
            data = json.loads(keyring.decrypt(row.data)) if row.data is not None else {}
        except (EncryptionKeyError, ValueError):
            return "its summary or data cannot be decrypted (they were edited, or a key is missing)"
        if content_hash(summary, data) != row.content_hash:
            return "its summary or data were changed"
    if entry_hash(_at(row.at), row.actor, row.action, row.intake_id, row.content_hash, row.prev_hash) != row.hash:
        return "its time, actor, action or intake were changed"
    if row.key_id not in keyring.audit_keys:
        return (f"it is sealed with key {row.key_id or '(none)'}, not one of MESO_ENCRYPTION_KEYS "
                "(was a key removed before `flask keys rotate` finished?)")
    if not hmac.compare_digest(keyring.seal(row.hash, row.key_id) or "", row.mac or ""):
        return "its seal does not match: the entry, or the chain up to it, was rewritten without the key"
    return ""


def _redactions(session: Session, keyring: Keyring) -> set[int]:
    """The entries the erasure entries list as redacted (an unreadable erasure entry lists none)."""
    redacted: set[int] = set()
    for data in session.execute(select(_RAW.c.data).where(_RAW.c.action == ERASED)).scalars():
        try:
            listed = json.loads(keyring.decrypt(data)).get("redacted_entries") if data else None
        except (EncryptionKeyError, ValueError, AttributeError):
            continue
        redacted.update(entry for entry in listed or [] if isinstance(entry, int))
    return redacted


def verify(session: Session, batch: int = 2000, checkpoint: Checkpoint | None = None) -> Verification:
    """Walk the chain in id order; stop at the first entry that does not verify, whatever is wrong with it.

    With a ``checkpoint`` (the latest one written outside the database), also check that the
    entry it anchored is there, unchanged, with as many entries up to it as it counted.
    """
    keyring = active_keyring()
    result = Verification(0)
    redactions = _redactions(session, keyring)
    prev, after, counted_to_head = GENESIS, 0, 0
    while True:
        rows = session.execute(select(_RAW).where(_RAW.c.id > after).order_by(_RAW.c.id).limit(batch)).all()
        if not rows:
            break
        for row in rows:
            try:
                problem = _check_entry(row, prev, keyring, redactions)
            except Exception as error:  # noqa: BLE001 - whatever it is, name the entry instead of a traceback
                problem = f"it cannot be read ({type(error).__name__}: {error})"
            if problem:
                result.broken_id, result.problem = row.id, problem
                return result
            if row.redacted:
                result.redacted += 1
            if checkpoint is not None and row.id == checkpoint.head_id and row.hash != checkpoint.head_hash:
                result.broken_id = row.id
                result.problem = (f"it is not the entry the checkpoint of {checkpoint.at} anchored "
                                  "(the log was replaced from there)")
                return result
            prev, after = row.hash, row.id
            result.checked += 1
            if checkpoint is not None and row.id <= checkpoint.head_id:
                counted_to_head += 1
    if checkpoint is not None:
        if counted_to_head < checkpoint.count or after < checkpoint.head_id:
            result.broken_id = checkpoint.head_id
            result.problem = (f"the checkpoint of {checkpoint.at} counted {checkpoint.count} entries up to entry "
                              f"{checkpoint.head_id}; the database has {counted_to_head} of them: the log was "
                              "truncated or entries were deleted")
            return result
        result.checkpoint = (f"matches the checkpoint of {checkpoint.at} ({checkpoint.count} entries up to entry "
                             f"{checkpoint.head_id})")
    return result


# --- checkpoints: the chain's head, sealed, kept outside the database ------------------------------------


class CheckpointError(ValueError):
    """A checkpoint file that cannot be read or trusted; the message says why."""


@dataclass(frozen=True)
class Checkpoint:
    at: str
    count: int
    head_id: int
    head_hash: str

    def body(self) -> dict[str, Any]:
        return {"at": self.at, "count": self.count, "head_id": self.head_id, "head_hash": self.head_hash}


def checkpoint_file() -> Path:
    """AUDIT_CHECKPOINT_FILE, or audit-checkpoints.jsonl in the instance folder."""
    return Path(current_app.config.get("AUDIT_CHECKPOINT_FILE")
                or Path(current_app.instance_path) / "audit-checkpoints.jsonl")


def write_checkpoint(session: Session, path: Path) -> tuple[Checkpoint, str]:
    """Verify the chain, then append a sealed checkpoint line to ``path``; returns it and the line.

    Raises CheckpointError when the chain does not verify: a tampered log is never anchored.
    """
    result = verify(session, checkpoint=read_latest_checkpoint(path) if path.exists() else None)
    if not result.ok:
        raise CheckpointError(f"the audit log does not verify at entry {result.broken_id}: {result.problem}")
    head = session.execute(select(_RAW.c.id, _RAW.c.hash).order_by(_RAW.c.id.desc()).limit(1)).first()
    checkpoint = Checkpoint(at=_utc_text(utcnow()), count=result.checked, head_id=head.id if head else 0,
                            head_hash=head.hash if head else GENESIS)
    keyring = active_keyring()
    line = dump_json({**checkpoint.body(), "key_id": keyring.audit_key_id,
                      "seal": keyring.seal(dump_json(checkpoint.body()))})
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(descriptor, "a", encoding="utf-8") as file:
        file.write(line + "\n")
    return checkpoint, line


def read_latest_checkpoint(path: Path) -> Checkpoint:
    """The last checkpoint of ``path``, its seal checked (CheckpointError if it does not hold)."""
    try:
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except OSError as error:
        raise CheckpointError(f"cannot read {path}: {error.strerror}") from None
    if not lines:
        raise CheckpointError(f"{path} holds no checkpoint")
    try:
        fields = json.loads(lines[-1])
        checkpoint = Checkpoint(at=str(fields["at"]), count=int(fields["count"]), head_id=int(fields["head_id"]),
                                head_hash=str(fields["head_hash"]))
        key_id, seal = str(fields["key_id"]), str(fields["seal"])
    except (ValueError, KeyError, TypeError):
        raise CheckpointError(f"the last line of {path} is not a checkpoint") from None
    expected = active_keyring().seal(dump_json(checkpoint.body()), key_id)
    if expected is None:
        raise CheckpointError(f"the last checkpoint of {path} is sealed with key {key_id}, not one of "
                              "MESO_ENCRYPTION_KEYS: write a new one after `flask audit verify`")
    if not hmac.compare_digest(expected, seal):
        raise CheckpointError(f"the last checkpoint of {path} does not match its seal: it was edited")
    return checkpoint


def reseal(session: Session, batch: int = 500) -> int:
    """Seal every entry again under the first key (after a key rotation); the hashes do not change.

    Refuses (CheckpointError) unless the chain verifies under the keys in force: re-sealing
    must never launder an entry that was rewritten.
    """
    result = verify(session)
    if not result.ok:
        raise CheckpointError(f"the audit log does not verify at entry {result.broken_id}: {result.problem}; "
                              "investigate before rotating (re-sealing would hide it)")
    keyring = active_keyring()
    after, done = 0, 0
    while True:
        connection = session.connection()
        rows = connection.execute(select(_RAW.c.id, _RAW.c.hash, _RAW.c.key_id).where(_RAW.c.id > after)
                                  .order_by(_RAW.c.id).limit(batch)).all()
        if not rows:
            return done
        allow_rewrite(connection)
        for row in rows:
            if row.key_id != keyring.audit_key_id:
                connection.execute(sa.update(_RAW).where(_RAW.c.id == row.id)
                                   .values(mac=keyring.seal(row.hash), key_id=keyring.audit_key_id))
            after, done = row.id, done + 1
        session.commit()
