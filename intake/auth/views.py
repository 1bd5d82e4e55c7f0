"""Sign-in, sign-out and the staff home page."""

from __future__ import annotations

import time

from flask import current_app, flash, make_response, redirect, render_template, request, session, url_for
from flask_babel import format_datetime, gettext
from flask_login import current_user, login_user
from werkzeug.wrappers import Response

from ..clock import now
from ..extensions import limiter
from ..models import StaffUser
from . import queries, service, session_store, throttle
from .access import StaffBlueprint, admin_required, end_session, enforce_staff_session, public, safe_next, touch_session
from .forms import SignInForm
from .sessions import StaffSessionInterface

blueprint = StaffBlueprint("auth", __name__, url_prefix="/staff")
blueprint.before_app_request(enforce_staff_session)
# Staff sessions need their own cookie lifetime; registering the blueprint brings it along.
blueprint.record_once(lambda state: setattr(state.app, "session_interface", StaffSessionInterface()))


def _sign_in_rate_limit() -> str:
    return current_app.config["SIGN_IN_RATE_LIMIT"]


@blueprint.route("/sign-in", methods=["GET", "POST"])
@public
@limiter.limit(_sign_in_rate_limit, methods=["POST"])
def sign_in() -> Response | str:
    """Show the sign-in form; sign a member of staff in and send them where they were going."""
    form = SignInForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next")) or ""
        if current_user.is_authenticated:
            return redirect(form.next.data or url_for("auth.home"))
    if form.validate_on_submit():
        email = queries.normalise_email(form.email.data or "")
        result = service.authenticate(email, form.password.data or "", now(), ip=request.remote_addr,
                                      known_device=throttle.is_known_device(request, email))
        if isinstance(result, StaffUser):
            _start_session(result)
            response = redirect(safe_next(form.next.data) or url_for("auth.home"))
            throttle.remember_device(request, response, email)
            return response
        problems = _refusal_problems(form, result)
    else:
        problems = list[tuple[str | None, str]](form.problems())
    # Never send a password back to the browser, even a wrong one.
    form.password.data = ""
    return render_template("auth/sign_in.html", form=form, problems=problems)


@blueprint.post("/sign-out")
def sign_out() -> Response:
    """End the session. A POST, so another site cannot sign staff out; CSRFProtect checks its token."""
    service.record_sign_out(current_user, "requested")
    end_session()
    flash(gettext("You are signed out."), "info")
    return redirect(url_for("auth.sign_in"))


@blueprint.get("/")
def home() -> str:
    """Where staff land after signing in (the review queue replaces it)."""
    return render_template("staff/home.html")


@blueprint.get("/accounts")
@admin_required
def list_accounts() -> str:
    """Clinic admins: every staff account, its role and status."""
    accounts, at = queries.list_users(), now()
    return render_template("auth/accounts.html", accounts=accounts, now=at,
                           throttled={user.id: service.throttled_until(user, at) for user in accounts})


@blueprint.errorhandler(429)
def too_many_requests(_error: Exception) -> Response:
    """A calm page instead of a bare 429 when sign-in is throttled."""
    current = limiter.current_limit
    retry_after = max(1, round(current.reset_at - time.time())) if current else 60
    response = make_response(render_template("auth/too_many_requests.html", retry_after=retry_after), 429)
    response.headers["Retry-After"] = str(retry_after)
    return response


def _start_session(user: StaffUser) -> None:
    # Nothing from before sign-in survives into the signed-in session (session fixation).
    end_session("replaced")
    token = session_store.open_session(user.id, now())
    login_user(user)
    session[session_store.TOKEN_KEY] = token
    touch_session(now())


def _refusal_problems(form: SignInForm, refused: service.SignInRefused) -> list[tuple[str | None, str]]:
    if refused.reason is service.SignInFailure.LOCKED and refused.locked_until is not None:
        return [
            (
                None,
                gettext(
                    "Too many attempts: try again at %(time)s",
                    time=format_datetime(refused.locked_until, "HH:mm"),
                ),
            )
        ]
    if refused.reason is service.SignInFailure.DEACTIVATED:
        return [(None, gettext("This account is deactivated — ask your clinic admin"))]
    # Shown at the email field, first of the two: it does not say which of them was wrong.
    message = gettext("Email or password is not right")
    form.email.errors = [message]
    return [(f"#{form.email.id}", message)]
