"""Revision d7c3a9e07001 on a database holding clear rows: it encrypts them, indexes names
and emails, counts flags and chains the audit log, on both databases."""

from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa
from flask_migrate import upgrade
from sqlalchemy import select

from intake import audit, create_app
from intake.extensions import db
from intake.models import Assessment, AuditEntry, Decision, Intake
from intake.protection.search import matching_search

ANSWERS = {"about": {"full_name": "Zoë Lambert", "email": "zoe.lambert@example.org"},
           "health": {"pregnant": True}}
DOCUMENT = {"flags": [{"rule_id": "pregnancy", "answer": "pregnant: yes"}, {"rule_id": "acne"}], "plan": {}}
AT = dt.datetime(2026, 11, 20, 9, 30, 15, 123456, tzinfo=dt.UTC)


def _clear_rows(connection: sa.Connection) -> None:
    connection.execute(sa.text(
        "INSERT INTO intake (id, token_hash, status, answers, completed_sections, full_name, email, created_at, "
        "updated_at, version) VALUES (1, :token, 'submitted', :answers, '[]', 'Zoë Lambert', "
        "'zoe.lambert@example.org', :at, :at, 2)"), {"token": "a" * 64, "answers": json.dumps(ANSWERS), "at": AT})
    connection.execute(sa.text(
        "INSERT INTO intake (id, token_hash, status, answers, completed_sections, created_at, updated_at, version) "
        "VALUES (2, :token, 'draft', '{}', '[]', :at, :at, 1)"), {"token": "b" * 64, "at": AT})
    connection.execute(sa.text(
        "INSERT INTO assessment (id, intake_id, created_at, assessed_on, ruleset_version, outcome, document) "
        "VALUES (1, 1, :at, :on, 'v1', 'contraindicated', :document)"),
        {"at": AT, "on": AT.date(), "document": json.dumps(DOCUMENT)})
    connection.execute(sa.text(
        "INSERT INTO staff_user (id, email, display_name, role, password_hash, active, failed_attempts, created_at, "
        "session_generation) VALUES (1, 'dr@clinic.test', 'Dr Who', 'practitioner', 'x', :yes, 0, :at, 0)"),
        {"at": AT, "yes": True})
    connection.execute(sa.text(
        "INSERT INTO decision (id, intake_id, assessment_id, outcome, question, note, plan, staff_user_id, "
        "signed_at, ruleset_version) VALUES (1, 1, 1, 'not_suitable', '', 'Pregnant: wait until after', 'null', 1, "
        ":at, 'v1')"), {"at": AT})
    for number in range(3):
        connection.execute(sa.text(
            "INSERT INTO audit_entry (at, actor, action, intake_id, summary, data) "
            "VALUES (:at, 'patient', 'intake.section_saved', 1, :summary, :data)"),
            {"at": AT + dt.timedelta(seconds=number), "summary": f"Section saved: {number}",
             "data": json.dumps({"section": number})})


def test_the_migration_encrypts_indexes_and_chains_existing_rows(empty_database):  # noqa: F811
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": empty_database})
    with app.app_context():
        upgrade(revision="4df1aa69dfeb")
        with db.engine.begin() as connection:
            _clear_rows(connection)
        upgrade()

        with db.engine.connect() as connection:
            raw = connection.execute(sa.text("SELECT answers, full_name, email FROM intake WHERE id = 1")).one()
            document = connection.execute(sa.text("SELECT document FROM assessment")).scalar()
            note = connection.execute(sa.text("SELECT note FROM decision")).scalar()
            summaries = connection.execute(sa.text("SELECT summary, data FROM audit_entry")).all()
        stored = " ".join([*raw, document, note, *(cell for row in summaries for cell in row)])
        for clear in ("Lambert", "zoe.lambert", "pregnan", "Pregnant", "Section saved", "section"):
            assert clear not in stored

        intake = db.session.get(Intake, 1)
        assert intake.answers == ANSWERS
        assert (intake.full_name, intake.email) == ("Zoë Lambert", "zoe.lambert@example.org")
        assessment = db.session.get(Assessment, 1)
        assert assessment.document == DOCUMENT
        assert assessment.flag_count == 2
        assert db.session.get(Decision, 1).note == "Pregnant: wait until after"
        assert db.session.get(Decision, 1).plan is None
        for query in ("zoe", "LAMB", "zoe.lambert@example", "example.org"):
            assert db.session.scalars(select(Intake.id).where(matching_search(query))).all() == [1], query
        assert db.session.scalars(select(Intake.id).where(matching_search("lambrt"))).all() == []

        entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        assert [entry.summary for entry in entries] == [f"Section saved: {n}" for n in range(3)]
        assert entries[0].prev_hash == audit.GENESIS
        assert [entry.prev_hash for entry in entries[1:]] == [entry.hash for entry in entries[:-1]]
        result = audit.verify(db.session)
        assert result.ok and result.checked == 3
        db.session.remove()
        db.engine.dispose()
