"""Photos: the patient's (with their consents) and the practitioner's, on SQLite and PostgreSQL.

Every refusal with its message, metadata stripped, encryption at rest, access control on
every photo route, the audit of each view, and export, erasure, purge, backup/restore and
key rotation with photos.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import shutil

import pytest
import sqlalchemy as sa
from PIL import Image
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from intake.extensions import db
from intake.models import AuditEntry, Intake, Photo, PhotoBlob
from intake.photos import storage
from intake.protection.encryption import generate_key, use_keys
from tests.support import photos as samples
from tests.support.api import bearer, make_token
from tests.support.html import csrf_token, problems
from tests.support.patient import complete, start, submit, text
from tests.support.staff import make_user, sign_in

EMAIL = "photo.patient@example.com"


def upload(forms, token: str, data: bytes, *, field: str = "upload", consent: bool = True, marketing: bool = False,
           area: str = "face", note: str = "Dark patches on the cheeks", filename: str = "IMG_0001.jpg"):
    page = forms.client.get(f"/i/{token}/photos").get_data(as_text=True)
    fields = {"csrf_token": csrf_token(page), "area": area, "note": note,
              field: FileStorage(io.BytesIO(data), filename=filename, content_type="application/octet-stream")}
    if consent:
        fields["clinical_consent"] = "y"
    if marketing:
        fields["marketing_consent"] = "y"
    # Encoded in memory: the test client would spool a large body to a temporary file it never closes.
    boundary, body = encode_multipart(fields)
    return forms.client.post(f"/i/{token}/photos", data=body,
                             content_type=f"multipart/form-data; boundary={boundary}")


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def only_photo(app) -> Photo:
    with app.app_context():
        photo = db.session.scalars(sa.select(Photo)).one()
        db.session.expunge(photo)
        return photo


def exif_of(data: bytes) -> dict:
    with Image.open(io.BytesIO(data)) as image:
        return {"exif": dict(image.getexif()), "info": set(image.info) - {"jfif", "jfif_version", "jfif_unit",
                                                                             "jfif_density", "progressive",
                                                                             "progression", "dpi"},
                "format": image.format, "size": image.size}


@pytest.fixture
def token(forms) -> str:
    return start(forms)


@pytest.fixture
def submitted(app, forms) -> str:
    """A submitted intake with an email (the export and erasure find it by email)."""
    token = start(forms)
    complete(forms, token, overrides={"about": {"email": EMAIL}})
    assert submit(forms, token).status_code == 302
    return token


# --- the patient's upload -----------------------------------------------------------------------


@pytest.mark.parametrize("field", ["upload", "camera"])
def test_a_phone_photo_is_kept_re_encoded_upright_and_without_its_metadata(app, forms, token, field):
    sent = samples.jpeg(640, 480, gps=True, orientation=6)
    assert exif_of(sent)["exif"].get(samples.GPS_IFD)  # the test photo does carry GPS
    response = upload(forms, token, sent, field=field)
    assert response.status_code == 302, problems(response.get_data(as_text=True))
    photo = only_photo(app)
    assert (photo.kind, photo.area, photo.note, photo.width, photo.height) == (
        "concern", "face", "Dark patches on the cheeks", 480, 640)  # turned upright from its orientation
    assert photo.clinical_consent_at is not None and photo.marketing_consent_at is None

    served = forms.client.get(f"/i/{token}/photos/{photo.id}/image")
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    assert served.headers["Cache-Control"] == "no-store"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    kept = exif_of(served.data)
    assert kept == {"exif": {}, "info": set(), "format": "JPEG", "size": (480, 640)}
    assert b"PhoneMaker" not in served.data and b"GPS" not in served.data
    with Image.open(io.BytesIO(served.data)) as image:  # the dark corner is still top-right after turning
        assert image.convert("L").getpixel((470, 10)) < 60 and image.convert("L").getpixel((10, 630)) > 100

    thumbnail = forms.client.get(f"/i/{token}/photos/{photo.id}/thumbnail")
    assert thumbnail.status_code == 200 and max(exif_of(thumbnail.data)["size"]) == 320
    page = text(forms.client.get(f"/i/{token}/photos"))
    assert "Dark patches on the cheeks" in page and f"/i/{token}/photos/{photo.id}/thumbnail" in page


def test_a_photo_of_several_megabytes_goes_through(app, forms, token):
    sent = samples.phone_photo(4)  # 4 MP of noise: about 3 MB, far above the other forms' limits
    assert len(sent) > 2_000_000
    response = upload(forms, token, sent)
    assert response.status_code == 302, problems(response.get_data(as_text=True))
    assert (only_photo(app).width, only_photo(app).height) == (1732, 2309)  # turned upright (orientation 6)


def test_the_stored_bytes_are_encrypted_not_an_image(app, forms, token):
    assert upload(forms, token, samples.jpeg(gps=True)).status_code == 302
    photo = only_photo(app)
    with app.app_context():
        stored = db.session.execute(sa.text("SELECT data FROM photo_blob")).scalars().all()
        note = db.session.execute(sa.text("SELECT note FROM photo")).scalar_one()
    assert len(stored) == 2  # the photo and its thumbnail
    for blob in stored:
        blob = bytes(blob)
        assert not blob.startswith(b"\xff\xd8") and b"JFIF" not in blob
        with pytest.raises(Image.UnidentifiedImageError):
            Image.open(io.BytesIO(blob))
    assert "Dark patches" not in note
    with app.app_context():
        assert storage.load(photo.image_key)[:2] == b"\xff\xd8"


def test_png_webp_and_heic_are_accepted_and_kept_as_jpeg(app, forms, token):
    assert upload(forms, token, samples.png(), filename="a.png").status_code == 302
    assert upload(forms, token, samples.webp(), filename="b.webp").status_code == 302
    assert upload(forms, token, samples.heic(), filename="IMG_0002.HEIC").status_code == 302
    with app.app_context():
        kept = [(p.media_type, p.width) for p in db.session.scalars(sa.select(Photo).order_by(Photo.id))]
    assert kept == [("image/jpeg", 300)] * 3


def test_without_the_clinical_consent_no_photo_is_kept(app, forms, token):
    response = upload(forms, token, samples.jpeg(), consent=False, marketing=True)
    assert response.status_code == 400
    assert ("#clinical_consent", "To send a photo, agree to its use for your care. Without it, the photo is not "
                                 "kept.") in problems(response.get_data(as_text=True))
    assert count(app, Photo) == count(app, PhotoBlob) == 0


@pytest.mark.parametrize(("data", "filename", "message"), [
    (samples.gif(), "a.gif", "This file is not a photo we can accept. Send a photo (JPEG, PNG, WebP, HEIC)."),
    (b"%PDF-1.4 not a photo", "a.jpg", "This file is not a photo we can accept."),
    (samples.SVG, "drawing.svg", "SVG drawings are not accepted. Send a photo (JPEG, PNG, WebP, HEIC)."),
    (samples.polyglot_html(), "a.jpg", "This file holds something besides a photo, so it is not accepted."),
    (samples.polyglot_zip(), "a.jpg", "This file holds something besides a photo, so it is not accepted."),
    (samples.truncated(), "a.jpg", "The photo could not be read: the file is damaged or incomplete."),
    (samples.png_bomb(), "bomb.png", "The photo has too many pixels: the most accepted is 50 megapixels."),
    (samples.png_bomb(9000, 9000), "big.png",
     "The photo has too many pixels (9000 × 9000): the most accepted is 50 megapixels."),
    (b"", "empty.jpg", "The file is empty. Choose the photo again."),
], ids=["gif", "pdf", "svg", "polyglot-html", "polyglot-zip", "truncated", "bomb", "pixels", "zero-bytes"])
def test_each_refusal_says_why_and_keeps_nothing(app, forms, token, data, filename, message):
    response = upload(forms, token, data, filename=filename)
    assert response.status_code == 400
    found = problems(response.get_data(as_text=True))
    assert len(found) == 1 and found[0][0] == "#upload" and found[0][1].startswith(message), found
    assert count(app, Photo) == count(app, PhotoBlob) == 0


def test_a_photo_over_the_byte_limit_is_refused_with_its_own_message(app, forms, token):
    app.config["PHOTO_MAX_BYTES"] = 10_000
    response = upload(forms, token, samples.jpeg(1200, 900, quality=95))
    assert response.status_code == 400
    assert problems(response.get_data(as_text=True))[0][1].startswith("The photo is larger than 9 KB.")
    # Larger than the request accepts (the photo's limit plus the form's): the 413 page names the photo limit.
    too_big = upload(forms, token, samples.jpeg() + b"\0" * (10_000 + app.config["MAX_CONTENT_LENGTH"]))
    assert too_big.status_code == 413
    assert "That photo is too large" in text(too_big) and "Nothing was saved" in text(too_big)
    assert count(app, Photo) == 0


def test_other_routes_keep_the_global_limit(app, forms, token):
    big = "x" * (app.config["MAX_CONTENT_LENGTH"] + 10)
    response = forms.post(f"/i/{token}/about", {"full_name": big, "action": "continue"})
    assert response.status_code == 413
    assert "That was too much to send at once" in text(response)


def test_the_clinic_sets_how_many_photos_a_patient_may_send(app, forms, token):
    app.config["PATIENT_PHOTOS_MAX"] = 2
    assert "You can add 2 more photos." in text(forms.client.get(f"/i/{token}/photos"))
    assert upload(forms, token, samples.jpeg()).status_code == 302
    assert upload(forms, token, samples.jpeg()).status_code == 302
    page = text(forms.client.get(f"/i/{token}/photos"))
    assert "You have added as many photos as the clinic accepts." in page and 'type="file"' not in page
    response = upload(forms, token, samples.jpeg())
    assert response.status_code == 400
    assert problems(response.get_data(as_text=True)) == [
        ("#photos", "You have sent 2 photos, the most the clinic accepts. Remove one to send another.")]
    assert count(app, Photo) == 2


def test_the_default_is_four_photos(app, forms, token):
    assert app.config["PATIENT_PHOTOS_MAX"] == 4
    assert "You can add 4 more photos." in text(forms.client.get(f"/i/{token}/photos"))


def test_the_marketing_consent_is_separate_dated_and_withdrawable(app, forms, token):
    assert upload(forms, token, samples.jpeg(), marketing=True).status_code == 302
    photo = only_photo(app)
    assert photo.marketing_consent_at is not None and photo.marketing_withdrawn_at is None
    page = forms.client.get(f"/i/{token}/photos").get_data(as_text=True)
    withdrawn = forms.client.post(f"/i/{token}/photos/{photo.id}/marketing",
                                  data={"csrf_token": csrf_token(page), "marketing": "withdraw"})
    assert withdrawn.status_code == 302
    photo = only_photo(app)
    assert photo.marketing_withdrawn_at is not None and not photo.marketing_allowed
    assert photo.clinical_consent_at is not None  # the clinical consent stands
    assert "For marketing: withdrawn on" in text(forms.client.get(f"/i/{token}/photos"))
    given = forms.client.post(f"/i/{token}/photos/{photo.id}/marketing",
                              data={"csrf_token": csrf_token(page), "marketing": "give"})
    assert given.status_code == 302 and only_photo(app).marketing_allowed
    with app.app_context():
        actions = list(db.session.scalars(sa.select(AuditEntry.action).where(AuditEntry.action.like("photo.%"))
                                          .order_by(AuditEntry.id)))
    assert actions == ["photo.added", "photo.marketing_consent_withdrawn", "photo.marketing_consent_given"]


def test_the_patient_can_remove_a_photo_bytes_and_all(app, forms, token):
    assert upload(forms, token, samples.jpeg()).status_code == 302
    photo = only_photo(app)
    page = forms.client.get(f"/i/{token}/photos").get_data(as_text=True)
    assert forms.client.post(f"/i/{token}/photos/{photo.id}/remove",
                             data={"csrf_token": csrf_token(page)}).status_code == 302
    assert count(app, Photo) == count(app, PhotoBlob) == 0
    assert forms.client.get(f"/i/{token}/photos/{photo.id}/image").status_code == 404


def test_the_page_works_without_javascript_and_offers_camera_and_files(app, forms, token):
    page = forms.client.get(f"/i/{token}/photos").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page
    assert 'name="camera" accept="image/*" capture="environment"' in page
    assert 'name="upload" accept="image/*"' in page
    assert "data-photo-preview hidden" in page  # the preview appears only with JavaScript
    for token_page in (f"/i/{token}/review", f"/i/{token}/about"):
        assert forms.client.get(token_page).status_code in (200, 302)


# --- access control and audit -------------------------------------------------------------------


@pytest.fixture
def with_photos(app, forms, submitted):
    """The submitted intake with one patient photo and one practitioner photo; (token, intake id, ids)."""
    assert upload(forms, submitted, samples.jpeg()).status_code == 302
    patient_photo = only_photo(app)
    make_user(app)
    sign_in(forms)
    page = forms.client.get(f"/staff/intakes/{patient_photo.intake_id}/photos").get_data(as_text=True)
    added = forms.client.post(f"/staff/intakes/{patient_photo.intake_id}/photos", data={
        "csrf_token": csrf_token(page), "kind": "after", "taken_on": "2026-12-20", "area": "face",
        "note": "Two weeks after", "upload": (io.BytesIO(samples.jpeg(colour=(150, 120, 110))), "after.jpg")},
        content_type="multipart/form-data")
    assert added.status_code == 302, problems(added.get_data(as_text=True))
    forms.post("/staff/sign-out", {}, page="/staff/")
    with app.app_context():
        session_photo = db.session.scalars(sa.select(Photo).where(Photo.kind == "after")).one()
        return submitted, patient_photo.intake_id, patient_photo.id, session_photo.id


def test_photo_routes_refuse_anonymous_visitors_other_links_admins_and_api_tokens(app, forms, client, with_photos):
    token, intake_id, patient_photo, session_photo = with_photos
    staff_urls = [f"/staff/intakes/{intake_id}/photos", f"/staff/intakes/{intake_id}/photos/compare",
                  f"/staff/intakes/{intake_id}/photos/{patient_photo}/image",
                  f"/staff/intakes/{intake_id}/photos/{session_photo}/thumbnail"]
    fresh = app.test_client()
    for url in staff_urls:  # anonymous
        response = fresh.get(url)
        assert response.status_code == 302 and "/staff/sign-in" in response.location, url
    make_user(app, "ada@demo.clinic", "admin", "Ada Admin")
    _id, secret = make_token(app, scope="read")
    for url in staff_urls:  # an API token opens no photo
        response = fresh.get(url, headers=bearer(secret))
        assert response.status_code == 302 and "/staff/sign-in" in response.location, url
        assert response.mimetype != "image/jpeg"
    assert fresh.get(f"/i/{token}/photos/{patient_photo}/image", headers=bearer(secret)).status_code == 200
    assert fresh.get(f"/api/v1/intakes/{intake_id}/photos/{patient_photo}", headers=bearer(secret)).status_code == 404

    other = start(forms)  # another patient's link
    for url in (f"/i/{other}/photos/{patient_photo}/image", f"/i/{other}/photos/{patient_photo}/thumbnail",
                f"/i/{token}x/photos/{patient_photo}/image",
                f"/i/{token}/photos/{session_photo}/image"):  # the practitioner's photo is not on the link
        assert fresh.get(url).status_code == 404, url
    page = forms.client.get(f"/i/{other}/photos").get_data(as_text=True)
    for action in ("remove", "marketing"):
        assert forms.client.post(f"/i/{other}/photos/{patient_photo}/{action}",
                                 data={"csrf_token": csrf_token(page), "marketing": "give"}).status_code == 404
    assert count(app, Photo) == 2

    sign_in(forms, email="ada@demo.clinic")
    for url in staff_urls:
        assert forms.client.get(url).status_code == 403, url
    record = text(forms.client.get(f"/staff/intakes/{intake_id}"))
    assert "2 photos, seen by practitioners only." in record and "/thumbnail" not in record
    forms.post("/staff/sign-out", {}, page="/staff/")

    sign_in(forms)
    for url in staff_urls:
        assert forms.client.get(url).status_code == 200, url


def test_every_view_of_a_photo_is_audited(app, forms, with_photos):
    token, intake_id, patient_photo, session_photo = with_photos
    app.test_client().get(f"/i/{token}/photos/{patient_photo}/thumbnail")
    sign_in(forms)
    with app.app_context():
        practitioner_id = db.session.execute(sa.text("SELECT id FROM staff_user")).scalar_one()
    forms.client.get(f"/staff/intakes/{intake_id}/photos/{session_photo}/image")
    with app.app_context():
        viewed = [(entry.actor, entry.data) for entry in db.session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action == "photo.viewed").order_by(AuditEntry.id))]
    assert viewed == [("patient", {"photo": patient_photo, "size": "thumbnail"}),
                      (f"staff:{practitioner_id}", {"photo": session_photo, "size": "photo"})]


# --- the practitioner's side ----------------------------------------------------------------------


def test_the_record_shows_compact_thumbnails_and_the_comparison_puts_two_side_by_side(app, forms, with_photos):
    _token, intake_id, patient_photo, session_photo = with_photos
    sign_in(forms)
    record = forms.client.get(f"/staff/intakes/{intake_id}").get_data(as_text=True)
    assert record.count("/thumbnail\"") == 2 and 'class="photo-strip"' in record
    printed = forms.client.get(f"/staff/intakes/{intake_id}/print").get_data(as_text=True)
    assert printed.count("/thumbnail\"") == 2
    page = text(forms.client.get(f"/staff/intakes/{intake_id}/photos"))
    assert "Compare Whole face: " in page and "Two weeks after" in page
    compare = forms.client.get(f"/staff/intakes/{intake_id}/photos/compare?left={patient_photo}"
                               f"&right={session_photo}")
    assert compare.status_code == 200
    body = compare.get_data(as_text=True)
    assert f"/photos/{patient_photo}/image" in body and f"/photos/{session_photo}/image" in body
    assert "20 December 2026" in text(compare)
    assert forms.client.get(f"/staff/intakes/{intake_id}/photos/compare").status_code == 200  # the first pair


def test_a_session_photo_needs_its_kind_date_area_and_file(app, forms, submitted):
    make_user(app)
    sign_in(forms)
    with app.app_context():
        intake_id = db.session.scalars(sa.select(Intake.id)).one()
    url = f"/staff/intakes/{intake_id}/photos"
    page = forms.client.get(url).get_data(as_text=True)
    response = forms.client.post(url, data={"csrf_token": csrf_token(page), "taken_on": ""},
                                 content_type="multipart/form-data")
    assert response.status_code == 400
    found = dict(problems(response.get_data(as_text=True)))
    assert found["#kind"] == "Say whether it is before or after the session."
    assert found["#upload"] == "Take a photo or choose one."
    assert "#taken_on" in found and "#area" in found
    svg = forms.client.post(url, data={"csrf_token": csrf_token(page), "kind": "before", "taken_on": "2026-11-25",
                                       "area": "face", "upload": (io.BytesIO(samples.SVG), "x.svg")},
                            content_type="multipart/form-data")
    assert svg.status_code == 400 and "SVG drawings are not accepted" in text(svg)
    assert count(app, Photo) == 0


def test_a_practitioner_cannot_remove_the_patients_photo_but_can_remove_a_session_photo(app, forms, with_photos):
    _token, intake_id, patient_photo, session_photo = with_photos
    sign_in(forms)
    page = forms.client.get(f"/staff/intakes/{intake_id}/photos").get_data(as_text=True)
    token = csrf_token(page)
    assert forms.client.post(f"/staff/intakes/{intake_id}/photos/{patient_photo}/remove",
                             data={"csrf_token": token}).status_code == 403
    assert forms.client.post(f"/staff/intakes/{intake_id}/photos/{session_photo}/remove",
                             data={"csrf_token": token}).status_code == 302
    assert count(app, Photo) == 1 and count(app, PhotoBlob) == 2


# --- keeping: export, erasure, purge, rotation, backups, the directory store ------------------------


def test_the_export_holds_the_photos_as_files(app, runner, with_photos, tmp_path):
    output = tmp_path / "export.json"
    result = runner.invoke(args=["data", "export", "--patient", EMAIL, "-o", str(output)])
    assert result.exit_code == 0, result.output
    document = json.loads(output.read_text())
    listed = document["intakes"][0]["photos"]
    assert [photo["kind"] for photo in listed] == ["concern", "after"]
    assert listed[0]["clinical_consent_at"] and listed[0]["note"] == "Dark patches on the cheeks"
    folder = tmp_path / "export-photos"
    assert sorted(path.name for path in folder.iterdir()) == sorted(photo["file"] for photo in listed)
    for path in folder.iterdir():
        assert exif_of(path.read_bytes())["format"] == "JPEG"
        assert path.stat().st_mode & 0o777 == 0o600


def test_erasure_removes_the_photos_and_their_bytes(app, runner, with_photos):
    result = runner.invoke(args=["data", "erase", "--patient", EMAIL, "--yes"])
    assert result.exit_code == 0, result.output
    assert count(app, Photo) == count(app, PhotoBlob) == 0


def test_drafts_photos_are_purged_with_the_drafts(app, forms, runner, token):
    assert upload(forms, token, samples.jpeg()).status_code == 302
    with app.app_context():
        db.session.execute(sa.update(Intake).values(updated_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC)))
        db.session.commit()
    result = runner.invoke(args=["data", "purge"])
    assert result.exit_code == 0 and "Deleted 1 " in result.output
    assert count(app, Photo) == count(app, PhotoBlob) == 0


def test_key_rotation_re_encrypts_the_photos(app, runner, with_photos):
    token, *_ = with_photos
    old = list(app.config["ENCRYPTION_KEYS"])
    new = generate_key()
    with app.app_context():
        before = {blob.key: bytes(blob.data) for blob in db.session.scalars(sa.select(PhotoBlob))}
    use_keys(app, [new, *old])
    try:
        result = runner.invoke(args=["keys", "rotate"])
        assert result.exit_code == 0, result.output
        assert "photos: 4 rows" in result.output
        use_keys(app, [new])  # the old key is gone: every photo still reads
        with app.app_context():
            after = {blob.key: bytes(blob.data) for blob in db.session.scalars(sa.select(PhotoBlob))}
            assert after.keys() == before.keys() and all(after[key] != before[key] for key in after)
            for key in after:
                assert storage.load(key)[:2] == b"\xff\xd8"
    finally:
        use_keys(app, old)


def test_backup_and_restore_bring_the_photos_back(app, runner, with_photos, tmp_path):
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql") and shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed")
    token, intake_id, patient_photo, _session = with_photos
    path = tmp_path / "backup.dump"
    assert runner.invoke(args=["data", "backup", str(path)]).exit_code == 0
    with app.app_context():
        original = storage.load(db.session.get(Photo, patient_photo).image_key)
    client = app.test_client()
    client.post(f"/i/{token}/photos/{patient_photo}/remove",
                data={"csrf_token": csrf_token(client.get(f"/i/{token}/photos").get_data(as_text=True))})
    assert count(app, Photo) == 1
    result = runner.invoke(args=["data", "restore", str(path), "--yes"])
    assert result.exit_code == 0, result.output
    assert count(app, Photo) == 2
    assert app.test_client().get(f"/i/{token}/photos/{patient_photo}/image").data == original


def test_the_directory_store_keeps_encrypted_files_and_erasure_deletes_them(app, runner, forms, tmp_path):
    app.config.update(PHOTO_STORAGE="directory", PHOTO_DIRECTORY=str(tmp_path / "photos"))
    token = start(forms)
    complete(forms, token, overrides={"about": {"email": EMAIL}})
    assert upload(forms, token, samples.jpeg(gps=True)).status_code == 302
    files = [path for path in (tmp_path / "photos").rglob("*") if path.is_file()]
    assert len(files) == 2 and count(app, PhotoBlob) == 0
    for path in files:
        assert path.stat().st_mode & 0o777 == 0o600
        assert not path.read_bytes().startswith(b"\xff\xd8")
    photo = only_photo(app)
    served = forms.client.get(f"/i/{token}/photos/{photo.id}/image")
    assert served.status_code == 200 and exif_of(served.data)["exif"] == {}
    old = list(app.config["ENCRYPTION_KEYS"])
    use_keys(app, [generate_key(), *old])
    try:
        assert "photos: 2 rows" in runner.invoke(args=["keys", "rotate"]).output
        use_keys(app, app.config["ENCRYPTION_KEYS"][:1])
        assert forms.client.get(f"/i/{token}/photos/{photo.id}/image").status_code == 200
        # (Under the new key: the search index that finds the patient by email was rebuilt with it.)
        assert "Erased 1 intakes" in runner.invoke(args=["data", "erase", "--patient", EMAIL, "--yes"]).output
    finally:
        use_keys(app, old)
    assert [path for path in (tmp_path / "photos").rglob("*") if path.is_file()] == []


def test_backup_and_restore_carry_the_directory_stores_files(app, runner, forms, tmp_path):
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql") and shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed")
    app.config.update(PHOTO_STORAGE="directory", PHOTO_DIRECTORY=str(tmp_path / "photos"))
    token = start(forms)
    assert upload(forms, token, samples.jpeg()).status_code == 302
    photo = only_photo(app)
    original = forms.client.get(f"/i/{token}/photos/{photo.id}/image").data
    path = tmp_path / "backup.dump"
    result = runner.invoke(args=["data", "backup", str(path)])
    assert result.exit_code == 0 and "2 photo files (encrypted) copied to" in result.output, result.output
    assert len(list((tmp_path / "backup.dump.photos").rglob("*/*"))) == 2
    page = forms.client.get(f"/i/{token}/photos").get_data(as_text=True)
    forms.client.post(f"/i/{token}/photos/{photo.id}/remove", data={"csrf_token": csrf_token(page)})
    assert [p for p in (tmp_path / "photos").rglob("*") if p.is_file()] == []
    result = runner.invoke(args=["data", "restore", str(path), "--yes"])
    assert result.exit_code == 0 and "2 photo files restored" in result.output, result.output
    assert forms.client.get(f"/i/{token}/photos/{photo.id}/image").data == original


@pytest.mark.parametrize("filename", ["../../../../evil.jpg", "..\\..\\evil.jpg", "/etc/passwd", "photos/../../x.jpg"])
def test_an_uploads_file_name_never_becomes_a_path(app, forms, tmp_path, filename):
    """The name the browser sends is ignored: the store names each file by a random key under its folder."""
    store = tmp_path / "store" / "photos"
    app.config.update(PHOTO_STORAGE="directory", PHOTO_DIRECTORY=str(store))
    token = start(forms)
    assert upload(forms, token, samples.jpeg(), filename=filename).status_code == 302
    photo = only_photo(app)
    assert all(re.fullmatch(r"[0-9a-f]{32}", key) for key in (photo.image_key, photo.thumbnail_key))
    written = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert len(written) == 2 and all(store in path.parents for path in written)


def test_a_practitioners_upload_file_name_never_becomes_a_path(app, forms, submitted, tmp_path):
    store = tmp_path / "store" / "photos"
    app.config.update(PHOTO_STORAGE="directory", PHOTO_DIRECTORY=str(store))
    intake_id = only_intake_id(app)
    make_user(app)
    sign_in(forms)
    page = forms.client.get(f"/staff/intakes/{intake_id}/photos").get_data(as_text=True)
    added = forms.client.post(f"/staff/intakes/{intake_id}/photos", data={
        "csrf_token": csrf_token(page), "kind": "before", "taken_on": "2026-11-25", "area": "face", "note": "",
        "upload": (io.BytesIO(samples.jpeg()), "../../../../evil.jpg")}, content_type="multipart/form-data")
    assert added.status_code == 302, problems(added.get_data(as_text=True))
    photo = only_photo(app)
    assert all(re.fullmatch(r"[0-9a-f]{32}", key) for key in (photo.image_key, photo.thumbnail_key))
    written = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert len(written) == 2 and all(store in path.parents for path in written)


def only_intake_id(app) -> int:
    with app.app_context():
        return db.session.scalars(sa.select(Intake.id)).one()
