"""The patient's language: which of the clinic's LANGUAGES a page is in, and how a patient changes it.

A language is named by its BCP 47 tag ("fr", "ar", "en-XA"), as in LANGUAGES and ``<html lang>``;
Babel names the catalog folder (``fr``, ``ar``, ``en@xa``). Patient pages are in, first found:
the language just picked with the switcher (``?lang=fr``, a plain link: no JavaScript), the
language stored on the intake the link opens (so the saved link, status page, printable summary,
.ics and emails come back in it), the one picked before an intake existed (a cookie), the
browser's Accept-Language among LANGUAGES, the default. Staff pages stay in the default
language (BABEL_DEFAULT_LOCALE): the record says which language the patient used.

``en-XA`` is a pseudo-locale (English, accented and lengthened, made by scripts/translations
from the catalog template): offered in LANGUAGES it shows at a glance any text that does not
go through the catalogs, and layouts that break with longer words.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from babel import Locale, UnknownLocaleError
from flask import Flask, current_app, g, has_request_context, request, url_for
from flask_babel import force_locale, get_locale, gettext
from werkzeug.routing import BuildError
from werkzeug.wrappers import Response

from ..config import PSEUDO_LOCALES, babel_locale

#: The cookie holding the language a patient picked before an intake existed (the start page).
COOKIE = "meso_lang"
#: The switcher's query parameter.
PARAMETER = "lang"
#: How each language names itself in the switcher (the pseudo-locale is not a real language).
PSEUDO_NAMES = {"en-XA": "[Ëñğļîšħ]"}
#: Patient pages whose address answers only POST: the switcher links to the page they show again.
SHOWN_AGAIN = {"patient.submit_intake": "patient.review_intake", "patient.desk_check_in": "patient.desk",
               "patient.create_intake": "patient.start"}


def offered() -> list[str]:
    """The clinic's languages, as LANGUAGES lists them (the default alone when it is empty)."""
    return list(current_app.config["LANGUAGES"]) or [current_app.config["BABEL_DEFAULT_LOCALE"]]


def offered_tag(value: str | None) -> str | None:
    """``value`` as one of the offered tags (compared case-insensitively, "-" or "_"), or None."""
    if not value:
        return None
    wanted = value.strip().replace("_", "-").lower()
    return next((tag for tag in offered() if tag.lower() == wanted), None)


def tag_of(locale: Locale | None) -> str:
    """The BCP 47 tag of a Babel locale (``<html lang>``): en@xa → en-XA, pt_BR → pt-BR."""
    if locale is None:
        return "en"
    for tag, (language, modifier) in PSEUDO_LOCALES.items():
        if locale.language == language and (locale.modifier or "").lower() == modifier:
            return tag
    return "-".join(part for part in (locale.language, locale.script, locale.territory) if part)


def current_tag() -> str:
    return tag_of(get_locale())


def negotiated() -> str | None:
    """The browser's first choice among the offered languages (Accept-Language), or None.

    In the browser's order of preference, each language matches an offered tag exactly, or by
    its primary subtag ("fr-CA" → "fr"; "pt" → "pt-BR"): werkzeug's best_match would prefer an
    exact "en;q=0.5" to the "fr-CA;q=0.8" the patient asked first.
    """
    tags = offered()
    for accepted, quality in request.accept_languages:
        if quality <= 0 or accepted == "*":
            continue
        exact = offered_tag(accepted)
        if exact:
            return exact
        primary = accepted.replace("_", "-").split("-")[0].lower()
        near = next((tag for tag in tags if tag.split("-")[0].lower() == primary and tag not in PSEUDO_LOCALES), None)
        if near:
            return near
    return None


#: The blueprints of the pages a patient reads (their link's pages, their photos, the reminders' stop link).
PATIENT_BLUEPRINTS = frozenset({"patient", "patient_photos", "reminders"})


def patient_page() -> bool:
    return request.blueprint in PATIENT_BLUEPRINTS


def picked() -> str | None:
    """The language picked with the switcher on this request (``?lang=``), if offered."""
    return offered_tag(request.args.get(PARAMETER))


