"""Practitioner review: the queue, the intake record, flag reviews, plan edits, signed decisions,
invitations and patient links, and the override report. Views translate HTTP to the review service."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from flask import Response as FlaskResponse
from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user
from werkzeug.wrappers import Response

from ..answers import SECTION_TITLES
from ..assessment.plan.edit import plan_bounds
from ..assessment.understood import understood_allergies, understood_medicines
from ..auth.access import StaffBlueprint, requires_role
from ..auth.queries import list_users
from ..clock import as_utc, clinic_today, now
from ..extensions import db
from ..models import Intake, ReviewStatus, Role
from ..patient.queries import link_expires_at, link_is_live, private_link, status_link
from ..patient.service import ensure_check_in_code
from ..photos.service import photos_of
from ..reminders import queries as reminder_queries
from ..reminders import service as reminder_service
from ..rulesets.active import active_ruleset
from ..web.languages import offered_tag
from ..web.templating import answer_changes, describe_answers, explain_triggers
from . import queries, service
from .forms import (
    NOTIFICATION_LABELS,
    NOTIFICATION_STATUS_LABELS,
    OUTCOME_LABELS,
    SEVERITY_LABELS,
    SORT_LABELS,
    STATUS_LABELS,
    AmendForm,
    DecisionForm,
    FlagReviewForm,
    InviteForm,
    LinkForm,
    PlanEditForm,
    QueueFilterForm,
    plan_form_class,
)
from .mail import delivery, send_patient_link
from .queries import STATUSES, QueueFilter, queue_page

blueprint = StaffBlueprint("review", __name__, url_prefix="/staff")

#: Clinical changes are a practitioner's; an admin can read the record but not decide.
practitioner_only = requires_role(Role.PRACTITIONER)


@blueprint.app_context_processor
def review_labels() -> dict[str, Any]:
    return {"status_labels": STATUS_LABELS, "severity_labels": SEVERITY_LABELS, "outcome_labels": OUTCOME_LABELS,
            "notification_labels": NOTIFICATION_LABELS, "notification_status_labels": NOTIFICATION_STATUS_LABELS}


@blueprint.get("/queue")
def show_queue() -> tuple[str, int] | str:
    """The review queue: filtered, sorted and paginated, with counts per status."""
    form = QueueFilterForm(request.args)
    if not form.validate():
        page = queue_page(QueueFilter())
        return render_template("review/queue.html", form=form, page=page, problems=form.problems(),
                               args={}, now=now(), sort_labels=SORT_LABELS, statuses=STATUSES), 400
    wanted = QueueFilter(
        status=form.status.data or ReviewStatus.AWAITING_REVIEW, severity=form.severity.data or "",
        appointment_from=form.appointment_from.data, appointment_to=form.appointment_to.data,
        search=form.q.data or "", sort=form.sort.data or "severity",
        page=request.args.get("page", 1, type=int) or 1,
    )
    args = {key: value for key, value in request.args.items() if key != "page" and value}
    return render_template("review/queue.html", form=form, page=queue_page(wanted), problems=[], args=args,
                           export_args=_export_args(wanted), now=now(), sort_labels=SORT_LABELS, statuses=STATUSES)


def _export_args(wanted: QueueFilter) -> dict[str, str]:
    """The queue's filter in the exports' names (intake/api/schemas.py IntakeFiltersSchema)."""
    args = {
        "review_status": wanted.status if wanted.status in STATUSES else "",
        "outcome": wanted.severity,
        "appointment_from": wanted.appointment_from.isoformat() if wanted.appointment_from else "",
        "appointment_to": wanted.appointment_to.isoformat() if wanted.appointment_to else "",
        "q": wanted.search,
    }
    return {key: value for key, value in args.items() if value}


def _intake(intake_id: int) -> Intake:
    intake = db.session.get(Intake, intake_id)
    if intake is None:
        abort(404)
    return intake


def _flag_forms(state: queries.ReviewState, keep: FlagReviewForm | None = None) -> dict[str, FlagReviewForm]:
    forms = {}
    for flag_state in state.flags:
        rule_id = flag_state.flag["rule_id"]
        if keep is not None and keep._prefix == f"flag-{rule_id}-":
            forms[rule_id] = keep
            continue
        form = FlagReviewForm(formdata=None, prefix=f"flag-{rule_id}")
        form.version.data = state.intake.version
        forms[rule_id] = form
    return forms


def _plan_form(state: queries.ReviewState, formdata: Any = None) -> PlanEditForm | None:
    plan = state.current_plan
    if plan_bounds(state.suggested_plan, active_ruleset().ruleset.protocols) is None or plan is None:
        return None
    areas = list((state.suggested_plan or {}).get("depth_mm") or {})
    form = plan_form_class(areas)(formdata=formdata)
    if formdata is None:
        form.version.data = state.intake.version
        form.sessions.data = plan["sessions"]
        form.interval_days.data = plan["interval_days"]
        for area in areas:
            form[f"depth_{area}_min"].data = plan["depth_mm"][area]["min"]
            form[f"depth_{area}_max"].data = plan["depth_mm"][area]["max"]
    return form


def _render_record(intake: Intake, *, status: int = 200, problems: list[Any] | None = None,
                   conflict: service.Conflict | None = None, flag_form: FlagReviewForm | None = None,
                   plan_form: PlanEditForm | None = None, decision_form: DecisionForm | None = None,
                   amend_form: AmendForm | None = None, template: str = "review/record.html") -> tuple[str, int]:
    state = queries.review_state(intake)
    if decision_form is None:
        decision_form = DecisionForm(formdata=None)
        decision_form.version.data = intake.version
        suggested_until = max((dt.date.fromisoformat(fs.flag["lifts_on"]) for fs in state.flags
                               if fs.flag.get("lifts_on")), default=None)
        decision_form.defer_until.data = suggested_until
    if amend_form is None:
        amend_form = AmendForm(formdata=None)
        amend_form.version.data = intake.version
    for kept in (flag_form, plan_form, decision_form, amend_form):
        if conflict is not None and kept is not None:
            # The typed input stays; the version moves on so saving again is a deliberate choice.
            kept.version.data = intake.version
    ruleset = active_ruleset().ruleset
    bounds = plan_bounds(state.suggested_plan, ruleset.protocols)
    class_labels = {cid: cls.label for cid, cls in ruleset.catalogue.allergens.classes.items()} \
        if ruleset.catalogue.allergens else {}
    class_labels |= {cid: cls.label for cid, cls in ruleset.lexicon.classes.items()} if ruleset.lexicon else {}
    medication_items = ((intake.answers or {}).get("medications") or {}).get("items") or []
    previous = queries.previous_assessment(intake)
    changes = answer_changes(previous.answers, intake.answers) if previous is not None and previous.answers else None
    return render_template(
        template, intake=intake, state=state, sections=describe_answers(intake.answers),
        flag_forms=_flag_forms(state, flag_form), plan_form=plan_form or _plan_form(state),
        decision_form=decision_form, amend_form=amend_form, bounds=bounds, history=queries.history(intake),
        earlier_assessments=intake.assessments[:-1], link_form=LinkForm(formdata=None),
        link_live=link_is_live(intake), link_expires_at=link_expires_at(intake),
        previous=previous, answer_changes=changes, notifications=queries.notifications(intake),
        problems=problems or [], conflict=conflict, now=now(), staff_names=_staff_names(),
        why=explain_triggers([fs.flag for fs in state.flags] + state.info, intake.answers, class_labels),
        medicines=understood_medicines(medication_items, ruleset.lexicon),
        allergies=understood_allergies((intake.answers or {}).get("allergies"), ruleset.catalogue.allergens),
        check_ins=queries.check_ins(intake),
        check_in_code=intake.check_in_code if intake.appointment_date else "",
        flag_titles=_flag_titles(intake),
        reminders=reminder_queries.reminders_of(intake),
        photos=photos_of(intake),
    ), status


def _staff_names() -> dict[str, str]:
    return {user.actor: user.display_name for user in list_users()}


def _flag_titles(intake: Intake) -> dict[str, str]:
    """Every flag's title over the intake's assessments, by rule id (the latest wins)."""
    titles: dict[str, str] = {}
    for assessment in intake.assessments:
        for flag in assessment.document.get("flags") or []:
            titles[flag["rule_id"]] = flag.get("title") or flag["rule_id"]
    return titles


@blueprint.get("/intakes/<int:intake_id>")
def show_intake(intake_id: int) -> tuple[str, int]:
    """The intake record: answers, flags, plan, decision and history. Viewing it is audited."""
    intake = _intake(intake_id)
    service.record_view(intake, current_user)
    if intake.is_submitted and intake.appointment_date:
        ensure_check_in_code(intake)  # what the patient types on the desk's tablet; staff may read it out
    return _render_record(intake)


@blueprint.get("/intakes/<int:intake_id>/print")
def print_intake(intake_id: int) -> tuple[str, int]:
    """The record laid out for paper: answers, flags, plan, decision and signature."""
    intake = _intake(intake_id)
    service.record_view(intake, current_user, "printed")
    return _render_record(intake, template="review/print.html")


def _refused(intake: Intake, refused: service.ReviewRefused, **forms: Any) -> tuple[str, int]:
    problems = [(f"#{target}" if target else None, message) for target, message in refused.problems]
    for form in forms.values():
        for target, message in refused.problems:
            field_name = target.removeprefix(form._prefix) if target else None
            if field_name and field_name in form._fields:
                form[field_name].errors = [message]
    return _render_record(intake, status=422, problems=problems, **forms)


def _conflict(intake: Intake, conflict: service.Conflict, **forms: Any) -> tuple[str, int]:
    db.session.refresh(intake)
    return _render_record(intake, status=409, conflict=conflict, **forms)


@blueprint.post("/intakes/<int:intake_id>/flags/<rule_id>")
@practitioner_only
def review_flag(intake_id: int, rule_id: str) -> Response | tuple[str, int]:
    """Acknowledge a flag, or override it with a written reason."""
    intake = _intake(intake_id)
    form = FlagReviewForm(prefix=f"flag-{rule_id}")
    if not form.validate_on_submit():
        return _render_record(intake, status=422, problems=form.problems(), flag_form=form)
    try:
        if request.form.get("action") == "override":
            service.override_flag(intake, rule_id, form.reason.data or "", current_user, form.expected_version())
            flash(gettext("Flag %(rule)s overridden.", rule=rule_id), "info")
        else:
            service.acknowledge_flag(intake, rule_id, current_user, form.expected_version())
            flash(gettext("Flag %(rule)s acknowledged.", rule=rule_id), "info")
    except service.ReviewRefused as refused:
        refused.problems = [(f"flag-{rule_id}-{t}" if t else None, m) for t, m in refused.problems]
        return _refused(intake, refused, flag_form=form)
    except service.Conflict as conflict:
        return _conflict(intake, conflict, flag_form=form)
    return redirect(url_for("review.show_intake", intake_id=intake.id, _anchor="flags"))


@blueprint.post("/intakes/<int:intake_id>/plan")
@practitioner_only
def edit_plan(intake_id: int) -> Response | tuple[str, int]:
    """Change the suggested plan within its protocols' bounds."""
    intake = _intake(intake_id)
    state = queries.review_state(intake)
    form = _plan_form(state, formdata=request.form)
    if form is None:
        return _refused(intake, service.ReviewRefused([(None, gettext("This intake has no plan to edit."))]))
    if not form.validate_on_submit():
        return _render_record(intake, status=422, problems=form.problems(), plan_form=form)
    try:
        service.edit_plan(intake, form.values(), current_user, form.expected_version(), active_ruleset().ruleset)
    except service.ReviewRefused as refused:
        return _refused(intake, refused, plan_form=form)
    except service.Conflict as conflict:
        return _conflict(intake, conflict, plan_form=form)
    flash(gettext("Plan saved beside the suggestion."), "info")
    return redirect(url_for("review.show_intake", intake_id=intake.id, _anchor="plan"))


