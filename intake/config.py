"""Configuration from the environment, with safe defaults for development.

``MESO_ENV=production`` turns on the strict mode: the app refuses to start without a
real ``SECRET_KEY``, ``MESO_ENCRYPTION_KEYS`` and a PostgreSQL ``DATABASE_URL`` (SQLite only
with ``ALLOW_SQLITE_IN_PRODUCTION``), or with debug on, and cookies are marked secure.

Every setting is read through one parser, ``Environment``: a typed reader over a mapping
(the process environment, or the mapping ``flask check-config`` and the tests pass in) that
names the variable and what it expected when a value does not parse, so a typo stops the
start instead of silently meaning something else. environs does the same for
``os.environ`` only, and its yes/no parser is not case-insensitive.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from babel import Locale
from zxcvbn import zxcvbn

from .protection.encryption import EncryptionKeyError, Keyring, generate_key, parse_keys

REPO_ROOT = Path(__file__).resolve().parent.parent
MIN_SECRET_KEY_LENGTH = 32


class ConfigError(RuntimeError):
    """The configuration is unsafe or incomplete; the message says what to set."""


#: The spellings of yes and no accepted for an on/off setting (compared case-insensitively).
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})


class Environment:
    """Typed reads of settings from a mapping of strings; a bad value raises ConfigError naming it.

    An unset variable, or one set to the empty string, gives the default.
    """

    def __init__(self, values: Mapping[str, str]):
        self.values = values

    def raw(self, name: str) -> str | None:
        value = self.values.get(name)
        return None if value is None or value.strip() == "" else value

    def text(self, name: str, default: str = "") -> str:
        value = self.raw(name)
        return default if value is None else value

    def boolean(self, name: str, default: bool = False) -> bool:
        value = self.raw(name)
        if value is None:
            return default
        word = value.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise ConfigError(f"{name}={value!r} is not on or off: use 1/0, true/false, yes/no or on/off")

    def integer(self, name: str, default: int, *, minimum: int | None = 0) -> int:
        value = self.raw(name)
        if value is None:
            return default
        try:
            number = int(value.strip())
        except ValueError:
            raise ConfigError(f"{name}={value!r} is not a whole number") from None
        if minimum is not None and number < minimum:
            raise ConfigError(f"{name}={value!r} must be at least {minimum}")
        return number

    def number(self, name: str, default: float) -> float:
        value = self.raw(name)
        if value is None:
            return default
        try:
            number = float(value.strip())
        except ValueError:
            raise ConfigError(f"{name}={value!r} is not a number") from None
        if not 0 <= number < float("inf"):
            raise ConfigError(f"{name}={value!r} must be a number of 0 or more")
        return number

    def items(self, name: str, default: str = "", separator: str = ",") -> list[str]:
        return [part.strip() for part in self.text(name, default).split(separator) if part.strip()]

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.text(name, default).strip()
        if value not in choices:
            raise ConfigError(f"{name}={value!r} is not one of: {', '.join(choices)}")
        return value


def _development_secret_key(instance_path: Path) -> str:
    """A random key kept in the instance folder, so sessions survive a restart."""
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


def _development_encryption_keys(instance_path: Path) -> list[str]:
    """Development only: a generated Fernet key kept in the instance folder, like the secret key."""
    key_file = instance_path / "encryption_key"
    if key_file.exists():
        return parse_keys(key_file.read_text())
    instance_path.mkdir(parents=True, exist_ok=True)
    key = generate_key()
    key_file.write_text(key)
    key_file.chmod(0o600)
    return [key]


#: Values of SECRET_KEY seen in examples and tutorials: never a real secret.
KNOWN_SECRET_KEYS = frozenset({"dev", "development", "secret", "changeme", "change-me", "please-change-me",
                               "your-secret-key", "test-secret-key-that-is-long-enough-0123456789"})


#: The least entropy, in bits, a SECRET_KEY may have as zxcvbn estimates it (it finds repeats,
#: sequences, keyboard walks and words): 32 random characters score about 106, ``abcdefgh`` × 4 scores 7.
MIN_SECRET_KEY_BITS = 100


def secret_key_bits(secret_key: str) -> float:
    """An estimate of the entropy of ``secret_key`` in bits (log2 of the guesses an attacker needs)."""
    # zxcvbn's matching grows with the length: a key's first 256 characters say enough.
    return float(zxcvbn(secret_key[:256])["guesses_log10"]) * math.log2(10)


def unsafe_settings(env: Mapping[str, str]) -> list[str]:
    """Every setting in ``env`` that is unsafe for production, each with what to do."""
    settings = Environment(env)
    problems = []
    secret_key = settings.text("SECRET_KEY")
    how = 'python -c "import secrets; print(secrets.token_urlsafe(48))"'
    if len(secret_key) < MIN_SECRET_KEY_LENGTH or secret_key in KNOWN_SECRET_KEYS or len(set(secret_key)) < 8:
        problems.append(f"SECRET_KEY must be set to a random value of at least {MIN_SECRET_KEY_LENGTH} "
                        f"characters ({how})")
    elif (bits := secret_key_bits(secret_key)) < MIN_SECRET_KEY_BITS:
        problems.append(f"SECRET_KEY must be set to a random value: this one is guessable (about {bits:.0f} bits "
                        f"of entropy estimated, at least {MIN_SECRET_KEY_BITS} needed; {how})")
    for name, check in (("FLASK_DEBUG", _debug_problem), ("ALLOW_SQLITE_IN_PRODUCTION", None),
                        ("MAIL_USE_TLS", None), ("MAIL_USE_SSL", None), ("REASSESS_IN_BACKGROUND", None)):
        try:
            value = settings.boolean(name)
        except ConfigError as error:
            problems.append(str(error))
            continue
        if check is not None and value:
            problems.append(check)
    keys = parse_keys(settings.text("MESO_ENCRYPTION_KEYS"))
    if not keys:
        problems.append("MESO_ENCRYPTION_KEYS must be set (make a key with `flask keys generate`)")
    else:
        try:
            Keyring(keys)
        except EncryptionKeyError as error:
            problems.append(f"MESO_ENCRYPTION_KEYS is invalid: {error}")
    database_url = settings.text("DATABASE_URL")
    if not database_url:
        problems.append("DATABASE_URL must be set (postgresql://user@host/dbname)")
    elif database_url.startswith("sqlite") and not _flag(settings, "ALLOW_SQLITE_IN_PRODUCTION"):
        problems.append("DATABASE_URL is SQLite: use PostgreSQL, or set ALLOW_SQLITE_IN_PRODUCTION=1 "
                        "for a single-process installation")
    if settings.text("MAIL_BACKEND").strip() == "console":
        problems.append("MAIL_BACKEND must not be console in production: it writes every email, with the "
                        "patient's private link, to the log (set MAIL_SERVER to send through SMTP, or leave "
                        "MAIL_BACKEND unset: without MAIL_SERVER staff copy the links by hand)")
    return problems


_debug_problem = "FLASK_DEBUG must be off: the debugger runs code sent from the browser"


def _flag(settings: Environment, name: str) -> bool:
    try:
        return settings.boolean(name)
    except ConfigError:
        return False  # reported on its own by unsafe_settings


def _normalise_database_url(url: str) -> str:
    # Operators paste libpq URLs; SQLAlchemy needs to be told to use psycopg 3.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


#: MAIL_BACKEND names of our own, beside Flask-Mailman's (smtp, console, locmem, file, dummy).
MAIL_BACKENDS = {"none": "intake.outbox.backends.NotConfiguredEmailBackend"}


#: Pseudo-locales of LANGUAGES: a tag Babel has no data for, read as English with the catalog of its
#: own folder (en-XA → en@xa; made by scripts/translations, see intake.web.languages).
PSEUDO_LOCALES = {"en-XA": ("en", "xa")}


def babel_locale(tag: str) -> Locale:
    """The Babel locale of a language tag of LANGUAGES ("pt-BR" → pt_BR; the pseudo-locale en-XA → en@xa)."""
    if tag in PSEUDO_LOCALES:
        language, modifier = PSEUDO_LOCALES[tag]
        return Locale(language, modifier=modifier)
    return Locale.parse(tag.replace("-", "_"))


def translation_directories(rules_dirs: list[str]) -> list[str]:
    """The catalogs' folders: the app's, then each rule layer's ``translations`` folder that exists."""
    layers = [Path(folder) / "translations" for folder in rules_dirs]
    return [str(REPO_ROOT / "intake" / "translations"), *(str(path) for path in layers if path.is_dir())]


