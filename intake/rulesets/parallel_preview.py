"""A preview split in chunks that workers run in parallel, merged into what preview() gives in one process.

``start(...)`` stores the two rulesets and one row per chunk (a slice of the intakes in the
preview's order: newest first), and sends each chunk to the queue (``preview.chunk``); each
worker streams its slice (bounded memory), previews it and stores its counts. ``wait`` shows
the progress and ``merge`` adds the chunks up in order (assessment.preview.merge): equal to the
single-process preview. ``cancel`` stops the chunks not yet finished. Without a broker the
chunks run one after the other in this process.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Generator, Mapping
from functools import lru_cache
from typing import Any

from flask import current_app
from sqlalchemy import delete, func, select, update

from .. import jobs
from ..assessment import Ruleset
from ..assessment.preview import (
    IntakeChange,
    PastIntake,
    PreviewResult,
    merge,
    preview,
    result_from_json,
    result_to_json,
)
from ..clock import utcnow
from ..extensions import db
from ..models import Intake, PreviewChunk, PreviewRun, RulesetVersion
from .files import digest, folders_snapshot, load_files
from .folders import configured_folders
from .past_intakes import BATCH, count_past_intakes, long_lived_frozen, slice_keys, stream_past_intakes

CHUNK = "preview.chunk"
PROGRESS_EVERY = 2000
SQLITE_PAGE = 5000


class Cancelled(Exception):
    """The run was cancelled: the chunk stops where it is."""


def rules_in_force() -> dict[str, Any]:
    """The files of the rules in force: the active version's, else the configured folders'."""
    files = db.session.scalar(select(RulesetVersion.files).where(RulesetVersion.active.is_(True)))
    return dict(files) if files is not None else folders_snapshot(configured_folders(current_app.config))


def start(current_files: Mapping[str, Any], candidate_files: Mapping[str, Any], *, chunks: int,
          last: int | None = None, since: dt.date | None = None, until: dt.date | None = None,
          max_rows: int = 500) -> int:
    """Store the run and its chunks, commit, send each chunk to the queue; the run's id."""
    total = count_past_intakes(last, since, until)
    chunks = max(1, min(chunks, total or 1))
    size = -(-total // chunks) if total else 0
    run = PreviewRun(current_files=dict(current_files), candidate_files=dict(candidate_files), total=total,
                     max_rows=max_rows)
    db.session.add(run)
    db.session.flush()
    filters = {"last": last, "since": since.isoformat() if since else None,
               "until": until.isoformat() if until else None}
    ids = []
    # Each chunk reads from its first row's key to the next chunk's: the database sorts that slice only.
    keys = slice_keys([position * size for position in range(chunks + 1)], last, since, until)
    for position in range(chunks):
        offset = position * size
        chunk = PreviewChunk(run_id=run.id, position=position, offset=offset,
                             size=max(0, min(size, total - offset)), state="pending")
        db.session.add(chunk)
        db.session.flush()
        ids.append(chunk.id)
    db.session.commit()
    for position, chunk_id in enumerate(ids):
        jobs.dispatch(CHUNK, chunk_id, {**filters, "between": [keys[position], keys[position + 1]]})
    return run.id


@lru_cache(maxsize=4)
def _rulesets(run_id: int, current_digest: str, candidate_digest: str) -> tuple[Ruleset, Ruleset]:
    run = db.session.get_one(PreviewRun, run_id)
    return load_files(run.current_files), load_files(run.candidate_files)


def _slice(filters: Mapping[str, Any], offset: int, size: int, reuse: str) -> Generator[PastIntake]:
    """Rows offset … offset + size of the preview's stream, without the patients' names."""
    since = dt.date.fromisoformat(filters["since"]) if filters.get("since") else None
    until = dt.date.fromisoformat(filters["until"]) if filters.get("until") else None
    # SQLite: short reads of a few thousand rows, so that the other chunks can write (their progress, results).
    paged = db.engine.dialect.name == "sqlite"
    between = filters.get("between")
    stream = stream_past_intakes(filters.get("last"), since, until, offset=offset, limit=size, reuse=reuse,
                                 paged=paged, batch=SQLITE_PAGE if paged else BATCH,
                                 between=(tuple(between[0]), tuple(between[1]) if between[1] else None)
                                 if between and between[0] else None)
    try:
        for intake in stream:
            yield intake._replace(label="")
    finally:
        stream.close()


@jobs.job(CHUNK)
def run_chunk(chunk_id: int, filters: dict[str, Any]) -> str:
    """Preview one chunk and store its counts; its state afterwards (a chunk already done is left as it is)."""
    claimed = db.session.execute(update(PreviewChunk).where(PreviewChunk.id == chunk_id,
                                                            PreviewChunk.state == "pending")
                                 .values(state="running").execution_options(synchronize_session=False))
    db.session.commit()
    chunk = db.session.get_one(PreviewChunk, chunk_id)
    if not claimed.rowcount:  # type: ignore[attr-defined]  # CursorResult's
        return chunk.state
    run = db.session.get_one(PreviewRun, chunk.run_id)
    run_id, offset, size, max_rows = run.id, chunk.offset, chunk.size, run.max_rows
    current, candidate = _rulesets(run_id, digest(run.current_files), digest(run.candidate_files))
    seen = [0]

    def progress(step: int) -> None:
        seen[0] += step
        if seen[0] % PROGRESS_EVERY == 0:
            # On a connection of its own: the slice is still being read on the session's.
            with db.engine.begin() as connection:
                connection.execute(update(PreviewChunk).where(PreviewChunk.id == chunk_id).values(done=seen[0]))
                status = connection.scalar(select(PreviewRun.status).where(PreviewRun.id == run_id))
            if status == "cancelled":
                raise Cancelled

    intakes = _slice(filters, offset, size, current.version)
    try:
        with long_lived_frozen():
            result = preview(intakes, current, candidate, max_rows=max_rows, progress=progress)
    except Cancelled:
        intakes.close()
        db.session.rollback()
        db.session.execute(update(PreviewChunk).where(PreviewChunk.id == chunk_id).values(state="cancelled"))
        db.session.commit()
        return "cancelled"
    except Exception as error:  # noqa: BLE001 - the chunk records the failure; the run shows it
        intakes.close()
        db.session.rollback()
        db.session.execute(update(PreviewChunk).where(PreviewChunk.id == chunk_id)
                           .values(state="failed", error=str(error)[:500]))
        db.session.commit()
        raise
    db.session.rollback()  # end the read before writing (SQLite: one writer)
    db.session.execute(update(PreviewChunk).where(PreviewChunk.id == chunk_id)
                       .values(state="done", done=result.total, result=result_to_json(result)))
    db.session.commit()
    return "done"


def progress(run_id: int) -> tuple[int, int, dict[str, int]]:
    """(intakes previewed, total, chunks by state) of a run."""
    run = db.session.get_one(PreviewRun, run_id)
    done = db.session.scalar(select(func.coalesce(func.sum(PreviewChunk.done), 0))
                             .where(PreviewChunk.run_id == run_id)) or 0
    states = dict(db.session.execute(select(PreviewChunk.state, func.count()).where(PreviewChunk.run_id == run_id)
                                     .group_by(PreviewChunk.state)).all())
    db.session.commit()
    return int(done), run.total, states


def cancel(run_id: int) -> None:
    """Stop the run: chunks not started are dropped, running ones stop at their next progress check."""
    db.session.execute(update(PreviewRun).where(PreviewRun.id == run_id).values(status="cancelled",
                                                                                finished_at=utcnow()))
    db.session.execute(update(PreviewChunk).where(PreviewChunk.run_id == run_id, PreviewChunk.state == "pending")
                       .values(state="cancelled"))
    db.session.commit()


def wait(run_id: int, *, timeout: float = 600, on_progress: Callable[[int, int], None] | None = None,
         poll: float = 0.05) -> str:
    """Wait until every chunk is done (or one failed, or the run was cancelled); the run's status."""
    deadline = time.monotonic() + timeout
    while True:
        done, total, states = progress(run_id)
        if on_progress is not None:
            on_progress(done, total)
        status = "failed" if states.get("failed") else "cancelled" if states.get("cancelled") else (
            "done" if set(states) <= {"done"} else "running")
        if status != "running" or time.monotonic() > deadline:
            break
        time.sleep(poll)
    if status != "running":
        db.session.execute(update(PreviewRun).where(PreviewRun.id == run_id).values(status=status,
                                                                                    finished_at=utcnow()))
        db.session.commit()
    return status


def merged(run_id: int, *, keep: bool = False) -> PreviewResult:
    """The chunks' results added up in order, the patients' names filled in; the run is deleted (``keep``: not)."""
    run = db.session.get_one(PreviewRun, run_id)
    chunks = list(db.session.scalars(select(PreviewChunk).where(PreviewChunk.run_id == run_id)
                                     .order_by(PreviewChunk.position)))
    result = merge((result_from_json(chunk.result or {}) for chunk in chunks), run.max_rows)
    names = dict(db.session.execute(select(Intake.id, Intake.full_name)
                                    .where(Intake.id.in_([change.id for change in result.changes]))).all())
    result.changes = [IntakeChange(c.id, names.get(c.id) or f"#{c.id}", c.before, c.after, c.added, c.removed)
                      for c in result.changes]
    if not keep:
        # Chunks first: SQLite enforces no ON DELETE CASCADE unless told to.
        db.session.execute(delete(PreviewChunk).where(PreviewChunk.run_id == run_id))
        db.session.execute(delete(PreviewRun).where(PreviewRun.id == run_id))
        db.session.commit()
    return result