@blueprint.post("/intakes/<int:intake_id>/decision")
@practitioner_only
def record_decision(intake_id: int) -> Response | tuple[str, int]:
    """Sign a decision on the intake."""
    intake = _intake(intake_id)
    form = DecisionForm()
    if not form.validate_on_submit():
        return _render_record(intake, status=422, problems=form.problems(), decision_form=form)
    try:
        signed = service.record_decision(
            intake, form.outcome.data or "", current_user, form.expected_version(), today=clinic_today(),
            defer_until=form.defer_until.data, question=form.question.data or "", note=form.note.data or "",
            patient_message=form.patient_message.data or "", reopen=form.reopen.data or [],
        )
    except service.ReviewRefused as refused:
        return _refused(intake, refused, decision_form=form)
    except service.Conflict as conflict:
        return _conflict(intake, conflict, decision_form=form)
    token = signed.patient_link_token
    if token:
        # The patient needs the new link to answer: show it once, and email it.
        notification = send_patient_link(intake, private_link(token), current_user.actor, reason="more_information")
        db.session.commit()
        return render_link(intake, token, reason="more_information", emailed=delivery(notification))
    # The decision stands whatever the mail server does; a failure shows on the record.
    link = status_link(service.issue_status_link(intake, current_user.actor)) if intake.email else ""
    notification = send_patient_link(intake, link, current_user.actor, reason="decision")
    db.session.commit()
    emailed = delivery(notification)
    if emailed == "sent":
        flash(gettext("Decision recorded and signed. The patient was emailed a link to see it."), "info")
    elif emailed == "queued":
        flash(gettext("Decision recorded and signed. An email with a link to see it is on its way to the patient: "
                      "see Messages to the patient below."), "info")
    else:
        flash(gettext("Decision recorded and signed. The patient could not be emailed: see Messages to the "
                      "patient below, and tell them another way."), "error")
    return redirect(url_for("review.show_intake", intake_id=intake.id, _anchor="decision"))


