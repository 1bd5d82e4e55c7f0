"""One pass of reminders: what is due (the core), each claimed under its key, then handed to ``deliver``.

``send_due_reminders(now)`` is what `flask reminders send` runs, and what a scheduler runs
every few minutes. Each reminder is first inserted under its unique key in a transaction of
its own (INSERT … ON CONFLICT DO NOTHING): only the pass whose insert went in goes on to
send, so two schedulers running at once send it once. A pass that dies after claiming leaves
the row "sending": it is never sent twice, and the record shows it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app, render_template, url_for
from flask_babel import force_locale, gettext
from sqlalchemy import bindparam, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import load_only

from ..answers.vocabulary import N_
from ..assessment.flags import fill_start
from ..audit import lock_chain, record
from ..clock import now as clock_now
from ..clock import utcnow
from ..config import babel_locale
from ..extensions import db
from ..models import Intake, IntakeStatus, Reminder, ReminderStatus, StaffUser, hash_token, new_token
from ..patient.queries import instruction_date, private_link, relative_day, rule_text, status_link
from ..review.mail import email_is_set_up, send_email
from ..web.clinic import clinic_identity
from ..web.languages import offered_tag
from . import queries
from . import settings as clinic_reminders
from .due import Due, Kind, ReminderSettings, Skip, TimedInstruction, due_reminders, local_now
from .service import stop_token

#: Reminders claimed, sent and recorded together: two transactions per batch instead of two per reminder.
BATCH = 50
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


@dataclass
class PassResult:
    """What one pass did: counts by outcome ("taken": due, but claimed earlier or by another pass; "stale": the
    intake changed since the pass read it, submitted or moved, and the reminder is no longer due)."""

    sent: int = 0
    skipped: int = 0
    failed: int = 0
    taken: int = 0
    stale: int = 0

    def add(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)


def deliver(message: Message) -> None:
    """Send one reminder: the one place reminders leave the app (the job queue's outbox will take it here)."""
    send_email(message.to, message.subject, message.body, dict(message.headers))


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
         "due_on": item.due_on, "status": ReminderStatus.SKIPPED if item.skip else ReminderStatus.SENDING,
         "reason": item.skip, "created_at": utcnow()} for item in items
    ]).on_conflict_do_nothing(index_elements=["key"]).returning(Reminder.key)
    return set(db.session.scalars(statement))


def _still_due(item: Due, intake: Intake | None) -> bool:
    """Whether the intake, as it is now, still calls for ``item`` (the pass read it a while ago)."""
    if intake is None or intake.appointment_date != item.appointment:
        return False
    if item.kind == Kind.UNSUBMITTED:
        return intake.status == IntakeStatus.DRAFT
    return intake.status == IntakeStatus.SUBMITTED


#: The columns a batch reads of its intakes (not the encrypted answers).
BATCH_COLUMNS = (Intake.id, Intake.status, Intake.appointment_date, Intake.reminders_stopped_at, Intake.full_name,
                 Intake.email, Intake.language)


def _intakes(ids: list[int]) -> dict[int, Intake]:
    found = db.session.scalars(select(Intake).options(load_only(*BATCH_COLUMNS)).where(Intake.id.in_(ids)))
    return {intake.id: intake for intake in found}


def _handle_batch(items: list[Due], lines: list[queries.DigestLine], result: PassResult) -> None:
    """Claim and send a batch of reminders, in two transactions whatever its size.

    First, under the audit chain's lock (taken first, as every audit writer takes it): each intake
    read as it is now (a reminder no longer due is dropped), the rows inserted under their keys,
    and the new links of those this pass claimed stored with their audit entries. Then the emails,
    one by one. Then each outcome, with its audit entry. The links are stored before the emails
    carrying them go, and a key another pass claimed is left to it.
    """
    connection = db.session.connection()
    lock_chain(connection)
    intakes = _intakes(sorted({item.intake_id for item in items if item.intake_id is not None}))
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
    to_send = [item for item in mine if not item.skip]
    links = _issue_links([(item, intakes[item.intake_id]) for item in to_send if item.intake_id is not None])
    db.session.commit()
    if not to_send:
        return
    intakes = _intakes(list(intakes))  # read again at once (the commit expired them), not one by one
    outcomes: list[tuple[Due, ReminderStatus, str]] = []
    for item in to_send:
        intake = intakes.get(item.intake_id) if item.intake_id is not None else None
        try:
            deliver(_compose(item, intake, lines, links.get(item.key, "")))
        except Exception as error:  # noqa: BLE001 - any failure: record it on the reminder, go on with the next
            current_app.logger.warning("Reminder %s could not be sent: %s", item.key, error)
            outcomes.append((item, ReminderStatus.FAILED, f"{type(error).__name__}: {error}"[:300]))
            continue
        outcomes.append((item, ReminderStatus.SENT, ""))
    _finish(outcomes, intakes)
    result.sent += sum(1 for _item, status, _reason in outcomes if status is ReminderStatus.SENT)
    result.failed += sum(1 for _item, status, _reason in outcomes if status is ReminderStatus.FAILED)


