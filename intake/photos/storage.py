"""Where photo bytes are kept, always encrypted: a small store interface and its two stores.

A store keeps opaque bytes under a key (``put``, ``get``, ``delete``, ``keys``); it never
sees a clear photo: ``save``/``load`` encrypt and decrypt with the health data's keys
(intake.protection.encryption), so ``flask keys rotate`` re-encrypts photos as it does
answers (``rotate``). ``DatabaseStore`` (the default, PHOTO_STORAGE=database) keeps them in
the ``photo_blob`` table, so one backup holds everything; ``DirectoryStore``
(PHOTO_STORAGE=directory) keeps one file per key under PHOTO_DIRECTORY. An object store
(S3-compatible) is one more class with the same four methods, chosen in ``photo_store``:
the views and the service do not change (docs/data-protection.md, "Photos").
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from flask import current_app
from sqlalchemy import delete, select

from ..extensions import db
from ..models import PhotoBlob
from ..protection.encryption import active_keyring

KEY_PATTERN = re.compile(r"^[0-9a-f]{32}$")


class PhotoStore(Protocol):
    """Encrypted bytes by key. Writes join the caller's transaction where the store has one."""

    def put(self, key: str, data: bytes) -> None: ...

    def get(self, key: str) -> bytes: ...

    def delete(self, key: str) -> None: ...

    def keys(self) -> Iterator[str]: ...


class DatabaseStore:
    """The ``photo_blob`` table, in the caller's transaction (a rollback keeps nothing)."""

    def put(self, key: str, data: bytes) -> None:
        blob = db.session.get(PhotoBlob, key)
        if blob is None:
            db.session.add(PhotoBlob(key=key, data=data))
        else:
            blob.data = data

    def get(self, key: str) -> bytes:
        data = db.session.scalar(select(PhotoBlob.data).where(PhotoBlob.key == key))
        if data is None:
            raise KeyError(key)
        return bytes(data)

    def delete(self, key: str) -> None:
        db.session.execute(delete(PhotoBlob).where(PhotoBlob.key == key))

    def keys(self) -> Iterator[str]:
        yield from db.session.scalars(select(PhotoBlob.key).order_by(PhotoBlob.key)).all()


class DirectoryStore:
    """One file per key under ``root`` (mode 0600), written to a temporary file and renamed into place."""

    def __init__(self, root: Path):
        self.root = root

    def _path(self, key: str) -> Path:
        if not KEY_PATTERN.match(key):  # keys are ours (new_key), never a path from a request
            raise KeyError(key)
        return self.root / key[:2] / key

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.chmod(temporary, 0o600)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise KeyError(key) from None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def keys(self) -> Iterator[str]:
        if self.root.is_dir():
            for path in sorted(self.root.glob("??/*")):
                if KEY_PATTERN.match(path.name):
                    yield path.name


def photo_store() -> PhotoStore:
    """The store PHOTO_STORAGE names (an object store would be one more branch here)."""
    if current_app.config.get("PHOTO_STORAGE") == "directory":
        return DirectoryStore(Path(current_app.config["PHOTO_DIRECTORY"]))
    return DatabaseStore()


def new_key() -> str:
    return secrets.token_hex(16)


def save(data: bytes, store: PhotoStore | None = None) -> str:
    """Encrypt ``data`` with the first key, keep it, and return its new key."""
    key = new_key()
    (store or photo_store()).put(key, active_keyring().encrypt_bytes(data))
    return key


def load(key: str, store: PhotoStore | None = None) -> bytes:
    """The clear bytes kept under ``key`` (KeyError when there are none)."""
    return active_keyring().decrypt_bytes((store or photo_store()).get(key))


def remove(keys: list[str], store: PhotoStore | None = None) -> None:
    target = store or photo_store()
    for key in keys:
        target.delete(key)


def rotate(batch: int = 100, store: PhotoStore | None = None) -> int:
    """Re-encrypt every kept photo under the first key, ``batch`` per transaction; returns how many."""
    target = store or photo_store()
    keyring = active_keyring()
    done = 0
    for key in list(target.keys()):
        target.put(key, keyring.rotate_bytes(target.get(key)))
        done += 1
        if done % batch == 0:
            db.session.commit()
    db.session.commit()
    return done


def files_beside(backup: Path) -> Path:
    """Where a backup at ``backup`` keeps the photo files of PHOTO_STORAGE=directory: ``<backup>.photos/``."""
    return backup.with_name(backup.name + ".photos")


def backup_files(backup: Path) -> int | None:
    """Copy the directory store's (still encrypted) files beside a database backup; None with the database store,
    whose photos are in the database backup itself."""
    store = photo_store()
    if not isinstance(store, DirectoryStore):
        return None
    target = files_beside(backup)
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(mode=0o700)
    copied = 0
    for key in store.keys():
        DirectoryStore(target).put(key, store.get(key))
        copied += 1
    return copied


def restore_files(backup: Path) -> int | None:
    """Put back the directory store's files saved beside ``backup`` (replacing the store's); None when there are none
    or the store is the database."""
    store, source = photo_store(), files_beside(backup)
    if not isinstance(store, DirectoryStore) or not source.is_dir():
        return None
    saved = DirectoryStore(source)
    wanted = set(saved.keys())
    for key in list(store.keys()):
        if key not in wanted:
            store.delete(key)
    for key in wanted:
        store.put(key, saved.get(key))
    return len(wanted)