@blueprint.post("/intakes/<int:intake_id>/amend")
@practitioner_only
def amend_decision(intake_id: int) -> Response | tuple[str, int]:
    """Open the signed decision for amendment, with the reason: the record may change until the new one is signed."""
    intake = _intake(intake_id)
    form = AmendForm()
    if not form.validate_on_submit():
        return _render_record(intake, status=422, problems=form.problems(), amend_form=form)
    try:
        service.start_amendment(intake, form.amendment_reason.data or "", current_user, form.expected_version())
    except service.ReviewRefused as refused:
        return _refused(intake, refused, amend_form=form)
    except service.Conflict as conflict:
        return _conflict(intake, conflict, amend_form=form)
    flash(gettext("The decision is open for amendment. It stays in force until you sign the new one."), "info")
    return redirect(url_for("review.show_intake", intake_id=intake.id, _anchor="decision"))


# --- invitations and patient links ----------------------------------------------------------------


def render_link(intake: Intake, token: str, *, reason: str, emailed: str | None) -> Response:
    """The page that shows a freshly issued private link, once (only its hash is stored)."""
    response = make_response(render_template(
        "review/link.html", intake=intake, private_link=private_link(token), reason=reason, emailed=emailed,
        expires_at=link_expires_at(intake)))
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
    if form.appointment_date.data < clinic_today():
        form.appointment_date.errors = [gettext("The appointment date is in the past.")]
        return render_template("review/invite.html", form=form, problems=form.problems()), 422
    intake, token = service.invite_patient(form.full_name.data.strip(), form.email.data.strip(),
                                              form.appointment_date.data, current_user.actor,
                                              language=offered_tag(form.language.data) or "")
    emailed = None
    if form.send_email.data:
        notification = send_patient_link(intake, private_link(token), current_user.actor, reason="invitation")
        db.session.commit()
        emailed = delivery(notification)
    return render_link(intake, token, reason="invitation", emailed=emailed)


