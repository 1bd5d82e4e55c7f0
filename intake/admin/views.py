"""The admin pages (admins only): the rules under /staff/rules (see, change, check, preview, activate, roll
back), the clinic's details under /staff/clinic and its reminders under /staff/clinic/reminders, and API tokens
under /staff/api-tokens."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext
from flask_login import current_user
from werkzeug.wrappers import Response

from ..api import tokens
from ..assessment import RuleFileError, Ruleset
from ..assessment.explain import describe_condition
from ..auth.access import StaffBlueprint
from ..models import Role, RulesetVersion
from ..reminders import settings as clinic_reminders
from ..rulesets import versions
from ..rulesets.active import active_ruleset
from ..rulesets.files import check_path, clinic_files, display_path
from ..rulesets.past_intakes import count_past_intakes, preview_past_intakes
from ..web.clinic import SETTINGS
from . import queries, service
from .forms import (
    ActivateForm,
    ApiTokenForm,
    ClinicForm,
    EditForm,
    PreviewForm,
    ReminderSettingsForm,
    RevokeTokenForm,
    RulesChangeForm,
    UploadForm,
)

blueprint = StaffBlueprint("admin", __name__, url_prefix="/staff/rules", roles=(Role.ADMIN,))
#: The clinic's settings (admins only): how patients reach it, and its reminders.
clinic_blueprint = StaffBlueprint("clinic", __name__, url_prefix="/staff/clinic", roles=(Role.ADMIN,))
#: API tokens for the clinic's other systems (admins only): list, create (the secret shown once), revoke.
tokens_blueprint = StaffBlueprint("api_tokens", __name__, url_prefix="/staff/api-tokens", roles=(Role.ADMIN,))

DEFAULT_LAST = 200


def _version(version_id: int) -> RulesetVersion:
    version = queries.find_version(version_id)
    if version is None:
        abort(404)
    return version


def _rule_rows(ruleset: Ruleset) -> list[dict[str, Any]]:
    return [{"rule": rule, "condition": describe_condition(rule.when.root),
             "origin": f"{display_path(rule.folder or str(ruleset.root))}/{rule.file}:{rule.line}"}
            for rule in ruleset.rules]


def _error_rows(errors: list[RuleFileError]) -> list[tuple[str, str]]:
    """Problems for the error summary: 'file line N, rule R: message'."""
    rows = []
    for error in errors:
        where = error.file + (f", {gettext('line')} {error.line}" if error.line else "")
        if error.rule_id:
            where += f", {gettext('rule')} {error.rule_id}"
        rows.append(("", f"{where}: {error.message}"))
    return rows


def _base(form: RulesChangeForm) -> tuple[dict[str, Any], RulesetVersion | None]:
    return queries.change_base(form.from_version_id())


@blueprint.get("/")
def index() -> str:
    """The active ruleset, rule by rule, in plain words."""
    ruleset = active_ruleset().ruleset
    version = versions.active_version()
    return render_template("admin/index.html", ruleset=ruleset, rows=_rule_rows(ruleset), version=version,
                           notes=ruleset.notes, display_path=display_path)


@blueprint.get("/change")
def change() -> str:
    """Upload a rule file or a zip of the clinic folder, or pick a clinic file to edit."""
    files, origin = _base(RulesChangeForm(formdata=request.args))
    return render_template("admin/change.html", clinic=clinic_files(files), origin=origin, problems=[])


def _bad_change(form: RulesChangeForm, problems: list[tuple[str, str]], status: int = 422) -> tuple[str, int]:
    files, origin = _base(form)
    return render_template("admin/change.html", clinic=clinic_files(files), origin=origin,
                           problems=problems), status


@blueprint.post("/upload")
def upload() -> Response | tuple[str, int]:
    """A rule file or a zip becomes a candidate version, if it loads; the active version is untouched either way."""
    form = UploadForm()
    if not form.validate_on_submit():
        return _bad_change(form, [("#file", message) for message in form.file.errors])
    uploaded = form.file.data
    base, origin = _base(form)
    try:
        files = service.with_upload(base, uploaded.filename, uploaded.read(), form.path.data)
    except service.UploadRefused as refused:
        return _bad_change(form, [("#file", problem) for problem in refused.problems])
    result = versions.check(files)
    if result.ruleset is None:
        return _bad_change(form, _error_rows(result.errors))
    version = service.save_candidate(files, current_user, form.note.data, origin, how="upload")
    flash(gettext("Saved as version %(id)s. Check its tests and preview it before activating.", id=version.id),
          "info")
    return redirect(url_for("admin.show_version", version_id=version.id))


@blueprint.route("/edit", methods=["GET", "POST"])
def edit() -> Response | str | tuple[str, int]:
    """Edit one clinic file in a textarea; errors are shown with the typed text kept."""
    if request.method == "GET":
        form = EditForm(formdata=request.args)
        base, origin = _base(form)
        path = form.path.data
        if path and check_path(path):
            abort(404)
        text = clinic_files(base).get(path, "") if path else ""
        return render_template("admin/edit.html", path=path, text=text, note="", origin=origin, problems=[])
    form = EditForm()
    base, origin = _base(form)
    path, text, note = form.path.data, form.text.data or "", form.note.data
    problems: list[tuple[str, str]] = []
    files = None
    if not form.validate():
        problems.extend(("#path", message) for message in form.path.errors)
    else:
        try:
            files = service.with_edit(base, path, text)
        except service.UploadRefused as refused:
            problems.extend(("#text", p) for p in refused.problems)
    if files is not None:
        result = versions.check(files)
        if result.ruleset is None:
            problems.extend(("#text", message) for _, message in _error_rows(result.errors))
    if problems or files is None:
        return render_template("admin/edit.html", path=path, text=text, note=note, origin=origin,
                               problems=problems), 422
    version = service.save_candidate(files, current_user, note, origin, how="edit")
    flash(gettext("Saved as version %(id)s. Check its tests and preview it before activating.", id=version.id),
          "info")
    return redirect(url_for("admin.show_version", version_id=version.id))


def _version_page(version: RulesetVersion, problems: list[tuple[str, str]] | None = None,
                  note: str = "", status: int = 200) -> tuple[str, int]:
    result = versions.check(version.files)
    active = versions.active_version()
    parent = queries.find_version(version.parent_id) if version.parent_id else None
    against = active if active is not None and active.id != version.id else parent
    diffs = versions.diff(against.files if against is not None else versions.configured_files(), version.files)
    rows = _rule_rows(result.ruleset) if result.ruleset is not None else []
    return render_template(
        "admin/version.html", version=version, result=result, errors=_error_rows(result.errors),
        diffs=diffs, against=against, rows=rows, problems=problems or [], note=note,
        clinic=clinic_files(version.files), display_path=display_path,
    ), status


@blueprint.get("/versions/<int:version_id>")
def show_version(version_id: int) -> tuple[str, int]:
    """A version: its checks (errors, rule tests, lint), its rules, its diff, preview and activation."""
    return _version_page(_version(version_id))


@blueprint.post("/versions/<int:version_id>/activate")
def activate(version_id: int) -> Response | tuple[str, int]:
    """Activate a version with a note; refused unless it is valid and its tests pass."""
    version = _version(version_id)
    form = ActivateForm()
    if not form.validate_on_submit():
        return _version_page(version, [("#note", message) for message in form.note.errors], status=422)
    if version.active:
        return _version_page(version, [("", gettext("This version is already active."))], form.note.data, 422)
    return _activate(version, form.note.data, "activate")


def _activate(version: RulesetVersion, note: str, kind: str) -> Response | tuple[str, int]:
    try:
        run = service.activate(version, current_user, note, kind)
    except versions.NotActivatable:
        problem = gettext("Not activated: the version must load without errors, its rule tests must pass "
                          "and lint must find no error.")
        return _version_page(version, [("", problem)], note, 422)
    flash(gettext("Version %(id)s is active.", id=version.id), "info")
    return redirect(url_for("admin.show_run", run_id=run.id))


@blueprint.post("/versions/<int:version_id>/rollback")
def rollback(version_id: int) -> Response | tuple[str, int]:
    """Roll back to an earlier version in one click."""
    version = _version(version_id)
    if version.active:
        flash(gettext("Version %(id)s is already active.", id=version.id), "info")
        return redirect(url_for("admin.history"))
    return _activate(version, gettext("Roll back to version %(id)s", id=version.id), "rollback")


@blueprint.get("/history")
def history() -> str:
    """Every version and every activation, newest first, with diffs between consecutive versions."""
    activations = queries.all_activations()
    activated = {a.version_id for a in activations}
    return render_template("admin/history.html", versions=queries.all_versions(), activations=activations,
                           activated=activated)


@blueprint.get("/versions/<int:version_id>/diff/<int:other_id>")
def diff(version_id: int, other_id: int) -> str:
    """The changes from version ``other_id`` to ``version_id``."""
    version, other = _version(version_id), _version(other_id)
    return render_template("admin/diff.html", version=version, other=other,
                           diffs=versions.diff(other.files, version.files))


@blueprint.get("/versions/<int:version_id>/preview")
def show_preview(version_id: int) -> tuple[str, int]:
    """The version against the active rules on past intakes: the last N, or a date range."""
    version = _version(version_id)
    form = PreviewForm(formdata=request.args)
    form.validate()
    problems = [(f"#{field.name}", field.errors[0]) for field in form if field.errors]
    since, until, last = form.day("since"), form.day("until"), form.count()
    if since is None and until is None and last is None:
        last = DEFAULT_LAST
    typed = {"last": form.last.data, "since": form.since.data, "until": form.until.data}
    candidate = versions.check(version.files).ruleset
    if candidate is None:
        problems.append(("", gettext("This version does not load; fix its errors first.")))
    if problems or candidate is None:
        return render_template("admin/preview.html", version=version, form=typed, problems=problems,
                               preview=None), 422
    current = active_ruleset().ruleset
    outcome = preview_past_intakes(current, candidate, last, since, until)
    return render_template("admin/preview.html", version=version, form=typed, problems=[], preview=outcome,
                           expected=count_past_intakes(last, since, until)), 200


@blueprint.get("/reassess/<int:run_id>")
def show_run(run_id: int) -> str:
    """The progress of a re-assessment run."""
    run = queries.find_run(run_id)
    if run is None:
        abort(404)
    return render_template("admin/run.html", run=run)


@clinic_blueprint.route("/", methods=["GET", "POST"])
def edit_clinic() -> Any:
    """The clinic's name, phone, email, address, opening hours and how to reach it, as patients see them."""
    profile = queries.clinic_profile()
    form = ClinicForm(obj=profile) if request.method == "GET" else ClinicForm()
    if not form.validate_on_submit():
        status = 422 if form.is_submitted() else 200
        return render_template("admin/clinic.html", form=form, problems=form.problems(), defaults=clinic_defaults(),
                               updated=profile), status
    service.update_clinic({name: getattr(form, name).data or "" for name in service.CLINIC_FIELDS}, current_user)
    flash(gettext("Clinic details saved. Patients see them from now on."), "info")
    return redirect(url_for("clinic.edit_clinic"))


