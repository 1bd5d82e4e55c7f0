"""Routes of the patient's intake: HTTP in, the patient service called, templates out."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask_babel import gettext
from marshmallow import ValidationError
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response as WerkzeugResponse

from ..answers import SECTION_TITLES, SECTIONS
from ..assessment.agreed import session_dates
from ..assessment.calendar import plan_to_ics
from ..clock import as_utc, clinic_today, utcnow
from ..extensions import db, limiter
from ..models import Intake, ReviewStatus
from ..rulesets.active import active_ruleset
from ..web import languages
from ..web.clinic import clinic_identity
from ..web.ratelimits import desk_code_limit, intake_start_limit, intake_submit_limit
from ..web.templating import describe_answers
from . import service
from .forms import CheckInForm, RowsField, SectionForm, check_in_form, section_form
from .queries import (
    find_intake_by_status_token,
    find_intake_by_token,
    patient_question,
    patient_status,
    private_link,
    rule_text,
)
from .summary import describe_problems, patient_plan

blueprint = Blueprint("patient", __name__)

SECTION_NAMES = list(SECTIONS)
#: Fields of a section's form that are not answers (kept out of a draft).
NOT_ANSWERS = frozenset({"csrf_token", "action"})
#: The longest reply a patient may write to a practitioner's question.
MAX_REPLY = 2000


@blueprint.after_request
def keep_private(response: Response) -> Response:
    """Patient pages carry a private link and health data: never cache them, never leak the URL."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def with_intake(view: Callable[..., Any]) -> Callable[..., Any]:
    """Open the intake of the link's token, or answer 404 — the same page for any miss."""

    @functools.wraps(view)
    def wrapper(token: str, **kwargs: Any) -> Any:
        intake = find_intake_by_token(token)
        if intake is None:
            abort(404)
        follow_language(intake)
        return view(intake, token, **kwargs)

    return wrapper


def follow_language(intake: Intake) -> None:
    """The page is in the intake's language; one picked with the switcher now is stored on it."""
    tag = languages.picked()
    if tag is not None:
        service.set_language(intake, tag)
    languages.remember_intake_language(intake.language)


def first_incomplete(intake: Intake) -> str | None:
    """The first section the patient has not completed, or None when all are."""
    done = set(intake.completed_sections or [])
    return next((section for section in SECTION_NAMES if section not in done), None)


def reachable(intake: Intake, section: str) -> bool:
    """Completed sections, and the first incomplete one; never a later one (no skipping to consent)."""
    target = first_incomplete(intake)
    return target is None or SECTION_NAMES.index(section) <= SECTION_NAMES.index(target)


@blueprint.get("/")
def start() -> str:
    """The clinic's public intake page."""
    return render_template("patient/start.html")


@blueprint.post("/start")
@limiter.limit(intake_start_limit)
def create_intake() -> WerkzeugResponse:
    """Begin a new draft and send the patient to its first section, under the private link."""
    _intake, token = service.start_intake(language=languages.current_tag())
    return redirect(url_for("patient.edit_section", token=token, section=SECTION_NAMES[0]))


@blueprint.get("/i/<token>")
@with_intake
def show_intake(intake: Intake, token: str) -> Any:
    """The private link: the confirmation once submitted, otherwise where the patient left off."""
    if intake.is_reopened:
        return redirect(url_for("patient.review_intake", token=token))
    if not intake.is_submitted:
        section = first_incomplete(intake)
        if section is None:
            return redirect(url_for("patient.review_intake", token=token))
        return redirect(url_for("patient.edit_section", token=token, section=section))
    service.record_confirmation_viewed(intake)
    return render_status(intake, token, private=True)


