"""The rules admin pages under /staff/rules (admins only): see, change, check, preview, activate, roll back."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from ..assessment import RuleFileError, Ruleset
from ..assessment.explain import describe_condition
from ..assessment.preview import preview
from ..auth.access import StaffBlueprint
from ..auth.models import Role
from ..extensions import db
from ..ruleset import active_ruleset
from . import reassess, service
from .models import ReassessRun, RulesetActivation, RulesetVersion
from .preview_db import count_past_intakes, stream_past_intakes

blueprint = StaffBlueprint("admin", __name__, url_prefix="/staff/rules", roles=(Role.ADMIN,))

MAX_NOTE = 500
DEFAULT_LAST = 200
MAX_LAST = 100_000


def _actor() -> str:
    return f"staff:{current_user.id}"


def _version(version_id: int) -> RulesetVersion:
    version = db.session.get(RulesetVersion, version_id)
    if version is None:
        abort(404)
    return version


def _rule_rows(ruleset: Ruleset) -> list[dict[str, Any]]:
    return [{"rule": rule, "condition": describe_condition(rule.when.root),
             "origin": f"{service.display_path(rule.folder or str(ruleset.root))}/{rule.file}:{rule.line}"}
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


def _base() -> tuple[dict[str, Any], RulesetVersion | None]:
    """What a change starts from: the version named by ``from`` (a candidate), else the active rules."""
    wanted = (request.values.get("from") or "").strip()
    if wanted.isdigit():
        version = db.session.get(RulesetVersion, int(wanted))
        if version is not None:
            return dict(version.files), version
    return service.base_files(), service.active_version()


@blueprint.get("/")
def index() -> str:
    """The active ruleset, rule by rule, in plain words."""
    ruleset = active_ruleset()
    version = service.active_version()
    return render_template("admin/index.html", ruleset=ruleset, rows=_rule_rows(ruleset), version=version,
                           notes=ruleset.notes, display_path=service.display_path)


@blueprint.get("/change")
def change() -> str:
    """Upload a rule file or a zip of the clinic folder, or pick a clinic file to edit."""
    files, origin = _base()
    return render_template("admin/change.html", clinic=service.clinic_files(files), origin=origin, problems=[])


def _bad_change(problems: list[tuple[str, str]], status: int = 422) -> tuple[str, int]:
    files, origin = _base()
    return render_template("admin/change.html", clinic=service.clinic_files(files), origin=origin,
                           problems=problems), status


@blueprint.post("/upload")
def upload() -> Response | tuple[str, int]:
    """A rule file or a zip becomes a candidate version, if it loads; the active version is untouched either way."""
    uploaded = request.files.get("file")
    note = (request.form.get("note") or "").strip()[:MAX_NOTE]
    if uploaded is None or not uploaded.filename:
        return _bad_change([("#file", gettext("Choose a rule file (.yaml) or a zip of your rules folder."))])
    raw = uploaded.read()
    name = uploaded.filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    base, origin = _base()
    try:
        if name.lower().endswith(".zip"):
            files = service.with_zip(base, raw)
        else:
            path = (request.form.get("path") or "").strip()
            if not path:
                top_level = ("medications.yaml", "protocols.yaml", "disabled.yaml")
                path = name if name in top_level else f"precautions/{name}"
            files = service.with_file(base, path, raw)
    except service.UploadRefused as refused:
        return _bad_change([("#file", problem) for problem in refused.problems])
    result = service.check(files)
    if result.ruleset is None:
        return _bad_change(_error_rows(result.errors))
    version = service.save_candidate(files, current_user, note, origin, how="upload")
    flash(gettext("Saved as version %(id)s. Check its tests and preview it before activating.", id=version.id),
          "info")
    return redirect(url_for("admin.show_version", version_id=version.id))


@blueprint.route("/edit", methods=["GET", "POST"])
def edit() -> Response | str | tuple[str, int]:
    """Edit one clinic file in a textarea; errors are shown with the typed text kept."""
    base, origin = _base()
    path = (request.values.get("path") or "").strip()
    problem = service.check_path(path) if path else None
    if request.method == "GET":
        if problem:
            abort(404)
        text = service.clinic_files(base).get(path, "") if path else ""
        return render_template("admin/edit.html", path=path, text=text, note="", origin=origin, problems=[])
    text = request.form.get("text") or ""
    note = (request.form.get("note") or "").strip()[:MAX_NOTE]
    problems: list[tuple[str, str]] = []
    if not path:
        problems.append(("#path", gettext("Enter the file's path, such as precautions/our-rules.yaml.")))
    elif problem:
        problems.append(("#path", problem))
    files = None
    if not problems:
        try:
            files = service.with_file(base, path, text) if text.strip() else service.without_file(base, path)
        except service.UploadRefused as refused:
            problems.extend(("#text", p) for p in refused.problems)
    if files is not None:
        result = service.check(files)
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
    result = service.check(version.files)
    active = service.active_version()
    parent = db.session.get(RulesetVersion, version.parent_id) if version.parent_id else None
    against = active if active is not None and active.id != version.id else parent
    diffs = service.diff(against.files if against is not None else service.folders_snapshot(
        service.rule_dirs_of_app()), version.files)
    rows = _rule_rows(result.ruleset) if result.ruleset is not None else []
    return render_template(
        "admin/version.html", version=version, result=result, errors=_error_rows(result.errors),
        diffs=diffs, against=against, rows=rows, problems=problems or [], note=note,
        clinic=service.clinic_files(version.files), display_path=service.display_path,
    ), status


@blueprint.get("/versions/<int:version_id>")
def show_version(version_id: int) -> tuple[str, int]:
    """A version: its checks (errors, rule tests, lint), its rules, its diff, preview and activation."""
    return _version_page(_version(version_id))


@blueprint.post("/versions/<int:version_id>/activate")
def activate(version_id: int) -> Response | tuple[str, int]:
    """Activate a version with a note; refused unless it is valid and its tests pass."""
    version = _version(version_id)
    note = (request.form.get("note") or "").strip()[:MAX_NOTE]
    if not note:
        return _version_page(version, [("#note", gettext("Say why this version goes live (a short note)."))],
                             status=422)
    if version.active:
        return _version_page(version, [("", gettext("This version is already active."))], note, 422)
    return _activate(version, note, "activate")


def _activate(version: RulesetVersion, note: str, kind: str) -> Response | tuple[str, int]:
    try:
        service.activate(version, current_user, note, kind)
    except service.NotActivatable:
        problem = gettext("Not activated: the version must load without errors, its rule tests must pass "
                          "and lint must find no error.")
        return _version_page(version, [("", problem)], note, 422)
    run = reassess.start(version.id, active_ruleset(), _actor())
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
    versions = list(db.session.scalars(select(RulesetVersion).order_by(RulesetVersion.id.desc())))
    activations = list(db.session.scalars(select(RulesetActivation).order_by(RulesetActivation.id.desc())))
    activated = {a.version_id for a in activations}
    return render_template("admin/history.html", versions=versions, activations=activations, activated=activated)


@blueprint.get("/versions/<int:version_id>/diff/<int:other_id>")
def diff(version_id: int, other_id: int) -> str:
    """The changes from version ``other_id`` to ``version_id``."""
    version, other = _version(version_id), _version(other_id)
    return render_template("admin/diff.html", version=version, other=other,
                           diffs=service.diff(other.files, version.files))


def _date(name: str, problems: list[tuple[str, str]]) -> dt.date | None:
    value = (request.args.get(name) or "").strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        problems.append((f"#{name}", gettext("Enter a date as YYYY-MM-DD, such as 2026-11-01.")))
        return None


@blueprint.get("/versions/<int:version_id>/preview")
def show_preview(version_id: int) -> tuple[str, int]:
    """The version against the active rules on past intakes: the last N, or a date range."""
    version = _version(version_id)
    problems: list[tuple[str, str]] = []
    since, until = _date("since", problems), _date("until", problems)
    last_text = (request.args.get("last") or "").strip()
    last: int | None = None
    if last_text:
        if not last_text.isdigit() or not 1 <= int(last_text) <= MAX_LAST:
            problems.append(("#last", gettext("Enter a whole number from 1 to %(max)s.", max=MAX_LAST)))
        else:
            last = int(last_text)
    if since is None and until is None and last is None:
        last = DEFAULT_LAST
    form = {"last": last_text, "since": request.args.get("since", ""), "until": request.args.get("until", "")}
    candidate = service.check(version.files).ruleset
    if candidate is None:
        problems.append(("", gettext("This version does not load; fix its errors first.")))
    if problems or candidate is None:
        return render_template("admin/preview.html", version=version, form=form, problems=problems,
                               preview=None), 422
    outcome = preview(stream_past_intakes(last, since, until), active_ruleset(), candidate)
    return render_template("admin/preview.html", version=version, form=form, problems=[], preview=outcome,
                           expected=count_past_intakes(last, since, until)), 200


@blueprint.get("/reassess/<int:run_id>")
def show_run(run_id: int) -> str:
    """The progress of a re-assessment run."""
    run = db.session.get(ReassessRun, run_id)
    if run is None:
        abort(404)
    return render_template("admin/run.html", run=run)
