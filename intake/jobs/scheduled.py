"""The data-protection chores on the scheduler: the retention purge and the audit log's checkpoint.

The same work as `flask data purge` (old drafts, old emails) and `flask audit checkpoint` (kept for cron and by hand);
intervals PURGE_EVERY_SECONDS and AUDIT_CHECKPOINT_EVERY_SECONDS (0: off, e.g. when cron runs them).
"""

from __future__ import annotations

import datetime as dt

from flask import current_app

from ..audit import CheckpointError, checkpoint_file, write_checkpoint
from ..extensions import db
from ..protection.retention import purge_drafts, purge_outbox
from . import periodic

PURGE = "data.purge"
CHECKPOINT = "audit.checkpoint"


@periodic(PURGE, every=dt.timedelta(days=1), setting="PURGE_EVERY_SECONDS")
def purge() -> dict[str, int]:
    """Delete drafts untouched for DRAFT_RETENTION_DAYS and emails sent more than OUTBOX_KEEP_DAYS ago (an audit
    entry says so for each); how many of each."""
    drafts = purge_drafts(int(current_app.config["DRAFT_RETENTION_DAYS"]))
    return {"drafts": len(drafts), "outbox_messages": purge_outbox(int(current_app.config["OUTBOX_KEEP_DAYS"]))}


@periodic(CHECKPOINT, every=dt.timedelta(days=1), setting="AUDIT_CHECKPOINT_EVERY_SECONDS")
def checkpoint() -> str:
    """Verify the audit log and append a sealed checkpoint to AUDIT_CHECKPOINT_FILE; the line written.

    A log that does not verify gets no checkpoint: the error goes to the log (and the job fails),
    for `flask audit verify` to report.
    """
    try:
        _, line = write_checkpoint(db.session(), checkpoint_file())
    except CheckpointError:
        current_app.logger.exception("no audit checkpoint written")
        raise
    current_app.logger.info("audit checkpoint: %s", line)
    return line
