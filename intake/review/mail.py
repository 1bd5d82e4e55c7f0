"""Email to patients: a link to their form or their status page, through the outbox (intake.outbox)."""

from __future__ import annotations

from flask import current_app, render_template
from flask_babel import force_locale, gettext

from .. import outbox
from ..answers.vocabulary import N_
from ..config import MAIL_BACKENDS, babel_locale
from ..extensions import db
from ..models import Intake, Notification, NotificationStatus
from ..web.clinic import clinic_identity
from ..web.languages import offered_tag

#: What each kind of message says in its subject: never a word of health data.
SUBJECTS = {
    "invitation": N_("Your consultation form for %(clinic)s"),
    "more_information": N_("%(clinic)s has a question for you"),
    "new_link": N_("Your new link to your consultation form at %(clinic)s"),
    "decision": N_("News about your consultation at %(clinic)s"),
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
    # In the patient's language (staff pages are in the clinic's): the one stored on the intake.
    tag = offered_tag(intake.language) or current_app.config["BABEL_DEFAULT_LOCALE"]
    with force_locale(babel_locale(tag)):
        subject = gettext(SUBJECTS.get(reason, SUBJECTS["new_link"]), clinic=clinic.name)
        body = render_template("mail/patient_link.txt", intake=intake, link=link, reason=reason, clinic=clinic,
                               days=current_app.config["PATIENT_LINK_DAYS"])
    message = outbox.enqueue(reason, intake.email, subject, body, intake_id=intake.id, actor=actor, language=tag,
                             idempotency_key=outbox.idempotency_key("patient-link", reason, intake.id, link))
    return db.session.get_one(Notification, message.notification_id)


def email_is_set_up() -> bool:
    """Whether a mail backend is set up (MAIL_BACKEND=none, production without MAIL_SERVER, is not)."""
    return current_app.config.get("MAIL_BACKEND") not in (None, "", MAIL_BACKENDS["none"])
def delivery(notification: Notification) -> str:
    """After the commit, how the email went: "sent", "queued" (a worker sends it shortly), "retrying"
    (an attempt failed, another follows) or "failed" (no address, no mail server, or out of attempts)."""
    db.session.refresh(notification)
    if notification.status == NotificationStatus.SENT:
        return "sent"
    if notification.status == NotificationStatus.PENDING:
        return "retrying" if notification.error else "queued"
    return "failed"
