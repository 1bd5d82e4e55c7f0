"""Reminders on both backends (issue 18): a pass stores each reminder under its key and writes its email to
the outbox once (two passes, two at once), the outbox's outcome on the reminder, the patient's stop link
(signed, idempotent, reversible by staff), a reopened intake reminded afresh, the record's block, the staff
digest, and `flask reminders send`. The links' pages: test_reminder_links.py."""

from __future__ import annotations

import datetime as dt
import re
import threading

import pytest
from sqlalchemy import func, select, update

from intake import jobs
from intake import outbox as mail_outbox
from intake.config import MAIL_BACKENDS
from intake.extensions import db
from intake.models import AuditEntry, Decision, Intake, OutboxMessage, Reminder
from intake.protection.retention import export_patient, purge_outbox
from intake.reminders import scheduled
from intake.reminders import send as sending
from intake.reminders.send import RemindersUnavailable, send_due_reminders
from intake.reminders.service import stop_token
from tests.support.html import parse
from tests.support.patient import complete, start, submit, text
from tests.support.reminders import APPOINTMENT, at, invite, invited, rows, run, submitted_patient
from tests.support.review import actions, record_url, version
from tests.support.staff import sign_in

#: Words of the patient's instructions that must never be in a subject or the preview lines.
HEALTH_WORDS = ("aspirin", "ibuprofen", "alcohol", "painkiller", "make-up", "peel", "cold sore")


@pytest.fixture
def patient(app, forms) -> tuple[str, int]:
    """A submitted intake (appointment 9 December, instructions from 25 November, 2, 7 and 9 December)."""
    return submitted_patient(app, forms)


def link_in(body: str, path: str) -> str:
    found = re.search(rf"http://localhost({re.escape(path)}[^\s]+)", body)
    assert found, body
    return found.group(1)


def continue_to(forms, body: str) -> str:
    """Press the button of the reminder's continue link; where it sends the patient."""
    link = link_in(body, "/reminders/continue/")
    response = forms.post(link, {})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.location


def assert_no_health_data_in_subject_or_preview(message) -> None:
    preview = message.body[:200].lower()
    for word in HEALTH_WORDS:
        assert word not in message.subject.lower() and word not in preview, (word, message.subject, preview)


# --- the form not sent ------------------------------------------------------------------------------------


def test_an_invited_patient_is_reminded_once_and_the_link_they_have_keeps_working(app, forms, outbox):
    intake_id, private = invite(app)
    assert run(app, at(APPOINTMENT - dt.timedelta(days=3), 9, 59)).sent == 0
    result = run(app, at(APPOINTMENT - dt.timedelta(days=3), 10))
    assert (result.sent, result.skipped, result.failed, result.queued) == (1, 0, 0, 0)
    [message] = outbox
    assert message.to == ["ruth@example.org"]
    assert message.subject == "A reminder about your consultation form for Demo Mesotherapy Clinic"
    assert "we have not received your consultation form yet" in message.body
    assert "Wednesday 9 December 2026" in message.body
    assert "works until Thursday 10 December 2026" in message.body  # the day after the appointment
    assert_no_health_data_in_subject_or_preview(message)
    stop = link_in(message.body, "/reminders/stop/")
    assert message.extra_headers["List-Unsubscribe"] == f"<http://localhost{stop}>"
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert rows(app) == [("unsubmitted", "sent", "")]
    # The email issued nothing: the form the patient has open (their private link) still works.
    assert forms.client.get(f"/i/{private}").status_code == 302
    assert "/i/" not in message.body
    # The same day again: nothing more (the key is taken).
    again = run(app, at(APPOINTMENT - dt.timedelta(days=3), 16))
    assert (again.sent, again.taken) == (0, 1) and len(outbox) == 1
    assert actions(app, intake_id)[-2:] == ["reminder.queued", "link.emailed"]
    # The day before: the second reminder; both emails' links lead to the form.
    run(app, at(APPOINTMENT - dt.timedelta(days=1), 10))
    assert len(outbox) == 2 and forms.client.get(f"/i/{private}").status_code == 302
    target = continue_to(forms, outbox[0].body)
    assert re.fullmatch(r"/i/[\w-]+", target) and forms.client.get(target).status_code == 302
    assert forms.client.get(f"/i/{private}").status_code == 404  # the patient chose a new link: the old one ends
    assert actions(app, intake_id)[-1] == "link.issued"


