"""Photo routes: the patient's, under their private link, and the practitioners', on the record.

Photos are served only here, never from a static path: each response is the re-encoded
JPEG with its own content type, ``Cache-Control: no-store`` (intake.web.security) and no
referrer, and each one is audited (service.read). Upload routes alone accept
PHOTO_MAX_BYTES (``accepts_upload``).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user
from werkzeug.wrappers import Response as WerkzeugResponse

from ..auth.access import StaffBlueprint
from ..clock import clinic_today
from ..extensions import db, limiter
from ..models import Intake, Photo, PhotoKind, Role
from ..patient import service as patient_service
from ..patient.queries import find_intake_by_token, private_link
from ..web import languages
from ..web.ratelimits import intake_submit_limit
from ..web.security import accepts_upload
from . import service
from .forms import PatientPhotoForm, refusal, too_many
from .images import PhotoRefused
from .staff_forms import SessionPhotoForm

patient_blueprint = Blueprint("patient_photos", __name__)
staff_blueprint = StaffBlueprint("photos", __name__, url_prefix="/staff", roles=(Role.PRACTITIONER,))


def image_response(data: bytes, photo: Photo) -> Response:
    response = Response(data, mimetype=photo.media_type)
    response.headers["Content-Disposition"] = f'inline; filename="photo-{photo.id}.jpg"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    return response


# --- the patient's link -----------------------------------------------------------------------


@patient_blueprint.after_request
def keep_private(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _patient_intake(token: str) -> Intake:
    intake = find_intake_by_token(token)
    if intake is None:
        abort(404)
    # In the intake's language, as its form's pages: one picked with the switcher here is stored on it too.
    picked = languages.picked()
    if picked is not None:
        patient_service.set_language(intake, picked)
    languages.remember_intake_language(intake.language)
    return intake


def _patient_photo(intake: Intake, photo_id: int) -> Photo:
    photo = service.find_photo(intake, photo_id)
    if photo is None or photo.kind != PhotoKind.CONCERN:  # the practitioner's own photos stay on the record
        abort(404)
    return photo


def render_patient_photos(intake: Intake, token: str, form: PatientPhotoForm,
                          problems: list[tuple[str, str]] | None = None, status: int = 200) -> tuple[str, int]:
    return render_template(
        "photos/patient.html", intake=intake, token=token, form=form,
        problems=form.problems() if problems is None else problems,
        photos=service.photos_of(intake, PhotoKind.CONCERN), left=service.patient_photos_left(intake),
        most=service.limits(), private_link=private_link(token),
        back_url=url_for("patient.show_intake", token=token),
    ), status


@patient_blueprint.route("/i/<token>/photos", methods=["GET", "POST"])
@limiter.limit(intake_submit_limit, methods=["POST"])
@accepts_upload("PHOTO_MAX_BYTES")
def patient_photos(token: str) -> Any:
    """The patient's photos of the areas they want treated: add one (with its consents), see them, withdraw."""
    intake = _patient_intake(token)
    if request.method == "GET":
        return render_patient_photos(intake, token, PatientPhotoForm(formdata=None))
    form = PatientPhotoForm()
    if service.patient_photos_left(intake) <= 0:
        return render_patient_photos(intake, token, form, [("#photos", too_many())], 400)
    if not form.validate():
        # No clinical consent, no area or no file: nothing of the file is kept.
        return render_patient_photos(intake, token, form, status=400)
    file = form.chosen_file()
    if file is None:  # validate_upload refuses this already
        abort(400)
    try:
        processed = service.verify(file.read())
        service.add_patient_photo(intake, processed, area=form.area.data or "", note=(form.note.data or "").strip(),
                                  marketing=bool(form.marketing_consent.data))
    except PhotoRefused as refused:
        db.session.rollback()
        field = form.camera if form.camera.data and form.camera.data.filename else form.upload
        field.errors = [refusal(refused)]
        return render_patient_photos(intake, token, form, status=400)
    except service.TooManyPhotos:
        db.session.rollback()
        return render_patient_photos(intake, token, form, [("#photos", too_many())], 400)
    return redirect(url_for("patient_photos.patient_photos", token=token, added=1) + "#photos")


@patient_blueprint.get("/i/<token>/photos/<int:photo_id>/image", defaults={"size": "image"})
@patient_blueprint.get("/i/<token>/photos/<int:photo_id>/thumbnail", defaults={"size": "thumbnail"})
def patient_photo_image(token: str, photo_id: int, size: str) -> Response:
    intake = _patient_intake(token)
    photo = _patient_photo(intake, photo_id)
    return image_response(service.read(intake, photo, actor="patient", thumbnail=size == "thumbnail"), photo)


@patient_blueprint.post("/i/<token>/photos/<int:photo_id>/marketing")
def patient_photo_marketing(token: str, photo_id: int) -> WerkzeugResponse:
    """Give or withdraw the marketing consent of one photo."""
    intake = _patient_intake(token)
    photo = _patient_photo(intake, photo_id)
    service.set_marketing_consent(intake, photo, request.form.get("marketing") == "give")
    return redirect(url_for("patient_photos.patient_photos", token=token) + f"#photo-{photo.id}")


