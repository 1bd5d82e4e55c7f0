"""Re-assess open intakes under the newly active ruleset version, keeping their earlier assessments.

"Open": submitted, and no practitioner decision recorded yet. Each re-assessment is a new
Assessment row (the earlier ones stay in the intake's history). Runs as a background job
with its own app context (REASSESS_IN_BACKGROUND), or in the request (tests).
"""

from __future__ import annotations

from collections.abc import Iterator

from flask import Flask, current_app
from sqlalchemy import exists, select

from .. import jobs
from ..answers import load_answers
from ..assessment import Ruleset, assess
from ..audit import record
from ..clock import clinic_today, utcnow
from ..extensions import db
from ..models import Decision, Intake, IntakeStatus, ReassessRun
from .assessments import carry_over, store_assessment

BATCH = 200


def open_intake_ids() -> Iterator[int]:
    """Submitted intakes without a decision, oldest first."""
    query = (select(Intake.id).where(Intake.status != IntakeStatus.DRAFT,
                                     ~exists().where(Decision.intake_id == Intake.id))
             .order_by(Intake.id))
    yield from db.session.scalars(query)


def start(version_id: int, ruleset: Ruleset, actor: str) -> ReassessRun:
    """Create the progress record and re-assess, in the background or now (REASSESS_IN_BACKGROUND)."""
    ids = list(open_intake_ids())
    run = ReassessRun(version_id=version_id, total=len(ids))
    db.session.add(run)
    db.session.flush()
    record(actor, "rules.reassess_started", None, f"Re-assessing {len(ids)} open intakes under rules version "
           f"{version_id}", run_id=run.id, version_id=version_id, total=len(ids))
    db.session.commit()
    # The app itself, not the request's proxy to it: the job may outlive the request.
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # LocalProxy's, untyped
    background = bool(app.config.get("REASSESS_IN_BACKGROUND"))
    jobs.start(_run, app, run.id, ids, ruleset, version_id, actor, name=f"reassess-{run.id}", background=background)
    if not background:
        db.session.refresh(run)
    return run


def _run(app: Flask, run_id: int, ids: list[int], ruleset: Ruleset, version_id: int, actor: str) -> None:
    with app.app_context():
        run = db.session.get_one(ReassessRun, run_id)
        try:
            today = clinic_today()
            for start_at in range(0, len(ids), BATCH):
                for intake in db.session.scalars(select(Intake).where(Intake.id.in_(ids[start_at:start_at + BATCH]))):
                    before = intake.latest_assessment
                    result = assess(load_answers(intake.answers, today=today), ruleset, today)
                    stored = store_assessment(intake, result, version_id, answers=intake.answers)
                    db.session.flush()
                    carry_over(intake, before, stored, ruleset.protocols, actor)
                    # The queue lists and sorts by the latest outcome (models.Intake.queue_sort).
                    intake.latest_outcome = result.outcome
                    intake.refresh_queue_columns()
                    if before is None or before.outcome != result.outcome:
                        run.changed += 1
                    record(actor, "intake.reassessed", intake, f"Re-assessed under rules version {version_id}; "
                           f"outcome {result.outcome}", version_id=version_id, outcome=result.outcome,
                           previous_outcome=before.outcome if before else None)
                    run.done += 1
                db.session.commit()
            run.status = "done"
        except Exception as error:  # noqa: BLE001 - the run records any failure for the progress page
            db.session.rollback()
            run = db.session.get_one(ReassessRun, run_id)
            run.status, run.error = "failed", str(error)[:500]
            app.logger.exception("re-assessment run %s failed", run_id)
        run.finished_at = utcnow()
        db.session.commit()
        db.session.remove()
