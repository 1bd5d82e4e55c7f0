"""Past intakes for a preview, streamed from the database in batches (bounded memory)."""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Select, Text, func, select, tuple_, type_coerce

from ..assessment import Ruleset
from ..assessment.preview import PastIntake, PreviewResult, preview, read_flag_summary
from ..extensions import db
from ..models import Assessment, Intake, IntakeStatus
from ..protection.encryption import active_keyring

BATCH = 500


def _query(last: int | None, since: dt.date | None, until: dt.date | None, *, stored: bool = False) -> Select[Any]:
    # Each intake is previewed on the day of its latest assessment, under both rulesets.
    assessed_on = (select(func.max(Assessment.assessed_on)).where(Assessment.intake_id == Intake.id)
                   .correlate(Intake).scalar_subquery())
    # The name as stored (a Fernet token): decrypted only for the intakes the preview keeps.
    query = select(Intake.id, type_coerce(Intake.full_name, Text), Intake.answers, Intake.submitted_at,
                   assessed_on).where(Intake.status != IntakeStatus.DRAFT, Intake.submitted_at.is_not(None))
    if stored:
        # The latest assessment's ruleset and date, and its flags in short as stored (decrypted only when reused).
        latest = (select(func.max(Assessment.id)).where(Assessment.intake_id == Intake.id)
                  .correlate(Intake).scalar_subquery())
        query = (query.add_columns(Assessment.ruleset_version, Assessment.assessed_on, Assessment.outcome,
                                   type_coerce(Assessment.flag_summary, Text))
                 .outerjoin(Assessment, Assessment.id == latest))
    if since is not None:
        query = query.where(Intake.submitted_at >= dt.datetime.combine(since, dt.time(), dt.UTC))
    if until is not None:
        query = query.where(Intake.submitted_at < dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), dt.UTC))
    query = query.order_by(Intake.submitted_at.desc(), Intake.id.desc())
    if last is not None:
        query = query.limit(last)
    return query


def count_past_intakes(last: int | None = None, since: dt.date | None = None, until: dt.date | None = None) -> int:
    """How many intakes stream_past_intakes will give."""
    total = db.session.scalar(select(func.count()).select_from(_query(None, since, until).order_by(None).subquery()))
    return min(total or 0, last) if last is not None else total or 0


def stream_past_intakes(
    last: int | None = None, since: dt.date | None = None, until: dt.date | None = None, *, batch: int = BATCH,
    offset: int = 0, limit: int | None = None, reuse: str | None = None, paged: bool = False,
    between: tuple[Key, Key | None] | None = None,
) -> Generator[PastIntake]:
    """Submitted intakes, newest first (the last ``last``, or submitted between ``since`` and ``until``).

    Read ``batch`` rows at a time on a server-side cursor: the whole table is never in memory.
    ``offset`` and ``limit`` take a slice of that order (a chunk of a parallel preview).
    ``between``: the slice from one row (its key, slice_keys) up to another (excluded), instead of an
    offset: the database then reads and sorts that slice only.
    ``paged``: each batch is its own short read (SQLite, several readers and writers at once).
    ``reuse``: the current ruleset's version; an intake whose latest assessment was made under it on
    the preview's date carries that assessment's outcome and flags (the "before" side is not redone),
    read from its flag_summary: decrypting and parsing the whole 15 KB document cost more than
    assessing again.
    """
    decrypt = active_keyring().decrypt
    stored = reuse is not None
    query, count = _query(last, since, until, stored=stored), None
    if offset or limit is not None or paged:
        # A slice of the same order; the last ``last`` end at row ``last``.
        ends = [end for end in (last, None if limit is None else offset + limit) if end is not None]
        count = max(min(ends) - offset, 0) if ends else None
        query = _query(None, since, until, stored=stored)
        if between is not None:
            first, following = between
            query = query.where(_at_or_after(first))
            if following is not None:
                query = query.where(_before(following))
            offset = 0
        if not paged:
            query = query.offset(offset).limit(count)
    streamed = None if paged else db.session.execute(query.execution_options(yield_per=batch, stream_results=True))
    rows: Iterator[Any] = _paged(query, offset, count, batch) if streamed is None else iter(streamed)
    try:
        for row in rows:
            intake_id, name, answers, submitted_at, assessed_on = row[:5]
            on = assessed_on or submitted_at.date()
            before = None
            if stored and row[5] == reuse and row[6] == on and row[8] is not None:
                before = (row[7], read_flag_summary(decrypt(row[8])))
            yield PastIntake(intake_id, _label(decrypt, intake_id, name), answers or {}, on, before)
    finally:
        if streamed is not None:
            streamed.close()  # a preview stopped halfway (cancelled) leaves no server-side cursor open