def test_a_patient_who_started_is_told_to_finish(app, forms, outbox):
    intake_id = invited(app)
    with app.app_context():
        db.session.execute(update(Intake).where(Intake.id == intake_id).values(
            started_at=dt.datetime(2026, 11, 20, tzinfo=dt.UTC)))
        db.session.commit()
    run(app, at(APPOINTMENT - dt.timedelta(days=1), 12))
    assert "You started your consultation form but have not sent it yet" in outbox[0].body


def test_a_form_submitted_in_between_is_not_reminded(app, forms, outbox):
    invited(app)
    run(app, at(APPOINTMENT - dt.timedelta(days=3), 10))
    with app.app_context():
        db.session.execute(update(Intake).values(status="submitted", review_status="not_suitable"))
        db.session.commit()
    assert run(app, at(APPOINTMENT - dt.timedelta(days=1), 10)).sent == 0 and len(outbox) == 1


def test_a_form_submitted_while_the_pass_runs_is_not_reminded(app, outbox, monkeypatch):
    """The pass read the intake as a draft; by the time it claims the reminder, the form is in."""
    invited(app)
    now = at(APPOINTMENT - dt.timedelta(days=3), 10)
    with app.app_context():
        read_before = sending.queries.draft_facts(now.date(), sending.reminder_settings(app.config))
        db.session.execute(update(Intake).values(status="submitted", review_status="awaiting_review"))
        db.session.commit()
    monkeypatch.setattr(sending.queries, "draft_facts", lambda *_args: read_before)
    result = run(app, now)
    assert (result.sent, result.stale) == (0, 1) and outbox == [] and rows(app) == []


def test_a_moved_appointment_is_reminded_on_its_new_days(app, outbox):
    intake_id = invited(app)
    with app.app_context():
        db.session.execute(update(Intake).where(Intake.id == intake_id).values(
            appointment_date=APPOINTMENT + dt.timedelta(days=7)))
        db.session.commit()
    assert run(app, at(APPOINTMENT - dt.timedelta(days=3), 10)).sent == 0
    assert run(app, at(APPOINTMENT + dt.timedelta(days=4), 10)).sent == 1
    with app.app_context():
        assert db.session.scalar(select(Reminder.key)) == (
            f"{intake_id}:unsubmitted:{APPOINTMENT + dt.timedelta(days=4)}:{APPOINTMENT + dt.timedelta(days=7)}")


def test_no_email_or_a_revoked_link_is_skipped_and_shown(app, outbox):
    invited(app, email="")
    with app.app_context():
        db.session.execute(update(Intake).values(email=None))
        db.session.commit()
    run(app, at(APPOINTMENT - dt.timedelta(days=1), 10))
    assert outbox == [] and rows(app) == [("unsubmitted", "skipped", "The patient gave no email address.")]


def test_a_refused_email_is_tried_again_by_the_outbox_and_the_reminder_follows_its_message(
        app, forms, practitioner, outbox, monkeypatch):
    intake_id = invited(app)

    def refuse(*_args, **_kwargs):
        raise ConnectionRefusedError("no mail server")

    monkeypatch.setattr(mail_outbox, "_send", refuse)
    result = run(app, at(APPOINTMENT - dt.timedelta(days=3), 10))
    assert (result.sent, result.failed, result.queued) == (0, 0, 1)
    assert rows(app) == [("unsubmitted", "queued", "ConnectionRefusedError: no mail server")]
    sign_in(forms)
    assert "Waiting to be sent" in reminder_cells(forms, intake_id)[0][2]
    monkeypatch.undo()
    assert run(app, at(APPOINTMENT - dt.timedelta(days=3), 11)).taken == 1  # a pass never writes it again
    with app.app_context():
        db.session.execute(update(OutboxMessage).values(next_attempt_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC)))
        db.session.commit()
        assert mail_outbox.deliver_due() == 1
    assert len(outbox) == 1 and rows(app) == [("unsubmitted", "sent", "")]
    assert reminder_cells(forms, intake_id)[0][2].startswith("Sent")


