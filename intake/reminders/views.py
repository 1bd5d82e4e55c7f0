"""The links in a patient's reminder: each a page that says what it does, one button, no JavaScript.

The stop link stops reminders (and takes a mail app's one-click unsubscribe, RFC 8058); the
continue link issues the patient a new link to their form, check-in or status page when they
press its button, so the email's arrival breaks no tab they have open.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, redirect, render_template, request, url_for

from ..clock import clinic_today
from ..extensions import csrf, db, limiter
from ..models import Intake
from ..web import languages
from ..web.ratelimits import reminder_link_limit
from . import service

blueprint = Blueprint("reminders", __name__)

#: The body a mail app's one-click unsubscribe POSTs (RFC 8058, section 3.1).
ONE_CLICK = ("List-Unsubscribe", "One-Click")


@blueprint.after_request
def keep_private(response: Response) -> Response:
    """The link names an intake: never cache the page, never leak the URL."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _one_click() -> bool:
    """Whether this POST is a mail app's one-click unsubscribe (it carries no CSRF token and wants no page)."""
    return request.method == "POST" and request.form.get(ONE_CLICK[0]) == ONE_CLICK[1]


@blueprint.route("/reminders/stop/<token>", methods=["GET", "POST"])
@csrf.exempt  # a one-click unsubscribe carries none: the signed link is its proof; a form's is checked below
@limiter.limit(reminder_link_limit)
def stop(token: str) -> Any:
    """GET asks (a mail app opening the link stops nothing); POST stops, again and again alike."""
    one_click = _one_click()
    if request.method == "POST" and not one_click:
        csrf.protect()
    intake = service.intake_of_stop_token(token)
    if intake is None:
        return render_template("reminders/stop_invalid.html"), 404
    if one_click:
        service.stop(intake)
        return Response("", 200, mimetype="text/plain")
    languages.remember_intake_language(intake.language)  # the page in the language of the emails it stops
    if request.method == "POST":
        service.stop(intake)
        return redirect(url_for("reminders.stop", token=token))
    return render_template("reminders/stop.html", token=token, stopped=intake.reminders_stopped_at is not None)


@blueprint.route("/reminders/continue/<token>", methods=["GET", "POST"])
@limiter.limit(reminder_link_limit)
def continue_intake(token: str) -> Any:
    """GET shows where the link leads and one button (a mail app's scanner issues nothing); POST issues the
    patient's new link and sends them there."""
    link = service.read_continue_token(token)
    if link is None:
        return render_template("reminders/continue_invalid.html"), 400
    intake = db.session.get(Intake, link.intake_id)
    if intake is not None:
        languages.remember_intake_language(intake.language)
    if not service.may_continue(intake):
        return render_template("reminders/continue_closed.html", expired=False), 410
    if link.until < clinic_today():
        return render_template("reminders/continue_closed.html", expired=True), 410
    assert intake is not None  # nosec B101 # narrows the type: may_continue said so
    if request.method == "POST":
        target = service.continue_intake(intake, link.purpose)
        if target is None:  # closed between the page and the press
            return render_template("reminders/continue_closed.html", expired=False), 410
        return redirect(target)
    return render_template("reminders/continue.html", token=token, purpose=link.purpose, until=link.until)
