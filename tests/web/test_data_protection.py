"""Data protection: encryption at rest, the search index, key rotation, the audit chain,
retention, a patient's export and erasure, backups and the production refusals."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy import select

from intake import audit, create_app
from intake.cli.data import check_config
from intake.config import ConfigError, build_config
from intake.extensions import db
from intake.models import Assessment, AuditEntry, CheckIn, Intake, IntakeStatus, Notification, OutboxMessage, Reminder
from intake.patient.service import start_intake
from intake.protection.encryption import generate_key, use_keys
from intake.protection.search import matching_search

GOOD_ENV = {"MESO_ENV": "production", "SECRET_KEY": "k3Jd9-x0QpLm2vT7bN4cR8yW1zA6sE5u",
            "DATABASE_URL": "postgresql://meso@127.0.0.1/meso", "MESO_ENCRYPTION_KEYS": generate_key()}


def found(query: str) -> list[str]:
    return sorted(db.session.scalars(select(Intake.full_name).where(matching_search(query))))


def raw(sql: str, **params) -> list:
    with db.engine.connect() as connection:
        return connection.execute(sa.text(sql), params).all()


def test_health_data_is_not_stored_in_clear(app, demo_intakes):
    with app.app_context():
        intake_row = raw("SELECT answers, full_name, email FROM intake WHERE id = :id",
                         id=demo_intakes["Nina Petrova"])[0]
        assert not any("Nina" in cell or "nina" in cell or "Petrova" in cell for cell in intake_row)
        stored = " ".join(cell for row in raw("SELECT document FROM assessment") for cell in row)
        stored += " ".join(cell or "" for row in raw("SELECT summary, data FROM audit_entry") for cell in row)
        for clear in ("rule_id", "severity", "Submitted", "outcome", "full_name"):
            assert clear not in stored
        nina = db.session.get(Intake, demo_intakes["Nina Petrova"])
        assert nina.answers["about"]["full_name"] == "Nina Petrova"
        flags = nina.latest_assessment.document["flags"]
        # Kept in clear for the queue: the flags to review (info items are not).
        assert nina.latest_assessment.flag_count == len([f for f in flags if f["severity"] != "info"]) > 0


def test_search_finds_words_and_prefixes_of_name_and_email(app, demo_intakes):
    with app.app_context():
        assert found("chloe") == found("CHLOÉ") == ["Chloé Martin"]
        assert found("nin petr") == ["Nina Petrova"]
        assert found("petrova nina") == ["Nina Petrova"]
        assert found("grace.okafor@exam") == ["Grace Okafor"]
        assert found("okafor@example") == []  # with @, the start of the email only
        assert found("ni") == [] and found("pe") == []  # under three letters: whole words only
        assert found("zzz") == [] and found("  ") == [] and found("%") == []


def test_contact_details_are_indexed_when_an_intake_starts(app):
    with app.app_context():
        start_intake(prefill={"full_name": "Iris Vale", "email": "iris@vale.test"})
        assert found("iri") == found("vale.test") == found("iris@vale") == ["Iris Vale"]


def test_rotation_reencrypts_everything_so_the_old_key_can_go(app, demo_intakes, runner):
    old = list(app.config["ENCRYPTION_KEYS"])
    new = generate_key()
    try:
        with app.app_context():
            names_before = {intake.id: intake.full_name for intake in db.session.scalars(select(Intake))}
            documents_before = {a.id: a.document for a in db.session.scalars(select(Assessment))}
        use_keys(app, [new, *old])
        result = runner.invoke(args=["keys", "rotate", "--batch", "5"])
        assert result.exit_code == 0, result.output
        assert "audit_entry:" in result.output
        use_keys(app, [new])  # the old key removed
        with app.app_context():
            db.session.remove()
            assert {i.id: i.full_name for i in db.session.scalars(select(Intake))} == names_before
            assert {a.id: a.document for a in db.session.scalars(select(Assessment))} == documents_before
            assert found("chlo") == ["Chloé Martin"]  # the index was rebuilt under the new search key
            assert audit.verify(db.session).ok
        use_keys(app, old)  # the old key alone no longer reads the data
        with app.app_context():
            db.session.remove()
            with pytest.raises(ValueError, match="cannot be decrypted"):
                db.session.scalars(select(Intake)).all()
    finally:
        use_keys(app, old)
        with app.app_context():
            db.session.remove()


def test_audit_entries_are_chained(app, demo_intakes):
    with app.app_context():
        entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        assert entries[0].prev_hash == audit.GENESIS
        assert [e.prev_hash for e in entries[1:]] == [e.hash for e in entries[:-1]]
        assert len({e.prev_hash for e in entries}) == len(entries)


def _tamper(sql: str, **params) -> None:
    with db.engine.begin() as connection:
        postgresql = connection.dialect.name == "postgresql"
        if postgresql:  # an attacker with the owner's rights switches the trigger off first
            connection.execute(sa.text("ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_append_only"))
        connection.execute(sa.text(sql), params)
        if postgresql:
            connection.execute(sa.text("ALTER TABLE audit_entry ENABLE TRIGGER audit_entry_append_only"))


def test_audit_verify_reports_the_first_broken_link(app, demo_intakes, runner):
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and "Audit log intact" in result.output
    with app.app_context():
        ids = db.session.scalars(select(AuditEntry.id).order_by(AuditEntry.id)).all()
        target, later = ids[5], ids[9]
        other_summary = raw("SELECT summary FROM audit_entry WHERE id = :id", id=ids[6])[0][0]
        _tamper("UPDATE audit_entry SET actor = 'staff:999' WHERE id = :id", id=later)
        _tamper("UPDATE audit_entry SET summary = :s WHERE id = :id", s=other_summary, id=target)
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"BROKEN at entry {target}: its summary or data were changed" in result.output
    with app.app_context():
        _tamper("DELETE FROM audit_entry WHERE id = :id", id=target)
        result = runner.invoke(args=["audit", "verify"])
        assert f"BROKEN at entry {ids[6]}: its link" in result.output
        _tamper("DELETE FROM audit_entry WHERE id < :id", id=later)
        result = runner.invoke(args=["audit", "verify"])
        assert f"BROKEN at entry {later}" in result.output and result.exit_code == 1


def test_postgresql_refuses_to_update_or_delete_audit_entries(app, demo_intakes):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("the append-only trigger is PostgreSQL's")
        entry_id = db.session.scalar(select(AuditEntry.id).limit(1))
        for sql in ("UPDATE audit_entry SET actor = 'x' WHERE id = :id", "DELETE FROM audit_entry WHERE id = :id"):
            with pytest.raises(sa.exc.DBAPIError, match="append-only"), db.engine.begin() as connection:
                connection.execute(sa.text(sql), {"id": entry_id})
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), db.engine.begin() as connection:
            audit.allow_rewrite(connection)  # even then, only summary, data and redacted may change
            connection.execute(sa.text("UPDATE audit_entry SET actor = 'x' WHERE id = :id"), {"id": entry_id})
        assert audit.verify(db.session).ok


def test_purge_deletes_old_drafts_and_keeps_their_audit_trail(app, demo_intakes, runner):
    with app.app_context():
        old, _ = start_intake(prefill={"full_name": "Old Draft", "email": "old@draft.test"})
        recent, _ = start_intake()
        old_id, recent_id = old.id, recent.id
        with db.engine.begin() as connection:
            connection.execute(sa.text("UPDATE intake SET updated_at = '2020-01-01 00:00:00' WHERE id = :id"),
                               {"id": old_id})
            connection.execute(sa.text("UPDATE intake SET updated_at = '2020-01-01 00:00:00' WHERE status != 'draft'"))
    result = runner.invoke(args=["data", "purge"])
    assert result.exit_code == 0 and "Deleted 1 unsubmitted" in result.output
    with app.app_context():
        assert db.session.get(Intake, old_id) is None and db.session.get(Intake, recent_id) is not None
        assert db.session.scalar(select(sa.func.count()).select_from(Intake).where(
            Intake.status == IntakeStatus.SUBMITTED)) == 12
        assert found("old") == []
        assert raw("SELECT count(*) FROM search_term WHERE intake_id = :id", id=old_id)[0][0] == 0
        kept = db.session.scalars(select(AuditEntry.action).where(AuditEntry.intake_id == old_id)).all()
        assert kept == ["intake.started"]
        purged = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "data.purged")).one()
        assert purged.data["intakes"] == [old_id]
        assert audit.verify(db.session).ok


def test_a_patient_gets_everything_held_then_has_it_erased(app, demo_intakes, runner, tmp_path):
    with app.app_context():
        grace = db.session.get(Intake, demo_intakes["Grace Okafor"])
        email = grace.email
    output = tmp_path / "grace.json"
    result = runner.invoke(args=["data", "export", "--patient", email.upper(), "-o", str(output)])
    assert result.exit_code == 0, result.output
    exported = json.loads(output.read_text())
    assert [i["id"] for i in exported["intakes"]] == [demo_intakes["Grace Okafor"]]
    held = exported["intakes"][0]
    assert held["answers"]["about"]["email"] == email
    assert held["assessments"][0]["document"]["flags"] is not None
    assert "intake.submitted" in [entry["action"] for entry in held["audit_trail"]]
    with app.app_context():  # a check-in, a message and a reminder to her: erased with her, on SQLite too (no cascade)
        notification = Notification(intake_id=grace.id, kind="invitation", status="sent")
        db.session.add_all([CheckIn(intake_id=grace.id, answers={"alcohol_since": False}), notification])
        db.session.flush()
        # A reminder's email names her instructions: its outbox row goes with her.
        message = OutboxMessage(idempotency_key="reminder-grace", kind="reminder", intake_id=grace.id,
                                notification_id=notification.id, recipient=email, subject="A reminder",
                                text="From Monday: no alcohol.", state="sent")
        db.session.add(message)
        db.session.flush()
        db.session.add(Reminder(key=f"{grace.id}:day_before:x", kind="day_before", intake_id=grace.id,
                                due_on=dt.date(2026, 12, 1), status="queued", outbox_message_id=message.id))
        db.session.commit()

    result = runner.invoke(args=["data", "erase", "--patient", email, "--yes"])
    assert result.exit_code == 0 and "Erased 1 intakes" in result.output, result.output
    with app.app_context():
        assert db.session.get(Intake, demo_intakes["Grace Okafor"]) is None
        for model in (CheckIn, Notification, OutboxMessage, Reminder):
            assert db.session.scalars(select(model).where(model.intake_id == grace.id)).all() == []
        assert db.session.get(Intake, demo_intakes["Nina Petrova"]) is not None
        assert found("grace") == [] and found("okafor") == []
        redacted = db.session.scalars(
            select(AuditEntry).where(AuditEntry.intake_id == demo_intakes["Grace Okafor"])).all()
        assert redacted and all(e.redacted and e.summary == "" and e.data == {} for e in redacted)
        erasure = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "patient.erased")).one()
        assert email not in erasure.summary + json.dumps(erasure.data)
        verified = audit.verify(db.session)
        assert verified.ok and verified.redacted == len(redacted)
    again = runner.invoke(args=["data", "export", "--patient", email])
    assert json.loads(again.output)["intakes"] == []
    assert "nothing erased" in runner.invoke(args=["data", "erase", "--patient", email, "--yes"]).output


def test_a_backup_restores_the_database_as_it_was(app, demo_intakes, runner, tmp_path):
    backup = tmp_path / "meso.backup"
    result = runner.invoke(args=["data", "backup", str(backup)])
    assert result.exit_code == 0, result.output
    with app.app_context():
        before = sorted(db.session.scalars(select(Intake.full_name)))
    runner.invoke(args=["data", "erase", "--patient", "grace.okafor@example.org", "--yes"])
    with app.app_context():
        start_intake(prefill={"full_name": "After Backup", "email": "after@backup.test"})
        assert sorted(db.session.scalars(select(Intake.full_name))) != before
        db.session.remove()
    result = runner.invoke(args=["data", "restore", str(backup), "--yes"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert sorted(db.session.scalars(select(Intake.full_name))) == before
        assert found("grace") == ["Grace Okafor"] and found("after") == []
        assert audit.verify(db.session).ok
        if db.engine.dialect.name == "postgresql":  # the trigger came back with the restore
            with pytest.raises(sa.exc.DBAPIError, match="append-only"), db.engine.begin() as connection:
                connection.execute(sa.text("DELETE FROM audit_entry"))
    bad = tmp_path / "not-a-backup"
    bad.write_text("hello")
    result = runner.invoke(args=["data", "restore", str(bad), "--yes"])
    assert result.exit_code == 1 and "Error:" in result.output


@pytest.mark.parametrize(("change", "message"), [
    ({"SECRET_KEY": "short"}, "SECRET_KEY must be set"),
    ({"SECRET_KEY": "a" * 40}, "SECRET_KEY must be set"),
    ({"MESO_ENCRYPTION_KEYS": ""}, "MESO_ENCRYPTION_KEYS must be set"),
    ({"MESO_ENCRYPTION_KEYS": "not-a-key"}, "MESO_ENCRYPTION_KEYS is invalid"),
    ({"DATABASE_URL": "sqlite:////srv/meso.sqlite"}, "DATABASE_URL is SQLite"),
    ({"FLASK_DEBUG": "1"}, "FLASK_DEBUG must be off"),
    ({"FLASK_DEBUG": "On"}, "FLASK_DEBUG must be off"),
    # Long enough and eight different characters, but a repeat: about 7 bits of entropy.
    ({"SECRET_KEY": "abcdefgh" * 4}, "this one is guessable"),
    ({"SECRET_KEY": "abcdefghijklmnopqrstuvwxyz012345"}, "this one is guessable"),
    ({"SECRET_KEY": "passwordpasswordpasswordpassword"}, "SECRET_KEY must be set"),
    # The console mailer writes each email, patient links included, to the log.
    ({"MAIL_BACKEND": "console"}, "MAIL_BACKEND must not be console in production"),
])
def test_production_refuses_unsafe_settings(tmp_path, change, message):
    with pytest.raises(ConfigError, match=message):
        build_config(tmp_path, {**GOOD_ENV, **change})
    result = CliRunner().invoke(check_config, env={**GOOD_ENV, **change})
    assert result.exit_code == 1 and message in result.output


def test_production_accepts_safe_settings(tmp_path, monkeypatch):
    assert build_config(tmp_path, GOOD_ENV)["ENCRYPTION_KEYS"] == [GOOD_ENV["MESO_ENCRYPTION_KEYS"]]
    allowed = {**GOOD_ENV, "DATABASE_URL": "sqlite:////srv/meso.sqlite", "ALLOW_SQLITE_IN_PRODUCTION": "1"}
    assert build_config(tmp_path, allowed)["SQLALCHEMY_DATABASE_URI"] == "sqlite:////srv/meso.sqlite"
    result = CliRunner().invoke(check_config, env=GOOD_ENV)
    assert result.exit_code == 0 and "No unsafe setting" in result.output
    result = CliRunner().invoke(check_config, env={**GOOD_ENV, "MESO_ENV": "development"})
    assert result.exit_code == 1 and "MESO_ENV" in result.output


def test_production_refuses_debug_mode(monkeypatch):
    for name, value in GOOD_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("FLASK_DEBUG", "0")
    monkeypatch.setattr("intake.config.unsafe_settings", lambda env: [])
    with pytest.raises(ConfigError, match="debug is on"):
        create_app({"DEBUG": True})


def test_development_keeps_a_generated_key(tmp_path):
    first = build_config(tmp_path, {})["ENCRYPTION_KEYS"]
    assert build_config(tmp_path, {})["ENCRYPTION_KEYS"] == first
    assert (tmp_path / "encryption_key").stat().st_mode & 0o777 == 0o600


def test_concurrent_writers_keep_one_unbroken_chain(app):
    import threading

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("concurrent writers need a server database")
    errors: list[Exception] = []

    def patient() -> None:
        with app.app_context():
            try:
                for _ in range(8):
                    start_intake(prefill={"full_name": "Same Time", "email": "same@time.test"})
            except Exception as error:  # noqa: BLE001 - reported by the assertion below
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=patient) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with app.app_context():
        result = audit.verify(db.session)
        assert result.ok and result.checked == 32