def select_locale() -> Locale | None:
    """Flask-Babel's locale selector: see the module's docstring for the order."""
    if not has_request_context():
        return None
    if not patient_page():
        return None  # the default: staff pages stay in the clinic's language
    tag = (picked() or offered_tag(getattr(g, "intake_language", None)) or offered_tag(request.cookies.get(COOKIE))
           or negotiated())
    return babel_locale(tag) if tag else None


def remember_intake_language(language: str | None) -> None:
    """The intake the link opened was in ``language``: its pages follow it (unless one is picked now)."""
    g.intake_language = language


@dataclass(frozen=True)
class Choice:
    tag: str
    name: str
    url: str
    current: bool
    direction: str


def language_name(tag: str) -> str:
    """The language named in itself ("français", "العربية"), for the switcher and the record."""
    if tag in PSEUDO_NAMES:
        return PSEUDO_NAMES[tag]
    try:
        name = babel_locale(tag).get_display_name(babel_locale(tag)) or tag
    except (UnknownLocaleError, ValueError):
        return tag
    return name[:1].upper() + name[1:]


def staff_language_name(tag: str | None) -> str:
    """The patient's language as staff read it: "French (français)", or "" when not recorded."""
    if not tag:
        return ""
    if tag in PSEUDO_NAMES:
        return f"Pseudo-locale ({tag})"
    try:
        locale = babel_locale(tag)
    except (UnknownLocaleError, ValueError):
        return tag
    own, staff = language_name(tag), locale.get_display_name(get_locale() or "en") or tag
    staff = staff[:1].upper() + staff[1:]
    return staff if own == staff else f"{staff} ({own})"


def direction(tag: str | None = None) -> str:
    """"rtl" for a language written right to left (Arabic), else "ltr"."""
    try:
        locale = babel_locale(tag) if tag else get_locale()
    except (UnknownLocaleError, ValueError):
        return "ltr"
    return "rtl" if locale is not None and locale.character_order == "right-to-left" else "ltr"


def switch_url(tag: str) -> str:
    """This page in language ``tag``: its own address (GET) with ``?lang=``."""
    endpoint = request.endpoint or "patient.start"
    args: dict[str, Any] = dict(request.view_args or {})
    if request.method != "GET" or endpoint in SHOWN_AGAIN:
        endpoint = SHOWN_AGAIN.get(endpoint, endpoint)
    else:
        args.update({key: value for key, value in request.args.items() if key != PARAMETER})
    args[PARAMETER] = tag
    try:
        return url_for(endpoint, **args)
    except BuildError:  # a page with no GET address of its own: the start page
        return url_for("patient.start", lang=tag)


def language_choices() -> list[Choice]:
    """The switcher: each offered language, named in itself, with this page's address in it."""
    if not has_request_context() or not patient_page() or len(offered()) < 2:
        return []
    here = current_tag()
    return [Choice(tag, language_name(tag), switch_url(tag), tag == here, direction(tag)) for tag in offered()]


def remember_pick(response: Response) -> Response:
    """A language picked on a patient page is kept in a cookie for the pages before an intake exists."""
    tag = picked() if has_request_context() and patient_page() else None
    if tag is not None:
        response.set_cookie(COOKIE, tag, max_age=365 * 24 * 3600, httponly=True, samesite="Lax",
                            secure=current_app.config.get("SESSION_COOKIE_SECURE", False))
    return response


def untranslated_instructions(language: str | None, document: dict[str, Any] | None) -> list[str]:
    """The rule ids of the instructions of an assessment ``document`` that have no translation in
    ``language``: the patient read those in the default language (the record says so)."""
    tag = offered_tag(language)
    if not tag or tag == current_app.config["BABEL_DEFAULT_LOCALE"] or not document:
        return []
    missing = []
    with force_locale(babel_locale(tag)):
        for item in document.get("instructions") or []:
            text = item.get("template") or item.get("text") or ""
            if text and gettext(text) == text:
                missing.append(str(item.get("rule_id", "")))
    return missing


def init_app(app: Flask) -> None:
    """The template globals of the switcher and of ``<html lang dir>``; the cookie of a pick."""
    app.add_template_global(language_choices)
    app.add_template_global(direction, "text_direction")
    app.add_template_global(current_tag, "page_language")
    app.add_template_global(staff_language_name)
    app.add_template_global(untranslated_instructions)
    app.after_request(remember_pick)
