"""Health data protection: encrypted columns and keys (encryption), the keyed-hash search
index (search), and what is kept for how long, patients' requests and backups (retention).

The package itself exposes the keys and columns only: the models build on them, and the
search index and retention build on the models.
"""

from __future__ import annotations

from .encryption import (
    ENCRYPTED_COLUMNS,
    EncryptedJSON,
    EncryptedText,
    EncryptionKeyError,
    Keyring,
    active_keyring,
    dump_json,
    generate_key,
    init_app,
    keyring_for,
    parse_keys,
    use_keys,
)

__all__ = [
    "ENCRYPTED_COLUMNS",
    "EncryptedJSON",
    "EncryptedText",
    "EncryptionKeyError",
    "Keyring",
    "active_keyring",
    "dump_json",
    "generate_key",
    "init_app",
    "keyring_for",
    "parse_keys",
    "use_keys",
]
