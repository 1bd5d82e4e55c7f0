"""Configuration from the environment, with safe defaults for development.

``MESO_ENV=production`` turns on the strict mode: the app refuses to start without a
real ``SECRET_KEY``, ``MESO_ENCRYPTION_KEYS`` and a PostgreSQL ``DATABASE_URL`` (SQLite only
with ``ALLOW_SQLITE_IN_PRODUCTION``), or with debug on, and cookies are marked secure.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .protection.encryption import EncryptionKeyError, Keyring, generate_key, parse_keys

REPO_ROOT = Path(__file__).resolve().parent.parent
MIN_SECRET_KEY_LENGTH = 32


class ConfigError(RuntimeError):
    """The configuration is unsafe or incomplete; the message says what to set."""


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


def unsafe_settings(env: Mapping[str, str]) -> list[str]:
    """Every setting in ``env`` that is unsafe for production, each with what to do."""
    problems = []
    secret_key = env.get("SECRET_KEY", "")
    if len(secret_key) < MIN_SECRET_KEY_LENGTH or secret_key in KNOWN_SECRET_KEYS or len(set(secret_key)) < 8:
        problems.append(
            f"SECRET_KEY must be set to a random value of at least {MIN_SECRET_KEY_LENGTH} "
            'characters (python -c "import secrets; print(secrets.token_urlsafe(48))")'
        )
    if env.get("FLASK_DEBUG", "").lower() in ("1", "true", "yes", "on"):
        problems.append("FLASK_DEBUG must be off: the debugger runs code sent from the browser")
    keys = parse_keys(env.get("MESO_ENCRYPTION_KEYS", ""))
    if not keys:
        problems.append("MESO_ENCRYPTION_KEYS must be set (make a key with `flask keys generate`)")
    else:
        try:
            Keyring(keys)
        except EncryptionKeyError as error:
            problems.append(f"MESO_ENCRYPTION_KEYS is invalid: {error}")
    database_url = env.get("DATABASE_URL", "")
    if not database_url:
        problems.append("DATABASE_URL must be set (postgresql://user@host/dbname)")
    elif database_url.startswith("sqlite") and not _true(env.get("ALLOW_SQLITE_IN_PRODUCTION", "")):
        problems.append("DATABASE_URL is SQLite: use PostgreSQL, or set ALLOW_SQLITE_IN_PRODUCTION=1 "
                        "for a single-process installation")
    return problems


def _true(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


def _normalise_database_url(url: str) -> str:
    # Operators paste libpq URLs; SQLAlchemy needs to be told to use psycopg 3.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def build_config(instance_path: Path | str, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The settings for one app, read from ``environ`` (default: the process environment)."""
    instance_path = Path(instance_path)  # Flask's app.instance_path is a str
    env = os.environ if environ is None else environ
    production = env.get("MESO_ENV", "development") == "production"
    secret_key = env.get("SECRET_KEY", "")
    database_url = env.get("DATABASE_URL", "")
    staff_session_minutes = int(env.get("STAFF_SESSION_MINUTES", 30))
    if production:
        problems = unsafe_settings(env)
        if problems:
            raise ConfigError("Refusing to start in production mode: " + "; ".join(problems))
    encryption_keys = parse_keys(env.get("MESO_ENCRYPTION_KEYS", "")) or _development_encryption_keys(instance_path)
    return {
        "ENV_NAME": "production" if production else "development",
        "SECRET_KEY": secret_key or _development_secret_key(instance_path),
        "SQLALCHEMY_DATABASE_URI": _normalise_database_url(database_url)
        or f"sqlite:///{instance_path / 'meso-intake.sqlite'}",
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "RULES_DIR": env.get("RULES_DIR", str(REPO_ROOT / "rules")),
        # Layered rule folders, defaults first, clinic last (os.pathsep-separated); empty: RULES_DIR alone.
        "RULES_DIRS": [part for part in env.get("RULES_DIRS", "").split(os.pathsep) if part.strip()],
        # How often (seconds) each worker looks for a newly activated ruleset version in the database.
        "RULES_REFRESH_SECONDS": float(env.get("RULES_REFRESH_SECONDS", 5)),
        # Limits of a rule upload (one file, or each file of a zip) and of the files of a clinic folder.
        "RULES_UPLOAD_MAX_BYTES": int(env.get("RULES_UPLOAD_MAX_BYTES", 200 * 1024)),
        "RULES_UPLOAD_MAX_FILES": int(env.get("RULES_UPLOAD_MAX_FILES", 100)),
        # Re-assess open intakes in a background thread after an activation (off: in the request).
        "REASSESS_IN_BACKGROUND": env.get("REASSESS_IN_BACKGROUND", "1") not in ("0", "false", "no"),
        "CLINIC_NAME": env.get("CLINIC_NAME", "Demo Mesotherapy Clinic"),
        # Big enough for a long intake, small enough to refuse abuse.
        "MAX_CONTENT_LENGTH": int(env.get("MAX_CONTENT_LENGTH", 256 * 1024)),
        "MAX_FORM_MEMORY_SIZE": 64 * 1024,
        "MAX_FORM_PARTS": 400,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        # Staff sessions end after this long without a request. Not PERMANENT_SESSION_LIFETIME:
        # Flask checks that against every session cookie, and a patient's (which holds only the
        # CSRF token) must outlive an hour spent on one page.
        "STAFF_SESSION_MINUTES": staff_session_minutes,
        "STAFF_SESSION_LIFETIME": dt.timedelta(minutes=staff_session_minutes),
        # Per client address; several workers need a shared store (redis://…) to count together.
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI", "memory://"),
        "SIGN_IN_RATE_LIMIT": env.get("SIGN_IN_RATE_LIMIT", "10 per minute"),
        # A clinic's front-desk tablet starts many intakes from one address: generous, but a script is stopped.
        "INTAKE_START_RATE_LIMIT": env.get("INTAKE_START_RATE_LIMIT", "60 per hour"),
        "INTAKE_SUBMIT_RATE_LIMIT": env.get("INTAKE_SUBMIT_RATE_LIMIT", "60 per hour"),
        # Per API token (per client address for requests without one).
        "API_RATE_LIMIT": env.get("API_RATE_LIMIT", "120 per minute"),
        "WTF_CSRF_ENABLED": True,
        "WTF_CSRF_TIME_LIMIT": None,  # a patient may take an hour on one page
        "BABEL_DEFAULT_LOCALE": env.get("BABEL_DEFAULT_LOCALE", "en"),
        "BABEL_DEFAULT_TIMEZONE": env.get("BABEL_DEFAULT_TIMEZONE", "Europe/London"),
        "BABEL_TRANSLATION_DIRECTORIES": str(REPO_ROOT / "intake" / "translations"),
        # How many reverse proxies in front set X-Forwarded-For/-Proto (0: none, talk to clients directly).
        "TRUSTED_PROXIES": int(env.get("TRUSTED_PROXIES", 0)),
        # Fernet keys: the first encrypts, all decrypt (intake.protection; `flask keys rotate`).
        "ENCRYPTION_KEYS": encryption_keys,
        # Drafts not submitted this many days after their last change are deleted by `flask data purge`.
        "DRAFT_RETENTION_DAYS": int(env.get("DRAFT_RETENTION_DAYS", 30)),
        # A patient's private link stops working this many days after it was issued.
        "PATIENT_LINK_DAYS": int(env.get("PATIENT_LINK_DAYS", 60)),
        # Email (Flask-Mailman): "console" prints messages to the log; "smtp" sends through MAIL_SERVER.
        "MAIL_BACKEND": env.get("MAIL_BACKEND", "smtp" if env.get("MAIL_SERVER") else "console"),
        "MAIL_SERVER": env.get("MAIL_SERVER", "localhost"),
        "MAIL_PORT": int(env.get("MAIL_PORT", 25)),
        "MAIL_USERNAME": env.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": env.get("MAIL_PASSWORD") or None,
        "MAIL_USE_TLS": env.get("MAIL_USE_TLS", "") in ("1", "true", "yes"),
        "MAIL_USE_SSL": env.get("MAIL_USE_SSL", "") in ("1", "true", "yes"),
        "MAIL_DEFAULT_SENDER": env.get("MAIL_DEFAULT_SENDER", "clinic@localhost"),
        "LANGUAGES": [code.strip() for code in env.get("LANGUAGES", "en").split(",") if code.strip()],
    }
