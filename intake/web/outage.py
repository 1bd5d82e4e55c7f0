"""When the database is unreachable: a clear 503 that keeps what was typed, and a clean slate for the next request.

A lost connection surfaces as SQLAlchemy's OperationalError/InterfaceError (or a pool timeout)
wherever the request was: loading the staff member, finding the intake, saving it. The
transaction is rolled back and the session removed, so the next request starts on a fresh
connection (``pool_pre_ping`` replaces the dead ones) and the app recovers without a restart.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask, current_app, g, render_template, request
from flask_babel import gettext
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm.exc import StaleDataError

from ..extensions import db

#: Errors that mean "the database cannot take this now", not "this request is wrong": unreachable,
#: or (StaleDataError) concurrent saves of the same row that kept winning until we gave up.
OUTAGE_ERRORS = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError, StaleDataError)
RETRY_AFTER_SECONDS = 30
logger = logging.getLogger(__name__)
_UNSAVED_PAGES = "meso_unsaved_pages"
#: Draws the page just posted with what was typed, from the request alone (None: the generic page).
UnsavedPage = Callable[[dict[str, Any]], str | None]


def reset_session() -> None:
    """Forget the failed transaction and its connection, whatever state they are in."""
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - the connection may be dead; removing the session is what matters
        logger.debug("rollback after a database outage failed", exc_info=True)
    db.session.remove()


def init_app(app: Flask, unsaved_pages: Mapping[str, UnsavedPage] | None = None) -> None:
    """Answer outages with a 503; ``unsaved_pages`` redraw the POSTed form of an endpoint with what was typed."""
    app.extensions[_UNSAVED_PAGES] = dict(unsaved_pages or {})
    for error in OUTAGE_ERRORS:
        app.register_error_handler(error, database_unavailable)

    # Registered after Flask-SQLAlchemy's, so it runs before it (teardowns run in reverse): a request that
    # read and answered, then lost its connection, must not turn into a 500 when its session is closed.
    @app.teardown_appcontext
    def close_session_quietly(_error: BaseException | None) -> None:
        try:
            db.session.remove()
        except sa_exc.DBAPIError:
            # The connection is gone (SQLAlchemy invalidates it, the pool replaces it): the answer stands.
            logger.warning("closing the database session failed: connection lost", exc_info=True)
            with contextlib.suppress(sa_exc.SQLAlchemyError):
                db.session.remove()


def database_unavailable(error: Exception) -> Any:
    reset_session()
    if "_login_user" not in g:
        # The page is drawn without asking the database who is signed in (Flask-Login would).
        g._login_user = current_app.login_manager.anonymous_user()  # type: ignore[attr-defined]  # set by Flask-Login
    logger.warning("database unavailable during %s %s: %s", request.method, request.path,
                   str(error).splitlines()[0] if str(error) else type(error).__name__)
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"}
    if request.path.startswith("/api/"):
        body = {"code": 503, "status": "Service Unavailable",
                "message": "The database is unavailable; nothing was stored. Try again in a minute."}
        return body, 503, headers
    unsaved_page = current_app.extensions[_UNSAVED_PAGES].get(request.endpoint)
    if unsaved_page is not None and request.method == "POST":
        page = unsaved_page(request.view_args or {})
        if page is not None:
            return page, 503, headers
    # Any other form: its fields go back in a form that sends them again (the patient's typing is kept).
    resend = []
    if request.method == "POST":
        # Never a password back into a page; the CSRF token is issued afresh.
        resend = [(name, value) for name, value in request.form.items(multi=True)
                  if name != "csrf_token" and "password" not in name]
    page = render_template("unavailable.html", resend=resend, retry_after=RETRY_AFTER_SECONDS,
                           explanation=gettext("Nothing was lost: what you sent is kept on this page."
                                               if request.method == "POST" else
                                               "Please try again in a minute."))
    return page, 503, headers
