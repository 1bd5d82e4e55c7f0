"""Every job kind on a real worker: `flask worker` in a subprocess, Redis as the broker (DB 15, a queue
and key prefix of its own), the test database. Select them with ``-m worker``; a few seconds each."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from intake import jobs
from intake import outbox as mail_outbox
from intake.assessment.preview import preview
from intake.extensions import db
from intake.models import AuditEntry, Intake, IntakeStatus, OutboxMessage, ReassessRun
from intake.rulesets import parallel_preview, reassess
from intake.rulesets.files import load_files
from intake.rulesets.past_intakes import stream_past_intakes
from tests.support.jobs import (
    SmtpHandler,
    Worker,
    candidate_files,
    clone_open_intakes,
    fill_generated,
    new_active_version,
    redis_queue,
    smtp_server,
)

pytestmark = pytest.mark.worker


def wait_until(condition, what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def run_state(app) -> ReassessRun:
    with app.app_context():
        run = db.session.scalars(select(ReassessRun)).one()
        db.session.expunge(run)
        return run


def test_a_worker_killed_halfway_through_a_reassessment_and_restarted_assesses_each_intake_once(
        app, demo_intakes, tmp_path):
    app.config.update(REASSESS_BATCH=10, REASSESS_LEASE_SECONDS=1)
    with app.app_context():
        clone_open_intakes(400)
        version_id = new_active_version()
        open_ids = list(reassess.open_intake_ids())
    with redis_queue(app) as env:
        env.update(MESO_WORKER_REASSESS_BATCH="10", MESO_WORKER_LEASE_SECONDS="1")
        first = Worker(env, tmp_path / "worker-1.log")
        try:
            with app.app_context():
                reassess.start(version_id, None, "staff:1")  # the worker loads the version
            wait_until(lambda: run_state(app).done >= 50, "the first batches")
        finally:
            first.kill()
        halfway = run_state(app)
        assert halfway.status == "running" and 50 <= halfway.done < len(open_ids)
        time.sleep(1.1)  # its lease runs out
        second = Worker(env, tmp_path / "worker-2.log")  # resumes stalled runs as it starts
        try:
            wait_until(lambda: run_state(app).status != "running", "the run to finish", timeout=60)
        finally:
            second.stop()
    run = run_state(app)
    assert (run.status, run.done, run.total) == ("done", len(open_ids), len(open_ids))
    with app.app_context():
        assert reassess.assessed_under(version_id) == dict.fromkeys(open_ids, 1)
        reassessed = db.session.scalar(select(func.count()).select_from(AuditEntry)
                                       .where(AuditEntry.action == "intake.reassessed"))
        assert reassessed == len(open_ids)


def test_a_worker_sends_the_outbox_and_retries_a_refusal(app, demo_intakes, tmp_path):
    handler = SmtpHandler(refuse=1)
    with smtp_server(handler) as port, redis_queue(app) as env:
        env["MESO_WORKER_SMTP_PORT"] = str(port)
        worker = Worker(env, tmp_path / "worker.log")
        try:
            with app.app_context():
                for key in ("a", "b"):
                    mail_outbox.enqueue("reminder", f"{key}@example.org", "Your appointment", "See you.",
                                        intake_id=demo_intakes["Tom Becker"], idempotency_key=key)
                    db.session.commit()

            def states() -> list[str]:
                with app.app_context():
                    return list(db.session.scalars(select(OutboxMessage.state).order_by(OutboxMessage.id)))

            wait_until(lambda: handler.refused == 1, "the refusal")
            last_asked = [0.0]

            def retried() -> bool:
                if time.monotonic() - last_asked[0] > 0.5:  # what the scheduler does every OUTBOX_EVERY_SECONDS
                    last_asked[0] = time.monotonic()
                    with app.app_context():
                        jobs.dispatch(mail_outbox.DELIVER_DUE)
                return states() == ["sent", "sent"]

            wait_until(retried, "the retry")
            with app.app_context():
                assert sorted(db.session.scalars(select(OutboxMessage.attempts))) == [1, 2]
        finally:
            worker.stop()
    assert sorted(envelope.rcpt_tos[0] for envelope in handler.received) == ["a@example.org", "b@example.org"]


def test_a_worker_runs_the_scheduled_purge_and_checkpoint(app, demo_intakes, tmp_path):
    checkpoints = tmp_path / "checkpoints.jsonl"
    with app.app_context():
        db.session.execute(update(Intake).where(Intake.status == IntakeStatus.DRAFT)
                           .values(updated_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)))
        db.session.commit()
    with redis_queue(app) as env:
        env["MESO_WORKER_CHECKPOINT_FILE"] = str(checkpoints)
        worker = Worker(env, tmp_path / "worker.log")
        try:
            with app.app_context():
                jobs.dispatch("data.purge")
                jobs.dispatch("audit.checkpoint")

            def drafts() -> int:
                with app.app_context():
                    return db.session.scalar(select(func.count()).select_from(Intake)
                                             .where(Intake.status == IntakeStatus.DRAFT)) or 0

            wait_until(lambda: drafts() == 0 and checkpoints.exists(), "the purge and the checkpoint")
        finally:
            worker.stop()
    assert json.loads(Path(checkpoints).read_text().splitlines()[0])["count"] > 0


def test_a_preview_in_chunks_on_a_worker_merges_to_the_single_process_preview(app, demo_intakes, tmp_path):
    with app.app_context():
        fill_generated(300, seed=20261207)
        current, candidate = parallel_preview.rules_in_force(), candidate_files(tmp_path / "clinic")
        single = preview(stream_past_intakes(since=dt.date(2000, 1, 1)), load_files(current), load_files(candidate),
                         max_rows=10)
    with redis_queue(app) as env:
        worker = Worker(env, tmp_path / "worker.log")
        try:
            with app.app_context():
                run_id = parallel_preview.start(current, candidate, chunks=4, since=dt.date(2000, 1, 1), max_rows=10)
                assert parallel_preview.wait(run_id, timeout=60) == "done"
                assert parallel_preview.merged(run_id) == single
        finally:
            worker.stop()
    assert single.total == 312 and single.changed_count > 10