def test_a_reminder_keeps_its_outcome_when_the_outbox_purges_its_email(app, outbox):
    invited(app)
    run(app, at(APPOINTMENT - dt.timedelta(days=3), 10))
    with app.app_context():
        sent_at = db.session.scalars(select(OutboxMessage.sent_at)).one()
        assert purge_outbox(90, now=mail_outbox.utcnow() + dt.timedelta(days=91)) == 1
        reminder = db.session.scalars(select(Reminder)).one()
        assert reminder.outbox_message_id is None and reminder.sent_at == sent_at
    assert rows(app) == [("unsubmitted", "sent", "")]


def test_the_patients_export_says_what_became_of_each_reminder(app, outbox):
    invited(app)
    run(app, at(APPOINTMENT - dt.timedelta(days=3), 10))
    with app.app_context():
        [held] = export_patient("ruth@example.org")["intakes"]
    [reminder] = held["reminders"]
    assert (reminder["kind"], reminder["status"], reminder["reason"]) == ("unsubmitted", "sent", "")
    assert reminder["sent_at"] is not None


def test_a_reminder_out_of_attempts_is_failed_on_the_record(app, forms, practitioner, outbox, monkeypatch):
    intake_id = invited(app)
    app.config["OUTBOX_MAX_ATTEMPTS"] = 1

    def refuse(*_args, **_kwargs):
        raise ConnectionRefusedError("no mail server")

    monkeypatch.setattr(mail_outbox, "_send", refuse)
    result = run(app, at(APPOINTMENT - dt.timedelta(days=3), 10))
    assert (result.sent, result.failed, result.queued) == (0, 1, 0)
    assert rows(app) == [("unsubmitted", "failed", "ConnectionRefusedError: no mail server")]
    assert actions(app, intake_id)[-2:] == ["reminder.queued", "link.email_failed"]
    sign_in(forms)
    cell = reminder_cells(forms, intake_id)[0][2]
    assert cell.startswith("Failed") and "no mail server" in cell


def test_a_reminder_is_written_to_the_outbox_with_its_claim_or_not_at_all(app, outbox, monkeypatch):
    """The pass dies after writing the email, before its commit: neither the claim nor the email remains."""
    invited(app)

    def die(*_args, **_kwargs):
        raise RuntimeError("the process died")

    monkeypatch.setattr(sending, "_record_queued", die)
    with pytest.raises(RuntimeError):
        run(app, at(APPOINTMENT - dt.timedelta(days=3), 10))
    with app.app_context():
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    assert rows(app) == [] and outbox == []
    monkeypatch.undo()
    assert run(app, at(APPOINTMENT - dt.timedelta(days=3), 10)).sent == 1  # the next pass sends it
    with app.app_context():
        message = db.session.scalars(select(OutboxMessage)).one()
        reminder = db.session.scalars(select(Reminder)).one()
        assert reminder.outbox_message_id == message.id and reminder.status == "queued"
        assert (message.kind, message.language, message.notification_id) == ("reminder", "en", None)
        assert message.idempotency_key == mail_outbox.idempotency_key("reminder", reminder.key)


def reminder_cells(forms, intake_id: int) -> list[list[str]]:
    """The record's reminders table: each row's cells, newest first."""
    html = forms.client.get(record_url(intake_id)).get_data(as_text=True)
    block = parse(html).find(id="reminders").find_next("table")
    return [[td.get_text(" ", strip=True) for td in tr.find_all("td")] for tr in block.find("tbody").find_all("tr")]


