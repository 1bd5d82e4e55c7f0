"""The review queue and the intake record: views translate HTTP to the review operations."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user
from werkzeug.wrappers import Response

from ..auth import service as accounts
from ..auth.access import requires_role
from ..auth.models import Role, as_utc
from ..extensions import db
from ..models import Intake
from ..operations import clinic_today, link_expires_at, link_is_live
from ..patient.views import private_link
from ..ruleset import active_ruleset
from ..templating import describe_answers
from . import blueprint, service
from .forms import (
    OUTCOME_LABELS,
    SEVERITY_LABELS,
    SORT_LABELS,
    STATUS_LABELS,
    DecisionForm,
    FlagReviewForm,
    LinkForm,
    PlanEditForm,
    QueueFilterForm,
    plan_form_class,
)
from .queue import STATUSES, QueueFilter, queue_page

#: Clinical changes are a practitioner's; an admin can read the record but not decide.
practitioner_only = requires_role(Role.PRACTITIONER)


@blueprint.app_context_processor
def review_labels() -> dict[str, Any]:
    return {"status_labels": STATUS_LABELS, "severity_labels": SEVERITY_LABELS, "outcome_labels": OUTCOME_LABELS}


@blueprint.get("/queue")
def show_queue() -> tuple[str, int] | str:
    """The review queue: filtered, sorted and paginated, with counts per status."""
    form = QueueFilterForm(request.args)
    if not form.validate():
        page = queue_page(QueueFilter())
        return render_template("review/queue.html", form=form, page=page, problems=form.problems(),
                               args={}, now=accounts.now(), sort_labels=SORT_LABELS, statuses=STATUSES), 400
    wanted = QueueFilter(
        status=form.status.data or "awaiting_review", severity=form.severity.data or "",
        appointment_from=form.appointment_from.data, appointment_to=form.appointment_to.data,
        search=form.q.data or "", sort=form.sort.data or "severity",
        page=request.args.get("page", 1, type=int) or 1,
    )
    args = {key: value for key, value in request.args.items() if key != "page" and value}
    return render_template("review/queue.html", form=form, page=queue_page(wanted), problems=[], args=args,
                           now=accounts.now(), sort_labels=SORT_LABELS, statuses=STATUSES)


def _intake(intake_id: int) -> Intake:
    intake = db.session.get(Intake, intake_id)
    if intake is None:
        abort(404)
    return intake


def _flag_forms(state: service.ReviewState, keep: FlagReviewForm | None = None) -> dict[str, FlagReviewForm]:
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


def _plan_form(state: service.ReviewState, formdata: Any = None) -> PlanEditForm | None:
    plan = state.current_plan
    if service.plan_bounds(state.suggested_plan, active_ruleset()) is None or plan is None:
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
                   template: str = "review/record.html") -> tuple[str, int]:
    state = service.review_state(intake)
    if decision_form is None:
        decision_form = DecisionForm(formdata=None)
        decision_form.version.data = intake.version
    for kept in (flag_form, plan_form, decision_form):
        if conflict is not None and kept is not None:
            # The typed input stays; the version moves on so saving again is a deliberate choice.
            kept.version.data = intake.version
    bounds = service.plan_bounds(state.suggested_plan, active_ruleset())
    return render_template(
        template, intake=intake, state=state, sections=describe_answers(intake.answers),
        flag_forms=_flag_forms(state, flag_form), plan_form=plan_form or _plan_form(state),
        decision_form=decision_form, bounds=bounds, history=service.history(intake),
        earlier_assessments=intake.assessments[:-1], link_form=LinkForm(formdata=None),
        link_live=link_is_live(intake), link_expires_at=link_expires_at(intake),
        problems=problems or [], conflict=conflict, now=accounts.now(), staff_names=_staff_names(),
    ), status


def _staff_names() -> dict[str, str]:
    return {user.actor: user.display_name for user in accounts.list_users()}


@blueprint.get("/intakes/<int:intake_id>")
def show_intake(intake_id: int) -> tuple[str, int]:
    """The intake record: answers, flags, plan, decision and history. Viewing it is audited."""
    intake = _intake(intake_id)
    service.record_view(intake, current_user)
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
    state = service.review_state(intake)
    form = _plan_form(state, formdata=request.form)
    if form is None:
        return _refused(intake, service.ReviewRefused([(None, gettext("This intake has no plan to edit."))]))
    if not form.validate_on_submit():
        return _render_record(intake, status=422, problems=form.problems(), plan_form=form)
    try:
        service.edit_plan(intake, form.values(), current_user, form.expected_version(), active_ruleset())
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
        decision = service.record_decision(
            intake, form.outcome.data or "", current_user, form.expected_version(), today=clinic_today(),
            defer_until=form.defer_until.data, question=form.question.data or "", note=form.note.data or "",
            reopen=form.reopen.data or [],
        )
    except service.ReviewRefused as refused:
        return _refused(intake, refused, decision_form=form)
    except service.Conflict as conflict:
        return _conflict(intake, conflict, decision_form=form)
    token = getattr(decision, "patient_link_token", None)
    if token:
        # The patient needs the new link to answer: show it once, and email it.
        from .invitations import render_link, send_patient_link

        emailed = send_patient_link(intake, private_link(token), current_user.actor, reason="more_information",
                                    question=decision.question)
        db.session.commit()
        return render_link(intake, token, reason="more_information", emailed=emailed)
    flash(gettext("Decision recorded and signed."), "info")
    return redirect(url_for("review.show_intake", intake_id=intake.id, _anchor="decision"))


@blueprint.app_template_filter("age")
def age(value: dt.datetime | None, now: dt.datetime) -> str:
    """How long ago, in the largest whole unit: "3 days", "5 hours", "12 minutes"."""
    if value is None:
        return ""
    seconds = max(0, (now - as_utc(value)).total_seconds())  # type: ignore[operator]
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return gettext("less than a minute")


@blueprint.app_template_filter("section_title")
def section_title(section: str) -> str:
    """The translated title of an answers section ("health" → "Your health")."""
    from ..answers import SECTION_TITLES

    return gettext(SECTION_TITLES.get(section, section))
