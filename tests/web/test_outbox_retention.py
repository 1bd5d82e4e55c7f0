"""The outbox and a patient's rights, on both backends: erasing a patient deletes the emails to them, their export
holds those emails and their check-ins, and the daily purge deletes emails sent more than OUTBOX_KEEP_DAYS ago."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select, update

from intake import audit
from intake.clock import utcnow
from intake.config import ConfigError, build_config
from intake.extensions import db
from intake.models import AuditEntry, CheckIn, Intake, OutboxMessage, OutboxState, Reminder
from intake.outbox import deliver
from intake.patient.queries import private_link
from intake.protection.retention import purge_outbox
from intake.review.mail import send_patient_link
from intake.review.service import invite_patient

SENT_ON = dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC)


def add_message(intake_id: int | None, to: str, key: str, *, state: str = OutboxState.SENT,
                sent_at: dt.datetime | None = SENT_ON, created_at: dt.datetime = SENT_ON,
                text: str = "Your consultation form: http://localhost/i/abc") -> int:
    message = OutboxMessage(idempotency_key=key, kind="invitation", intake_id=intake_id, recipient=to,
                            subject="Your consultation form for Demo Mesotherapy Clinic", text=text, state=state,
                            attempts=1, next_attempt_at=created_at, created_at=created_at,
                            sent_at=sent_at if state == OutboxState.SENT else None)
    db.session.add(message)
    db.session.commit()
    return message.id


def instant(text: str) -> dt.datetime:
    """A timestamp of the export as an instant (SQLite gives them back without their zone: UTC)."""
    moment = dt.datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def remaining(ids: list[int]) -> list[int]:
    return sorted(db.session.scalars(select(OutboxMessage.id).where(OutboxMessage.id.in_(ids))))


@pytest.fixture
def grace(app, demo_intakes) -> tuple[int, str]:
    """Grace Okafor's intake id and email, with a check-in, a reminder and emails about her and to others."""
    with app.app_context():
        intake = db.session.get(Intake, demo_intakes["Grace Okafor"])
        db.session.add_all([
            CheckIn(intake_id=intake.id, answers={"alcohol_since": False}, raised=["alcohol"], lifted=[]),
            Reminder(key=f"{intake.id}:day_before:2026-12-08", kind="day_before", intake_id=intake.id,
                     due_on=dt.date(2026, 12, 8), status="sent", sent_at=SENT_ON)])
        db.session.commit()
        return intake.id, intake.email


def test_erasing_a_patient_deletes_every_email_to_them_and_no_one_elses(app, demo_intakes, grace, runner):
    intake_id, email = grace
    with app.app_context():
        nina = demo_intakes["Nina Petrova"]
        about_her = add_message(intake_id, email, "hers-sent")
        waiting = add_message(intake_id, email, "hers-pending", state=OutboxState.PENDING, sent_at=None)
        # Addressed to her, about no intake (written another way): hers too.
        loose = add_message(None, f"  {email.upper()} ", "hers-loose")
        others = [add_message(nina, "nina@example.org", "nina"), add_message(None, "pat@demo.clinic", "staff")]
    result = runner.invoke(args=["data", "erase", "--patient", email, "--yes"])
    assert result.exit_code == 0 and "Erased 1 intakes and 1 other emails to them" in result.output, result.output
    with app.app_context():
        # SQLite does not cascade here: the rows are deleted by the erasure itself.
        assert remaining([about_her, waiting, loose, *others]) == others
        assert deliver(waiting) == "gone"
        assert db.session.scalars(select(CheckIn).where(CheckIn.intake_id == intake_id)).all() == []
        erasure = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "patient.erased")).one()
        assert erasure.data["other_messages"] == 1 and email not in json.dumps(erasure.data)
        assert audit.verify(db.session).ok


def test_an_address_with_only_emails_is_erased_too(app, runner):
    with app.app_context():
        loose = add_message(None, "ruth@example.org", "ruth")
    result = runner.invoke(args=["data", "erase", "--patient", "ruth@example.org", "--yes"])
    assert "Erased 0 intakes and 1 other emails to them" in result.output, result.output
    with app.app_context():
        assert remaining([loose]) == []
    assert "nothing erased" in runner.invoke(args=["data", "erase", "--patient", "ruth@example.org",
                                                   "--yes"]).output


