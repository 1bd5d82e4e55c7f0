"""Session cookies: a signed-in member of staff's expires after their inactivity limit."""

from __future__ import annotations

import datetime as dt

from flask import Flask
from flask.sessions import SecureCookieSessionInterface, SessionMixin


class StaffSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the staff inactivity limit on permanent (staff) sessions.

    Only sign-in makes a session permanent, and each staff request re-sends the cookie, so the
    browser forgets it after STAFF_SESSION_LIFETIME without a request. The server checks the
    same limit itself (access.enforce_staff_session): a kept cookie is refused all the same.
    Patients' sessions stay browser sessions, as Flask makes them.
    """

    def get_expiration_time(self, app: Flask, session: SessionMixin) -> dt.datetime | None:
        if session.permanent:
            # The browser's clock decides, so this is real time, never the pinned test clock.
            return dt.datetime.now(dt.UTC) + app.config["STAFF_SESSION_LIFETIME"]
        return None
