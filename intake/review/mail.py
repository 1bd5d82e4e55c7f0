"""Email to patients: their private link, sent through Flask-Mailman (MAIL_* settings)."""

from __future__ import annotations

from flask import current_app, render_template
from flask_babel import gettext
from flask_mailman import EmailMessage
from flask_mailman.backends.base import BaseEmailBackend

from ..audit import record
from ..models import Intake


def send_patient_link(intake: Intake, link: str, actor: str, *, reason: str = "invitation",
                      question: str = "") -> bool:
    """Email the patient their private link; True when sent. The caller commits the audit entry.

    ``reason``: "invitation", "more_information" or "new_link" (picks the wording).
    A failure to send is logged and audited, never raised: the staff member can still copy the link.
    """
    if not intake.email:
        return False
    clinic = current_app.config["CLINIC_NAME"]
    subjects = {
        "invitation": gettext("Your consultation form for %(clinic)s", clinic=clinic),
        "more_information": gettext("%(clinic)s needs a little more information", clinic=clinic),
        "new_link": gettext("Your new link to your consultation form at %(clinic)s", clinic=clinic),
    }
    body = render_template("mail/patient_link.txt", intake=intake, link=link, reason=reason, question=question,
                           clinic=clinic, days=current_app.config["PATIENT_LINK_DAYS"])
    message = EmailMessage(subject=subjects.get(reason, subjects["new_link"]), body=body,
                           from_email=current_app.config["MAIL_DEFAULT_SENDER"], to=[intake.email])
    try:
        message.send()
    except Exception as error:  # noqa: BLE001 - any transport failure: log it, let staff copy the link
        current_app.logger.warning("Could not email intake %s: %s", intake.id, error)
        record(actor, "link.email_failed", intake, f"Email to the patient failed ({reason})", reason=reason)
        return False
    record(actor, "link.emailed", intake, f"Private link emailed to the patient ({reason})", reason=reason)
    return True


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