def reopen(app, forms, intake_id: int, signed_at: dt.datetime) -> int:
    """A practitioner asks the patient for more answers (the skin section); the decision's id. Signed at
    ``signed_at``, as if then (the decision is stamped with the real clock)."""
    sign_in(forms)
    fields = [("version", version(app, intake_id)), ("outcome", "more_information_needed"),
              ("question", "When was your last cold sore?"), ("reopen", "skin")]
    assert forms.post(f"{record_url(intake_id)}/decision", fields, page=record_url(intake_id)).status_code == 200
    forms.post("/staff/sign-out", {}, page="/staff/")
    with app.app_context():
        decision = db.session.scalars(select(Decision).where(Decision.intake_id == intake_id)).one()
        decision.signed_at = signed_at
        db.session.commit()
        return decision.id


def test_a_reopened_intake_gets_the_form_reminder_again_under_a_key_of_its_own(
        app, forms, patient, practitioner, outbox):
    _token, intake_id = patient
    app.config.update(REMINDERS_INSTRUCTIONS=False, REMINDERS_DAY_BEFORE=False, REMINDERS_DIGEST=False)
    three_before = APPOINTMENT - dt.timedelta(days=3)
    with app.app_context():  # the form's own reminder that day, sent before the patient sent the form
        db.session.add(Reminder(key=f"{intake_id}:unsubmitted:{three_before}:{APPOINTMENT}", kind="unsubmitted",
                                intake_id=intake_id, due_on=three_before, status="sent"))
        db.session.commit()
    decision_id = reopen(app, forms, intake_id, dt.datetime(2026, 12, 5, 15, tzinfo=dt.UTC))
    outbox.clear()  # the question's own email
    assert run(app, at(three_before, 9, 59)).sent == 0
    result = run(app, at(three_before, 10))
    assert (result.sent, result.taken) == (1, 0)
    [message] = outbox
    assert "A practitioner asked you to look again at some of your answers" in message.body
    assert "cold sore" not in message.body  # the question stays behind the link
    with app.app_context():
        keys = list(db.session.scalars(select(Reminder.key).order_by(Reminder.id)))
    assert keys[-1] == f"{intake_id}:unsubmitted:{three_before}:{APPOINTMENT}:reopened{decision_id}"
    # The link leads to the reopened form (the answers to give again).
    target = continue_to(forms, message.body)
    assert forms.client.get(target).location.endswith("/review")
    assert run(app, at(three_before, 15)).taken == 1  # once
    # Answered again: no more form reminders.
    with app.app_context():
        db.session.execute(update(Intake).where(Intake.id == intake_id).values(status="submitted"))
        db.session.commit()
    assert run(app, at(APPOINTMENT - dt.timedelta(days=1), 10)).sent == 0 and len(outbox) == 1


def test_an_intake_reopened_on_a_reminders_day_is_reminded_from_the_next_one(app, forms, patient, practitioner,
                                                                              outbox):
    _token, intake_id = patient
    app.config.update(REMINDERS_INSTRUCTIONS=False, REMINDERS_DAY_BEFORE=False, REMINDERS_DIGEST=False)
    three_before = APPOINTMENT - dt.timedelta(days=3)
    reopen(app, forms, intake_id, at(three_before, 9, 30))  # the question's email went this morning
    outbox.clear()
    assert run(app, at(three_before, 10)).sent == 0 and outbox == []
    assert run(app, at(APPOINTMENT - dt.timedelta(days=1), 10)).sent == 1


# --- sent once, however many passes ---------------------------------------------------------------------------


def test_two_passes_at_once_send_each_reminder_once(app, outbox):
    for number in range(12):
        invited(app, f"Patient {number}", f"p{number}@example.org")
    now = at(APPOINTMENT - dt.timedelta(days=3), 10)
    results = []
    barrier = threading.Barrier(2)

    def one_pass():
        with app.app_context():
            barrier.wait()
            results.append(send_due_reminders(now))
            db.session.remove()

    threads = [threading.Thread(target=one_pass) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 2
    assert sum(r.sent for r in results) == 12 and sum(r.taken for r in results) == 12
    assert sorted(m.to[0] for m in outbox) == sorted(f"p{n}@example.org" for n in range(12))
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Reminder)) == 12
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 12


