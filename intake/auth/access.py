"""Who may open staff pages.

Every view of a ``StaffBlueprint`` needs a signed-in, active member of staff with one of
the blueprint's roles; a view is opened to everyone only by marking it ``@public``, and
narrowed with ``@requires_role``. The check is the blueprint's, not the view's, so a new
page cannot forget it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext
from flask_login import current_user, logout_user
from werkzeug.wrappers import Response

from ..clock import now as clock_now
from ..models import Role
from . import service, session_store

View = TypeVar("View", bound=Callable[..., Any])

#: When the signed-in member of staff last made a request (UTC epoch seconds).
LAST_SEEN_KEY = "staff_last_seen"
MAX_NEXT_LENGTH = 2000


def public(view: View) -> View:
    """Open a view of a StaffBlueprint to anyone (the sign-in page)."""
    view.staff_public = True  # type: ignore[attr-defined]  # a mark the blueprint's check reads
    return view


def requires_role(*roles: Role) -> Callable[[View], View]:
    """Narrow a view to members of staff with one of ``roles``; others get 403."""

    def mark(view: View) -> View:
        view.staff_roles = frozenset(roles)  # type: ignore[attr-defined]  # a mark the blueprint's check reads
        return view

    return mark


admin_required = requires_role(Role.ADMIN)


class StaffBlueprint(Blueprint):
    """A blueprint whose views are for signed-in staff (any role unless ``roles`` narrows it)."""

    def __init__(self, name: str, import_name: str, *, roles: Iterable[Role] = tuple(Role), **kwargs: Any):
        super().__init__(name, import_name, **kwargs)
        self.roles = frozenset(roles)
        self.before_request(self._check_access)
        self.register_error_handler(403, _forbidden)

    def _check_access(self) -> Response | None:
        view = current_app.view_functions.get(request.endpoint or "")
        if getattr(view, "staff_public", False):
            return None
        if not current_user.is_authenticated:
            return redirect(sign_in_url())
        allowed = getattr(view, "staff_roles", None) or self.roles
        if current_user.role not in allowed:
            abort(403)
        return None


def sign_in_url() -> str:
    """The sign-in page, coming back here afterwards when here is a page one can come back to."""
    if request.method in ("GET", "HEAD"):
        here = request.full_path if request.query_string else request.path
        return url_for("auth.sign_in", next=here)
    return url_for("auth.sign_in")


def safe_next(target: str | None) -> str | None:
    """``target`` when it is a path on this site, otherwise None (no open redirects)."""
    if not target or len(target) > MAX_NEXT_LENGTH:
        return None
    # Browsers read "/\evil.example" and "/\t/evil.example" as another host.
    if "\\" in target or any(ord(character) < 32 or ord(character) == 127 for character in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def enforce_staff_session() -> None:
    """End a staff session that has been idle too long, or whose account was deactivated or changed.

    Runs before every request of the app, so an ended session is over everywhere.
    """
    if "_user_id" not in session:
        return
    now = clock_now()
    user = current_user._get_current_object()  # with its server-side session, one query (load_staff_user)
    record = session_store.find(session.get(session_store.TOKEN_KEY))
    if record is None or user.is_anonymous or record.staff_user_id != user.id:
        # Signed out (a copy of the cookie kept from before), the password was changed since
        # this session signed in, or the account is gone.
        end_session("ended")
        flash(gettext("Your session has ended. Please sign in again."), "info")
        return
    if not user.is_active:
        service.record_sign_out(user, "deactivated")
        end_session("deactivated")
        flash(gettext("This account is deactivated — ask your clinic admin."), "error")
        return
    if session_store.expired(record, now):
        service.record_sign_out(user, "expired")
        end_session("expired")
        hours = current_app.config["STAFF_SESSION_MAX_HOURS"]
        flash(gettext("You were signed in for %(hours)s hours, the longest a session lasts. Please sign in again.",
                      hours=hours), "info")
        return
    lifetime: dt.timedelta = current_app.config["STAFF_SESSION_LIFETIME"]
    last_seen = session.get(LAST_SEEN_KEY)
    if (
        not isinstance(last_seen, int | float)
        or now - dt.datetime.fromtimestamp(last_seen, dt.UTC) > lifetime
    ):
        service.record_sign_out(user, "inactive")
        end_session("inactive")
        minutes = round(lifetime.total_seconds() / 60)
        flash(
            gettext(
                "You were signed out after %(minutes)d minutes without activity. Please sign in again.",
                minutes=minutes,
            ),
            "info",
        )
        return
    touch_session(now)


def touch_session(now: dt.datetime) -> None:
    """Keep the session alive for another lifetime from ``now``."""
    session.permanent = True
    session[LAST_SEEN_KEY] = int(now.timestamp())


def end_session(reason: str = "requested") -> None:
    """Sign out, end the server-side session (a kept copy of the cookie opens nothing) and forget the cookie."""
    token = session.get(session_store.TOKEN_KEY)
    if token:
        session_store.close(token, reason, clock_now())
        from ..extensions import db

        db.session.commit()
    logout_user()
    session.clear()


def _forbidden(_error: Exception) -> tuple[str, int]:
    return render_template("auth/forbidden.html"), 403
