"""The patient's stop link: a page that says what it does, one button, and the same page after (no JavaScript)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, redirect, render_template, request, url_for

from ..web import languages
from . import service

blueprint = Blueprint("reminders", __name__)


@blueprint.after_request
def keep_private(response: Response) -> Response:
    """The link names an intake: never cache the page, never leak the URL."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@blueprint.route("/reminders/stop/<token>", methods=["GET", "POST"])
def stop(token: str) -> Any:
    """GET asks (a mail app opening the link stops nothing); POST stops, again and again alike."""
    intake = service.intake_of_stop_token(token)
    if intake is None:
        return render_template("reminders/stop_invalid.html"), 404
    languages.remember_intake_language(intake.language)  # the page in the language of the emails it stops
    if request.method == "POST":
        service.stop(intake)
        return redirect(url_for("reminders.stop", token=token))
    return render_template("reminders/stop.html", token=token, stopped=intake.reminders_stopped_at is not None)