@clinic_blueprint.route("/reminders", methods=["GET", "POST"])
def edit_reminders() -> Any:
    """Each kind of reminder on or off, and when it goes; the REMINDERS_* settings until an admin first saves."""
    row = clinic_reminders.saved()
    form = ReminderSettingsForm.showing(clinic_reminders.in_force(current_app.config)) \
        if request.method == "GET" else ReminderSettingsForm()
    if not form.validate_on_submit():
        status = 422 if form.is_submitted() else 200
        return render_template("admin/reminders.html", form=form, problems=form.problems(), saved=row,
                               zone=current_app.config["BABEL_DEFAULT_TIMEZONE"]), status
    service.update_reminder_settings(form.chosen(), current_user)
    flash(gettext("Reminder settings saved. The next reminders pass follows them."), "info")
    return redirect(url_for("clinic.edit_reminders"))


def clinic_defaults() -> dict[str, str]:
    """What each blank field shows patients: its CLINIC_* setting."""
    return {name: current_app.config.get(setting) or "" for name, setting in SETTINGS.items()}


#: Keys of the token forms this session already turned into tokens (the last 20).
SENT_API_FORMS = "sent_api_forms"


def _api_tokens_page(form: ApiTokenForm, problems: list[tuple[str, str]] | None = None,
                     status: int = 200) -> tuple[str, int]:
    return render_template("admin/api_tokens.html", form=form, rows=queries.api_tokens(),
                           problems=form.problems() if problems is None else problems), status


