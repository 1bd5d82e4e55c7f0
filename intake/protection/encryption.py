"""Health data at rest: encrypted columns over a rotating list of keys.

Columns typed ``EncryptedText`` / ``EncryptedJSON`` hold Fernet tokens (AES-128-CBC with an
HMAC-SHA256), never the clear value. The keys come from ``MESO_ENCRYPTION_KEYS``: a
comma-separated list, the first one encrypts, every one decrypts (MultiFernet), so a key
can be rotated in while rows still hold tokens of the old one (``flask keys rotate``).
The search index over encrypted names and emails is intake.protection.search.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import orjson
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import Flask, current_app, has_app_context
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator


class EncryptionKeyError(ValueError):
    """An encryption key is missing or malformed."""


class Keyring:
    """The encryption keys in force: the first encrypts, all decrypt."""

    def __init__(self, keys: Sequence[str]):
        if not keys:
            raise EncryptionKeyError("no encryption key given")
        try:
            self._fernets = [Fernet(key.encode() if isinstance(key, str) else key) for key in keys]
        except (ValueError, TypeError) as error:
            raise EncryptionKeyError(
                "an encryption key is not a Fernet key (32 url-safe base64 bytes; make one with `flask keys generate`)"
            ) from error
        self.keys = tuple(keys)
        self.fernet = MultiFernet(self._fernets)
        primary = base64.urlsafe_b64decode(self.keys[0])
        #: The search index key, derived from the first encryption key (and so rotated with it).
        self.search_key = hmac.new(primary, b"meso-intake search index v1", hashlib.sha256).digest()
        #: The audit chain's sealing keys, one derived from each encryption key, by fingerprint;
        #: the first key's seals new entries and checkpoints (intake.audit).
        self.audit_keys: dict[str, bytes] = {}
        for key in self.keys:
            derived = hmac.new(base64.urlsafe_b64decode(key), b"meso-intake audit chain v1", hashlib.sha256).digest()
            self.audit_keys.setdefault(hashlib.sha256(derived).hexdigest()[:16], derived)
        self.audit_key_id = next(iter(self.audit_keys))

    @property
    def search_key_id(self) -> str:
        """A short fingerprint of the search key (to tell whether the index must be rebuilt)."""
        return hashlib.sha256(self.search_key).hexdigest()[:16]

    def encrypt(self, text: str) -> str:
        return self.fernet.encrypt(text.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self.fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeEncodeError) as error:
            raise EncryptionKeyError(
                "a stored value cannot be decrypted with the keys in MESO_ENCRYPTION_KEYS "
                "(was a key removed before `flask keys rotate` ran?)"
            ) from error

    def rotate(self, token: str) -> str:
        """The same value encrypted under the first key."""
        return self.fernet.rotate(token.encode("ascii")).decode("ascii")

    def encrypt_bytes(self, data: bytes) -> bytes:
        return self.fernet.encrypt(data)

    def decrypt_bytes(self, token: bytes) -> bytes:
        try:
            return self.fernet.decrypt(token)
        except InvalidToken as error:
            raise EncryptionKeyError(
                "a stored photo cannot be decrypted with the keys in MESO_ENCRYPTION_KEYS "
                "(was a key removed before `flask keys rotate` ran?)"
            ) from error

    def rotate_bytes(self, token: bytes) -> bytes:
        """The same bytes encrypted under the first key."""
        return self.fernet.rotate(token)

    def seal(self, text: str, key_id: str | None = None) -> str | None:
        """HMAC-SHA256 of ``text`` under an audit key (the first one by default); None for an unknown key id."""
        key = self.audit_keys.get(key_id or self.audit_key_id)
        return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest() if key is not None else None

    def digest(self, term: str) -> str:
        return hmac.new(self.search_key, term.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def generate_key() -> str:
    return Fernet.generate_key().decode("ascii")


def parse_keys(value: str) -> list[str]:
    return [key.strip() for key in value.split(",") if key.strip()]


@lru_cache(maxsize=16)
def keyring_for(keys: tuple[str, ...]) -> Keyring:
    return Keyring(keys)


_fallback: Keyring | None = None


def init_app(app: Flask) -> None:
    """Build the app's keyring from ENCRYPTION_KEYS (refuses to start with a bad key)."""
    global _fallback
    keyring = keyring_for(tuple(app.config["ENCRYPTION_KEYS"]))
    app.extensions["meso_keyring"] = keyring
    _fallback = keyring


def use_keys(app: Flask, keys: Sequence[str]) -> Keyring:
    """Put ``keys`` in force for ``app`` (tests, and after changing MESO_ENCRYPTION_KEYS in place)."""
    global _fallback
    keyring = keyring_for(tuple(keys))
    app.config["ENCRYPTION_KEYS"] = list(keys)
    app.extensions["meso_keyring"] = _fallback = keyring
    return keyring


def active_keyring() -> Keyring:
    """The keyring of the current app (or of the last app built, outside an app context)."""
    if has_app_context():
        keyring = current_app.extensions.get("meso_keyring")
        if keyring is not None:
            return keyring
    if _fallback is None:
        raise EncryptionKeyError("no encryption keys: create the app first")
    return _fallback


# --- columns ------------------------------------------------------------------------------------


class EncryptedText(TypeDecorator[str]):
    """A text column stored as a Fernet token."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        return active_keyring().encrypt(str(value))

    def process_result_value(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        return active_keyring().decrypt(value)


def dump_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True, default=str)


def load_json(text: str) -> Any:
    """The document dump_json wrote: orjson parses it in a quarter of json's time (a preview reads
    100,000); json takes what orjson refuses (a NaN, an integer past 64 bits), so nothing stored stops loading."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


class EncryptedJSON(TypeDecorator[Any]):
    """A JSON document stored as a Fernet token of its text."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        return active_keyring().encrypt(dump_json(value))

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        if value is None:
            return None
        return load_json(active_keyring().decrypt(value))


#: Every encrypted column: table → columns (the key rotation and the migration walk these).
ENCRYPTED_COLUMNS: dict[str, tuple[str, ...]] = {
    "intake": ("answers", "full_name", "email", "drafts", "amendment_reason", "check_in_code"),
    "assessment": ("document", "answers", "carried", "flag_summary"),
    "flag_review": ("reason",),
    "plan_edit": ("plan", "changes"),
    "decision": ("question", "note", "plan", "patient_message", "amendment_reason", "reply"),
    "audit_entry": ("summary", "data"),
    "check_in": ("answers",),
    "photo": ("note",),
    "outbox_message": ("recipient", "text", "html", "headers"),
}
