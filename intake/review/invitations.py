"""Invitations and patient links: staff invite a booked patient, revoke a link or issue a new one."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext
from flask_login import current_user
from werkzeug.wrappers import Response

from .. import operations
from ..extensions import db
from ..mail import send_patient_link
from ..models import Intake
from ..patient.views import private_link
from . import blueprint
from .forms import InviteForm, LinkForm


def render_link(intake: Intake, token: str, *, reason: str, emailed: bool | None) -> Response:
    """The page that shows a freshly issued private link, once (only its hash is stored)."""
    response = make_response(render_template(
        "review/link.html", intake=intake, private_link=private_link(token), reason=reason, emailed=emailed,
        expires_at=operations.link_expires_at(intake)))
    # The page holds a working patient link: keep it out of caches and Referer headers.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@blueprint.route("/invite", methods=["GET", "POST"])
def invite() -> Any:
    """Invite a booked patient: a prefilled intake and a private link to copy or email."""
    form = InviteForm()
    if not form.validate_on_submit():
        status = 422 if form.is_submitted() else 200
        return render_template("review/invite.html", form=form, problems=form.problems()), status
    if form.appointment_date.data < operations.clinic_today():
        form.appointment_date.errors = [gettext("The appointment date is in the past.")]
        return render_template("review/invite.html", form=form, problems=form.problems()), 422
    intake, token = operations.invite_patient(form.full_name.data.strip(), form.email.data.strip(),
                                              form.appointment_date.data, current_user.actor)
    emailed = None
    if form.send_email.data:
        emailed = send_patient_link(intake, private_link(token), current_user.actor, reason="invitation")
        db.session.commit()
    return render_link(intake, token, reason="invitation", emailed=emailed)


def _intake(intake_id: int) -> Intake:
    intake = db.session.get(Intake, intake_id)
    if intake is None:
        abort(404)
    return intake


@blueprint.post("/intakes/<int:intake_id>/link/new")
def new_link(intake_id: int) -> Any:
    """Issue the patient a new private link (the old one stops working), to copy or email."""
    intake = _intake(intake_id)
    form = LinkForm()
    if not form.validate_on_submit():
        abort(400)
    token = operations.issue_new_link(intake, current_user.actor)
    emailed = None
    if form.send_email.data:
        emailed = send_patient_link(intake, private_link(token), current_user.actor, reason="new_link")
        db.session.commit()
    return render_link(intake, token, reason="new_link", emailed=emailed)


@blueprint.post("/intakes/<int:intake_id>/link/revoke")
def revoke_link(intake_id: int) -> Response:
    """Stop the patient's private link from working."""
    intake = _intake(intake_id)
    form = LinkForm()
    if not form.validate_on_submit():
        abort(400)
    operations.revoke_link(intake, current_user.actor)
    flash(gettext("The patient's link no longer works. Issue a new one to let them in again."), "info")
    return redirect(url_for("review.show_intake", intake_id=intake.id, _anchor="patient-link"))