def render_status(intake: Intake, token: str, *, private: bool) -> str:
    """The status page: the truth about the intake now (awaiting review, a question, the decision).

    ``private``: opened with the patient's private link (which can answer a question and
    shows the link); otherwise with the read-only status link of a notification.
    """
    status = patient_status(intake, clinic_today())
    ics = "patient.download_plan" if private else "patient.download_status_plan"
    plan = patient_plan({"plan": status.plan}) if status.plan else None
    return render_template(
        "patient/status.html",
        intake=intake,
        token=token,
        status=status,
        plan=plan,
        ics_url=url_for(ics, token=token) if plan and plan.get("schedule") else None,
        question=(status.decision.question if status.decision else "") or patient_question(intake),
        answer_url=url_for("patient.review_intake", token=token) if private and intake.is_reopened else None,
        private_link=private_link(token) if private else None,
        summary=describe_answers(intake.answers),
        check_in=_check_in_notice(intake, token) if private else None,
    )


def _check_in_notice(intake: Intake, token: str) -> dict[str, Any] | None:
    """What the status page says about the check-in: when it opens, the link while open, when it was done."""
    opens = service.check_in_opens(intake)
    if opens is None or intake.review_status in (ReviewStatus.NOT_SUITABLE, ReviewStatus.DEFERRED):
        return None  # no session to check in for
    today = clinic_today()
    return {"first": opens[0], "last": opens[1], "open": opens[0] <= today <= opens[1], "closed": today > opens[1],
            "url": url_for("patient.check_in", token=token), "done_at": intake.checked_in_at,
            "code": service.ensure_check_in_code(intake) if today <= opens[1] else ""}


@blueprint.get("/s/<token>")
def show_status(token: str) -> Any:
    """The read-only status page a notification links to: what was decided, and what to do."""
    intake = find_intake_by_status_token(token)
    if intake is None or not intake.is_submitted:
        abort(404)
    follow_language(intake)
    service.record_status_viewed(intake)
    return render_status(intake, token, private=False)


@blueprint.route("/i/<token>/check-in", methods=["GET", "POST"])
@with_intake
def check_in(intake: Intake, token: str) -> Any:
    """The appointment-day check-in: open from two days before the appointment to its end."""
    today = clinic_today()
    opens = service.check_in_opens(intake)
    if opens is None or not opens[0] <= today <= opens[1]:
        return render_template("patient/check_in_closed.html", intake=intake, token=token, opens=opens,
                               today=today), 200
    answers_so_far = dict(intake.answers or {})
    if request.method == "GET":
        form = check_in_form(answers_so_far, formdata=None)
        return render_check_in(intake, token, form)
    form = check_in_form(answers_so_far)
    loaded = form.check(today, answers_so_far)
    if loaded is None:
        return render_check_in(intake, token, form)
    try:
        row = service.check_in(intake, loaded, active_ruleset(), today)
    except ValidationError as invalid:  # the document the check-in makes does not hold together
        db.session.rollback()
        messages = invalid.messages if isinstance(invalid.messages, dict) else {"_schema": invalid.messages}
        return render_check_in(intake, token, form, describe_problems(messages, intake.answers or {}, token))
    except (service.CheckInClosed, service.CheckInConflict):
        db.session.rollback()
        return redirect(url_for("patient.check_in", token=token))
    return redirect(url_for("patient.show_intake", token=token, checked_in=row.id))


def render_check_in(intake: Intake, token: str, form: CheckInForm,
                    problems: list[tuple[str, str]] | None = None, desk_code: str = "") -> str:
    return render_template("patient/check_in.html", intake=intake, token=token, form=form,
                           problems=problems if problems is not None else form.problems(),
                           action_url=url_for("patient.desk_check_in") if desk_code else url_for(
                               "patient.check_in", token=token),
                           desk_code=desk_code)


# -- the front-desk tablet: the same check-in, reached by the appointment's code ------------


def _desk_intake(typed: str) -> Intake | None:
    """The intake of a code typed at the desk, if its check-in is open today (else None, saying nothing)."""
    intake = service.find_by_check_in_code(typed)
    if intake is None:
        return None
    opens = service.check_in_opens(intake)
    return intake if opens is not None and opens[0] <= clinic_today() <= opens[1] else None


