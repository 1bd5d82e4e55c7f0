"""Patients in their own language (issue 17): negotiation, the switcher, the language stored on the
intake and followed by the saved link, status page, emails and .ics; the pseudo-locale catching
any patient-facing text that does not go through the catalogs; rule texts translated."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner
from icalendar import Calendar

from intake import create_app
from intake.cli.catalogs import pseudo, write_pseudo
from intake.extensions import db
from intake.models import Intake
from intake.rulesets.cli import rules
from tests.support import photos
from tests.support.invitations import INVITE, invite, link_token
from tests.support.patient import SECTIONS, complete, fields, save, start, submit
from tests.support.settings import REPO_ROOT, TODAY

LANGUAGES = ["en", "fr", "es", "ar"]
#: pybabel, as the test's own Python runs it.
PYBABEL = [sys.executable, "-m", "babel.messages.frontend"]


@pytest.fixture
def multilingual(app):
    app.config["LANGUAGES"] = LANGUAGES
    return app


def speaking(client, accept: str) -> None:
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = accept


def html_of(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def intake_of(app, token: str) -> Intake:
    from intake.patient.queries import find_intake_by_token

    with app.app_context():
        intake = find_intake_by_token(token)
        assert intake is not None
        db.session.expunge(intake)
        return intake


def test_the_browsers_language_among_the_clinics_is_the_first_choice(multilingual, client, forms):
    speaking(client, "de-DE, fr-CA;q=0.8, en;q=0.5")
    page = html_of(client.get("/"))
    assert page.html["lang"] == "fr" and page.html["dir"] == "ltr"
    assert page.h1.get_text(strip=True) == "Avant votre rendez-vous de mésothérapie"
    token = start(forms)
    assert intake_of(multilingual, token).language == "fr"


def test_a_language_the_clinic_does_not_offer_falls_back_to_the_default(app, client):
    speaking(client, "fr")  # LANGUAGES is "en" alone: no switcher, English
    page = html_of(client.get("/"))
    assert page.html["lang"] == "en"
    assert page.find("nav", class_="language-switcher") is None


def test_the_switcher_works_without_javascript_and_is_stored_on_the_intake(multilingual, client, forms):
    speaking(client, "en")
    token = start(forms)
    page = html_of(client.get(f"/i/{token}/about"))
    links = {a["hreflang"]: a for a in page.select("nav.language-switcher a")}
    assert set(links) == set(LANGUAGES)
    assert links["en"].get("aria-current") == "true"
    assert links["ar"]["lang"] == "ar" and links["ar"]["dir"] == "rtl" and links["ar"].get_text() == "العربية"
    arabic = client.get(links["ar"]["href"])
    assert arabic.status_code == 200
    page = html_of(arabic)
    assert page.html["lang"] == "ar" and page.html["dir"] == "rtl"
    assert intake_of(multilingual, token).language == "ar"
    # Stored: the saved link comes back in Arabic whatever the browser says.
    speaking(client, "es")
    again = html_of(client.get(f"/i/{token}", follow_redirects=True))
    assert again.html["lang"] == "ar"
    # A form posted with errors still offers the switch, to the same page's address.
    posted = html_of(forms.post(f"/i/{token}/about", [("action", "continue")]))
    assert posted.select_one('nav.language-switcher a[hreflang="fr"]')["href"] == f"/i/{token}/about?lang=fr"


def test_the_status_page_email_and_calendar_follow_the_patients_language(multilingual, client, forms, outbox):
    speaking(client, "fr")
    token = start(forms)
    complete(forms, token)
    submit(forms, token)
    page = html_of(client.get(f"/i/{token}"))
    assert page.html["lang"] == "fr"
    text = page.get_text(" ", strip=True)
    assert "Avant votre rendez-vous" in text
    # The rules' instructions and plan wording, translated, dated in French.
    assert "À partir du" in text or "à partir du" in text
    assert re.search(r"(lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche) \d+ (novembre|décembre)", text)
    calendar = client.get(f"/i/{token}/plan.ics")
    assert calendar.status_code == 200
    events = [c for c in Calendar.from_ical(calendar.data).walk() if c.name == "VEVENT"]
    summaries = [str(e["summary"]) for e in events]
    assert any(s.startswith("Séance de mésothérapie 1 sur") for s in summaries), summaries
    reminders = [str(e["description"]) for e in events if str(e["summary"]) == "Avant votre séance de mésothérapie"]
    assert any(r.startswith("À partir du mercredi 25 novembre : ") for r in reminders), reminders
    assert not any("{start}" in r for r in reminders)
    # An email sent from a staff page (English) goes out in the patient's language.
    with multilingual.test_request_context("/staff/"):
        from intake.review.mail import send_patient_link

        intake = db.session.get(Intake, intake_of(multilingual, token).id)
        assert send_patient_link(intake, "https://clinic.example/s/x", "staff:1", reason="decision")
        db.session.commit()
    [message] = outbox
    assert message.subject == "Des nouvelles de votre consultation chez Demo Mesotherapy Clinic"
    assert message.body.startswith("Bonjour Ana Pereira,")
    assert message.extra_headers["Content-Language"] == "fr"


def test_the_photos_page_and_an_upload_refusal_follow_the_intakes_language(multilingual, client, forms):
    speaking(client, "fr")
    token = start(forms)
    speaking(client, "en")  # the intake's language, not the browser's, from here on
    page = html_of(client.get(f"/i/{token}/photos"))
    assert page.html["lang"] == "fr"
    assert page.h1.get_text(strip=True) == "Photos des zones que vous souhaitez faire traiter"
    refused = client.post(f"/i/{token}/photos", data=photo_fields(client, token, photos.gif(), consent=True))
    assert refused.status_code == 400
    assert "Ce fichier n’est pas une photo que nous pouvons accepter. Envoyez une photo (JPEG, PNG, WebP, HEIC)." \
        in html_of(refused).get_text(" ", strip=True)
    # A language picked on the photos page is stored on the intake, as on its form's pages.
    assert html_of(client.get(f"/i/{token}/photos?lang=es")).html["lang"] == "es"
    assert intake_of(multilingual, token).language == "es"


def test_the_record_shows_the_patients_language_to_staff_in_english(multilingual, client, signed_in):
    speaking(client, "ar")
    token = start(signed_in)
    complete(signed_in, token)
    submit(signed_in, token)
    intake_id = intake_of(multilingual, token).id
    speaking(client, "ar")
    page = html_of(client.get(f"/staff/intakes/{intake_id}"))
    assert page.html["lang"] == "en"  # staff pages stay in the clinic's language
    assert page.find(id="patient-language").get_text(" ", strip=True).startswith("Arabic (العربية)")
    # Free text exactly as typed, coded answers in the staff's language.
    text = page.get_text(" ", strip=True)
    assert "Ibuprofen 200mg" in text and "Anti-wrinkle injections" in text


def test_staff_invite_a_patient_in_their_language_and_the_email_and_form_follow_it(multilingual, client, signed_in,
                                                                                  outbox):
    page = html_of(client.get(INVITE))
    assert [o["value"] for o in page.select("select#language option")] == LANGUAGES
    assert page.select_one('select#language option[value="ar"]').get_text() == "Arabic (العربية)"
    response = invite(signed_in, language="ar")
    assert response.status_code == 200
    token = link_token(response.get_data(as_text=True))
    assert intake_of(multilingual, token).language == "ar"
    [message] = outbox
    assert message.subject == "استمارة الاستشارة الخاصة بك لدى Demo Mesotherapy Clinic"
    assert message.extra_headers["Content-Language"] == "ar"
    form = html_of(client.get(f"/i/{token}/about"))
    assert form.html["lang"] == "ar" and form.html["dir"] == "rtl"


def test_the_invitation_offers_no_language_choice_when_the_clinic_has_one(app, client, signed_in, outbox):
    assert html_of(client.get(INVITE)).select("select#language") == []
    token = link_token(invite(signed_in).get_data(as_text=True))
    assert intake_of(app, token).language == "en"
    [message] = outbox
    assert message.subject == "Your consultation form for Demo Mesotherapy Clinic"


def test_the_record_says_which_instructions_the_patient_read_untranslated(multilingual):
    from intake.web.languages import untranslated_instructions

    document = {"instructions": [
        {"rule_id": "event-soon", "text": "Please bring your sun cream.", "starts_on": None, "days_before": None},
        {"rule_id": "no-numbing-cream", "starts_on": None, "days_before": None,
         "text": "Do not put any numbing cream (such as EMLA) on your skin before your appointment."},
        {"rule_id": "no-alcohol", "starts_on": "2026-12-07", "days_before": 2,
         "text": "From Monday 7 December: no alcohol, until 24 hours after your appointment.",
         "template": "From {start}: no alcohol, until 24 hours after your appointment."},
    ]}
    with multilingual.test_request_context("/staff/"):
        assert untranslated_instructions("fr", document) == ["event-soon"]
        assert untranslated_instructions("en", document) == []  # the default language needs none
        assert untranslated_instructions("", document) == []


# -- the pseudo-locale: every patient page, and any text not from the catalogs shows -------------

#: What a patient page may show untranslated: the patient's own input, the clinic's name, the
#: product's name, dates and numbers (Babel's locale data, English for the pseudo-locale).
ALLOWED = [
    r"Demo Mesotherapy Clinic", r"Meso Intake", r"Ana Pereira", r"ana@example\.com", r"Ibuprofen 200mg",
    r"as needed", r"Fish oil", r"07700 900123", r"https?://\S+", r"\b[A-Z0-9]{4}-[A-Z0-9]{4}\b",
    r"\b(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b",
    r"\b(January|February|March|April|May|June|July|August|September|October|November|December)\b",
    r"\b(Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b", r"\.ics\b",
    r"\bAM\b|\bPM\b", r"\b(JPEG|PNG|WebP|HEIC)\b",  # photo formats, named alike in every language
    r"English|Français|Español|العربية|\[Ëñğļîšħ\]",  # each language named in itself, by the switcher
]
#: A translated message of the pseudo-locale: [accented text ···].
PSEUDO_TEXT = re.compile(r"\[[^\[\]]*?·+\]")


@pytest.fixture(scope="module")
def pseudo_catalogs(tmp_path_factory) -> Path:
    """The catalogs with the pseudo-locale made from a fresh extraction of the code and rules."""
    directory = tmp_path_factory.mktemp("translations")
    shutil.copytree(REPO_ROOT / "intake" / "translations", directory, dirs_exist_ok=True)
    pot = directory / "messages.pot"
    subprocess.run([*PYBABEL, "extract", "-F", "babel.cfg", "-o", str(pot),
                    "."], cwd=REPO_ROOT, check=True, capture_output=True)
    write_pseudo(pot, directory)
    subprocess.run([*PYBABEL, "compile", "-d", str(directory), "-l", "en@xa"],
                   check=True, capture_output=True)
    return directory


@pytest.fixture
def pseudo_app(app, pseudo_catalogs):
    """An app on the same database, offering the pseudo-locale with the fresh catalogs."""
    config = {key: app.config[key] for key in ("TESTING", "SECRET_KEY", "SQLALCHEMY_DATABASE_URI", "TODAY",
                                               "SERVER_NAME", "MAIL_BACKEND", "AUDIT_CHECKPOINT_FILE")}
    other = create_app({**config, "LANGUAGES": [*LANGUAGES, "en-XA"],
                        "BABEL_TRANSLATION_DIRECTORIES": str(pseudo_catalogs),
                        "RULES_REFRESH_SECONDS": 0, "REASSESS_IN_BACKGROUND": False})
    yield other
    with other.app_context():
        db.session.remove()
        db.engine.dispose()  # its own pool: closed here, not left to the garbage collector


def untranslated(page: BeautifulSoup) -> list[str]:
    """The visible texts (and labelling attributes) of a page that are not pseudo-translated."""
    for hidden in page(["script", "style", "template"]):
        hidden.decompose()
    for kept in page.select('[translate="no"]'):  # marked as not to translate: the cited documents' titles
        kept.decompose()
    texts = [page.get_text("\n")]
    for tag in page.find_all(True):
        texts += [tag[name] for name in ("title", "aria-label", "placeholder", "alt") if tag.get(name)]
        if tag.name == "input" and tag.get("type") in ("submit", "button") and tag.get("value"):
            texts.append(tag["value"])
    found = []
    for text in texts:
        text = PSEUDO_TEXT.sub(" ", text)
        for allowed in ALLOWED:
            text = re.sub(allowed, " ", text)
        found += [line.strip() for line in text.splitlines() if re.search(r"[A-Za-z]{2,}", line)]
    return found


def photo_fields(client, token: str, data: bytes | None, *, consent: bool = False,
                 marketing: bool = False) -> dict:
    """The photo form as the patient's browser sends it (multipart), with the page's CSRF token."""
    from tests.support.html import csrf_token

    fields: dict = {"csrf_token": csrf_token(client.get(f"/i/{token}/photos").get_data(as_text=True)),
                    "area": "face" if data is not None else "", "note": ""}
    if data is not None:
        fields["upload"] = (io.BytesIO(data), "IMG_0001.jpg")
    if consent:
        fields["clinical_consent"] = "y"
    if marketing:
        fields["marketing_consent"] = "y"
    return fields


def test_every_patient_page_in_the_pseudo_locale_goes_through_the_catalogs(pseudo_app):
    from tests.support.forms import FormClient

    client = pseudo_app.test_client()
    speaking(client, "en-XA")
    forms = FormClient(client)
    seen: dict[str, list[str]] = {}

    def look(url: str, response=None) -> None:
        response = response if response is not None else client.get(url)
        assert response.status_code in (200, 400, 404, 410), (url, response.status_code)
        page = html_of(response)
        assert page.html["lang"] == "en-XA", url
        seen[url] = untranslated(page)

    look("/")
    token = start(forms)
    for section in SECTIONS:
        look(f"/i/{token}/{section}")
        # The page again with every error message it can show.
        look(f"/i/{token}/{section} (errors)", forms.post(f"/i/{token}/{section}", [("action", "continue")]))
        assert save(forms, token, section).status_code == 302, section
    look(f"/i/{token}/medications (rows)", forms.post(f"/i/{token}/medications",
                                                     [*fields("medications"), ("action", "add:items")]))
    look(f"/i/{token}/review")
    look(f"/i/{token}/saved")
    submit(forms, token)
    look(f"/i/{token}")
    # The patient's photos: none yet, each refusal (no file, no consent; not a photo), one sent with its consents.
    look(f"/i/{token}/photos")
    look(f"/i/{token}/photos (errors)", client.post(f"/i/{token}/photos", data=photo_fields(client, token, None)))
    look(f"/i/{token}/photos (refused)",
         client.post(f"/i/{token}/photos", data=photo_fields(client, token, photos.gif(), consent=True)))
    assert client.post(f"/i/{token}/photos", data=photo_fields(client, token, photos.jpeg(), consent=True,
                                                                marketing=True)).status_code == 302
    look(f"/i/{token}/photos?added=1")
    # The reminders' stop link: asked, stopped, and a link that does not work.
    with pseudo_app.app_context():
        from intake.reminders.service import stop_token

        stop = f"/reminders/stop/{stop_token(intake_of(pseudo_app, token).id)}"
    look(stop)
    assert forms.post(stop, {}).status_code == 302
    look(f"{stop} (stopped)", client.get(stop))
    look("/reminders/stop/not-a-link")
    # The reminders' continue link: each page it leads to, expired, and a link that does not work.
    with pseudo_app.app_context():
        from intake.reminders.service import PURPOSES, continue_token

        intake_id = intake_of(pseudo_app, token).id
        links = [f"/reminders/continue/{continue_token(intake_id, purpose, TODAY)}" for purpose in PURPOSES]
        expired = f"/reminders/continue/{continue_token(intake_id, PURPOSES[0], TODAY.replace(day=1))}"
    for link in links:
        look(link)
    look(f"{expired} (expired)", client.get(expired))
    look("/reminders/continue/not-a-link (invalid)", client.get("/reminders/continue/not-a-link"))
    look("/desk")
    look("/desk (wrong code)", forms.post("/desk", {"code": "NOPE-NOPE"}, page="/desk"))
    pinned = pseudo_app.config["TODAY"]
    try:
        pseudo_app.config["TODAY"] = TODAY.replace(day=28)
        look(f"/i/{token}/check-in")
    finally:
        pseudo_app.config["TODAY"] = pinned
    look("/i/not-a-link")
    leaks = {url: texts for url, texts in seen.items() if texts}
    assert leaks == {}, "text that does not go through the catalogs: " + repr(leaks)


def test_the_pseudo_locale_keeps_placeholders_and_is_longer():
    text = "From {start}: stop %(name)s <b>now</b>"
    made = pseudo(text)
    assert "{start}" in made and "%(name)s" in made and "<b>" in made
    assert len(made) >= len(text) * 1.3
    assert re.fullmatch(r"\[.*·+\]", made)


# -- rule texts: extracted, translated at display, linted per language ---------------------------


def test_pybabel_extracts_the_patient_texts_of_the_rule_files(tmp_path):
    pot = tmp_path / "rules.pot"
    config = tmp_path / "babel.cfg"
    config.write_text("[rules: rules/**.yaml]\n")
    subprocess.run([*PYBABEL, "extract", "-F", str(config), "-o",
                    str(pot), "--add-comments=TRANSLATORS", "."], cwd=REPO_ROOT, check=True, capture_output=True)
    from babel.messages.pofile import read_po

    with pot.open("rb") as handle:
        ids = {message.id: message for message in read_po(handle) if message.id}
    from intake.assessment import load_ruleset
    from intake.assessment.texts import patient_texts

    wanted = {item.text for item in patient_texts(load_ruleset(REPO_ROOT / "rules"))}
    assert wanted and wanted <= set(ids), wanted - set(ids)
    # Only what the patient reads: a rule's message (the practitioner's) is not extracted.
    assert not any(text.startswith("Under 18 on the appointment date. England bans") for text in ids)
    dated = next(message for text, message in ids.items() if "{start}" in text)
    assert any("keep {start}" in comment for comment in dated.auto_comments)


def lint_output(app, *folders: Path) -> str:
    """`flask rules lint` in the app's context (its LANGUAGES)."""
    with app.app_context():
        return CliRunner().invoke(rules, ["lint", "--no-info", *(str(f) for f in folders)]).output