# --- instructions and the day before --------------------------------------------------------------------------


def test_instructions_are_reminded_on_the_day_they_start(app, forms, patient, outbox):
    _token, intake_id = patient
    app.config.update(REMINDERS_DAY_BEFORE=False)
    run(app, at(dt.date(2026, 12, 2), 8))
    [message] = outbox
    assert message.subject == "A reminder before your appointment at Demo Mesotherapy Clinic"
    assert_no_health_data_in_subject_or_preview(message)
    assert "- From Wednesday 2 December: stop taking aspirin, ibuprofen" in message.body
    assert "no alcohol" not in message.body  # that one starts on 7 December
    status = continue_to(forms, message.body)
    assert status.startswith("/s/") and "stop taking aspirin" in text(forms.client.get(status))
    run(app, at(dt.date(2026, 12, 7), 8))
    assert "- From Monday 7 December: no alcohol" in outbox[1].body
    assert [kind for kind, _, _ in rows(app)] == ["instruction", "instruction"]


def test_the_day_before_carries_the_appointment_instructions_and_a_check_in_link(app, forms, patient, outbox):
    app.config.update(REMINDERS_INSTRUCTIONS=False, REMINDERS_WHAT_TO_BRING="your glasses")
    run(app, at(APPOINTMENT - dt.timedelta(days=1), 10))
    [message] = outbox
    assert message.subject == "Your appointment at Demo Mesotherapy Clinic tomorrow"
    assert_no_health_data_in_subject_or_preview(message)
    assert "your appointment is tomorrow, Wednesday 9 December 2026" in message.body
    assert "Please bring: your glasses" in message.body
    assert "- From Monday 7 December: no alcohol" in message.body and "Come to your appointment without" in message.body
    assert "works until Thursday 10 December 2026" in message.body
    app.config["TODAY"] = APPOINTMENT - dt.timedelta(days=1)
    try:
        check_in = continue_to(forms, message.body)
        assert re.fullmatch(r"/i/[\w-]+/check-in", check_in)
        page = forms.client.get(check_in)
    finally:
        app.config["TODAY"] = dt.date(2026, 11, 25)
    assert page.status_code == 200 and parse(page.get_data(as_text=True)).find("form") is not None


def test_a_french_patients_reminders_are_in_french_and_the_staff_digest_in_the_clinics_language(
        app, forms, practitioner, outbox):
    app.config["LANGUAGES"] = ["en", "fr", "es", "ar"]
    forms.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "fr"
    token = start(forms)
    complete(forms, token)
    assert submit(forms, token).status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Intake.language).order_by(Intake.id.desc()).limit(1)) == "fr"
    app.config.update(REMINDERS_DAY_BEFORE=False, REMINDERS_DIGEST=False)
    run(app, at(dt.date(2026, 12, 7), 8))
    [instruction] = outbox
    assert instruction.subject == "Un rappel avant votre rendez-vous chez Demo Mesotherapy Clinic"
    assert instruction.extra_headers["Content-Language"] == "fr"
    assert instruction.body.startswith("Bonjour Ana Pereira,")
    # The rule's instruction translated and dated in French, as the status page says it.
    assert "- À partir du lundi 7 décembre : pas d’alcool" in instruction.body, instruction.body
    assert "From " not in instruction.body and "Monday" not in instruction.body
    app.config.update(REMINDERS_INSTRUCTIONS=False, REMINDERS_DAY_BEFORE=True, REMINDERS_DIGEST=True)
    run(app, at(APPOINTMENT - dt.timedelta(days=1), 10))
    [day_before] = [m for m in outbox[1:] if m.to != ["pat@demo.clinic"]]
    assert day_before.subject == "Votre rendez-vous chez Demo Mesotherapy Clinic demain"
    assert "votre rendez-vous est demain, le mercredi 9 décembre 2026" in day_before.body
    assert "Pour ne plus recevoir ces rappels, ouvrez ce lien" in day_before.body
    assert_no_health_data_in_subject_or_preview(day_before)
    # The staff digest stays in the clinic's language.
    [digest] = [m for m in outbox if m.to == ["pat@demo.clinic"]]
    assert digest.subject == "Intakes awaiting review at Demo Mesotherapy Clinic"
    assert "- Wednesday 9 December 2026: Ana" in digest.body
    # The stop page the email links to is in the intake's language, whatever the browser says.
    forms.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    stop = forms.client.get(link_in(day_before.body, "/reminders/stop/"))
    assert "Arrêter les rappels" in text(stop)