@blueprint.post("/intakes/<int:intake_id>/link/new")
def new_link(intake_id: int) -> Any:
    """Issue the patient a new private link (the old one stops working), to copy or email."""
    intake = _intake(intake_id)
    form = LinkForm()
    if not form.validate_on_submit():
        abort(400)
    token = service.issue_new_link(intake, current_user.actor)
    emailed = None
    if form.send_email.data:
        notification = send_patient_link(intake, private_link(token), current_user.actor, reason="new_link")
        db.session.commit()
        emailed = delivery(notification)
    return render_link(intake, token, reason="new_link", emailed=emailed)


@blueprint.post("/intakes/<int:intake_id>/link/revoke")
def revoke_link(intake_id: int) -> Response:
    """Stop the patient's private link from working."""
    intake = _intake(intake_id)
    form = LinkForm()
    if not form.validate_on_submit():
        abort(400)
    service.revoke_link(intake, current_user.actor)
    flash(gettext("The patient's link no longer works. Issue a new one to let them in again."), "info")
    return redirect(url_for("review.show_intake", intake_id=intake.id, _anchor="patient-link"))


@blueprint.post("/intakes/<int:intake_id>/reminders/resume")
def resume_reminders(intake_id: int) -> Response:
    """Send the patient reminders again after they stopped them (at their request)."""
    intake = _intake(intake_id)
    form = LinkForm()
    if not form.validate_on_submit():
        abort(400)
    if reminder_service.resume(intake, current_user.actor):
        flash(gettext("Reminders to the patient are on again."), "info")
    return redirect(url_for("review.show_intake", intake_id=intake.id, _anchor="reminders"))


# --- reports -------------------------------------------------------------------------------------


@blueprint.get("/reports/overrides")
def show_override_report() -> str:
    """Per rule: times flagged, acknowledged, overridden and the override rate."""
    return render_template("review/overrides.html", rows=queries.override_report())


@blueprint.get("/reports/overrides.csv")
def export_override_report() -> FlaskResponse:
    """The override report as CSV (one row per rule)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["rule_id", "flagged", "acknowledged", "overridden", "override_rate"])
    for row in queries.override_report():
        rate = "" if row.override_rate is None else f"{row.override_rate:.3f}"
        writer.writerow([row.rule_id, row.flagged, row.acknowledged, row.overridden, rate])
    service.record_report_export(current_user)
    return FlaskResponse(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="override-report.csv"'})


@blueprint.app_template_filter("age")
def age(value: dt.datetime | None, now: dt.datetime) -> str:
    """How long ago, in the largest whole unit: "3 days", "5 hours", "12 minutes"."""
    if value is None:
        return ""
    seconds = max(0, (now - (as_utc(value) or now)).total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return gettext("less than a minute")


@blueprint.app_template_filter("section_title")
def section_title(section: str) -> str:
    """The translated title of an answers section ("health" → "Your health")."""
    return gettext(SECTION_TITLES.get(section, section))
