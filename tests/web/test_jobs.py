"""Jobs without a broker (eager, the default): the outbox, the periodic registry, the scheduled chores,
and re-assessment resumed after it stopped halfway. The same jobs on a real worker: test_jobs_worker.py."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select, text, update

from intake import jobs
from intake import outbox as mail_outbox
from intake.assessment.engine import assess_facts
from intake.assessment.preview import PreviewResult, preview, read_flag_summary
from intake.extensions import db, mail
from intake.models import (
    Assessment,
    AuditEntry,
    Intake,
    IntakeStatus,
    Notification,
    OutboxMessage,
    PreviewChunk,
    PreviewRun,
    ReassessRun,
)
from intake.rulesets import cli as rules_cli
from intake.rulesets import parallel_preview, reassess
from intake.rulesets.files import load_files
from intake.rulesets.past_intakes import stream_past_intakes
from tests.support.html import parse
from tests.support.jobs import (
    SmtpHandler,
    candidate_files,
    clone_open_intakes,
    fill_generated,
    new_active_version,
    smtp_server,
)
from tests.support.review import actions, record_url


def enqueue(intake_id: int, key: str = "k1", **extra) -> OutboxMessage:
    return mail_outbox.enqueue("reminder", "ann@example.org", "Your appointment", "See you tomorrow.",
                               intake_id=intake_id, idempotency_key=key, **extra)


def rows(app) -> list[tuple[str, int, str]]:
    with app.app_context():
        return [(row.state, row.attempts, row.last_error) for row in
                db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]


# --- the outbox ------------------------------------------------------------------------------------


def test_a_message_is_sent_when_its_transaction_commits_and_shows_on_the_record(app, signed_in, demo_intakes, outbox):
    intake_id = demo_intakes["Tom Becker"]
    with app.app_context():
        enqueue(intake_id, html="<p>See you tomorrow.</p>")
        assert outbox == []  # nothing leaves before the commit
        db.session.commit()
    [message] = outbox
    assert message.to == ["ann@example.org"] and message.subject == "Your appointment"
    assert message.alternatives[0][1] == "text/html" and message.extra_headers["Message-ID"].startswith("<")
    assert rows(app) == [("sent", 1, "")]
    with app.app_context():
        assert db.session.scalars(select(Notification)).one().status == "sent"
        # The recipient and the body are encrypted at rest.
        raw = db.session.execute(text("SELECT recipient, text FROM outbox_message")).one()
        assert "ann@" not in json.dumps(list(raw)) and "tomorrow" not in json.dumps(list(raw))
    assert "link.emailed" in actions(app, intake_id)


def test_a_rolled_back_change_sends_nothing(app, demo_intakes, outbox):
    with app.app_context():
        enqueue(demo_intakes["Tom Becker"])
        db.session.rollback()
    assert outbox == [] and rows(app) == []


def test_an_exception_after_the_commit_never_loses_the_message(app, demo_intakes, outbox, monkeypatch):
    def broker_down(*_args, **_kwargs):
        raise ConnectionError("the broker is down")

    monkeypatch.setattr(mail_outbox.jobs, "dispatch", broker_down)
    with app.app_context():
        enqueue(demo_intakes["Tom Becker"])
        db.session.commit()  # the change and its message are in; sending could not even be asked for
    assert outbox == [] and rows(app) == [("pending", 0, "")]
    monkeypatch.undo()
    with app.app_context():
        assert mail_outbox.deliver_due() == 1
        assert mail_outbox.deliver_due() == 0
    assert len(outbox) == 1 and rows(app) == [("sent", 1, "")]


def test_two_messages_of_one_transaction_both_wait_for_its_commit_and_both_go(app, demo_intakes, outbox):
    """enqueue's own savepoint is released (a commit event) inside the caller's transaction: not a commit."""
    intake_id = demo_intakes["Tom Becker"]
    with app.app_context():
        enqueue(intake_id, key="first")
        enqueue(intake_id, key="second")
        enqueue(intake_id, key="third")
        assert outbox == []
        db.session.commit()
    assert len(outbox) == 3 and rows(app) == [("sent", 1, "")] * 3


def test_a_messages_headers_reach_the_smtp_server_and_are_encrypted_at_rest(app, demo_intakes):
    handler = SmtpHandler(refuse=0)
    headers = {"List-Unsubscribe": "<http://localhost/reminders/stop/abc>",
               "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    with smtp_server(handler) as port:
        app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
        mail.init_app(app)
        try:
            with app.app_context():
                enqueue(demo_intakes["Tom Becker"], headers=headers, language="fr")
                db.session.commit()
        finally:
            app.config["MAIL_BACKEND"] = "locmem"
            mail.init_app(app)
    [received] = handler.received
    assert b"List-Unsubscribe: <http://localhost/reminders/stop/abc>" in received.content
    assert b"List-Unsubscribe-Post: List-Unsubscribe=One-Click" in received.content
    assert b"Content-Language: fr" in received.content and b"Message-ID: <" in received.content
    with app.app_context():
        raw = db.session.execute(text("SELECT headers FROM outbox_message")).one()
        assert "reminders/stop" not in json.dumps(list(raw))


def test_the_same_key_twice_is_one_message_and_a_retried_delivery_sends_it_once(app, demo_intakes, outbox):
    intake_id = demo_intakes["Tom Becker"]
    with app.app_context():
        first = enqueue(intake_id, key="reminder:1:2026-11-24")
        db.session.commit()
        first_id = first.id
        again = enqueue(intake_id, key="reminder:1:2026-11-24")
        db.session.commit()
        assert again.id == first_id
        assert mail_outbox.deliver(first_id) == "sent"  # a redelivered job finds it sent
        assert db.session.scalar(select(func.count()).select_from(Notification)) == 1
    assert len(outbox) == 1 and rows(app) == [("sent", 1, "")]


def test_a_refusing_smtp_server_is_retried_with_backoff_then_marked_failed(app, signed_in, demo_intakes):
    intake_id = demo_intakes["Tom Becker"]
    handler = SmtpHandler(refuse=99)
    with smtp_server(handler) as port:
        app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=port,
                          OUTBOX_MAX_ATTEMPTS=3, OUTBOX_RETRY_SECONDS=60)
        mail.init_app(app)
        try:
            with app.app_context():
                message_id = enqueue(intake_id).id
                db.session.commit()
                [(state, attempts, error)] = rows(app)
                assert (state, attempts) == ("pending", 1) and "554" in error and "Refused" in error
                first_wait = db.session.get_one(OutboxMessage, message_id).next_attempt_at
                assert mail_outbox.deliver_due() == 0 and rows(app)[0][1] == 1  # not due yet: no attempt
                html = signed_in.client.get(record_url(intake_id)).get_data(as_text=True)
                table = parse(html).select_one("#messages + .table-wrap").get_text()
                assert "Waiting to be sent" in table and "Refused by the test server" in table
                for attempt in (2, 3):
                    long_ago = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)  # as if the wait had passed
                    db.session.execute(update(OutboxMessage).values(next_attempt_at=long_ago))
                    db.session.commit()
                    mail_outbox.deliver_due()
                    row = db.session.get_one(OutboxMessage, message_id)
                    assert row.attempts == attempt
                    if attempt == 2:  # the wait doubles: 60 s after the first failure, 120 s after the second
                        assert row.state == "pending"
                        wait = row.next_attempt_at.replace(tzinfo=None) - mail_outbox.utcnow().replace(tzinfo=None)
                        assert dt.timedelta(seconds=115) < wait <= dt.timedelta(seconds=120)
                assert rows(app)[0][:2] == ("failed", 3)
                assert db.session.scalars(select(Notification)).one().status == "failed"
                assert first_wait is not None
        finally:
            app.config["MAIL_BACKEND"] = "locmem"
            mail.init_app(app)
    assert handler.refused == 3 and handler.received == []
    assert actions(app, intake_id).count("link.email_failed") == 3
    html = signed_in.client.get(record_url(intake_id)).get_data(as_text=True)
    assert "Failed" in parse(html).select_one("#messages + .table-wrap").get_text()


def test_a_server_that_refuses_once_gets_the_message_on_the_retry_with_the_same_message_id(app, demo_intakes):
    handler = SmtpHandler(refuse=1)
    with smtp_server(handler) as port:
        app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=port, OUTBOX_RETRY_SECONDS=0)
        mail.init_app(app)
        try:
            with app.app_context():
                enqueue(demo_intakes["Tom Becker"])
                db.session.commit()
                assert rows(app)[0][:2] == ("pending", 1)
                assert mail_outbox.deliver_due() == 1
        finally:
            app.config["MAIL_BACKEND"] = "locmem"
            mail.init_app(app)
    [received] = handler.received
    assert rows(app) == [("sent", 2, "")]
    assert b"Message-ID: <" in received.content and b"See you tomorrow." in received.content


def test_no_mail_server_fails_at_once_without_retrying(app, demo_intakes):
    app.config["MAIL_BACKEND"] = "intake.outbox.backends.NotConfiguredEmailBackend"  # what MAIL_BACKEND=none sets
    mail.init_app(app)
    try:
        with app.app_context():
            enqueue(demo_intakes["Tom Becker"])
            db.session.commit()
    finally:
        app.config["MAIL_BACKEND"] = "locmem"
        mail.init_app(app)
    [(state, attempts, error)] = rows(app)
    assert (state, attempts) == ("failed", 1) and error.startswith("EmailNotConfigured")


def test_a_message_left_sending_by_a_dead_worker_is_sent_after_its_lease(app, demo_intakes, outbox):
    with app.app_context():
        message_id = enqueue(demo_intakes["Tom Becker"]).id
        db.session.info.pop("outbox_enqueued")  # as if the process died right after the commit
        db.session.commit()
        lease_end = mail_outbox.utcnow() + dt.timedelta(minutes=5)
        db.session.execute(update(OutboxMessage).values(state="sending", attempts=1, next_attempt_at=lease_end))
        db.session.commit()
        assert mail_outbox.deliver_due() == 0  # its sender may still be at it
        db.session.execute(update(OutboxMessage).values(next_attempt_at=mail_outbox.utcnow()))
        db.session.commit()
        assert mail_outbox.deliver_due() == 1 and db.session.get_one(OutboxMessage, message_id).attempts == 2
    assert len(outbox) == 1


# --- periodic jobs ---------------------------------------------------------------------------------


def test_the_registry_runs_each_periodic_job_at_its_interval(app, monkeypatch):
    ran: list[str] = []

    def tick() -> None:
        ran.append("tick")

    monkeypatch.setitem(jobs.JOBS, "test.tick", tick)
    monkeypatch.setitem(jobs.PERIODIC, "test.tick", jobs.Periodic("test.tick", 900, "TEST_TICK_SECONDS"))
    monkeypatch.setattr(jobs, "PERIODIC", {"test.tick": jobs.PERIODIC["test.tick"]})
    assert jobs.beat_schedule(app) == {"test.tick": {"task": "test.tick", "schedule": 900.0}}
    now = [1000.0]
    last: dict[str, float] = {}
    assert jobs.run_periodic_once(app, lambda: now[0], last) == []  # the first run waits one interval
    now[0] += 899
    assert jobs.run_periodic_once(app, lambda: now[0], last) == []
    now[0] += 1
    assert jobs.run_periodic_once(app, lambda: now[0], last) == ["test.tick"] and ran == ["tick"]
    app.config["TEST_TICK_SECONDS"] = 0
    now[0] += 10_000
    assert jobs.run_periodic_once(app, lambda: now[0], last) == [] and jobs.beat_schedule(app) == {}


def test_the_purge_and_the_checkpoint_are_on_the_schedule_and_run_as_jobs(app, runner, demo_intakes):
    assert {"data.purge", "audit.checkpoint", "outbox.deliver_due", "reassess.resume_stalled"} <= set(
        jobs.beat_schedule(app))
    with app.app_context():
        db.session.execute(update(Intake).where(Intake.status == IntakeStatus.DRAFT)
                           .values(updated_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)))
        db.session.commit()
    result = runner.invoke(args=["jobs", "run", "data.purge"])
    assert result.exit_code == 0
    assert "data.purge: {'drafts': 1, 'outbox_messages': 0, 'preview_runs': 0}" in result.output
    with app.app_context():
        drafts = select(func.count()).select_from(Intake).where(Intake.status == IntakeStatus.DRAFT)
        assert db.session.scalar(drafts) == 0
        assert db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id.desc())).first() == "data.purged"
    result = runner.invoke(args=["jobs", "run", "audit.checkpoint"])
    assert result.exit_code == 0, result.output
    lines = Path(app.config["AUDIT_CHECKPOINT_FILE"]).read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["count"] > 0
    listed = runner.invoke(args=["jobs", "list"]).output
    assert "data.purge\tevery 86400 s" in listed and "broker: none" in listed
    assert runner.invoke(args=["worker"]).exit_code != 0  # no broker: nothing for a worker to take


# --- re-assessment, resumable ----------------------------------------------------------------------


def test_a_run_stopped_halfway_resumes_after_its_cursor_and_assesses_each_intake_once(app, demo_intakes, monkeypatch):
    app.config.update(REASSESS_BATCH=5, REASSESS_IN_BACKGROUND=False)
    with app.app_context():
        clone_open_intakes(20)
        version_id = new_active_version()
        open_ids = list(reassess.open_intake_ids())
        real = reassess._assess_batch
        calls = [0]

        def dies_on_the_third_batch(*args, **kwargs):
            calls[0] += 1
            if calls[0] == 3:
                real(*args, **kwargs)  # the work is done but the transaction never commits
                raise KeyboardInterrupt("worker killed")
            real(*args, **kwargs)

        monkeypatch.setattr(reassess, "_assess_batch", dies_on_the_third_batch)
        with pytest.raises(KeyboardInterrupt):
            reassess.start(version_id, None, "staff:1")  # the job loads the version
        db.session.rollback()
        run = db.session.scalars(select(ReassessRun)).one()
        assert (run.status, run.done, run.cursor) == ("running", 10, open_ids[9])
        assert reassess.resume_stalled() == []  # its lease has not run out: its worker may be alive
        db.session.execute(update(ReassessRun).values(lease_until=dt.datetime(2000, 1, 1, tzinfo=dt.UTC)))
        db.session.commit()
        monkeypatch.setattr(reassess, "_assess_batch", real)
        assert reassess.resume_stalled() == [run.id]
        db.session.refresh(run)
        assert (run.status, run.done, run.total) == ("done", len(open_ids), len(open_ids))
        assert reassess.assessed_under(version_id) == dict.fromkeys(open_ids, 1)
        assert run.lease_owner == "" and run.actor == "staff:1"
        # Sent again once done (a duplicate message on the queue): nothing more happens.
        assert reassess.run(run.id) == "done"
        assert reassess.assessed_under(version_id) == dict.fromkeys(open_ids, 1)


# --- the preview, in chunks ------------------------------------------------------------------------


def single_preview(current: dict, candidate: dict, max_rows: int) -> PreviewResult:
    return preview(stream_past_intakes(since=dt.date(2000, 1, 1)), load_files(current), load_files(candidate),
                   max_rows=max_rows)


def chunked_preview(current: dict, candidate: dict, chunks: int, max_rows: int) -> PreviewResult:
    run_id = parallel_preview.start(current, candidate, chunks=chunks, since=dt.date(2000, 1, 1), max_rows=max_rows)
    assert parallel_preview.wait(run_id, timeout=60) == "done"
    return parallel_preview.merged(run_id)


def test_the_chunked_preview_merges_to_the_single_process_preview(app, demo_intakes, tmp_path, monkeypatch):
    # On SQLite a chunk reads its slice page by page; small pages, many of them (ties of submitted_at included).
    monkeypatch.setattr(parallel_preview, "SQLITE_PAGE", 7)
    with app.app_context():
        current, candidate = parallel_preview.rules_in_force(), candidate_files(tmp_path / "clinic")
        demo = single_preview(current, candidate, max_rows=1)
        assert demo.total == 12 and demo.changed_count > 1  # some changes are cut: the merge keeps the same ones
        for chunks in (1, 2, 5, 12, 40):
            assert chunked_preview(current, candidate, chunks, max_rows=1) == demo, chunks
        fill_generated(400, seed=20261206)
        generated = single_preview(current, candidate, max_rows=25)
        assert generated.total == 412 and generated.outcome_changed > 0 and len(generated.changes) == 25
        for chunks in (3, 8):
            assert chunked_preview(current, candidate, chunks, max_rows=25) == generated, chunks
        assert db.session.scalar(select(func.count()).select_from(PreviewRun)) == 0  # merged runs are deleted


def test_a_cancelled_preview_stops_its_chunks(app, demo_intakes, tmp_path, monkeypatch):
    monkeypatch.setattr(parallel_preview.jobs, "dispatch", lambda *args, **kwargs: None)  # queued, not run yet
    monkeypatch.setattr(parallel_preview, "PROGRESS_EVERY", 2)
    with app.app_context():
        current, candidate = parallel_preview.rules_in_force(), candidate_files(tmp_path / "clinic")
        run_id = parallel_preview.start(current, candidate, chunks=2, since=dt.date(2000, 1, 1))
        first, second = db.session.scalars(select(PreviewChunk.id).order_by(PreviewChunk.position))
        # One chunk already running when the admin cancels: it stops at its next progress check.
        db.session.execute(update(PreviewRun).values(status="cancelled"))
        db.session.commit()
        assert parallel_preview.run_chunk(first, {"since": "2000-01-01"}) == "cancelled"
        parallel_preview.cancel(run_id)  # the other one never starts
        assert parallel_preview.run_chunk(second, {"since": "2000-01-01"}) == "cancelled"
        assert parallel_preview.wait(run_id) == "cancelled"
        assert parallel_preview.progress(run_id)[2] == {"cancelled": 2}


def test_flask_rules_preview_in_chunks_prints_what_it_prints_in_one_process(app, runner, demo_intakes, tmp_path):
    candidate_files(tmp_path / "clinic")
    one = runner.invoke(rules_cli.rules, args=["preview", str(tmp_path / "clinic"), "--since", "2000-01-01"])
    chunked = runner.invoke(rules_cli.rules, args=["preview", str(tmp_path / "clinic"), "--since", "2000-01-01",
                                  "--chunks", "3"])
    assert one.exit_code == 0 and chunked.exit_code == 0, chunked.output
    assert "12 intakes:" in one.output and chunked.output == one.output


def test_the_before_side_reuses_the_stored_assessment_made_under_the_current_rules_that_day(app, demo_intakes,
                                                                                             tmp_path, monkeypatch):
    with app.app_context():
        current, candidate = parallel_preview.rules_in_force(), candidate_files(tmp_path / "clinic")
        rules_now, rules_next = load_files(current), load_files(candidate)
        since = dt.date(2000, 1, 1)
        reused = [i for i in stream_past_intakes(since=since, reuse=rules_now.version) if i.stored is not None]
        assert len(reused) == 12  # the demo's assessments were made under these rules, on the preview's date
        assert not [i for i in stream_past_intakes(since=since, reuse="another version") if i.stored is not None]
        fresh = preview(stream_past_intakes(since=since), rules_now, rules_next)
        assert preview(stream_past_intakes(since=since, reuse=rules_now.version), rules_now, rules_next) == fresh
        assert preview(stream_past_intakes(since=since, reuse=rules_now.version), rules_now, rules_next,
                       fast=False) == fresh
        # Reused, the current rules are not run again: only the candidate's changed rules, once per intake.
        monkeypatch.setattr("intake.assessment.preview.assess_facts", counting := _Counting())
        preview(stream_past_intakes(since=since, reuse=rules_now.version), rules_now, rules_next)
        assert counting.calls == 12


def test_an_assessment_stored_before_flag_summaries_is_assessed_again_not_reused(app, demo_intakes, tmp_path):
    with app.app_context():
        current, candidate = parallel_preview.rules_in_force(), candidate_files(tmp_path / "clinic")
        rules_now, rules_next = load_files(current), load_files(candidate)
        since = dt.date(2000, 1, 1)
        fresh = preview(stream_past_intakes(since=since), rules_now, rules_next)
        newest = db.session.scalar(select(func.max(Assessment.id)))  # the latest of its intake
        db.session.execute(update(Assessment).where(Assessment.id == newest).values(flag_summary=None))
        db.session.commit()
        reused = [i for i in stream_past_intakes(since=since, reuse=rules_now.version) if i.stored is not None]
        assert len(reused) == 11
        assert preview(stream_past_intakes(since=since, reuse=rules_now.version), rules_now, rules_next) == fresh
        # What is reused is what the document says: the same flags, in the same order, at the same severities.
        stored = db.session.scalars(select(Assessment).where(Assessment.flag_summary.is_not(None))).all()
        assert stored and all(read_flag_summary(row.flag_summary) == tuple(
            (flag["rule_id"], flag["severity"]) for flag in row.document["flags"]) for row in stored)


class _Counting:
    def __init__(self) -> None:
        self.real, self.calls = assess_facts, 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return self.real(*args, **kwargs)