def build_config(instance_path: Path | str, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The settings for one app, read from ``environ`` (default: the process environment).

    Raises ConfigError naming the variable when a value does not parse, and listing every
    unsafe setting in production mode.
    """
    instance_path = Path(instance_path)  # Flask's app.instance_path is a str
    env = Environment(os.environ if environ is None else environ)
    production = env.choice("MESO_ENV", "development", ("development", "production")) == "production"
    if production:
        problems = unsafe_settings(env.values)
        if problems:
            raise ConfigError("Refusing to start in production mode: " + "; ".join(problems))
    rules_dirs = env.items("RULES_DIRS", separator=os.pathsep)
    encryption_keys = parse_keys(env.text("MESO_ENCRYPTION_KEYS")) or _development_encryption_keys(instance_path)
    staff_session_minutes = env.integer("STAFF_SESSION_MINUTES", 30, minimum=1)
    mail_server = env.text("MAIL_SERVER")
    # Without a mail server, production does not fall back to printing email (links) to the log.
    mail_backend = env.text("MAIL_BACKEND", "smtp" if mail_server else ("none" if production else "console")).strip()
    return {
        "ENV_NAME": "production" if production else "development",
        "SECRET_KEY": env.text("SECRET_KEY") or _development_secret_key(instance_path),
        "SQLALCHEMY_DATABASE_URI": _normalise_database_url(env.text("DATABASE_URL"))
        or f"sqlite:///{instance_path / 'meso-intake.sqlite'}",
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "RULES_DIR": env.text("RULES_DIR", str(REPO_ROOT / "rules")),
        # Layered rule folders, defaults first, clinic last (os.pathsep-separated); empty: RULES_DIR alone.
        "RULES_DIRS": rules_dirs,
        # How often (seconds) each worker looks for a newly activated ruleset version in the database.
        "RULES_REFRESH_SECONDS": env.number("RULES_REFRESH_SECONDS", 5),
        # Limits of a rule upload (one file, or each file of a zip) and of the files of a clinic folder.
        "RULES_UPLOAD_MAX_BYTES": env.integer("RULES_UPLOAD_MAX_BYTES", 200 * 1024, minimum=1),
        "RULES_UPLOAD_MAX_FILES": env.integer("RULES_UPLOAD_MAX_FILES", 100, minimum=1),
        # The most a clinic folder may hold, all its files together (an uploaded zip, unpacked): the whole
        # default rules folder is about 140 KB.
        "RULES_UPLOAD_MAX_TOTAL_BYTES": env.integer("RULES_UPLOAD_MAX_TOTAL_BYTES", 1024 * 1024, minimum=1),
        # Stored ruleset versions kept beyond the active one and those assessments were made under
        # (older candidates are deleted when a new one is saved).
        "RULES_VERSIONS_KEPT": env.integer("RULES_VERSIONS_KEPT", 50, minimum=1),
        # Without a broker (JOBS_BROKER_URL): re-assess after an activation in a thread (off: in the request).
        "REASSESS_IN_BACKGROUND": env.boolean("REASSESS_IN_BACKGROUND", True),
        # A worker holds a re-assessment run this long past its last batch; a run whose worker died is taken
        # up again after it (docs/jobs.md).
        "REASSESS_LEASE_SECONDS": env.number("REASSESS_LEASE_SECONDS", 120),
        # Intakes re-assessed per transaction (each moves the run's cursor).
        "REASSESS_BATCH": env.integer("REASSESS_BATCH", 200, minimum=1),
        # An admin's preview of more past intakes than this is split into PREVIEW_CHUNKS chunks run by the
        # job workers, with a progress page (docs/rules.md); up to it, the preview runs in the request.
        "PREVIEW_INLINE_LIMIT": env.integer("PREVIEW_INLINE_LIMIT", 2000),
        "PREVIEW_CHUNKS": env.integer("PREVIEW_CHUNKS", 4, minimum=1),
        # A chunked preview's results stay viewable this long; older runs are deleted by the purge job and
        # whenever a new one starts.
        "PREVIEW_KEEP_HOURS": env.integer("PREVIEW_KEEP_HOURS", 24, minimum=1),
        # The job queue (docs/jobs.md): redis://… shared by every web process, worker and the scheduler;
        # empty: jobs run in the process that asks for them and a scheduler thread runs in the app.
        "JOBS_BROKER_URL": env.text("JOBS_BROKER_URL"),
        "JOBS_QUEUE": env.text("JOBS_QUEUE", "meso-intake"),
        "OUTBOX_MAX_ATTEMPTS": env.integer("OUTBOX_MAX_ATTEMPTS", 5, minimum=1),
        # The wait after the first failed attempt; it doubles after each further one.
        "OUTBOX_RETRY_SECONDS": env.number("OUTBOX_RETRY_SECONDS", 60),
        # A message being sent by a worker that died is tried again after this long.
        "OUTBOX_SENDING_LEASE_SECONDS": env.number("OUTBOX_SENDING_LEASE_SECONDS", 300),
        # How often the scheduler sends what is due (retries), resumes stalled runs, purges and checkpoints (0: never).
        "OUTBOX_EVERY_SECONDS": env.number("OUTBOX_EVERY_SECONDS", 30),
        "REASSESS_RESUME_EVERY_SECONDS": env.number("REASSESS_RESUME_EVERY_SECONDS", 60),
        "PURGE_EVERY_SECONDS": env.number("PURGE_EVERY_SECONDS", 24 * 3600),
        "AUDIT_CHECKPOINT_EVERY_SECONDS": env.number("AUDIT_CHECKPOINT_EVERY_SECONDS", 24 * 3600),
        "REMINDERS_EVERY_SECONDS": env.number("REMINDERS_EVERY_SECONDS", 600),
        "CLINIC_NAME": env.text("CLINIC_NAME", "Demo Mesotherapy Clinic"),
        # How patients reach the clinic (an admin can change each on the clinic page).
        "CLINIC_ADDRESS": env.text("CLINIC_ADDRESS"),
        "CLINIC_PHONE": env.text("CLINIC_PHONE"),
        "CLINIC_EMAIL": env.text("CLINIC_EMAIL"),
        "CLINIC_OPENING_HOURS": env.text("CLINIC_OPENING_HOURS"),
        "CLINIC_CONTACT_NOTE": env.text("CLINIC_CONTACT_NOTE"),
        "CLINIC_REFRESH_SECONDS": env.number("CLINIC_REFRESH_SECONDS", 30),
        # Big enough for a long intake, small enough to refuse abuse.
        "MAX_CONTENT_LENGTH": env.integer("MAX_CONTENT_LENGTH", 256 * 1024, minimum=1),
        "MAX_FORM_MEMORY_SIZE": 64 * 1024,
        # Photos (intake.photos): their upload routes alone accept PHOTO_MAX_BYTES; a photo of more
        # pixels is refused before it is decoded (a decompression bomb); a patient adds at most
        # PATIENT_PHOTOS_MAX. Stored in the database, or encrypted files under PHOTO_DIRECTORY.
        "PHOTO_MAX_BYTES": env.integer("PHOTO_MAX_BYTES", 15 * 1024 * 1024, minimum=1),
        "PHOTO_MAX_PIXELS": env.integer("PHOTO_MAX_PIXELS", 50_000_000, minimum=1),
        "PATIENT_PHOTOS_MAX": env.integer("PATIENT_PHOTOS_MAX", 4),
        "PHOTO_STORAGE": env.choice("PHOTO_STORAGE", "database", ("database", "directory")),
        "PHOTO_DIRECTORY": env.text("PHOTO_DIRECTORY", str(instance_path / "photos")),
        "MAX_FORM_PARTS": 400,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        # Staff sessions end after this long without a request. Not PERMANENT_SESSION_LIFETIME:
        # Flask checks that against every session cookie, and a patient's (which holds only the
        # CSRF token) must outlive an hour spent on one page.
        "STAFF_SESSION_MINUTES": staff_session_minutes,
        "STAFF_SESSION_LIFETIME": dt.timedelta(minutes=staff_session_minutes),
        # However active, a staff session ends this long after sign-in (intake.auth.session_store).
        "STAFF_SESSION_MAX_HOURS": env.number("STAFF_SESSION_MAX_HOURS", 12),
        # Per client address; several workers need a shared store (redis://…) to count together.
        "RATELIMIT_STORAGE_URI": env.text("RATELIMIT_STORAGE_URI", "memory://"),
        "SIGN_IN_RATE_LIMIT": env.text("SIGN_IN_RATE_LIMIT", "10 per minute"),
        # Failed sign-ins per email and client address, and per email from anywhere (browsers that
        # never signed in to it), before sign-in is refused for SIGN_IN_LOCK_MINUTES (intake.auth.throttle).
        "SIGN_IN_MAX_FAILURES": env.integer("SIGN_IN_MAX_FAILURES", 5, minimum=1),
        "SIGN_IN_ACCOUNT_MAX_FAILURES": env.integer("SIGN_IN_ACCOUNT_MAX_FAILURES", 20, minimum=1),
        "SIGN_IN_LOCK_MINUTES": env.integer("SIGN_IN_LOCK_MINUTES", 15, minimum=1),
        # A clinic's front-desk tablet starts many intakes from one address: generous, but a script is stopped.
        "INTAKE_START_RATE_LIMIT": env.text("INTAKE_START_RATE_LIMIT", "60 per hour"),
        "INTAKE_SUBMIT_RATE_LIMIT": env.text("INTAKE_SUBMIT_RATE_LIMIT", "60 per hour"),
        "DESK_CODE_RATE_LIMIT": env.text("DESK_CODE_RATE_LIMIT", "10 per minute"),
        # The links in reminders (continue, stop), per client address: a patient opens one a few times.
        "REMINDER_LINK_RATE_LIMIT": env.text("REMINDER_LINK_RATE_LIMIT", "30 per hour"),
        # Per API token (per client address for requests without one).
        "API_RATE_LIMIT": env.text("API_RATE_LIMIT", "120 per minute"),
        "WTF_CSRF_ENABLED": True,
        "WTF_CSRF_TIME_LIMIT": None,  # a patient may take an hour on one page
        "BABEL_DEFAULT_LOCALE": env.text("BABEL_DEFAULT_LOCALE", "en"),
        "BABEL_DEFAULT_TIMEZONE": env.text("BABEL_DEFAULT_TIMEZONE", "Europe/London"),
        # The app's catalogs, then each rule layer's own (RULES_DIRS folder/translations: a clinic's
        # translations of its own rules), later ones winning; scripts/translations makes them.
        "BABEL_TRANSLATION_DIRECTORIES": ";".join(translation_directories(rules_dirs)),
        # How many reverse proxies in front set X-Forwarded-For/-Proto (0: none, talk to clients directly).
        "TRUSTED_PROXIES": env.integer("TRUSTED_PROXIES", 0),
        # Fernet keys: the first encrypts, all decrypt (intake.protection; `flask keys rotate`).
        "ENCRYPTION_KEYS": encryption_keys,
        # Where `flask audit checkpoint` appends the audit log's sealed checkpoints (default:
        # instance/audit-checkpoints.jsonl); ship the file off the machine.
        "AUDIT_CHECKPOINT_FILE": env.text("AUDIT_CHECKPOINT_FILE"),
        # Drafts not submitted this many days after their last change are deleted by `flask data purge`.
        "DRAFT_RETENTION_DAYS": env.integer("DRAFT_RETENTION_DAYS", 30),
        # Emails sent (or failed for good) this many days ago are deleted from the outbox by the same purge.
        "OUTBOX_KEEP_DAYS": env.integer("OUTBOX_KEEP_DAYS", 90, minimum=1),
        # A patient's private link stops working this many days after it was issued.
        "PATIENT_LINK_DAYS": env.integer("PATIENT_LINK_DAYS", 60, minimum=1),
        # Email (Flask-Mailman): "console" prints messages to the log (development only); "smtp" sends
        # through MAIL_SERVER.
        # "none": no email is sent, staff copy the patient's link from the page (intake.review.mail).
        "MAIL_BACKEND": MAIL_BACKENDS.get(mail_backend, mail_backend),
        "MAIL_SERVER": mail_server or "localhost",
        "MAIL_PORT": env.integer("MAIL_PORT", 25, minimum=1),
        "MAIL_USERNAME": env.text("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": env.text("MAIL_PASSWORD") or None,
        "MAIL_USE_TLS": env.boolean("MAIL_USE_TLS"),
        "MAIL_USE_SSL": env.boolean("MAIL_USE_SSL"),
        "MAIL_DEFAULT_SENDER": env.text("MAIL_DEFAULT_SENDER", "clinic@localhost"),
        "LANGUAGES": env.items("LANGUAGES", "en"),
        # The address patients and staff reach the app at ("https://intake.example-clinic.com"): the links in
        # reminders, which `flask reminders send` writes outside any request.
        "PUBLIC_URL": env.text("PUBLIC_URL").rstrip("/"),
        # Reminders (intake.reminders; docs/reminders.md): each kind on or off, and its hour in the clinic's time.
        "REMINDERS_UNSUBMITTED_DAYS": reminder_days(env, "REMINDERS_UNSUBMITTED_DAYS", "3,1"),
        "REMINDERS_UNSUBMITTED_HOUR": hour(env, "REMINDERS_UNSUBMITTED_HOUR", 10),
        "REMINDERS_INSTRUCTIONS": env.boolean("REMINDERS_INSTRUCTIONS", True),
        "REMINDERS_INSTRUCTIONS_HOUR": hour(env, "REMINDERS_INSTRUCTIONS_HOUR", 8),
        "REMINDERS_DAY_BEFORE": env.boolean("REMINDERS_DAY_BEFORE", True),
        "REMINDERS_DAY_BEFORE_HOUR": hour(env, "REMINDERS_DAY_BEFORE_HOUR", 10),
        "REMINDERS_DIGEST": env.boolean("REMINDERS_DIGEST", True),
        "REMINDERS_DIGEST_HOUR": hour(env, "REMINDERS_DIGEST_HOUR", 7),
        # What the day-before reminder asks the patient to bring (empty: not said).
        "REMINDERS_WHAT_TO_BRING": env.text("REMINDERS_WHAT_TO_BRING"),
    }


def hour(env: Environment, name: str, default: int) -> int:
    """An hour of the day, 0 to 23."""
    value = env.integer(name, default)
    if value > 23:
        raise ConfigError(f"{name}={value!r} is not an hour of the day (0 to 23)")
    return value


def reminder_days(env: Environment, name: str, default: str) -> tuple[int, ...]:
    """Days before the appointment, comma-separated ("3,1"); "off" (or "0" alone) for none."""
    parts = env.items(name, default)
    if [part.lower() for part in parts] in (["off"], ["0"]):
        return ()
    days = []
    for part in parts:
        if not part.isdigit() or not 1 <= int(part) <= 60:
            raise ConfigError(f"{name}={env.text(name)!r} is not a list of days from 1 to 60 (\"3,1\"), or off")
        days.append(int(part))
    return tuple(sorted(set(days), reverse=True))
