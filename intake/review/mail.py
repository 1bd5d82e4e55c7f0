"""Email to patients: a link to their form or their status page, sent through Flask-Mailman (MAIL_* settings)."""

from __future__ import annotations

from flask import current_app, render_template
from flask_babel import force_locale, gettext
from flask_mailman import EmailMessage
from flask_mailman.backends.base import BaseEmailBackend

from ..answers.vocabulary import N_
from ..audit import record
from ..config import babel_locale
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


def send_patient_link(intake: Intake, link: str, actor: str, *, reason: str = "invitation") -> bool:
    """Email the patient a link; True when sent. The caller commits the audit entry and the notification.

    ``reason`` picks the wording: "invitation", "more_information", "new_link" (the private
    link) or "decision" (the status page's link). The email says where to look, never what
    was decided or asked: no health data in the subject or the body. A failure to send is
    logged, audited and kept as a failed Notification (shown on the record), never raised:
    staff can still copy the link, and a decision stands whatever the mail server does.
    """
    if not intake.email:
        db.session.add(Notification(intake_id=intake.id, kind=reason, status=NotificationStatus.NOT_SENT,
                                    error="The patient gave no email address.", actor=actor))
        return False
    clinic = clinic_identity()
    # In the patient's language (staff pages are in the clinic's): the one stored on the intake.
    tag = offered_tag(intake.language) or current_app.config["BABEL_DEFAULT_LOCALE"]
    with force_locale(babel_locale(tag)):
        subject = gettext(SUBJECTS.get(reason, SUBJECTS["new_link"]), clinic=clinic.name)
        body = render_template("mail/patient_link.txt", intake=intake, link=link, reason=reason, clinic=clinic,
                               days=current_app.config["PATIENT_LINK_DAYS"])
    message = EmailMessage(subject=subject, body=body, from_email=current_app.config["MAIL_DEFAULT_SENDER"],
                           to=[intake.email], headers={"Content-Language": tag})
    try:
        message.send()
    except Exception as error:  # noqa: BLE001 - any transport failure: log it, record it, let staff copy the link
        current_app.logger.warning("Could not email intake %s: %s", intake.id, error)
        failed = EmailNotConfigured.__name__ if isinstance(error, EmailNotConfigured) else type(error).__name__
        db.session.add(Notification(intake_id=intake.id, kind=reason, status=NotificationStatus.FAILED,
                                    error=f"{failed}: {error}"[:300], actor=actor))
        record(actor, "link.email_failed", intake, f"Email to the patient failed ({reason})", reason=reason)
        return False
    db.session.add(Notification(intake_id=intake.id, kind=reason, status=NotificationStatus.SENT, actor=actor))
    record(actor, "link.emailed", intake, f"Email with a link sent to the patient ({reason})", reason=reason)
    return True


def send_email(to: str, subject: str, body: str, headers: dict[str, str] | None = None) -> None:
    """Send one plain-text email through Flask-Mailman; raises when it could not be sent (the caller records it)."""
    EmailMessage(subject=subject, body=body, from_email=current_app.config["MAIL_DEFAULT_SENDER"], to=[to],
                 headers=headers or {}).send()


def email_is_set_up() -> bool:
    """Whether a mail backend is set up (MAIL_BACKEND=none, production without MAIL_SERVER, is not)."""
    return bool(current_app.config.get("MAIL_BACKEND")) and \
        current_app.config["MAIL_BACKEND"] != f"{__name__}.{NotConfiguredEmailBackend.__name__}"


class EmailNotConfigured(RuntimeError):
    """No mail server is set up: the message was not sent (staff copy the link from the page)."""


class NotConfiguredEmailBackend(BaseEmailBackend):
    """MAIL_BACKEND=none (production's default without MAIL_SERVER): refuses to send, never logs a message.

    Production never falls back to printing email to the log, which would write patients'
    private links there; a send fails, is audited, and the page tells staff to copy the link.
    """

    def send_messages(self, email_messages: list[EmailMessage]) -> int:
        if email_messages:
            raise EmailNotConfigured("email is not set up (MAIL_SERVER is not set)")
        return 0
