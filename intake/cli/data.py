"""`flask keys`, `flask audit`, `flask data` and `flask check-config`: data protection commands."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from ..audit import CheckpointError, checkpoint_file, read_latest_checkpoint, verify, write_checkpoint
from ..config import unsafe_settings
from ..extensions import db
from ..photos.storage import backup_files, files_beside, restore_files
from ..protection.encryption import generate_key
from ..protection.retention import (
    BackupError,
    backup,
    erase_patient,
    export_patient,
    export_patient_photos,
    intakes_of,
    messages_to,
    purge_drafts,
    purge_outbox,
    restore,
    rotate_keys,
)


def register(app: Flask) -> None:
    app.cli.add_command(keys)
    app.cli.add_command(audit_group)
    app.cli.add_command(data)


@click.group("keys")
def keys() -> None:
    """Encryption keys of the health data (MESO_ENCRYPTION_KEYS)."""


@keys.command("generate")
def keys_generate() -> None:
    """Print a new random encryption key."""
    click.echo(generate_key())


@keys.command("rotate")
@click.option("--batch", default=500, show_default=True, help="Rows re-encrypted per transaction.")
@with_appcontext
def keys_rotate(batch: int) -> None:
    """Re-encrypt everything with the first key of MESO_ENCRYPTION_KEYS and rebuild the search index.

    To rotate: put the new key first (MESO_ENCRYPTION_KEYS=NEW,OLD), restart the app, run
    this, then remove OLD from the setting and restart again.
    """
    try:
        counts = rotate_keys(batch=batch)
    except CheckpointError as error:
        raise click.ClickException(f"Nothing rotated: {error}") from None
    for table, number in counts.items():
        click.echo(f"  {table}: {number} rows")
    # The old checkpoints are sealed with the old key: anchor the re-sealed chain under the new one.
    _, line = write_checkpoint(db.session(), checkpoint_file())
    click.echo(f"Audit checkpoint written to {checkpoint_file()}: {line}")
    click.echo("Done: every value is now encrypted and every audit entry sealed with the first key; "
               "the others can be removed.")


@click.group("audit")
def audit_group() -> None:
    """The audit log."""


@audit_group.command("verify")
@click.option("--checkpoint", "checkpoint_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Check against the latest checkpoint of this file (default: AUDIT_CHECKPOINT_FILE).")
@with_appcontext
def audit_verify(checkpoint_path: Path | None) -> None:
    """Check the audit log's chain and seals, and the database against the latest checkpoint.

    Reports the first bad entry, or the truncation, and exits with status 1.
    """
    path = checkpoint_path or checkpoint_file()
    checkpoint, note = None, ""
    if path.exists():
        try:
            checkpoint = read_latest_checkpoint(path)
        except CheckpointError as error:
            click.echo(f"Audit checkpoint UNUSABLE: {error}.", err=True)
            sys.exit(1)
    elif checkpoint_path is not None:
        raise click.ClickException(f"{path} does not exist")
    else:
        note = (f" No checkpoint in {path} yet: a deleted tail would not show; "
                "run `flask audit checkpoint` daily.")
    result = verify(db.session(), checkpoint=checkpoint)
    if result.ok:
        click.echo(f"Audit log intact: {result.checked} entries verified"
                   + (f" ({result.redacted} redacted at a patient's request)" if result.redacted else "")
                   + (f"; {result.checkpoint}." if result.checkpoint else ".") + note)
        return
    click.echo(f"Audit log BROKEN at entry {result.broken_id}: {result.problem}. "
               f"{result.checked} entries before it verified.", err=True)
    sys.exit(1)


@audit_group.command("checkpoint")
@click.option("--file", "checkpoint_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Append to this file (default: AUDIT_CHECKPOINT_FILE).")
@with_appcontext
def audit_checkpoint(checkpoint_path: Path | None) -> None:
    """Verify the audit log, then append a sealed checkpoint (count and head) to a file outside the database.

    The line is printed too, for the log. Ship the file off the machine (with the backups):
    `flask audit verify` then catches a deleted tail or a truncated, restarted log.
    """
    path = checkpoint_path or checkpoint_file()
    try:
        checkpoint, line = write_checkpoint(db.session(), path)
    except CheckpointError as error:
        click.echo(f"No checkpoint written: {error}.", err=True)
        sys.exit(1)
    click.echo(f"Audit checkpoint: {checkpoint.count} entries up to entry {checkpoint.head_id}, appended to "
               f"{path}")
    click.echo(line)


@click.group("data")
def data() -> None:
    """Retention, patients' requests and backups."""


