"""Re-assess open intakes under the newly active ruleset version, keeping their earlier assessments.

"Open": submitted, and no practitioner decision recorded yet. Each re-assessment is a new
Assessment row (the earlier ones stay in the intake's history). It runs as the job
``reassess.run`` (intake.jobs): on a worker, or in the app without a broker.

Resumable from the database, not the queue: the run keeps a cursor (the last intake id done)
that moves in the same transaction as each batch's assessments, and a lease (owner, until
when) that each batch extends. A worker that dies mid-batch leaves that batch undone and the
lease running out; ``resume_stalled`` (on the scheduler, and when a worker starts) sends the
run to the queue again, and the next worker carries on after the cursor. An intake whose
latest assessment was already made under the target version is skipped, so none is assessed
twice and none is skipped.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from collections.abc import Iterator
from functools import lru_cache

from flask import current_app
from sqlalchemy import Select, exists, or_, select, update

from .. import jobs
from ..answers import load_answers
from ..assessment import Ruleset, assess
from ..audit import record
from ..clock import clinic_today, utcnow
from ..extensions import db
from ..models import Assessment, Decision, Intake, IntakeStatus, ReassessRun, RulesetVersion
from .assessments import carry_over, store_assessment
from .files import load_files

RUN = "reassess.run"
RESUME = "reassess.resume_stalled"


def open_intake_ids() -> Iterator[int]:
    """Submitted intakes without a decision, oldest first."""
    yield from db.session.scalars(_open_intakes().order_by(Intake.id))


def _open_intakes() -> Select[int]:
    return select(Intake.id).where(Intake.status != IntakeStatus.DRAFT,
                                   ~exists().where(Decision.intake_id == Intake.id))


def start(version_id: int, ruleset: Ruleset | None, actor: str) -> ReassessRun:
    """Create the progress record and send the run to the queue (without a broker: now, or in a thread).

    ``ruleset`` is not used: the job loads the version's files itself (a worker has only the id).
    """
    total = len(list(open_intake_ids()))
    # Reserved for the queue for one lease: if no worker has taken it by then, resume_stalled sends it again.
    run = ReassessRun(version_id=version_id, total=total, cursor=0, actor=actor, lease_until=utcnow() + _lease())
    db.session.add(run)
    db.session.flush()
    record(actor, "rules.reassess_started", None, f"Re-assessing {total} open intakes under rules version "
           f"{version_id}", run_id=run.id, version_id=version_id, total=total)
    db.session.commit()
    _ruleset_of.cache_clear()
    background = bool(current_app.config.get("REASSESS_IN_BACKGROUND"))
    jobs.dispatch(RUN, run.id, background=background)
    if not background or not jobs.eager():
        db.session.refresh(run)
    return run


@lru_cache(maxsize=4)
def _ruleset_of(version_id: int, files_digest: str) -> Ruleset:
    return load_files(db.session.get_one(RulesetVersion, version_id).files)


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:100]


def _take_lease(run_id: int, owner: str) -> bool:
    """Hold the run for ``owner`` if it is running and nobody holds it (or their lease ran out)."""
    now = utcnow()
    taken = db.session.execute(
        update(ReassessRun)
        .where(ReassessRun.id == run_id, ReassessRun.status == "running",
               or_(ReassessRun.lease_owner == "", ReassessRun.lease_owner == owner,
                   ReassessRun.lease_until.is_(None), ReassessRun.lease_until < now))
        .values(lease_owner=owner, lease_until=now + _lease())
        .execution_options(synchronize_session=False))
    db.session.commit()
    return bool(taken.rowcount)  # type: ignore[attr-defined]  # CursorResult's


def _lease() -> dt.timedelta:
    return dt.timedelta(seconds=float(current_app.config["REASSESS_LEASE_SECONDS"]))


@jobs.job(RUN)
def run(run_id: int) -> str:
    """Re-assess the run's open intakes after its cursor, a batch per transaction; the run's status afterwards."""
    owner = _worker_name()
    if not _take_lease(run_id, owner):
        found = db.session.get(ReassessRun, run_id)
        return found.status if found else "gone"
    job = db.session.get_one(ReassessRun, run_id)
    actor = job.actor
    try:
        version = db.session.get_one(RulesetVersion, job.version_id)
        ruleset = _ruleset_of(version.id, version.hash)
        today = clinic_today()
        while True:
            job = db.session.get_one(ReassessRun, run_id)
            if job.lease_owner != owner or job.status != "running":
                return job.status  # another worker took it over (our lease had run out)
            ids = list(db.session.scalars(_open_intakes().where(Intake.id > job.cursor).order_by(Intake.id)
                                          .limit(int(current_app.config["REASSESS_BATCH"]))))
            if not ids:
                break
            _assess_batch(job, ids, ruleset, today, actor)
            job.cursor = ids[-1]
            job.lease_until = utcnow() + _lease()
            db.session.commit()
        job.status = "done"
    except Exception as error:  # noqa: BLE001 - the run records any failure for the progress page
        db.session.rollback()
        job = db.session.get_one(ReassessRun, run_id)
        job.status, job.error = "failed", str(error)[:500]
        current_app.logger.exception("re-assessment run %s failed", run_id)
    job.finished_at = utcnow()
    job.lease_owner, job.lease_until = "", None
    db.session.commit()
    return job.status


def _assess_batch(job: ReassessRun, ids: list[int], ruleset: Ruleset, today: dt.date, actor: str) -> None:
    for intake in db.session.scalars(select(Intake).where(Intake.id.in_(ids)).order_by(Intake.id)):
        before = intake.latest_assessment
        if before is not None and before.ruleset_version_id == job.version_id:
            job.done += 1  # already assessed under this version (submitted since, or a batch done before)
            continue
        result = assess(load_answers(intake.answers, today=today), ruleset, today)
        stored = store_assessment(intake, result, job.version_id, answers=intake.answers)
        db.session.flush()
        carry_over(intake, before, stored, ruleset.protocols, actor)
        # The queue lists and sorts by the latest outcome (models.Intake.queue_sort).
        intake.latest_outcome = result.outcome
        intake.refresh_queue_columns()
        if before is None or before.outcome != result.outcome:
            job.changed += 1
        record(actor, "intake.reassessed", intake, f"Re-assessed under rules version {job.version_id}; "
               f"outcome {result.outcome}", version_id=job.version_id, outcome=result.outcome,
               previous_outcome=before.outcome if before else None)
        job.done += 1


@jobs.periodic(RESUME, every=60, setting="REASSESS_RESUME_EVERY_SECONDS")
def resume_stalled() -> list[int]:
    """Send every running run whose lease ran out (its worker died) to the queue again; their ids."""
    stalled = list(db.session.scalars(
        select(ReassessRun.id).where(ReassessRun.status == "running",
                                     or_(ReassessRun.lease_until.is_(None), ReassessRun.lease_until < utcnow()))))
    db.session.commit()
    for run_id in stalled:
        jobs.dispatch(RUN, run_id)
    return stalled


def assessed_under(version_id: int) -> dict[int, int]:
    """How many assessments each intake has under ``version_id`` (tests: exactly one per open intake)."""
    counts: dict[int, int] = {}
    query = select(Assessment.intake_id).where(Assessment.ruleset_version_id == version_id)
    for intake_id in db.session.scalars(query):
        counts[intake_id] = counts.get(intake_id, 0) + 1
    return counts
