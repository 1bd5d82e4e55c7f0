"""Mail backends of the outbox: MAIL_BACKEND=none refuses to send (intake.outbox)."""

from __future__ import annotations

from flask_mailman import EmailMessage
from flask_mailman.backends.base import BaseEmailBackend


class EmailNotConfigured(RuntimeError):
    """No mail server is set up: the message was not sent (staff copy the link from the page)."""


class NotConfiguredEmailBackend(BaseEmailBackend):
    """MAIL_BACKEND=none (production's default without MAIL_SERVER): refuses to send, never logs a message.

    Production never falls back to printing email to the log, which would write patients'
    private links there; a send fails at once (no retry can help), is audited, and the page
    tells staff to copy the link.
    """

    def send_messages(self, email_messages: list[EmailMessage]) -> int:
        if email_messages:
            raise EmailNotConfigured("email is not set up (MAIL_SERVER is not set)")
        return 0