@contextmanager
def long_lived_frozen() -> Iterator[None]:
    """Keep the collector off what already lives (the rulesets, their lexicons, the app) for a while.

    A preview makes millions of short-lived objects; each full collection they trigger would
    walk every object of the process again (measured: a third of a preview's time went to
    it). What exists now moves to the permanent generation, and back when the block ends (two
    previews at once in one process: the first to end unfreezes both, which costs only speed).
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def preview_past_intakes(current: Ruleset, candidate: Ruleset, last: int | None = None, since: dt.date | None = None,
                         until: dt.date | None = None, *, max_rows: int = 500,
                         progress: Callable[[int], None] | None = None) -> PreviewResult:
    """The preview of ``candidate`` against ``current`` over past intakes, in this process (stream_past_intakes)."""
    with long_lived_frozen():
        return preview(stream_past_intakes(last, since, until, reuse=current.version), current, candidate,
                       max_rows=max_rows, progress=progress)


#: A row's place in the preview's order (newest first): its submitted_at (ISO) and id.
Key = tuple[str, int]


def _order_key() -> Any:
    # A row value, (submitted_at, id): compared as one, it reads a range of ix_intake_submitted in
    # order; the same test spelt with OR makes SQLite sort the whole rest of the range at each page.
    return tuple_(Intake.submitted_at, Intake.id)


def _at_or_after(key: Key) -> Any:
    """The rows at ``key`` or after it in the preview's order (older, or as old with a smaller id)."""
    return _order_key() <= tuple_(dt.datetime.fromisoformat(key[0]), key[1])


def _before(key: Key) -> Any:
    """The rows before ``key`` in the preview's order (newer, or as new with a larger id)."""
    return _order_key() > tuple_(dt.datetime.fromisoformat(key[0]), key[1])


def slice_keys(offsets: list[int], last: int | None = None, since: dt.date | None = None,
               until: dt.date | None = None) -> list[Key | None]:
    """The key of the row at each offset of the preview's order (None past the end): a narrow read, ids and dates."""
    query = _query(last, since, until).with_only_columns(Intake.submitted_at, Intake.id)
    keys = [(at.isoformat(), intake_id) for at, intake_id in db.session.execute(query) if at is not None]
    return [keys[offset] if offset < len(keys) else None for offset in offsets]


def _paged(query: Select[Any], offset: int, remaining: int | None, batch: int) -> Iterator[Any]:
    """``remaining`` rows of ``query`` (all: None) from ``offset``, ``batch`` at a time, each page its own short read.

    SQLite lets no one commit while a read is open: a chunk of a parallel preview streaming its
    slice would stop the other chunks (and the progress) from writing. Pages after the first
    follow on from the last row read (submitted_at, id), in the preview's order.
    """
    page = query.offset(offset).limit(batch if remaining is None else min(batch, remaining))
    while True:
        rows = db.session.execute(page).all()
        db.session.rollback()  # end the read: writers may commit between pages
        yield from rows
        if remaining is not None:
            remaining -= len(rows)
        if len(rows) < batch or (remaining is not None and remaining <= 0):
            return
        last_at, last_id = rows[-1][3], rows[-1][0]
        page = (query.limit(batch if remaining is None else min(batch, remaining))
                .where(_order_key() < tuple_(last_at, last_id)))


def _label(decrypt: Callable[[str], str], intake_id: int, token: str | None) -> Callable[[], str]:
    """The patient's name, decrypted when asked for (only for the intakes a preview keeps)."""
    return lambda: (decrypt(token) if token else "") or f"#{intake_id}"
