"""Email to patients: a link to their form or their status page, through the outbox (intake.outbox)."""

from __future__ import annotations

from flask import current_app, render_template
from flask_babel import gettext

from .. import outbox
from ..extensions import db
from ..models import Intake, Notification, NotificationStatus
from ..web.clinic import clinic_identity

#: What each kind of message says in its subject: never a word of health data.
SUBJECTS = {
    "invitation": "Your consultation form for %(clinic)s",
    "more_information": "%(clinic)s has a question for you",
    "new_link": "Your new link to your consultation form at %(clinic)s",
    "decision": "News about your consultation at %(clinic)s",
}


def send_patient_link(intake: Intake, link: str, actor: str, *, reason: str = "invitation") -> Notification:
    """Put an email with a link to the patient in the outbox; the caller commits, which sends it.

    ``reason`` picks the wording: "invitation", "more_information", "new_link" (the private
    link) or "decision" (the status page's link). The email says where to look, never what
    was decided or asked: no health data in the subject or the body. Returns the message's
    Notification: after the commit, ``delivery(notification)`` says whether it went (without a
    broker it is sent during the commit; with one, a worker sends it shortly). A failure is
    logged, audited and shown on the record, never raised: staff can still copy the link,
    and a decision stands whatever the mail server does.
    """
    if not intake.email:
        notification = Notification(intake_id=intake.id, kind=reason, status=NotificationStatus.NOT_SENT,
                                    error="The patient gave no email address.", actor=actor)
        db.session.add(notification)
        return notification
    clinic = clinic_identity()
    subject = gettext(SUBJECTS.get(reason, SUBJECTS["new_link"]), clinic=clinic.name)
    body = render_template("mail/patient_link.txt", intake=intake, link=link, reason=reason, clinic=clinic,
                           days=current_app.config["PATIENT_LINK_DAYS"])
    message = outbox.enqueue(reason, intake.email, subject, body, intake_id=intake.id, actor=actor,
                             idempotency_key=outbox.idempotency_key("patient-link", reason, intake.id, link))
    return db.session.get_one(Notification, message.notification_id)


def delivery(notification: Notification) -> str:
    """After the commit, how the email went: "sent", "queued" (a worker sends it shortly), "retrying"
    (an attempt failed, another follows) or "failed" (no address, no mail server, or out of attempts)."""
    db.session.refresh(notification)
    if notification.status == NotificationStatus.SENT:
        return "sent"
    if notification.status == NotificationStatus.PENDING:
        return "retrying" if notification.error else "queued"
    return "failed"