@data.command("purge")
@click.option("--days", type=int, default=None, help="Override DRAFT_RETENTION_DAYS.")
@click.option("--outbox-days", type=int, default=None, help="Override OUTBOX_KEEP_DAYS.")
@with_appcontext
def data_purge(days: int | None, outbox_days: int | None) -> None:
    """Delete drafts not changed for DRAFT_RETENTION_DAYS days, and emails sent more than OUTBOX_KEEP_DAYS days
    ago (an audit entry says so for each)."""
    days = current_app.config["DRAFT_RETENTION_DAYS"] if days is None else days
    ids = purge_drafts(days)
    click.echo(f"Deleted {len(ids)} unsubmitted intakes untouched for more than {days} days.")
    outbox_days = current_app.config["OUTBOX_KEEP_DAYS"] if outbox_days is None else outbox_days
    messages = purge_outbox(outbox_days)
    click.echo(f"Deleted {messages} emails sent (or failed) more than {outbox_days} days ago.")


@data.command("export")
@click.option("--patient", "email", required=True, help="The patient's email address.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Write to this file.")
@with_appcontext
def data_export(email: str, output: Path | None) -> None:
    """Everything held about a patient, as JSON (their right of access); with --output, their photos as files
    in a folder beside it (FILE-photos/)."""
    document = export_patient(email, actor="cli")
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    photos = export_patient_photos(email)
    if output:
        output.write_text(text, encoding="utf-8")
        os.chmod(output, 0o600)
        click.echo(f"Wrote {len(document['intakes'])} intakes to {output}.", err=True)
        if photos:
            # The photos as files, in a folder beside the JSON, each named as its "file" in the document.
            folder = output.with_name(output.stem + "-photos")
            folder.mkdir(mode=0o700, exist_ok=True)
            for name, data in photos:
                (folder / name).write_bytes(data)
                os.chmod(folder / name, 0o600)
            click.echo(f"Wrote {len(photos)} photos to {folder}/.", err=True)
    else:
        click.echo(text, nl=False)
        if photos:
            click.echo(f"{len(photos)} photos not written: give --output FILE to have them as files.", err=True)


@data.command("erase")
@click.option("--patient", "email", required=True, help="The patient's email address.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def data_erase(email: str, yes: bool) -> None:
    """Erase a patient's health data; a minimal audit entry records that it happened."""
    found, messages = intakes_of(email), messages_to(email)
    if not found and not messages:
        click.echo(f"No intake and no email has the address {email}: nothing erased.")
        return
    if not yes:
        click.confirm(f"Erase {len(found)} intakes of {email} for good?", abort=True)
    erased = erase_patient(email, actor="cli")
    click.echo(f"Erased {len(erased.intakes)} intakes and {erased.messages} other emails to them; "
               f"{len(erased.redacted_entries)} audit entries redacted.")


@data.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def data_backup(path: Path) -> None:
    """Write a consistent backup of the live database to PATH (SQLite file, or pg_dump custom format)."""
    try:
        backup(path)
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    os.chmod(path, 0o600)
    click.echo(f"Backup written to {path} (its health data stays encrypted; keep the keys elsewhere).")
    photos = backup_files(path)  # PHOTO_STORAGE=directory: the photo files, beside it
    if photos is not None:
        click.echo(f"{photos} photo files (encrypted) copied to {files_beside(path)}/: keep them with the backup.")


@data.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def data_restore(path: Path, yes: bool) -> None:
    """Replace the database's contents with the backup at PATH."""
    if not yes:
        click.confirm("Replace everything in the database with this backup?", abort=True)
    try:
        restore(path)
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    photos = restore_files(path)
    click.echo(f"Restored from {path}." + (f" {photos} photo files restored from {files_beside(path)}/."
                                            if photos is not None else ""))


@click.command("check-config")
def check_config() -> None:
    """Report every setting unsafe for production (exit status 1 if any); needs no app."""
    problems = unsafe_settings(os.environ)
    if os.environ.get("MESO_ENV", "development") != "production":
        problems.append("MESO_ENV is not 'production': the strict checks and secure cookies are off")
    if not problems:
        click.echo("No unsafe setting found.")
        return
    for problem in problems:
        click.echo(f"UNSAFE: {problem}")
    sys.exit(1)
