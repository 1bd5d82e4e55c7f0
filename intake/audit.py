"""The audit log is append-only and tamper-evident.

Each entry stores ``content_hash`` (sha256 of its summary and data), ``prev_hash`` (the
``hash`` of the entry before it) and ``hash`` (sha256 over its time, actor, action, intake
id, content hash and prev_hash). Editing, deleting or inserting an entry anywhere breaks
the chain from there on, and ``flask audit verify`` names the first broken entry.

Writers are serialised: before entries are flushed the session takes a transaction-level
advisory lock on PostgreSQL (SQLite serialises writers itself), reads the last hash and
chains the new entries; ``prev_hash`` is unique, so two chains can never fork. On
PostgreSQL a trigger refuses UPDATE and DELETE on ``audit_entry``, except the two rewrites
the application itself makes, under ``SET LOCAL meso.audit_rewrite = 'on'``: re-encrypting
summary and data with a new key, and redacting them when a patient's data is erased (the
content hash is kept, so the chain still verifies and shows the entry was redacted).

Every state change writes its entry with ``record()``, in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from flask import Flask
from sqlalchemy import DDL, event, select, text
from sqlalchemy.orm import Session
from sqlalchemy.orm.base import instance_state

from .clock import utcnow
from .extensions import db
from .models.audit import AuditEntry
from .models.intake import Intake
from .protection.encryption import dump_json

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
    return entry.hash


def last_hash(connection: Any) -> str:
    found = connection.execute(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)).scalar()
    return found or GENESIS


def lock_chain(connection: Any) -> None:
    """Serialise audit writers until the end of the transaction (PostgreSQL)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})


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
    """Chain every new entry on flush, and create PostgreSQL's append-only trigger with the table."""
    global _listening
    if not _listening:
        event.listen(Session, "before_flush", _chain_new_entries)
        table = AuditEntry.__table__
        event.listen(table, "after_create", DDL(TRIGGER_FUNCTION).execute_if(dialect="postgresql"))
        event.listen(table, "after_create", DDL(TRIGGER).execute_if(dialect="postgresql"))
        _listening = True


@dataclass
class Verification:
    checked: int
    broken_id: int | None = None
    problem: str = ""
    redacted: int = 0

    @property
    def ok(self) -> bool:
        return self.broken_id is None


def verify(session: Session, batch: int = 2000) -> Verification:
    """Walk the chain in id order; stop at the first entry that does not verify."""
    result = Verification(0)
    prev = GENESIS
    after = 0
    # Every redacted entry must be listed by the erasure entry that redacted it.
    redactions: set[int] = set()
    for erasure in session.scalars(select(AuditEntry).where(AuditEntry.action == ERASED)):
        if isinstance(erasure.data, dict):
            redactions.update(erasure.data.get("redacted_entries") or [])
    while True:
        entries = list(session.scalars(
            select(AuditEntry).where(AuditEntry.id > after).order_by(AuditEntry.id).limit(batch)
        ))
        if not entries:
            return result
        for entry in entries:
            if entry.prev_hash != prev:
                result.broken_id, result.problem = entry.id, (
                    "its link to the entry before does not match (an entry was deleted, inserted or reordered)")
                return result
            if entry.redacted:
                result.redacted += 1
                if entry.id not in redactions:
                    result.broken_id, result.problem = entry.id, "it is redacted but no erasure entry says so"
                    return result
            elif content_hash(entry.summary, entry.data) != entry.content_hash:
                result.broken_id, result.problem = entry.id, "its summary or data were changed"
                return result
            if entry_hash(entry.at, entry.actor, entry.action, entry.intake_id, entry.content_hash,
                          entry.prev_hash) != entry.hash:
                result.broken_id, result.problem = entry.id, "its time, actor, action or intake were changed"
                return result
            prev = entry.hash
            result.checked += 1
            after = entry.id
        session.expunge_all()
