"""Which reminders are due at an instant: pure and deterministic, from plain facts.

Each reminder has a stable key naming what it is about (the intake, the kind, the day it is
for and the appointment or session it leads to). The shell stores the key under a unique
constraint before sending, so a key is sent at most once however many passes run; a moved
appointment or a changed plan yields new keys, and the old ones are simply never due again.

A reminder is due on its day in the clinic's time zone, from its hour on, until that day
ends: a pass that missed the whole day does not send it later (a reminder about yesterday
is worse than none).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..assessment.agreed import next_session_on


class Kind:
    """The kinds of reminder (the ``reminder.kind`` column)."""

    #: An invited patient who has not submitted their form (started or not), or a reopened one not sent again.
    UNSUBMITTED = "unsubmitted"
    #: Dated pre-treatment instructions that start today.
    INSTRUCTION = "instruction"
    #: The day before the appointment: the date, what to bring or avoid, the check-in link.
    DAY_BEFORE = "day_before"
    #: The staff's morning digest of intakes awaiting review for the next two days' appointments.
    DIGEST = "digest"


KINDS = (Kind.UNSUBMITTED, Kind.INSTRUCTION, Kind.DAY_BEFORE, Kind.DIGEST)


class Stage:
    """Where an intake stands, as far as reminders care (the patient status page's words)."""

    DRAFT = "draft"
    #: Sent back by a practitioner for more answers: the patient has a form to send again.
    REOPENED = "reopened"
    AWAITING_REVIEW = "awaiting_review"
    APPROVED = "approved"
    DEFERRED = "deferred"
    #: Not suitable (or anything else): no reminder about instructions or the day.
    CLOSED = "closed"


#: Stages whose patient holds instructions dated against a next session.
INSTRUCTED = frozenset({Stage.AWAITING_REVIEW, Stage.APPROVED, Stage.DEFERRED})
#: Stages whose patient is expected at the appointment (a deferral moves treatment away from it).
EXPECTED = frozenset({Stage.AWAITING_REVIEW, Stage.APPROVED})


class Skip:
    """Why a due reminder is recorded as skipped instead of sent (shown on the record)."""

    STOPPED = "The patient stopped reminders."
    NO_EMAIL = "The patient gave no email address."
    LINK_REVOKED = "The patient's link is revoked."


@dataclass(frozen=True)
class ReminderSettings:
    """Each kind on or off, and when it goes (hours are the clinic's local time, 0-23)."""

    #: Days before the appointment an invited patient who has not submitted is reminded; () is off.
    unsubmitted_days: tuple[int, ...] = (3, 1)
    unsubmitted_hour: int = 10
    instructions: bool = True
    instruction_hour: int = 8
    day_before: bool = True
    day_before_hour: int = 10
    digest: bool = True
    digest_hour: int = 7


@dataclass(frozen=True)
class TimedInstruction:
    """One of the rules' instructions: its text (``{start}`` where the date goes) and its timing."""

    rule_id: str
    template: str
    #: Days before the next session it starts; None for an instruction without a date.
    days_before: int | None

    @classmethod
    def from_document(cls, item: Mapping[str, Any]) -> TimedInstruction:
        """From an assessment document's instruction (intake.assessment.Instruction.to_dict())."""
        return cls(item["rule_id"], item.get("template") or item["text"], item.get("days_before"))


@dataclass(frozen=True)
class IntakeFacts:
    """What the core needs to know about one intake, read by the shell."""

    intake_id: int
    stage: str
    appointment: dt.date | None
    #: When staff invited the patient (None: the patient came on their own: no form reminder).
    invited_at: dt.datetime | None = None
    #: A reopened intake's reopening: the decision that sent it back and when (its form reminders are new ones).
    reopened_by: int | None = None
    reopened_at: dt.datetime | None = None
    started: bool = False
    has_email: bool = True
    stopped: bool = False
    link_revoked: bool = False
    #: The plan the patient is shown (agreed, else suggested; JSON form): its sessions date instructions.
    plan: Mapping[str, Any] | None = None
    #: A deferral's end: no session before it.
    not_before: dt.date | None = None
    instructions: tuple[TimedInstruction, ...] = ()


@dataclass(frozen=True)
class Due:
    """One reminder due now. ``skip`` says why it is recorded without being sent ("" to send it)."""

    key: str
    kind: str
    due_on: dt.date
    intake_id: int | None = None
    staff_id: int | None = None
    appointment: dt.date | None = None
    #: The session the instructions are dated against (instruction and day-before reminders).
    session: dt.date | None = None
    started: bool = False
    #: A form reminder about answers a practitioner asked for again (the intake was reopened).
    reopened: bool = False
    instructions: tuple[TimedInstruction, ...] = field(default=())
    skip: str = ""


def local_now(now: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    """``now`` (aware) in the clinic's time zone."""
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    return now.astimezone(zone)


def _on_time(local: dt.datetime, day: dt.date, hour: int) -> bool:
    """Whether ``local`` is on ``day``, at ``hour`` or later."""
    return local.date() == day and local.hour >= hour


def _skip(facts: IntakeFacts) -> str:
    """Why a patient's reminder goes unsent: every one carries a link, which staff may have revoked."""
    if facts.stopped:
        return Skip.STOPPED
    if not facts.has_email:
        return Skip.NO_EMAIL
    if facts.link_revoked:
        return Skip.LINK_REVOKED
    return ""


def unsubmitted_due(facts: IntakeFacts, local: dt.datetime, settings: ReminderSettings,
                    zone: dt.tzinfo) -> list[Due]:
    """A form not sent, N days before the appointment: an invited patient's draft (not on the day they were
    invited), or an intake reopened for more answers (not on the day it was reopened).

    A reopened intake's keys name the decision that reopened it: the reminders sent about the first
    form do not stand in for these, and a second reopening is reminded afresh.
    """
    if facts.appointment is None:
        return []
    if facts.stage == Stage.DRAFT and facts.invited_at is not None:
        since, suffix = facts.invited_at, ""
    elif facts.stage == Stage.REOPENED and facts.reopened_at is not None and facts.reopened_by is not None:
        since, suffix = facts.reopened_at, f":reopened{facts.reopened_by}"
    else:
        return []
    since_day = local_now(since, zone).date()
    found = []
    for days in sorted(set(settings.unsubmitted_days), reverse=True):
        day = facts.appointment - dt.timedelta(days=days)
        if _on_time(local, day, settings.unsubmitted_hour) and since_day < day:
            found.append(Due(f"{facts.intake_id}:{Kind.UNSUBMITTED}:{day}:{facts.appointment}{suffix}",
                             Kind.UNSUBMITTED, day, facts.intake_id, appointment=facts.appointment,
                             started=facts.started, reopened=facts.stage == Stage.REOPENED, skip=_skip(facts)))
    return found


def next_session(facts: IntakeFacts, today: dt.date) -> dt.date | None:
    """The session the patient's instructions are dated against today (as their status page dates them)."""
    return next_session_on(facts.plan, facts.appointment, today, not_before=facts.not_before)


def instruction_due(facts: IntakeFacts, local: dt.datetime, settings: ReminderSettings) -> list[Due]:
    """The dated instructions starting today, in one reminder (dated against the next session)."""
    if not settings.instructions or facts.stage not in INSTRUCTED:
        return []
    today = local.date()
    session = next_session(facts, today)
    if session is None or local.hour < settings.instruction_hour:
        return []
    starting = tuple(item for item in facts.instructions
                     if item.days_before is not None and session - dt.timedelta(days=item.days_before) == today)
    if not starting:
        return []
    return [Due(f"{facts.intake_id}:{Kind.INSTRUCTION}:{today}:{session}", Kind.INSTRUCTION, today,
                facts.intake_id, appointment=facts.appointment, session=session, instructions=starting,
                skip=_skip(facts))]


def day_before_due(facts: IntakeFacts, local: dt.datetime, settings: ReminderSettings) -> list[Due]:
    """The day before the appointment: the date, every instruction (what to avoid), the check-in link."""
    if not settings.day_before or facts.stage not in EXPECTED or facts.appointment is None:
        return []
    day = facts.appointment - dt.timedelta(days=1)
    if not _on_time(local, day, settings.day_before_hour):
        return []
    return [Due(f"{facts.intake_id}:{Kind.DAY_BEFORE}:{day}:{facts.appointment}", Kind.DAY_BEFORE, day,
                facts.intake_id, appointment=facts.appointment, session=facts.appointment,
                instructions=facts.instructions, skip=_skip(facts))]


def digest_days(today: dt.date) -> tuple[dt.date, dt.date]:
    """The appointments the morning digest covers: today's and tomorrow's."""
    return today, today + dt.timedelta(days=1)


def digest_due(staff_ids: Iterable[int], awaiting: int, local: dt.datetime, settings: ReminderSettings) -> list[Due]:
    """One digest per member of staff each morning, when an intake for the next two days awaits review."""
    today = local.date()
    if not settings.digest or awaiting == 0 or not _on_time(local, today, settings.digest_hour):
        return []
    return [Due(f"{Kind.DIGEST}:{today}:{staff_id}", Kind.DIGEST, today, staff_id=staff_id)
            for staff_id in sorted(set(staff_ids))]


def due_reminders(intakes: Iterable[IntakeFacts], now: dt.datetime, zone: dt.tzinfo, settings: ReminderSettings,
                  *, staff_ids: Sequence[int] = (), awaiting: int = 0) -> list[Due]:
    """Every reminder due at ``now``: per intake, in intake order, then the digests."""
    local = local_now(now, zone)
    found: list[Due] = []
    for facts in intakes:
        found += unsubmitted_due(facts, local, settings, zone)
        found += instruction_due(facts, local, settings)
        found += day_before_due(facts, local, settings)
    found += digest_due(staff_ids, awaiting, local, settings)
    return found


def link_until(item: Due) -> dt.date:
    """The last day a reminder's continue link works: the day after what it leads to (the session, else the
    appointment), so a patient still reaches their page on the day and the morning after."""
    return (item.session or item.appointment or item.due_on) + dt.timedelta(days=1)
