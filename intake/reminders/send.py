"""One pass of reminders: what is due (the core), each claimed under its key, its email written to the outbox.

``send_due_reminders(now)`` is what `flask reminders send` runs, and what a scheduler runs
every few minutes. Each reminder is inserted under its unique key (INSERT … ON CONFLICT DO
NOTHING) in the same transaction that writes its email to the outbox (intake.outbox): only
the pass whose insert went in writes the email, so two schedulers running at once send it
once, and a pass that dies before its commit leaves neither. The outbox delivers the email,
retries a failed attempt, and its message's state is the reminder's outcome.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app, render_template, url_for
from flask_babel import force_locale, gettext
from sqlalchemy import bindparam, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import load_only

from .. import outbox
from ..answers.vocabulary import N_
from ..assessment.flags import fill_start
from ..audit import lock_chain, record
from ..clock import now as clock_now
from ..clock import utcnow
from ..config import babel_locale
from ..extensions import db
from ..models import Intake, IntakeStatus, OutboxMessage, OutboxState, Reminder, ReminderStatus, StaffUser
from ..patient.queries import instruction_date, relative_day, rule_text
from ..review.mail import email_is_set_up
from ..web.clinic import clinic_identity
from ..web.languages import offered_tag
from . import queries
from . import settings as clinic_reminders
from .due import Due, Kind, ReminderSettings, Skip, TimedInstruction, due_reminders, link_until, local_now
from .service import PURPOSE_OF_KIND, continue_token, stop_token

#: Reminders claimed and written to the outbox together: one transaction per batch instead of one per reminder.
BATCH = 50
#: The pass's count each outbox state adds to (any other: still waiting in the outbox).
OUTCOME_OF_STATE: dict[str, str] = {OutboxState.SENT: "sent", OutboxState.FAILED: "failed"}
#: Who the audit log says sent a reminder.
ACTOR = "system:reminders"

#: What each kind says in its subject: never a word of health data. A patient's is in their language
#: (extracted, babel.cfg); the staff digest's is in the clinic's, like staff pages (not extracted).
SUBJECTS = {
    Kind.UNSUBMITTED: N_("A reminder about your consultation form for %(clinic)s"),
    Kind.INSTRUCTION: N_("A reminder before your appointment at %(clinic)s"),
    Kind.DAY_BEFORE: N_("Your appointment at %(clinic)s tomorrow"),
    Kind.DIGEST: "Intakes awaiting review at %(clinic)s",
}


class RemindersUnavailable(RuntimeError):
    """Reminders cannot be sent as set up (no mail server, no public address); the message says what to set."""


@dataclass(frozen=True)
class Message:
    """One email, ready for the sending function."""

    to: str
    subject: str
    body: str
    headers: Mapping[str, str] = field(default_factory=dict)
    #: The language it is written in (its Content-Language); "" for the staff digest.
    language: str = ""


@dataclass
class PassResult:
    """What one pass did: counts by outcome ("sent", "failed" and "queued": as the outbox says when the pass
    ends, "queued" still waiting there or to be tried again; "taken": due, but claimed earlier or by another
    pass; "stale": the intake changed since the pass read it, and the reminder is no longer due)."""

    sent: int = 0
    skipped: int = 0
    failed: int = 0
    queued: int = 0
    taken: int = 0
    stale: int = 0

    def add(self, outcome: str) -> None:
        self.add_many(outcome, 1)

    def add_many(self, outcome: str, count: int) -> None:
        setattr(self, outcome, getattr(self, outcome) + count)


def reminder_settings(config: Mapping[str, Any]) -> ReminderSettings:
    """When each kind goes, if at all: as an admin saved it (the reminders settings page), else REMINDERS_*."""
    return clinic_reminders.in_force(config).timing


def public_url(config: Mapping[str, Any]) -> str:
    """The base of the links reminders carry: PUBLIC_URL, else the SERVER_NAME Flask builds URLs with."""
    if config.get("PUBLIC_URL"):
        return str(config["PUBLIC_URL"])
    if config.get("SERVER_NAME"):
        return f"{config.get('PREFERRED_URL_SCHEME') or 'http'}://{config['SERVER_NAME']}"
    raise RemindersUnavailable("Set PUBLIC_URL to the address patients open the app at "
                               "(https://intake.example-clinic.com): reminders carry links.")


def send_due_reminders(now: dt.datetime | None = None) -> PassResult:
    """Send every reminder due at ``now`` (default: now) that no pass has claimed yet; what it did, counted."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # the app itself, to push a context on
    if not email_is_set_up():
        raise RemindersUnavailable("Email is not set up (MAIL_SERVER is not set): no reminder can be sent.")
    base = public_url(app.config)
    now = now or clock_now()
    zone = ZoneInfo(app.config["BABEL_DEFAULT_TIMEZONE"])
    today = local_now(now, zone).date()
    settings = reminder_settings(app.config)
    result = PassResult()
    # Outside a request (the CLI, a scheduler) links need the public address, and texts the default language.
    with app.test_request_context("/", base_url=base):
        facts = queries.draft_facts(today, settings) + queries.submitted_facts(today, settings)
        lines = queries.digest_lines(today) if settings.digest else []
        staff_ids = queries.active_staff_ids() if lines else []
        due = due_reminders(facts, now, zone, settings, staff_ids=staff_ids, awaiting=len(lines))
        db.session.rollback()  # the reads end here: each batch is claimed in a transaction of its own
        for first in range(0, len(due), BATCH):
            _handle_batch(due[first:first + BATCH], lines, result)
    return result


