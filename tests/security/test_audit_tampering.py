"""Rewriting the audit log through the database is caught: edited entries with recomputed hashes,
a deleted tail, a truncated and restarted log, an edited encrypted summary; TRUNCATE is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from intake import audit
from intake.extensions import db
from intake.models import AuditEntry
from intake.patient.service import start_intake
from intake.protection.encryption import generate_key, use_keys


def raw(sql: str, **params) -> list:
    with db.engine.connect() as connection:
        return connection.execute(sa.text(sql), params).all()


def tamper(*statements: tuple[str, dict]) -> None:
    """What someone with the database owner's rights (and no key) can do."""
    with db.engine.begin() as connection:
        postgresql = connection.dialect.name == "postgresql"
        if postgresql:
            connection.execute(sa.text("ALTER TABLE audit_entry DISABLE TRIGGER USER"))
        for sql, params in statements:
            connection.execute(sa.text(sql), params)
        if postgresql:
            connection.execute(sa.text("ALTER TABLE audit_entry ENABLE TRIGGER USER"))


def rechain_from_plain_columns() -> None:
    """Recompute content-free hashes of every entry in order, as the unkeyed chain allowed."""
    rows = raw("SELECT id, at, actor, action, intake_id, content_hash FROM audit_entry ORDER BY id")
    prev, updates = audit.GENESIS, []
    for row in rows:
        at = audit._at(row.at)
        new = audit.entry_hash(at, row.actor, row.action, row.intake_id, row.content_hash, prev)
        updates.append(("UPDATE audit_entry SET prev_hash = :p, hash = :h WHERE id = :id",
                        {"p": prev, "h": new, "id": row.id}))
        prev = new
    # prev_hash is unique: move every row out of the way first.
    tamper(("UPDATE audit_entry SET prev_hash = 'x' || id", {}), *updates)


@pytest.fixture
def log(app):
    with app.app_context():
        for number in range(6):
            start_intake(prefill={"full_name": f"Patient {number}", "email": f"p{number}@example.org"})
        return [entry.id for entry in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def verify_cli(runner, *args: str):
    return runner.invoke(args=["audit", "verify", *args])


def test_an_entry_rewritten_with_its_hashes_recomputed_is_caught(app, runner, log):
    with app.app_context():
        tamper(("UPDATE audit_entry SET actor = 'staff:999', action = 'intake.viewed' WHERE id = :id",
                {"id": log[2]}))
        rechain_from_plain_columns()
    result = verify_cli(runner)
    assert result.exit_code == 1
    assert f"BROKEN at entry {log[2]}: its seal does not match" in result.output


def test_a_deleted_tail_is_caught_by_the_checkpoint(app, runner, log):
    assert runner.invoke(args=["audit", "checkpoint"]).exit_code == 0
    assert "matches the checkpoint" in verify_cli(runner).output
    with app.app_context():
        tamper(("DELETE FROM audit_entry WHERE id >= :id", {"id": log[-2]}))
        assert audit.verify(db.session).ok  # the chain alone cannot tell
    result = verify_cli(runner)
    assert result.exit_code == 1
    assert f"BROKEN at entry {log[-1]}: the checkpoint of" in result.output
    assert "counted 6 entries up to entry" in result.output and "the database has 4" in result.output


def test_a_truncated_and_restarted_log_is_caught_by_the_checkpoint(app, runner, log):
    assert runner.invoke(args=["audit", "checkpoint"]).exit_code == 0
    with app.app_context():
        tamper(("DELETE FROM audit_entry", {}))
        start_intake(prefill={"full_name": "Fresh Chain", "email": "fresh@example.org"})
        assert audit.verify(db.session).ok
    result = verify_cli(runner)
    assert result.exit_code == 1 and "the log was truncated or entries were deleted" in result.output


def test_truncate_is_refused_on_postgresql(app, log):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("the triggers are PostgreSQL's")
        with pytest.raises(sa.exc.DBAPIError, match="TRUNCATE refused"), db.engine.begin() as connection:
            connection.execute(sa.text("TRUNCATE audit_entry"))
        assert len(raw("SELECT id FROM audit_entry")) == len(log)


def test_an_edited_encrypted_summary_names_the_entry_instead_of_a_traceback(app, runner, log):
    with app.app_context():
        summary = raw("SELECT summary FROM audit_entry WHERE id = :id", id=log[3])[0][0]
        tamper(("UPDATE audit_entry SET summary = :s WHERE id = :id", {"s": summary[:-8] + "AAAAAAAA", "id": log[3]}))
    result = verify_cli(runner)
    assert result.exit_code == 1 and result.exception is None or isinstance(result.exception, SystemExit)
    assert f"BROKEN at entry {log[3]}: its summary or data cannot be decrypted" in result.output


def test_garbage_in_any_column_names_the_entry(app, log):
    with app.app_context():
        tamper(("UPDATE audit_entry SET data = 'not a token', summary = '' WHERE id = :id", {"id": log[1]}))
        result = audit.verify(db.session)
    assert result.broken_id == log[1] and "cannot be decrypted" in result.problem


def test_a_checkpoint_is_sealed_and_never_anchors_a_broken_log(app, runner, log):
    path = Path(app.config["AUDIT_CHECKPOINT_FILE"])
    result = runner.invoke(args=["audit", "checkpoint"])
    assert result.exit_code == 0 and path.stat().st_mode & 0o777 == 0o600
    line = json.loads(path.read_text().splitlines()[-1])
    assert line["count"] == 6 and line["head_id"] == log[-1]
    forged = dict(line, count=3)
    path.write_text(path.read_text() + json.dumps(forged) + "\n")
    result = verify_cli(runner)
    assert result.exit_code == 1 and "does not match its seal: it was edited" in result.output
    path.unlink()
    with app.app_context():
        tamper(("UPDATE audit_entry SET actor = 'x' WHERE id = :id", {"id": log[2]}))
    result = runner.invoke(args=["audit", "checkpoint"])
    assert result.exit_code == 1 and f"does not verify at entry {log[2]}" in result.output
    assert not path.exists()


def test_key_rotation_keeps_verify_working_once_the_old_key_is_gone(app, runner, log):
    assert runner.invoke(args=["audit", "checkpoint"]).exit_code == 0
    old = list(app.config["ENCRYPTION_KEYS"])
    try:
        use_keys(app, [generate_key(), *old])
        result = runner.invoke(args=["keys", "rotate"])
        assert result.exit_code == 0, result.output
        assert "Audit checkpoint written" in result.output
        use_keys(app, app.config["ENCRYPTION_KEYS"][:1])  # the old key removed
        result = verify_cli(runner)
        assert result.exit_code == 0 and "Audit log intact" in result.output, result.output
        assert "matches the checkpoint" in result.output
    finally:
        use_keys(app, old)


def test_rotation_refuses_to_reseal_a_tampered_log(app, runner, log):
    with app.app_context():
        tamper(("UPDATE audit_entry SET action = 'x' WHERE id = :id", {"id": log[4]}))
    old = list(app.config["ENCRYPTION_KEYS"])
    try:
        use_keys(app, [generate_key(), *old])
        result = runner.invoke(args=["keys", "rotate"])
        assert result.exit_code == 1 and f"Nothing rotated: the audit log does not verify at entry {log[4]}" in (
            result.output)
    finally:
        use_keys(app, old)
