"""Photos in headless Chromium (issue 19): the patient adds a photo on a phone (with the preview) and
on a laptop without JavaScript; the practitioner sees the thumbnails on the record, adds an "after"
photo and compares the two side by side, on screen and in print. axe-core checks every page."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from intake.auth import service as accounts
from intake.extensions import db, limiter
from intake.models import Intake
from intake.patient import service as patient
from intake.rulesets.active import active_ruleset
from tests.support import photos as samples
from tests.support.browser import PHONE, assert_accessible, expect_console_error, shot, watch_console
from tests.support.patient import seed
from tests.support.settings import TODAY

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
PRACTITIONER = "photos.pat@demo.clinic"
LAPTOP = {"width": 1366, "height": 900}


@pytest.fixture
def submitted(live_server) -> Iterator[tuple[int, str]]:
    """A submitted intake and its private link token."""
    app = live_server.app
    with app.app_context():
        if accounts.find_user(PRACTITIONER) is None:
            accounts.create_user(PRACTITIONER, "Polly Photos", "practitioner", PASSWORD)
        _intake, token = patient.start_intake({"full_name": "Pia Photo"})
    seed(app, token, overrides={"about": {"full_name": "Pia Photo", "email": "pia@example.org"},
                                "consent": {"signature": "Pia Photo"}})
    with app.test_request_context():
        intake = db.session.scalar(db.select(Intake).order_by(Intake.id.desc()).limit(1))
        patient.submit_intake(intake, active_ruleset(), TODAY)
        intake_id = intake.id
    yield intake_id, token


def context_page(chromium, errors: list[str], **options) -> Page:
    page = chromium.new_context(**options).new_page()
    watch_console(page, errors)
    return page


def loaded(page: Page, selector: str) -> int:
    """How many images of ``selector`` loaded, once all have finished (a refused or broken one has no width)."""
    page.wait_for_function("selector => Array.from(document.querySelectorAll(selector)).every(i => i.complete)",
                           arg=selector)
    return page.eval_on_selector_all(selector, "images => images.filter(i => i.naturalWidth > 0).length")


def test_a_patient_adds_photos_on_a_phone_and_without_javascript_and_the_practitioner_compares(
        chromium, live_server, submitted) -> None:
    limiter.reset()
    intake_id, token = submitted
    errors: list[str] = []

    # On a phone, with JavaScript: the camera or a file, a preview, the consents.
    phone = context_page(chromium, errors, viewport=PHONE, is_mobile=True, has_touch=True)
    phone.goto(f"{live_server.url}/i/{token}")
    phone.get_by_role("link", name="Add or see your photos").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Photos of the areas you want treated")
    assert_accessible(phone)
    phone.get_by_label("Take a photo now").set_input_files(
        {"name": "IMG_0001.jpg", "mimeType": "image/jpeg", "buffer": samples.jpeg(1200, 900, gps=True)})
    expect(phone.locator("[data-photo-preview] img")).to_be_visible()
    phone.get_by_label("Which area does it show?").select_option("face")
    phone.get_by_label("A short note (optional)").fill("Fine lines around the mouth")
    shot(phone, "photos-phone-chosen")
    phone.get_by_role("button", name="Add this photo").click()
    # Without the clinical consent nothing is kept, and the page says so.
    expect(phone.locator(".error-summary")).to_contain_text("To send a photo, agree to its use for your care.")
    expect_console_error(errors, 400)
    assert_accessible(phone)
    phone.get_by_label("Take a photo now").set_input_files(
        {"name": "IMG_0001.jpg", "mimeType": "image/jpeg", "buffer": samples.jpeg(1200, 900, gps=True)})
    phone.get_by_label("Which area does it show?").select_option("face")
    phone.get_by_label("I agree that the clinic keeps this photo in my record").check()
    phone.get_by_role("button", name="Add this photo").click()
    expect(phone.get_by_role("status")).to_contain_text("Your photo was added.")
    assert loaded(phone, ".photo-card img") == 1
    assert_accessible(phone)
    shot(phone, "photos-phone-added")
    phone.get_by_role("button", name="Allow marketing use").click()
    expect(phone.locator(".photo-card")).to_contain_text("For marketing: agreed on")
    phone.get_by_role("button", name="Withdraw marketing consent").click()
    expect(phone.locator(".photo-card")).to_contain_text("For marketing: withdrawn on")
    phone.context.close()

    # On a laptop without JavaScript: the plain form posts the file.
    plain = context_page(chromium, errors, viewport=LAPTOP, java_script_enabled=False)
    plain.goto(f"{live_server.url}/i/{token}/photos")
    plain.get_by_label("Or choose a photo you already have").set_input_files(
        {"name": "cheek.png", "mimeType": "image/png", "buffer": samples.png(900, 600, mode="RGB")})
    plain.get_by_label("Which area does it show?").select_option("face")
    plain.get_by_label("I agree that the clinic keeps this photo in my record").check()
    plain.get_by_role("button", name="Add this photo").click()
    expect(plain.get_by_role("status")).to_contain_text("Your photo was added.")
    expect(plain.locator(".photo-card img")).to_have_count(2)  # (no script runs here to ask whether they loaded)
    plain.context.close()

    # The practitioner: thumbnails on the record, an "after" photo, the comparison.
    staff = context_page(chromium, errors, viewport=LAPTOP)
    staff.goto(f"{live_server.url}/staff/intakes/{intake_id}")
    staff.get_by_label("Email address").fill(PRACTITIONER)
    staff.get_by_label("Password").fill(PASSWORD)
    staff.get_by_role("button", name="Sign in").click()
    expect(staff.locator("#record-photos")).to_be_visible()
    assert loaded(staff, ".photo-strip img") == 2
    assert_accessible(staff)
    staff.locator("#record-photos").scroll_into_view_if_needed()
    shot(staff, "photos-record", full_page=False)
    staff.get_by_role("link", name="2 photos: add, compare").click()
    staff.get_by_label("After the session").check()
    staff.get_by_label("Date of the session").fill("2026-12-23")
    staff.get_by_label("Area").select_option("face")
    staff.get_by_label("Or choose a file").set_input_files(
        {"name": "after.jpg", "mimeType": "image/jpeg", "buffer": samples.jpeg(1200, 900, colour=(170, 130, 115))})
    staff.get_by_label("Note (optional)").fill("Four weeks after the first session")
    staff.get_by_role("button", name="Add photo").click()
    expect(staff.get_by_role("status")).to_contain_text("The photo was added.")
    assert loaded(staff, ".photo-grid img") == 3
    assert_accessible(staff)
    shot(staff, "photos-staff")
    staff.get_by_role("link", name="Compare Whole face").click()
    expect(staff.get_by_role("heading", level=1)).to_contain_text("Compare photos")
    expect(staff.locator("#figure-right")).to_contain_text("23 December 2026")
    assert loaded(staff, ".compare img") == 2
    assert_accessible(staff)
    shot(staff, "photos-compare")
    staff.emulate_media(media="print")
    shot(staff, "photos-compare-print")
    staff.context.close()
    assert errors == [], f"the browser console reported errors: {errors}"