def test_rules_lint_warns_per_language_about_untranslated_rule_texts(tmp_path, app):
    clinic = tmp_path / "clinic"
    (clinic / "precautions").mkdir(parents=True)
    (clinic / "precautions" / "ours.yaml").write_text(
        "- id: our-own-rule\n  title: Our own rule\n  severity: precaution\n"
        "  when: {field: lifestyle.recent_tanning, equals: true}\n"
        "  message: Recent tanning.\n  instruction:\n    text: Please bring your sun cream.\n"
        "  source: [rule-default]\n")
    app.config["LANGUAGES"] = ["en", "fr", "en-XA"]
    output = lint_output(app, REPO_ROOT / "rules", clinic)
    warnings = [line for line in output.splitlines() if "[untranslated]" in line]
    assert warnings == [line for line in warnings if line.startswith("warning: ") and ": fr: " in line]
    assert any("our-own-rule" in line and "Please bring your sun cream." in line for line in warnings), output
    assert not any("en-XA" in line for line in warnings)
    # The clinic's own catalog (CLINIC/translations, made by scripts/translations clinic) silences it.
    subprocess.run([str(REPO_ROOT / "scripts" / "translations"), "clinic", str(clinic), "fr"], check=True,
                   capture_output=True)
    po = clinic / "translations" / "fr" / "LC_MESSAGES" / "messages.po"
    wanted = 'msgid "Please bring your sun cream."\nmsgstr '
    po.write_text(po.read_text().replace(wanted + '""', wanted + '"Apportez votre crème solaire."'))
    subprocess.run([*PYBABEL, "compile", "-d", str(clinic / "translations")],
                   check=True, capture_output=True)
    output = lint_output(app, REPO_ROOT / "rules", clinic)
    assert "0 warning(s)" in output, output


def test_the_catalogs_of_the_complete_languages_have_every_message():
    result = subprocess.run([str(REPO_ROOT / "scripts" / "translations"), "check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