@blueprint.route("/desk", methods=["GET", "POST"])
@limiter.limit(desk_code_limit, methods=["POST"])
def desk() -> Any:
    """The clinic's tablet: the patient types the code of their appointment to check in."""
    if request.method == "GET":
        return render_template("patient/desk.html", code="", problem=None)
    typed = (request.form.get("code") or "").strip()[:20]
    intake = _desk_intake(typed)
    if intake is None:
        # One answer for a wrong code, another patient's day, or a closed check-in: nothing to learn from it.
        problem = gettext("That code does not open a check-in today. Check the code, or ask at the desk.")
        return render_template("patient/desk.html", code=typed, problem=problem), 200
    form = check_in_form(dict(intake.answers or {}), formdata=None)
    return render_check_in(intake, "", form, desk_code=typed)


@blueprint.post("/desk/check-in")
@limiter.limit(desk_code_limit)
def desk_check_in() -> Any:
    """The check-in sent from the tablet (the code travels with the form)."""
    typed = (request.form.get("desk_code") or "").strip()[:20]
    intake = _desk_intake(typed)
    if intake is None:
        problem = gettext("That code does not open a check-in today. Check the code, or ask at the desk.")
        return render_template("patient/desk.html", code="", problem=problem), 200
    today = clinic_today()
    answers_so_far = dict(intake.answers or {})
    form = check_in_form(answers_so_far)
    loaded = form.check(today, answers_so_far)
    if loaded is None:
        return render_check_in(intake, "", form, desk_code=typed)
    try:
        service.check_in(intake, loaded, active_ruleset(), today, actor="desk")
    except (ValidationError, service.CheckInClosed, service.CheckInConflict):
        db.session.rollback()
        problem = gettext("Your check-in could not be saved. Please ask at the desk.")
        return render_template("patient/desk.html", code="", problem=problem), 200
    return render_template("patient/desk_done.html")


@blueprint.route("/i/<token>/<section>", methods=["GET", "POST"])
@with_intake
def edit_section(intake: Intake, token: str, section: str) -> Any:
    """One section of the form: show it filled with what was saved, or take the patient's answers."""
    if section not in SECTIONS:
        abort(404)
    if not intake.may_edit(section):
        return redirect(url_for("patient.show_intake", token=token))
    if not intake.is_reopened and not reachable(intake, section):
        return redirect(url_for("patient.edit_section", token=token, section=first_incomplete(intake)))
    answers_so_far = dict(intake.answers or {})
    if request.method == "GET":
        draft = (intake.drafts or {}).get(section)
        if draft:
            # Saved for later before it was finished: what was typed, with what still needs doing.
            form = section_form(section, answers_so_far, formdata=MultiDict(draft))
            form.check(clinic_today(), answers_so_far)
            return render_section(intake, token, form, unfinished=True)
        form = section_form(section, answers_so_far, formdata=None)
        form.fill(answers_so_far.get(section) or {})
        return render_section(intake, token, form)

    action = request.form.get("action", "continue")
    verb, _sep, target = action.partition(":")
    if verb in ("add", "remove"):
        return change_rows(intake, token, section, answers_so_far, verb, target)
    form = section_form(section, answers_so_far, formdata=request.form)
    loaded = form.check(clinic_today(), answers_so_far)
    if loaded is None and verb == "later":
        # Save and finish later keeps everything typed, finished or not: only Continue insists.
        typed = [(key, value) for key, value in request.form.items(multi=True) if key not in NOT_ANSWERS]
        try:
            service.save_draft(intake, section, typed)
        except service.AlreadySubmitted:
            return redirect(url_for("patient.show_intake", token=token))
        return redirect(url_for("patient.show_saved", token=token))
    if loaded is None:
        return render_section(intake, token, form)
    try:
        service.save_section(intake, section, loaded)
    except service.AlreadySubmitted:
        return redirect(url_for("patient.show_intake", token=token))
    if verb == "later":
        return redirect(url_for("patient.show_saved", token=token))
    if intake.is_reopened:
        return redirect(url_for("patient.review_intake", token=token))
    return redirect(next_page(intake, token, section))