def test_the_export_holds_the_emails_to_the_patient_and_their_check_ins(app, demo_intakes, grace, runner,
                                                                         tmp_path):
    intake_id, email = grace
    with app.app_context():
        add_message(intake_id, email, "hers", text="Dear Grace, your form: http://localhost/i/abc")
        add_message(None, email, "hers-loose", state=OutboxState.FAILED)
        add_message(demo_intakes["Nina Petrova"], "nina@example.org", "nina", text="Dear Nina")
    output = tmp_path / "grace.json"
    assert runner.invoke(args=["data", "export", "--patient", email, "-o", str(output)]).exit_code == 0
    exported = json.loads(output.read_text())
    [held] = exported["intakes"]
    [message] = held["messages"]
    assert instant(message.pop("sent_at")) == instant(message.pop("created_at")) == SENT_ON
    assert message == {
        "kind": "invitation", "recipient": email, "subject": "Your consultation form for Demo Mesotherapy Clinic",
        "text": "Dear Grace, your form: http://localhost/i/abc", "html": None, "language": "", "state": "sent"}
    [check_in] = held["check_ins"]
    assert check_in["answers"] == {"alcohol_since": False} and check_in["raised"] == ["alcohol"]
    assert [(r["kind"], r["due_on"], r["status"]) for r in held["reminders"]] == [("day_before", "2026-12-08",
                                                                                  "sent")]
    assert [(m["state"], m["sent_at"]) for m in exported["other_messages"]] == [("failed", None)]
    assert "Dear Nina" not in output.read_text()


def test_the_purge_deletes_emails_sent_more_than_outbox_keep_days_ago(app, runner):
    now = utcnow()
    with app.app_context():
        old_sent = add_message(None, "a@example.org", "old-sent", sent_at=now - dt.timedelta(days=91),
                               created_at=now - dt.timedelta(days=91))
        old_failed = add_message(None, "b@example.org", "old-failed", state=OutboxState.FAILED,
                                 created_at=now - dt.timedelta(days=120))
        recent = add_message(None, "c@example.org", "recent", sent_at=now - dt.timedelta(days=89),
                             created_at=now - dt.timedelta(days=100))  # written long ago, sent lately: kept
        # Still to be sent, however old: never purged.
        waiting = add_message(None, "d@example.org", "waiting", state=OutboxState.PENDING,
                              created_at=now - dt.timedelta(days=200))
    assert app.config["OUTBOX_KEEP_DAYS"] == 90
    result = runner.invoke(args=["jobs", "run", "data.purge"])
    assert result.exit_code == 0 and "'outbox_messages': 2" in result.output, result.output
    with app.app_context():
        assert remaining([old_sent, old_failed, recent, waiting]) == [recent, waiting]
        purged = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "outbox.purged")).one()
        assert purged.data == {"messages": 2, "retention_days": 90}
        assert purge_outbox(90) == 0  # nothing more, and no audit entry for nothing
        assert len(db.session.scalars(select(AuditEntry).where(AuditEntry.action == "outbox.purged")).all()) == 1
    app.config["OUTBOX_KEEP_DAYS"] = 30
    result = runner.invoke(args=["data", "purge"])
    assert "Deleted 1 emails sent (or failed) more than 30 days ago." in result.output, result.output
    with app.app_context():
        assert remaining([recent, waiting]) == [waiting]


def test_outbox_keep_days_is_a_whole_number_of_days(tmp_path):
    assert build_config(tmp_path, {"OUTBOX_KEEP_DAYS": "30"})["OUTBOX_KEEP_DAYS"] == 30
    with pytest.raises(ConfigError, match="OUTBOX_KEEP_DAYS='0' must be at least 1"):
        build_config(tmp_path, {"OUTBOX_KEEP_DAYS": "0"})


def test_a_purged_draft_takes_its_invitation_email_with_it(app, runner, outbox):
    with app.app_context(), app.test_request_context():
        intake, token = invite_patient("Ruth Ellis", "ruth@example.org", dt.date(2026, 12, 9), "staff:1")
        send_patient_link(intake, private_link(token), "staff:1")
        db.session.commit()
        intake_id = intake.id
    with app.app_context():
        [invitation] = db.session.scalars(select(OutboxMessage).where(OutboxMessage.intake_id == intake_id)).all()
        assert invitation.state == OutboxState.SENT and "/i/" in invitation.text
        invitation_id = invitation.id
        db.session.execute(update(Intake).where(Intake.id == intake_id).values(
            updated_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)))
        db.session.commit()
    assert "Deleted 1 unsubmitted" in runner.invoke(args=["data", "purge"]).output
    with app.app_context():
        assert remaining([invitation_id]) == []