def _finish(outcomes: list[tuple[Due, ReminderStatus, str]], intakes: dict[int, Intake]) -> None:
    """Store each outcome with its audit entry, in one transaction."""
    # The audit chain's lock before the rows': a pass claiming one of these keys waits on this update (ON
    # CONFLICT must know whether the row stays), and that pass holds the chain's lock.
    lock_chain(db.session.connection())
    at = utcnow()
    table = db.metadata.tables["reminder"]
    db.session.execute(
        table.update().where(table.c.key == bindparam("the_key"))
        .values(status=bindparam("the_status"), reason=bindparam("the_reason"), sent_at=bindparam("the_time")),
        [{"the_key": item.key, "the_status": str(status), "the_reason": reason,
          "the_time": at if status is ReminderStatus.SENT else None} for item, status, reason in outcomes])
    for item, status, _reason in outcomes:
        intake = intakes.get(item.intake_id) if item.intake_id is not None else None
        said = f"{item.kind.replace('_', ' ')}, {item.due_on.isoformat()}"
        if status is ReminderStatus.SENT:
            record(ACTOR, "reminder.sent", intake, f"Reminder sent ({said})", kind=item.kind, key=item.key)
        else:
            record(ACTOR, "reminder.failed", intake, f"Reminder failed ({said})", kind=item.kind, key=item.key)
    db.session.commit()


def _issue_links(pairs: list[tuple[Due, Intake]]) -> dict[str, str]:
    """The link each reminder carries, a new one (the previous stops working), in the current transaction.

    Only the hash of a link is kept, so a reminder carries a new one, as a new link from the record
    does: the private link (the form, or the check-in the day before), or the read-only status
    link for instructions. A Core update: a new link is not a change to the answers, and a
    practitioner's open form does not become a conflict. The audit entries come after the updates,
    so they are chained in one flush.
    """
    table = db.metadata.tables["intake"]
    at = utcnow()
    links: dict[str, str] = {}
    private: list[dict[str, Any]] = []
    status: list[dict[str, Any]] = []
    for item, intake in pairs:
        token = new_token()
        if item.kind == Kind.INSTRUCTION:
            status.append({"the_id": intake.id, "the_hash": hash_token(token)})
            links[item.key] = status_link(token)
        else:
            private.append({"the_id": intake.id, "the_hash": hash_token(token)})
            links[item.key] = private_link(token) if item.kind == Kind.UNSUBMITTED else \
                url_for("patient.check_in", token=token, _external=True)
    if private:
        db.session.execute(table.update().where(table.c.id == bindparam("the_id")).values(
            token_hash=bindparam("the_hash"), link_issued_at=at, link_revoked_at=None), private)
    if status:
        db.session.execute(table.update().where(table.c.id == bindparam("the_id")).values(
            status_token_hash=bindparam("the_hash"), status_link_issued_at=at), status)
    for item, intake in pairs:
        if item.kind == Kind.INSTRUCTION:
            record(ACTOR, "link.status_issued", intake, "Status page link issued for a reminder")
        else:
            record(ACTOR, "link.issued", intake, "New private link issued for a reminder")
    return links


def _compose(item: Due, intake: Intake | None, lines: list[queries.DigestLine], link: str) -> Message:
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
        context: dict[str, Any] = {"intake": intake, "item": item, "clinic": clinic, "stop": stop, "link": link,
                                   "days": current_app.config["PATIENT_LINK_DAYS"]}
        if item.kind != Kind.UNSUBMITTED:
            context["instructions"] = _texts(item.instructions, item.session)
            context["bring"] = clinic_reminders.in_force(current_app.config).what_to_bring
        body = render_template("mail/reminder.txt", **context)
    return Message(intake.email, subject, body, {"List-Unsubscribe": f"<{stop}>", "Content-Language": tag})


def _texts(instructions: tuple[TimedInstruction, ...], session: dt.date | None) -> list[str]:
    """The instructions in words, in the current language (the rule's text translated, as the status page
    translates it), dated against ``session`` (earliest start first, undated last)."""
    ordered = sorted(instructions, key=lambda item: (item.days_before is None, -(item.days_before or 0)))
    return [fill_start(rule_text(item.template), item.days_before,
                       session - dt.timedelta(days=item.days_before)
                       if session is not None and item.days_before is not None else None,
                       instruction_date, relative_day) for item in ordered]