def change_rows(intake: Intake, token: str, section: str, answers_so_far: dict[str, Any],
                verb: str, target: str) -> str:
    """"Add another" / "Remove": re-show the page with one row more or less, nothing validated or saved."""
    name, _sep, index = target.partition(":")
    form = section_form(section, answers_so_far, formdata=request.form)
    rows = form[name] if name in form else None
    if not isinstance(rows, RowsField):
        abort(400)
    focus = None
    if verb == "add" and rows.can_add:
        focus = rows.append_entry().form.first_field.id
    elif verb == "remove" and index.isdigit() and int(index) < len(rows.entries):
        rows.pop_entry(int(index))
        if not rows.entries:
            rows.append_entry()
        focus = f"{rows.id}-add"
    return render_section(intake, token, form, focus=focus)


def next_page(intake: Intake, token: str, section: str) -> str:
    """Where Continue leads: back to the review when changing an answer from it, else onwards."""
    following = first_incomplete(intake)
    if following is None and (request.args.get("next") == "review" or section == SECTION_NAMES[-1]):
        return url_for("patient.review_intake", token=token)
    position = SECTION_NAMES.index(section)
    if position + 1 < len(SECTION_NAMES):
        return url_for("patient.edit_section", token=token, section=SECTION_NAMES[position + 1])
    return url_for("patient.review_intake", token=token)


def progress(intake: Intake, token: str, current: str | None) -> list[dict[str, Any]]:
    """Each section with its state, and a link where the patient may go."""
    done = set(intake.completed_sections or [])
    steps = []
    for number, section in enumerate(SECTION_NAMES, start=1):
        state = "current" if section == current else "done" if section in done else "todo"
        link = (url_for("patient.edit_section", token=token, section=section)
                if reachable(intake, section) and intake.may_edit(section) else None)
        steps.append({"number": number, "section": section, "title": gettext(SECTION_TITLES[section]),
                      "state": state, "url": link})
    return steps


def render_section_unsaved(view_args: dict[str, Any]) -> str | None:
    """The section just posted, filled with what the patient typed, when the database could not be reached.

    Built from the request alone (no query): the database is down. Every question is shown,
    since the answers that shape the form (sex, for pregnancy questions) cannot be read.
    """
    token, section = view_args.get("token"), view_args.get("section")
    if section not in SECTIONS or not isinstance(token, str):
        return None
    form = section_form(section, {}, formdata=request.form)
    steps = [{"number": number, "section": name, "title": gettext(SECTION_TITLES[name]),
              "state": "current" if name == section else "todo", "url": None}
             for number, name in enumerate(SECTION_NAMES, start=1)]
    problem = gettext("We could not save this page: our records are unavailable for a moment. "
                      "Your answers are still here. Wait a minute, then press Continue again.")
    return render_section(None, token, form, steps=steps, problems=[(None, problem)])


def render_section(intake: Intake | None, token: str, form: SectionForm, focus: str | None = None,
                   steps: list[dict[str, Any]] | None = None,
                   problems: list[tuple[str | None, str]] | None = None, unfinished: bool = False) -> str:
    section = form.section
    position = SECTION_NAMES.index(section)
    if steps is None:
        if intake is None:
            raise ValueError("render_section needs the intake, or the progress steps drawn without it")
        steps = progress(intake, token, section)
    back = None
    if position:
        back = url_for("patient.edit_section", token=token, section=SECTION_NAMES[position - 1])
    return render_template(
        "patient/section.html",
        form=form,
        section=section,
        title=gettext(SECTION_TITLES[section]),
        step=position + 1,
        total=len(SECTION_NAMES),
        steps=steps,
        problems=problems if problems is not None else form.problems(),
        back_url=back,
        action_url=url_for("patient.edit_section", token=token, section=section,
                           next=request.args.get("next") if request.args.get("next") == "review" else None),
        focus=focus,
        token=token,
        private_link=private_link(token),
        unfinished=unfinished,
        question=patient_question(intake) if intake is not None and intake.is_reopened else "",
    )