@patient_blueprint.post("/i/<token>/photos/<int:photo_id>/remove")
def patient_photo_remove(token: str, photo_id: int) -> WerkzeugResponse:
    """The patient takes a photo back: it is deleted, bytes and all."""
    intake = _patient_intake(token)
    photo = _patient_photo(intake, photo_id)
    service.remove_photo(intake, photo, actor="patient")
    return redirect(url_for("patient_photos.patient_photos", token=token, removed=1) + "#photos")


# --- practitioners ----------------------------------------------------------------------------


def _intake(intake_id: int) -> Intake:
    intake = db.session.get(Intake, intake_id)
    if intake is None:
        abort(404)
    return intake


def _photo(intake: Intake, photo_id: int) -> Photo:
    photo = service.find_photo(intake, photo_id)
    if photo is None:
        abort(404)
    return photo


def render_staff_photos(intake: Intake, form: SessionPhotoForm, status: int = 200) -> tuple[str, int]:
    photos = service.photos_of(intake)
    return render_template("photos/staff.html", intake=intake, form=form, problems=form.problems(), photos=photos,
                           pairs=comparable_pairs(photos), most=service.limits()), status


def comparable_pairs(photos: list[Photo]) -> list[tuple[Photo, Photo]]:
    """For each area, its earliest photo beside its latest (when they were taken on different days)."""
    by_area: dict[str, list[Photo]] = {}
    for photo in photos:
        by_area.setdefault(photo.area, []).append(photo)
    return [(found[0], found[-1]) for found in by_area.values() if found[0].taken_on != found[-1].taken_on]


@staff_blueprint.route("/intakes/<int:intake_id>/photos", methods=["GET", "POST"])
@accepts_upload("PHOTO_MAX_BYTES")
def staff_photos(intake_id: int) -> Any:
    """Every photo of the intake; a practitioner adds a session's (before or after) and picks two to compare."""
    intake = _intake(intake_id)
    if request.method == "GET":
        form = SessionPhotoForm(formdata=None)
        form.taken_on.data = clinic_today()
        return render_staff_photos(intake, form)
    form = SessionPhotoForm()
    if not form.validate():
        return render_staff_photos(intake, form, 400)
    file, taken_on = form.chosen_file(), form.taken_on.data
    if file is None or taken_on is None:  # validate() refuses these already
        abort(400)
    try:
        processed = service.verify(file.read())
    except PhotoRefused as refused:
        field = form.camera if form.camera.data and form.camera.data.filename else form.upload
        field.errors = [refused.message]
        return render_staff_photos(intake, form, 400)
    service.add_session_photo(intake, processed, actor=current_user.actor, kind=form.kind.data or "",
                              area=form.area.data or "", taken_on=taken_on,
                              note=(form.note.data or "").strip())
    return redirect(url_for("photos.staff_photos", intake_id=intake.id, added=1) + "#photos")


@staff_blueprint.get("/intakes/<int:intake_id>/photos/<int:photo_id>/image", defaults={"size": "image"})
@staff_blueprint.get("/intakes/<int:intake_id>/photos/<int:photo_id>/thumbnail", defaults={"size": "thumbnail"})
def staff_photo_image(intake_id: int, photo_id: int, size: str) -> Response:
    intake = _intake(intake_id)
    photo = _photo(intake, photo_id)
    return image_response(service.read(intake, photo, actor=current_user.actor, thumbnail=size == "thumbnail"),
                          photo)


@staff_blueprint.get("/intakes/<int:intake_id>/photos/compare")
def compare_photos(intake_id: int) -> Any:
    """Two photos side by side (same area, different dates), on screen and on paper."""
    intake = _intake(intake_id)
    photos = service.photos_of(intake)
    by_id = {photo.id: photo for photo in photos}
    left = by_id.get(request.args.get("left", type=int) or 0)
    right = by_id.get(request.args.get("right", type=int) or 0)
    if left is None or right is None:
        pairs = comparable_pairs(photos)
        if not pairs:
            abort(404)
        left, right = pairs[0]
    problems = []
    if left.area != right.area:
        problems.append(("#compare-left", gettext("These two photos show different areas.")))
    return render_template("photos/compare.html", intake=intake, photos=photos, left=left, right=right,
                           problems=problems)


@staff_blueprint.post("/intakes/<int:intake_id>/photos/<int:photo_id>/remove")
def remove_session_photo(intake_id: int, photo_id: int) -> WerkzeugResponse:
    """A practitioner removes a session photo (a patient's own photos are the patient's to take back)."""
    intake = _intake(intake_id)
    photo = _photo(intake, photo_id)
    if photo.kind == PhotoKind.CONCERN:
        abort(403)
    service.remove_photo(intake, photo, actor=current_user.actor)
    return redirect(url_for("photos.staff_photos", intake_id=intake.id) + "#photos")