def _claim(items: list[Due]) -> set[str]:
    """Insert the reminders' rows under their keys, in one statement (the caller commits); the keys that went in."""
    if not items:
        return set()
    insert = postgresql_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(Reminder).values([
        {"key": item.key, "kind": item.kind, "intake_id": item.intake_id, "staff_user_id": item.staff_id,
         "due_on": item.due_on, "status": ReminderStatus.SKIPPED if item.skip else ReminderStatus.QUEUED,
         "reason": item.skip, "created_at": utcnow()} for item in items
    ]).on_conflict_do_nothing(index_elements=["key"]).returning(Reminder.key)
    return set(db.session.scalars(statement))


def _still_due(item: Due, intake: Intake | None) -> bool:
    """Whether the intake, as it is now, still calls for ``item`` (the pass read it a while ago)."""
    if intake is None or intake.appointment_date != item.appointment:
        return False
    if item.kind == Kind.UNSUBMITTED:
        return intake.status == (IntakeStatus.REOPENED if item.reopened else IntakeStatus.DRAFT)
    return intake.status == IntakeStatus.SUBMITTED


#: The columns a batch reads of its intakes (not the encrypted answers).
BATCH_COLUMNS = (Intake.id, Intake.status, Intake.appointment_date, Intake.reminders_stopped_at, Intake.full_name,
                 Intake.email, Intake.language)


def _intakes(ids: list[int]) -> dict[int, Intake]:
    found = db.session.scalars(select(Intake).options(load_only(*BATCH_COLUMNS)).where(Intake.id.in_(ids)))
    return {intake.id: intake for intake in found}


def _handle_batch(items: list[Due], lines: list[queries.DigestLine], result: PassResult) -> None:
    """Claim a batch of reminders and put each one's email in the outbox, in one transaction whatever its size.

    The emails are written first, outside any lock: every other writer waits on the claim's
    transaction, so it holds only the inserts (one written for a key another pass then claims is
    dropped). Then, under the audit chain's lock (taken first, as every audit writer takes it):
    each intake read as it is now (a reminder no longer due is dropped), the rows inserted under
    their keys, and, for those this pass claimed, each email put in the outbox and linked to its
    reminder, with an audit entry. The commit hands the emails to the outbox's delivery (at once
    without a broker, on the queue with one); a key another pass claimed is left to it, so no
    email is written twice, and the outbox retries a failed attempt under the same message.
    """
    ids = sorted({item.intake_id for item in items if item.intake_id is not None})
    composed = _compose_all([item for item in items if not item.skip], _intakes(ids), lines)
    db.session.rollback()  # the reads end here: the lock starts the claim's own transaction
    connection = db.session.connection()
    lock_chain(connection)
    intakes = _intakes(ids)
    wanted = []
    for item in items:
        intake = intakes.get(item.intake_id) if item.intake_id is not None else None
        if item.intake_id is not None and not _still_due(item, intake):
            result.add("stale")
            continue
        if intake is not None and not item.skip and intake.reminders_stopped_at is not None:
            item = replace(item, skip=Skip.STOPPED)
        wanted.append(item)
    claimed = _claim(wanted)
    mine = [item for item in wanted if item.key in claimed]
    result.taken += len(wanted) - len(mine)
    result.skipped += sum(1 for item in mine if item.skip)
    queued: dict[str, int] = {}
    unsent: dict[str, str] = {}
    for item in (item for item in mine if not item.skip):
        message = composed[item.key]
        if isinstance(message, str):
            unsent[item.key] = message
            continue
        queued[item.key] = outbox.enqueue(
            "reminder", message.to, message.subject, message.body, intake_id=item.intake_id, actor=ACTOR,
            idempotency_key=outbox.idempotency_key("reminder", item.key), language=message.language,
            headers=message.headers, notify=False).id
    _record_queued(mine, intakes, queued, unsent)
    db.session.commit()
    result.failed += len(unsent)
    if queued:
        states = db.session.execute(
            select(OutboxMessage.state, func.count()).where(OutboxMessage.id.in_(queued.values()))
            .group_by(OutboxMessage.state))
        for state, count in states:
            result.add_many(OUTCOME_OF_STATE.get(state, "queued"), count)
        db.session.commit()