@blueprint.get("/i/<token>/saved")
@with_intake
def show_saved(intake: Intake, token: str) -> Any:
    """After "Save and finish later": the private link to come back with."""
    if intake.is_submitted and not intake.is_reopened:
        return redirect(url_for("patient.show_intake", token=token))
    return render_template("patient/saved.html", token=token, private_link=private_link(token),
                           resume_section=first_incomplete(intake))


@blueprint.get("/i/<token>/review")
@with_intake
def review_intake(intake: Intake, token: str) -> Any:
    """Every answer on one page before the patient submits."""
    if intake.is_reopened:
        return render_review(intake, token, problems=[])
    if intake.is_submitted:
        return redirect(url_for("patient.show_intake", token=token))
    missing = first_incomplete(intake)
    if missing is not None:
        return redirect(url_for("patient.edit_section", token=token, section=missing))
    return render_review(intake, token, problems=[])


def render_review(intake: Intake, token: str, problems: list[tuple[str, str]], reply: str = "") -> str:
    summary = describe_answers(intake.answers)
    for item in summary:
        # Reopened: only the sections the practitioner reopened can change; the rest are read-only.
        if not intake.is_reopened or intake.may_edit(item["section"]):
            item["change_url"] = url_for("patient.edit_section", token=token, section=item["section"],
                                         next="review")
    return render_template(
        "patient/review.html",
        token=token,
        private_link=private_link(token),
        summary=summary,
        problems=problems,
        question=patient_question(intake),
        reopened=intake.is_reopened,
        reply=reply,
    )


@blueprint.post("/i/<token>/submit", endpoint="submit_intake")
@limiter.limit(intake_submit_limit)
@with_intake
def submit(intake: Intake, token: str) -> Any:
    """Submit the whole intake once (or again, when reopened); the rules assess it and the link turns read-only."""
    if intake.is_submitted and not intake.is_reopened:
        return redirect(url_for("patient.show_intake", token=token))
    reply = request.form.get("reply", "")[:MAX_REPLY] if intake.is_reopened else ""
    try:
        service.submit_intake(intake, active_ruleset(), clinic_today(), reply=reply)
    except service.AlreadySubmitted:
        pass
    except ValidationError as invalid:
        db.session.rollback()
        return render_review(intake, token, problems=describe_problems(invalid.normalized_messages(),
                                                                       intake.answers, token), reply=reply)
    return redirect(url_for("patient.show_intake", token=token))


@blueprint.get("/i/<token>/plan.ics")
@with_intake
def download_plan(intake: Intake, token: str) -> Any:
    """The session dates as a calendar file, once the intake is submitted (the agreed ones after approval)."""
    return calendar_file(intake)


@blueprint.get("/s/<token>/plan.ics")
def download_status_plan(token: str) -> Any:
    """The calendar file, from the status link of a notification."""
    intake = find_intake_by_status_token(token)
    if intake is None:
        abort(404)
    follow_language(intake)
    return calendar_file(intake)


def calendar_file(intake: Intake) -> Any:
    """The appointment, the sessions and the dated instructions as reminders.

    UIDs derive from the intake (not from a link, which changes), and SEQUENCE is the
    intake's version, which grows with every change: importing the file again after the
    plan changed updates the same events.
    """
    assessment = intake.latest_assessment
    if assessment is None or not intake.is_submitted:
        abort(404)
    status = patient_status(intake, clinic_today())
    if not session_dates(status.plan):
        abort(404)
    stamp = status.decision.signed_at if status.decision is not None else assessment.created_at
    body = plan_to_ics(status.plan or {}, clinic_identity().name, uid_seed=f"intake-{intake.id}-{intake.created_at}",
                       dtstamp=as_utc(stamp) or utcnow(), sequence=intake.version, confirmed=status.agreed,
                       appointment=intake.appointment_date, instructions=status.instructions,
                       translate=rule_text)
    service.record_plan_downloaded(intake)
    return Response(body, mimetype="text/calendar",
                    headers={"Content-Disposition": 'attachment; filename="mesotherapy-sessions.ics"'})
