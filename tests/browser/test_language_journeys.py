"""A whole intake on a 360-px phone in French and in Arabic (right to left), axe on every page.

The labels the test clicks are read from the shipped catalogs, so the journey fails when a page
shows something else than its translation. Screenshots (MESO_SHOTS=folder) are to be looked at:
the Arabic pages mirrored, the progress indicator and the radio buttons on the right.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from babel.support import Translations
from icalendar import Calendar

from tests.support.browser import PHONE, assert_accessible, expect, group, heading, shot, watch_console
from tests.support.settings import REPO_ROOT

pytestmark = pytest.mark.browser

#: How long each language's full intake took (start page to the status page), for the report.
TIMINGS: dict[str, float] = {}


@pytest.fixture
def languages(live_server) -> Iterator[None]:
    """The live server offers the shipped languages for this test only (it is shared by the session)."""
    saved = live_server.app.config["LANGUAGES"]
    live_server.app.config["LANGUAGES"] = ["en", "fr", "es", "ar"]
    yield
    live_server.app.config["LANGUAGES"] = saved


def catalog(language: str) -> Callable[[str], str]:
    translations = Translations.load(str(REPO_ROOT / "intake" / "translations"), [language])
    assert isinstance(translations, Translations), f"no compiled catalog for {language}"

    return translations.gettext


def journey(chromium, live_server, language: str) -> None:
    _ = catalog(language)
    errors: list[str] = []
    context = chromium.new_context(viewport=PHONE, locale={"fr": "fr-FR", "ar": "ar-AE"}[language])
    page = context.new_page()
    watch_console(page, errors)
    rtl = language == "ar"

    def choose(scope, legend: str, option: str) -> None:
        group(scope, _(legend)).get_by_label(_(option), exact=True).check()

    def cont(then: str, button: str = "Continue") -> None:
        page.get_by_role("button", name=_(button), exact=True).click()
        expect(heading(page)).to_contain_text(_(then))
        assert page.evaluate("document.documentElement.lang") == language
        assert page.evaluate("document.documentElement.dir") == ("rtl" if rtl else "ltr")
        assert_accessible(page)

    started = time.perf_counter()
    page.goto(live_server.url + "/")  # the browser's language picks the page's (Accept-Language)
    expect(heading(page)).to_have_text(_("Before your mesotherapy appointment"))
    assert page.evaluate("document.documentElement.lang") == language
    assert_accessible(page)
    shot(page, f"language-{language}-start")
    page.get_by_role("button", name=_("Start now")).click()
    expect(heading(page)).to_contain_text(_("About you"))
    assert_accessible(page)
    shot(page, f"language-{language}-about", full_page=False)

    # Right to left: the progress indicator starts on the right, the radio buttons sit on the right.
    segments = page.locator(".progress__segment")
    if segments.count() > 1:
        first, last = segments.first.bounding_box(), segments.last.bounding_box()
        assert (first["x"] > last["x"]) is rtl, (first, last)
    page.get_by_label(_("Full name")).fill("Ana Pereira")
    page.get_by_label(_("Date of birth")).fill("1988-04-12")
    choose(page, "Sex recorded at birth", "Female")
    radio = group(page, _("Sex recorded at birth")).locator(".choice").first
    box, button = radio.bounding_box(), radio.locator("input").bounding_box()
    at_start = abs(button["x"] - box["x"]) <= 4
    at_end = abs((button["x"] + button["width"]) - (box["x"] + box["width"])) <= 4
    assert (at_end if rtl else at_start), (box, button)
    page.get_by_label(_("Email address")).fill("ana@example.com")
    choose(page, "Have you booked your appointment?", "Yes")
    page.get_by_label(_("Date of your appointment")).fill("2026-12-09")
    cont("Your goals")
    page.get_by_label(_("Hydration"), exact=True).check()
    page.get_by_label(_("Whole face"), exact=True).check()
    cont("Your skin")
    choose(page, "Which best describes your skin in the sun?", "Type III: medium, sometimes burns, tans gradually")
    for question in ("Is your skin sensitive or easily irritated?",
                     "Do you have spots, an infection, a rash or a wound where you want treatment?",
                     "Do you have a cold sore now, or feel one starting?",
                     "Do you get raised or thick scars (keloid scars)?"):
        choose(page, question, "No")
    choose(page, "Have you ever had cold sores?", "Yes")
    cont("Your health")
    for question in ("Are you pregnant?", "Are you trying to get pregnant?", "Are you breastfeeding?",
                     "Have you given birth in the last 12 months?",
                     "Have you been unwell or had a fever in the last 2 weeks?",
                     "Have you taken antibiotics in the last 2 weeks?"):
        choose(page, question, "No")
    page.get_by_label(_("None of these"), exact=True).check()
    shot(page, f"language-{language}-health")
    cont("Medicines and supplements")
    choose(page, "Do you take any medicines or supplements, or have you stopped any in the last 6 months?", "Yes")
    row = group(page, _("Medicine or supplement") + " 1")
    row.get_by_label(_("Name of the medicine or supplement")).fill("Ibuprofen 200mg")
    choose(row, "Are you still taking it?", "Still taking")
    choose(row, "Was it prescribed by a doctor?", "No")
    shot(page, f"language-{language}-medicines")
    cont("Allergies")
    for question in ("Have you ever had an allergic reaction to a local anaesthetic?",
                     "Have you ever had a severe allergic reaction (anaphylaxis)?",
                     "Have you reacted badly to an injection or a skincare product before?"):
        choose(page, question, "No")
    cont("Lifestyle")
    page.get_by_label(_("How many alcoholic drinks do you have in a typical week?")).fill("4")
    choose(page, "Do you smoke or vape?", "Never")
    choose(page, "In the last 2 weeks, have you been sunburnt, used a sunbed or spent long in strong sun without "
                 "protection?", "No")
    cont("Previous treatments")
    choose(page, "Have you had mesotherapy before?", "No")
    choose(page, "Have you had any cosmetic or dental treatment in the last 6 months?", "No")
    cont("Upcoming events")
    choose(page, "Do you have an important event coming up, such as a wedding, a holiday or photos?", "No")
    cont("Consent")
    for agreement in ("I have read what mesotherapy involves.",
                      "I understand the usual after-effects (redness, swelling and bruising for a few days) and "
                      "the rare risks.",
                      "My answers are accurate and complete, as far as I know. I will tell the clinic if anything "
                      "changes before my appointment.",
                      "I agree that the clinic may store and use my health information to decide whether the "
                      "treatment is suitable for me."):
        page.get_by_label(_(agreement), exact=True).check()
    page.get_by_label(_("Type your full name to sign")).fill("Ana Pereira")
    shot(page, f"language-{language}-consent")
    cont("Check your answers before you submit", button="Continue to check your answers")
    expect(page.get_by_text("Ibuprofen 200mg")).to_be_visible()  # the patient's own words, as typed
    shot(page, f"language-{language}-review")
    cont("Your answers have been sent", button="Submit my answers")
    TIMINGS[language] = time.perf_counter() - started

    # The status page: the rules' instructions and the plan in the patient's language, dated for it.
    expect(page.get_by_role("heading", name=_("Before your appointment"), exact=True)).to_be_visible()
    instructions = page.locator(".checklist__text")
    assert instructions.count() >= 1
    assert _("From {start}: stop taking aspirin, ibuprofen and other anti-inflammatory painkillers you bought "
             "yourself (such as Nurofen, Advil or naproxen). Paracetamol is fine for pain.").split("{start}")[1] in \
        " ".join(instructions.all_inner_texts())
    expect(page.get_by_text(_("Hydration and glow"), exact=True)).to_be_visible()
    shot(page, f"language-{language}-status")
    # The printable summary, as printed.
    page.emulate_media(media="print")
    expect(page.locator(".language-switcher")).to_be_hidden()
    assert page.evaluate("document.documentElement.dir") == ("rtl" if rtl else "ltr")
    expect(page.get_by_role("heading", name=_("Your proposed treatment plan"))).to_be_visible()
    shot(page, f"language-{language}-status-print")
    page.emulate_media(media="screen")
    with page.expect_download() as download:
        page.get_by_role("link", name=_("Add these dates to your calendar")).click()
    events = Calendar.from_ical(Path(download.value.path()).read_bytes()).walk("VEVENT")
    summaries = {str(event["summary"]) for event in events}
    count = page.locator(".schedule li").count()
    assert count and _("Mesotherapy session %(number)s of %(count)s (to be confirmed by your practitioner)") % {
        "number": 1, "count": count} in summaries, summaries
    context.close()
    assert errors == [], errors


def test_a_patient_completes_the_intake_in_french_on_a_phone(chromium, live_server, languages):
    journey(chromium, live_server, "fr")
    print(f"\nfull intake in French: {TIMINGS['fr']:.1f} s")


def test_a_patient_completes_the_intake_in_arabic_right_to_left_on_a_phone(chromium, live_server, languages):
    journey(chromium, live_server, "ar")
    print(f"\nfull intake in Arabic: {TIMINGS['ar']:.1f} s")


def test_the_switcher_changes_the_language_without_javascript(chromium, live_server, languages):
    context = chromium.new_context(viewport=PHONE, java_script_enabled=False, locale="en-GB")
    page = context.new_page()
    page.goto(live_server.url + "/")
    expect(heading(page)).to_have_text("Before your mesotherapy appointment")
    page.get_by_role("navigation", name="Language").get_by_role("link", name="العربية").click()
    expect(heading(page)).to_have_text(catalog("ar")("Before your mesotherapy appointment"))
    assert page.locator("html").get_attribute("dir") == "rtl"
    # Kept for the intake the patient starts next (a cookie, then stored on the intake).
    page.get_by_role("button", name=catalog("ar")("Start now")).click()
    expect(heading(page)).to_contain_text(catalog("ar")("About you"))
    context.close()


def test_longer_text_of_the_pseudo_locale_does_not_break_the_phone_layout(chromium, live_server, languages):
    live_server.app.config["LANGUAGES"] = ["en", "fr", "es", "ar", "en-XA"]  # put back by the fixture
    context = chromium.new_context(viewport=PHONE, locale="en-XA")
    page = context.new_page()
    page.goto(live_server.url + "/?lang=en-XA")
    assert page.evaluate("document.documentElement.lang") == "en-XA"
    # Accented, a third longer: nothing wider than the phone (no sideways scrolling).
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, "language-en-XA-start")
    page.get_by_role("button", name=catalog("en@xa")("Start now")).click()
    page.get_by_role("button", name=catalog("en@xa")("Continue"), exact=True).click()  # every error shown
    expect(page.get_by_role("alert")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, "language-en-XA-about-errors")
    context.close()