def _compose_all(items: list[Due], intakes: dict[int, Intake], lines: list[queries.DigestLine]
                 ) -> dict[str, Message | str]:
    """Each reminder's email by its key, or why it could not be written (recorded as its failure)."""
    composed: dict[str, Message | str] = {}
    for item in items:
        intake = intakes.get(item.intake_id) if item.intake_id is not None else None
        try:
            composed[item.key] = _compose(item, intake, lines)
        except Exception as error:  # noqa: BLE001 - any failure: record it on the reminder, go on with the next
            current_app.logger.warning("Reminder %s could not be written: %s", item.key, error)
            composed[item.key] = f"{type(error).__name__}: {error}"[:300]
    return composed


def _record_queued(mine: list[Due], intakes: dict[int, Intake], queued: dict[str, int], unsent: dict[str, str]
                   ) -> None:
    """Each claimed reminder's row linked to its outbox message (or failed, with why), with its audit entry."""
    table = db.metadata.tables["reminder"]
    if queued:
        db.session.execute(
            table.update().where(table.c.key == bindparam("the_key"))
            .values(status=ReminderStatus.QUEUED.value, outbox_message_id=bindparam("the_message")),
            [{"the_key": key, "the_message": message_id} for key, message_id in queued.items()])
    if unsent:
        db.session.execute(
            table.update().where(table.c.key == bindparam("the_key"))
            .values(status=ReminderStatus.FAILED.value, reason=bindparam("the_reason")),
            [{"the_key": key, "the_reason": reason} for key, reason in unsent.items()])
    for item in mine:
        if item.key not in queued and item.key not in unsent:
            continue
        intake = intakes.get(item.intake_id) if item.intake_id is not None else None
        said = f"{item.kind.replace('_', ' ')}, {item.due_on.isoformat()}"
        if item.key in queued:
            record(ACTOR, "reminder.queued", intake, f"Reminder written to the outbox ({said})", kind=item.kind,
                   key=item.key, message=queued[item.key])
        else:
            record(ACTOR, "reminder.failed", intake, f"Reminder failed ({said})", kind=item.kind, key=item.key)


def continue_link(item: Due) -> str:
    """The link a patient's reminder carries: its page, reached through a signed continue link (until the day
    after what it is about) that issues the new private link only when the patient presses its button."""
    assert item.intake_id is not None  # nosec B101 # narrows the type: only a patient's reminder has a link
    token = continue_token(item.intake_id, PURPOSE_OF_KIND[item.kind], link_until(item))
    return url_for("reminders.continue_intake", token=token, _external=True)


def _compose(item: Due, intake: Intake | None, lines: list[queries.DigestLine]) -> Message:
    clinic = clinic_identity()
    if item.kind == Kind.DIGEST:
        staff = db.session.get(StaffUser, item.staff_id)
        if staff is None or not staff.active:
            raise LookupError("the member of staff is no longer active")
        links = {line.intake_id: url_for("review.show_intake", intake_id=line.intake_id, _external=True)
                 for line in lines}
        body = render_template("mail/digest.txt", staff=staff, lines=lines, links=links, clinic=clinic,
                               queue=url_for("review.show_queue", _external=True))
        return Message(staff.email, gettext(SUBJECTS[item.kind], clinic=clinic.name), body)
    if intake is None or not intake.email:
        raise LookupError("the intake or its email address is gone")
    stop = url_for("reminders.stop", token=stop_token(intake.id), _external=True)
    # In the patient's language, the one stored on the intake (as intake.review.mail's emails).
    tag = offered_tag(intake.language) or current_app.config["BABEL_DEFAULT_LOCALE"]
    with force_locale(babel_locale(tag)):
        subject = gettext(SUBJECTS[item.kind], clinic=clinic.name)
        context: dict[str, Any] = {"intake": intake, "item": item, "clinic": clinic, "stop": stop,
                                   "link": continue_link(item), "until": link_until(item)}
        if item.kind != Kind.UNSUBMITTED:
            context["instructions"] = _texts(item.instructions, item.session)
            context["bring"] = clinic_reminders.in_force(current_app.config).what_to_bring
        body = render_template("mail/reminder.txt", **context)
    # RFC 8058: a mail app's own "unsubscribe" button POSTs List-Unsubscribe=One-Click to the stop link.
    return Message(intake.email, subject, body,
                   {"List-Unsubscribe": f"<{stop}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}, tag)


def _texts(instructions: tuple[TimedInstruction, ...], session: dt.date | None) -> list[str]:
    """The instructions in words, in the current language (the rule's text translated, as the status page
    translates it), dated against ``session`` (earliest start first, undated last)."""
    ordered = sorted(instructions, key=lambda item: (item.days_before is None, -(item.days_before or 0)))
    return [fill_start(rule_text(item.template), item.days_before,
                       session - dt.timedelta(days=item.days_before)
                       if session is not None and item.days_before is not None else None,
                       instruction_date, relative_day) for item in ordered]