@tokens_blueprint.get("/")
def list_api_tokens() -> tuple[str, int]:
    """Every token (name, owner, scope, dates, status) and the form to create one."""
    return _api_tokens_page(ApiTokenForm())


@tokens_blueprint.post("/")
def create_api_token() -> Response | tuple[str, int]:
    """Create a token and show its secret in this response only: never in a URL, the session or a later page.

    The response is not redirected (the secret would have to travel to the next page) and, like every
    page, is sent with Cache-Control: no-store (intake/web/security.py). Bad input comes back as typed.
    """
    form = ApiTokenForm()
    if not form.validate_on_submit():
        return _api_tokens_page(form, status=422)
    used_keys = session.get(SENT_API_FORMS, [])
    if form.form_key.data and form.form_key.data in used_keys:
        flash(gettext("That form was already sent: the token “%(name)s” exists and its secret was shown once. "
                      "Create a new token if you did not keep it.", name=form.name.data), "info")
        return redirect(url_for("api_tokens.list_api_tokens"))
    try:
        token, secret = service.create_api_token(form.name.data, form.chosen_scope(), form.expires_in_days(),
                                                 current_user)
    except tokens.TokenError as refused:
        return _api_tokens_page(form, [("", str(refused))], status=422)
    if form.form_key.data:
        session[SENT_API_FORMS] = [*used_keys, form.form_key.data][-20:]
    return render_template("admin/api_token_created.html", token=token, secret=secret), 200


@tokens_blueprint.post("/<int:token_id>/revoke")
def revoke_api_token(token_id: int) -> Response | str:
    """The list's Revoke button asks for confirmation; the confirmation's button revokes the token for good."""
    token = queries.find_api_token(token_id)
    if token is None:
        abort(404)
    if token.is_revoked:
        flash(gettext("The token “%(name)s” was already revoked.", name=token.name), "info")
        return redirect(url_for("api_tokens.list_api_tokens"))
    if not RevokeTokenForm().confirmed():
        return render_template("admin/api_token_revoke.html", token=token)
    service.revoke_api_token(token, current_user)
    flash(gettext("The token “%(name)s” is revoked: requests signed with it are refused (401) from now on.",
                  name=token.name), "info")
    return redirect(url_for("api_tokens.list_api_tokens"))
