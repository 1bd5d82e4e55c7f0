"""Helpers of the job tests: many open intakes, a ruleset version, a real worker, a local SMTP server."""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from aiosmtpd.controller import Controller
from flask import Flask

from intake import jobs
from intake.extensions import db
from intake.models import Intake, IntakeStatus, RulesetVersion
from intake.rulesets import versions

REDIS_URL = os.environ.get("MESO_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
REPO = Path(__file__).resolve().parents[2]


def clone_open_intakes(count: int) -> None:
    """Add ``count`` submitted intakes without a decision, answered as the demo's first submitted one."""
    answers = db.session.scalars(sa.select(Intake.answers).where(Intake.status != IntakeStatus.DRAFT)
                                 .order_by(Intake.id)).first()
    db.session.execute(sa.insert(Intake), [
        {"token_hash": uuid.uuid4().hex * 2, "status": IntakeStatus.SUBMITTED, "answers": answers,
         "completed_sections": [], "full_name": f"Clone {i}", "email": f"clone{i}@example.org", "version": 1}
        for i in range(count)])
    db.session.commit()


def new_active_version() -> int:
    """A ruleset version of the configured rule files, marked active (re-assessment targets it)."""
    files = versions.configured_files()
    version = RulesetVersion(files=files, hash="test", note="job test", active=True)
    db.session.add(version)
    db.session.commit()
    return version.id


@contextmanager
def redis_queue(app: Flask) -> Iterator[dict[str, str]]:
    """Point ``app`` at a queue of its own on the test Redis (its keys removed afterwards); the worker's env."""
    import redis  # noqa: PLC0415 - only the real-worker tests need the client

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError as error:
        raise RuntimeError(f"Redis is not reachable at {REDIS_URL}: {error}") from None
    name = f"meso-test-{uuid.uuid4().hex[:12]}"
    saved = {key: app.config.get(key) for key in ("JOBS_BROKER_URL", "JOBS_QUEUE", "JOBS_KEY_PREFIX")}
    app.config.update(JOBS_BROKER_URL=REDIS_URL, JOBS_QUEUE=name, JOBS_KEY_PREFIX=f"{name}:")
    jobs.configure(app)
    try:
        yield {"MESO_WORKER_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
               "MESO_WORKER_BROKER_URL": REDIS_URL, "MESO_WORKER_QUEUE": name, "MESO_WORKER_KEY_PREFIX": f"{name}:"}
    finally:
        app.extensions["celery"].close()
        app.config.update(saved)
        jobs.configure(app)
        for key in client.scan_iter(match=f"{name}*"):  # only the keys this test made
            client.delete(key)
        client.close()


class Worker:
    """`flask worker` in a subprocess (one solo process), against the test database and queue."""

    def __init__(self, env: dict[str, str], log: Path):
        self.log = log
        environment = {**os.environ, **env, "PYTHONPATH": str(REPO)}
        self.output = log.open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "flask", "--app", "tests.support.worker_app", "worker", "--pool", "solo",
             "--without-heartbeat", "--without-gossip", "--without-mingle"],
            cwd=REPO, env=environment, stdout=self.output, stderr=subprocess.STDOUT)
        self.wait_for(lambda: b" ready." in log.read_bytes(), "the worker to be ready", timeout=30)

    def wait_for(self, condition: Callable[[], Any], what: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if self.process.poll() is not None:
                raise AssertionError(f"the worker exited ({self.process.returncode}):\n{self.log.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no clean-up, as a machine losing power."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        self.output.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.output.close()


class SmtpHandler:
    """An aiosmtpd handler that refuses the first ``refuse`` messages (554), then accepts and keeps them."""

    def __init__(self, refuse: int = 0):
        self.refuse = refuse
        self.refused = 0
        self.received: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        if self.refused < self.refuse:
            self.refused += 1
            return "554 5.7.1 Refused by the test server"
        self.received.append(envelope)
        return "250 Message accepted for delivery"


@contextmanager
def smtp_server(handler: SmtpHandler) -> Iterator[int]:
    """A local SMTP server on a free port; the port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def fill_generated(count: int, seed: int) -> None:
    """``count`` submitted intakes with bench_rules' synthetic answers (stored as the app stores them)."""
    import random  # noqa: PLC0415 - only the preview tests generate intakes

    from intake.answers import dump_answers, load_answers  # noqa: PLC0415

    sys.path.insert(0, str(REPO / "bench"))
    from bench_rules import ON, make_intake  # noqa: PLC0415

    rng = random.Random(seed)
    rows = []
    for i in range(count):
        answers = dump_answers(load_answers(make_intake(i, rng), today=ON))
        rows.append({"token_hash": uuid.uuid4().hex * 2, "status": IntakeStatus.SUBMITTED, "answers": answers,
                     "completed_sections": [], "full_name": answers["about"]["full_name"],
                     "email": answers["about"]["email"], "version": 1,
                     "submitted_at": dt.datetime(2026, 11, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=i % 97)})
    db.session.execute(sa.insert(Intake), rows)
    db.session.commit()


CLINIC_RULES = """\
- id: cold-sore-history
  title: Cold sore history
  override: true
  severity: defer
  defer_for_days: 90
  when: {field: skin.cold_sore_history, equals: true}
  message: Deferred until seen by the GP.
  source: [rule-default]

- id: current-smoker
  title: Current smoker
  severity: precaution
  when: {field: lifestyle.smoking, equals: current}
  message: Smoking slows healing.
  source: [rule-default]
"""


def candidate_files(folder: Path) -> dict[str, Any]:
    """The shipped rules with a clinic folder over them (a stricter rule, a new one, one disabled), as files."""
    from intake.rulesets.files import folders_snapshot  # noqa: PLC0415

    (folder / "precautions").mkdir(parents=True, exist_ok=True)
    (folder / "precautions" / "ours.yaml").write_text(CLINIC_RULES)
    (folder / "disabled.yaml").write_text("- heavy-drinking\n")
    return folders_snapshot([REPO / "rules", folder])