# --- stopping and resuming ------------------------------------------------------------------------------------


def test_the_stop_link_asks_stops_once_and_is_honoured(app, forms, outbox):
    intake_id = invited(app)
    run(app, at(APPOINTMENT - dt.timedelta(days=3), 10))
    stop = link_in(outbox[0].body, "/reminders/stop/")
    page = forms.client.get(stop)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert "Stop reminders" in text(page)
    with app.app_context():
        assert db.session.get(Intake, intake_id).reminders_stopped_at is None  # opening the link stops nothing
    version_before = _version(app, intake_id)
    response = forms.post(stop, {})
    assert response.status_code == 302
    assert "Reminders stopped" in text(forms.client.get(stop))
    assert forms.post(stop, {}, page="/").status_code == 302  # again (a second tab): the same, nothing more recorded
    assert actions(app, intake_id).count("reminders.stopped") == 1
    assert _version(app, intake_id) == version_before  # not a change to the intake
    run(app, at(APPOINTMENT - dt.timedelta(days=1), 10))
    assert len(outbox) == 1
    assert rows(app)[-1] == ("unsubmitted", "skipped", "The patient stopped reminders.")


def _version(app, intake_id: int) -> int:
    with app.app_context():
        return db.session.scalar(select(Intake.version).where(Intake.id == intake_id))


@pytest.mark.parametrize("tamper", [
    lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
    lambda token: "1." + token.split(".", 1)[1],
    lambda token: "not-a-token",
])
def test_a_tampered_stop_link_is_refused_with_a_plain_page(app, forms, tamper):
    intake_id = invited(app)
    with app.app_context():
        token = stop_token(intake_id)
    response = forms.client.get(f"/reminders/stop/{tamper(token)}")
    assert response.status_code == 404 and "This link does not work" in text(response)
    response = forms.client.post(f"/reminders/stop/{tamper(token)}", data={})
    assert response.status_code in (400, 404)  # no CSRF token: refused before; with one: the same page
    with app.app_context():
        assert db.session.get(Intake, intake_id).reminders_stopped_at is None


def test_a_link_signed_for_something_else_is_refused(app, forms):
    intake_id = invited(app)
    with app.app_context():
        from itsdangerous import URLSafeSerializer

        other = URLSafeSerializer(app.config["SECRET_KEY"], salt="something-else").dumps(intake_id)
    assert forms.client.get(f"/reminders/stop/{other}").status_code == 404


def test_staff_see_reminders_on_the_record_and_can_switch_them_back_on(app, forms, practitioner, outbox):
    intake_id = invited(app)
    run(app, at(APPOINTMENT - dt.timedelta(days=3), 10))
    stop = link_in(outbox[0].body, "/reminders/stop/")
    forms.post(stop, {})
    run(app, at(APPOINTMENT - dt.timedelta(days=1), 10))
    sign_in(forms)
    cells = reminder_cells(forms, intake_id)
    assert cells[0][:2] == ["8 Dec 2026", "Form not sent"]
    assert cells[0][2].startswith("Skipped") and "The patient stopped reminders." in cells[0][2]
    assert cells[1][:2] == ["6 Dec 2026", "Form not sent"] and cells[1][2].startswith("Sent")
    assert "The patient stopped reminders on" in text(forms.client.get(record_url(intake_id)))
    response = forms.post(f"/staff/intakes/{intake_id}/reminders/resume", {}, page=record_url(intake_id))
    assert response.status_code == 302 and response.location.endswith("#reminders")
    with app.app_context():
        assert db.session.get(Intake, intake_id).reminders_stopped_at is None
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "reminders.resumed"))
        assert entry.actor.startswith("staff:")


