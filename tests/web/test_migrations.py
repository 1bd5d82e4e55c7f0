"""The Alembic migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from intake import create_app
from intake.extensions import db
from tests.support.migrations import insert_as_of


def test_migrations_match_the_models(empty_database):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": empty_database})
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), db.metadata)
        assert differences == [], "run `flask db migrate` and commit the new revision"
        downgrade(revision="base")
        assert sa.inspect(db.engine).get_table_names() == ["alembic_version"]
        db.engine.dispose()


def test_the_queue_columns_are_filled_from_existing_intakes(empty_database):
    """Revision b5a1e7c05001 computes review_status, latest_outcome and queue_sort as the queue used to."""
    import datetime as dt

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": empty_database})
    now = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    with app.app_context():
        upgrade(revision="4df1aa69dfeb")
        tables = sa.MetaData()
        tables.reflect(db.engine)
        intake, assessment, decision = tables.tables["intake"], tables.tables["assessment"], tables.tables["decision"]

        def intake_row(number, status, appointment):
            return {"id": number, "token_hash": f"{number:064d}", "status": status, "answers": {},
                    "completed_sections": [], "full_name": f"P{number}", "email": None,
                    "appointment_date": appointment, "created_at": now, "updated_at": now,
                    "submitted_at": now if status == "submitted" else None, "version": 1}

        def assessment_row(number, intake_id, outcome):
            return {"id": number, "intake_id": intake_id, "created_at": now, "assessed_on": now.date(),
                    "ruleset_version": "v", "outcome": outcome, "defer_until": None, "document": {"flags": []}}

        def decision_row(number, intake_id, assessment_id, outcome):
            return {"id": number, "intake_id": intake_id, "assessment_id": assessment_id, "outcome": outcome,
                    "defer_until": None, "question": "", "note": "", "plan": None, "staff_user_id": 1,
                    "signed_at": now, "ruleset_version": "v"}

        booked = dt.date(2026, 12, 1)
        with db.engine.begin() as connection:
            connection.execute(tables.tables["staff_user"].insert(), [{
                "id": 1, "email": "p@x.org", "display_name": "P", "role": "practitioner", "password_hash": "x",
                "active": True, "failed_attempts": 0, "created_at": now, "session_generation": 0}])
            connection.execute(intake.insert(), [intake_row(1, "draft", None), intake_row(2, "submitted", booked),
                                                 intake_row(3, "submitted", None), intake_row(4, "submitted", booked)])
            connection.execute(assessment.insert(), [
                assessment_row(1, 2, "defer"), assessment_row(2, 3, "suitable"),
                assessment_row(3, 4, "precaution"), assessment_row(4, 4, "contraindicated")])
            connection.execute(decision.insert(), [
                decision_row(1, 3, 2, "approved"),  # on the latest assessment: it counts
                decision_row(2, 4, 3, "approved")])  # on an earlier assessment: awaiting review again
        upgrade()
        with db.engine.connect() as connection:
            found = connection.execute(sa.text(
                "SELECT id, review_status, latest_outcome, queue_sort FROM intake ORDER BY id")).all()
        assert [tuple(row) for row in found] == [
            (1, "draft", None, 9), (2, "awaiting_review", "defer", 2), (3, "approved", "suitable", 7),
            (4, "awaiting_review", "contraindicated", 0)]
        downgrade(revision="base")
        db.engine.dispose()


def test_the_rule_tally_counts_the_flags_of_existing_assessments(empty_database):
    """Revision e8d4b0f09001 counts, from the encrypted documents, how many assessments flagged each rule."""
    import datetime as dt

    from intake.models import Assessment, Intake, hash_token

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": empty_database})
    with app.app_context():
        upgrade(revision="c6b2f8d06001")
        flags = [["pregnancy", "alcohol"], ["alcohol"], [], ["alcohol", "alcohol"]]
        with db.engine.begin() as connection:
            for number, rule_ids in enumerate(flags, start=1):
                intake_id = insert_as_of(connection, Intake, token_hash=hash_token(f"t{number}"), status="submitted",
                                         answers={})
                insert_as_of(connection, Assessment, intake_id=intake_id, assessed_on=dt.date(2026, 11, 1),
                             ruleset_version="v", outcome="precaution",
                             document={"flags": [{"rule_id": r} for r in rule_ids]}, flag_count=len(rule_ids))
        upgrade()
        with db.engine.connect() as connection:
            tally = dict(connection.execute(sa.text("SELECT rule_id, flagged FROM rule_tally")).all())
        assert tally == {"alcohol": 3, "pregnancy": 1}
        db.session.remove()
        downgrade(revision="base")
        db.engine.dispose()


OWN_RULE = """
- id: our-own-check
  severity: info
  when:
    field: health.pregnant
    equals: true
  message: Ours.
  source: [S12]
"""


def as_before_the_bibliography(text: str) -> str:
    """A shipped rule file as it was: no titles, sources by number."""
    import re

    text = re.sub(r"^  title:.*\n", "", text, flags=re.M)
    return re.sub(r"source: \[[^\]]*\]", "source: [S10, S28]", text)


def test_stored_versions_are_brought_forward_to_titles_and_source_ids(empty_database):
    """Revision b1d5f3e20001 gives stored rules titles and cites sources by id, keeping the clinic's text."""
    from intake.models import RulesetVersion
    from intake.rulesets.files import load_files
    from intake.rulesets.versions import configured_files

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": empty_database})
    with app.app_context():
        upgrade(revision="a9c4e2d10001")
        shipped = configured_files()
        layers = [{"name": layer["name"], "files": {path: as_before_the_bibliography(text)
                                                    for path, text in layer["files"].items() if path != "sources.yaml"}}
                  for layer in shipped["layers"]]
        lifestyle = layers[0]["files"]["precautions/lifestyle.yaml"]
        layers[0]["files"]["precautions/lifestyle.yaml"] = lifestyle + OWN_RULE
        with db.engine.begin() as connection:
            version_id = insert_as_of(connection, RulesetVersion, files={**shipped, "layers": layers}, hash="old")
        upgrade()
        with db.engine.connect() as connection:
            stored = connection.execute(sa.select(RulesetVersion.files, RulesetVersion.hash)
                                        .where(RulesetVersion.id == version_id)).one()
        files = stored.files if isinstance(stored.files, dict) else __import__("json").loads(stored.files)
        text = files["layers"][0]["files"]["precautions/lifestyle.yaml"]
        assert text.startswith(lifestyle.split("\n", 1)[0])  # comments and layout stay as they were
        assert 'title: "Our own check"' in text
        assert "source: [azpmu-mesotherapy-pre-post-care, " in text and "S10" not in text
        assert "sources.yaml" in files["layers"][0]["files"]
        ruleset = load_files(files)
        titles = {rule.id: rule.title for rule in ruleset.rules}
        assert titles["our-own-check"] == "Our own check"
        assert titles["alcohol-before-appointment"] == load_files(shipped).rule("alcohol-before-appointment").title
        assert stored.hash == ruleset.version
        db.session.remove()
        downgrade(revision="base")
        db.engine.dispose()