def test_resuming_needs_a_signed_in_member_of_staff(app, forms):
    intake_id = invited(app)
    response = forms.post(f"/staff/intakes/{intake_id}/reminders/resume", {}, page="/staff/sign-in")
    assert response.status_code == 302 and "/staff/sign-in" in response.location


# --- the staff digest -----------------------------------------------------------------------------------------


def test_staff_get_a_morning_digest_of_intakes_awaiting_review_for_the_next_two_days(
        app, patient, practitioner, admin, outbox):
    _token, intake_id = patient
    app.config.update(REMINDERS_INSTRUCTIONS=False, REMINDERS_DAY_BEFORE=False)
    assert run(app, at(APPOINTMENT - dt.timedelta(days=2), 7)).sent == 0  # the day after tomorrow: not yet
    assert run(app, at(APPOINTMENT - dt.timedelta(days=1), 6, 59)).sent == 0
    assert run(app, at(APPOINTMENT - dt.timedelta(days=1), 7)).sent == 2
    assert sorted(m.to[0] for m in outbox) == ["ada@demo.clinic", "pat@demo.clinic"]
    for message in outbox:
        assert message.subject == "Intakes awaiting review at Demo Mesotherapy Clinic"
        assert "Ana" not in message.subject
        assert "- Wednesday 9 December 2026: Ana" in message.body
        assert f"http://localhost/staff/intakes/{intake_id}" in message.body
        for word in HEALTH_WORDS:
            assert word not in message.body.lower()
    assert run(app, at(APPOINTMENT - dt.timedelta(days=1), 9)).sent == 0  # once a morning


# --- the command ----------------------------------------------------------------------------------------------


def test_the_command_runs_one_pass(app, runner, outbox):
    invited(app)
    result = runner.invoke(args=["reminders", "send", "--at", "2026-12-06T10:00+00:00"])
    assert result.exit_code == 0, result.output
    assert ("Reminders: 1 sent, 0 skipped, 0 failed, 0 waiting in the outbox, 0 already handled, "
            "0 no longer due.") in result.output
    result = runner.invoke(args=["reminders", "send", "--at", "2026-12-06T10:05+00:00"])
    assert "0 sent, 0 skipped, 0 failed, 0 waiting in the outbox, 1 already handled, 0 no longer due." in result.output
    assert runner.invoke(args=["reminders", "send", "--at", "2026-12-06T10:05"]).exit_code == 2


def test_the_scheduler_runs_a_pass_every_ten_minutes_unless_set_otherwise(app):
    assert jobs.beat_schedule(app)[scheduled.SEND] == {"task": scheduled.SEND, "schedule": 600.0}
    app.config["REMINDERS_EVERY_SECONDS"] = 0
    assert scheduled.SEND not in jobs.beat_schedule(app)


def test_without_email_or_an_address_nothing_is_attempted(app, runner):
    invited(app)
    app.config["MAIL_BACKEND"] = MAIL_BACKENDS["none"]
    result = runner.invoke(args=["reminders", "send"])
    assert result.exit_code == 1 and "Email is not set up" in result.output
    with app.app_context():  # the scheduler's pass says why in the log, and fails nothing
        assert "Email is not set up" in jobs.JOBS[scheduled.SEND]()
    app.config["MAIL_BACKEND"] = "locmem"
    app.config["SERVER_NAME"] = None
    with app.app_context(), pytest.raises(RemindersUnavailable, match="PUBLIC_URL"):
        send_due_reminders(at(APPOINTMENT - dt.timedelta(days=3), 10))
    assert rows(app) == []
