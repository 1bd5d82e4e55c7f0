"""`flask users …`: manage staff accounts from the server's shell."""

from __future__ import annotations

import datetime as dt

import click
from flask.cli import with_appcontext

from ..clock import as_utc, now
from ..models import Role, StaffUser
from . import queries, service

#: CLI changes are made by whoever has a shell on the server; the audit log says so.
CLI_ACTOR = "system"


@click.group("users")
def users() -> None:
    """Staff accounts: create, list, deactivate, set a password."""


@users.command("create")
@click.option("--email", required=True, help="Their sign-in address (stored lowercased).")
@click.option("--name", required=True, help="Their name as colleagues see it.")
@click.option(
    "--role",
    type=click.Choice([role.value for role in Role]),
    default=Role.PRACTITIONER.value,
    show_default=True,
)
@click.option("--password", help="Their first password (asked for, hidden, when left out).")
@with_appcontext
def create_user(email: str, name: str, role: str, password: str | None) -> None:
    """Create a staff account."""
    password = password if password is not None else _ask_password()
    try:
        user = service.create_user(email, name, role, password, actor=CLI_ACTOR)
    except service.AccountError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Created {user.role} {user.email} ({user.display_name}).")


@users.command("list")
@with_appcontext
def list_users() -> None:
    """List every staff account with its role and status."""
    accounts = queries.list_users()
    if not accounts:
        click.echo(
            "No staff accounts yet. Create one with: flask users create --email … --name … --role admin"
        )
        return
    now_at = now()
    rows = [("email", "name", "role", "status", "last sign-in")]
    for user in accounts:
        last = as_utc(user.last_login_at)
        rows.append(
            (
                user.email,
                user.display_name,
                user.role,
                _status(user, now_at),
                last.strftime("%Y-%m-%d %H:%M UTC") if last else "never",
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)).rstrip())


@users.command("deactivate")
@click.argument("email")
@with_appcontext
def deactivate_user(email: str) -> None:
    """Stop an account from signing in (its open sessions end on their next request)."""
    user = _existing(email)
    try:
        service.deactivate(user, actor=CLI_ACTOR)
    except service.AccountError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Deactivated {user.email}.")


@users.command("set-password")
@click.argument("email")
@click.option("--password", help="The new password (asked for, hidden, when left out).")
@with_appcontext
def set_password(email: str, password: str | None) -> None:
    """Set a new password; this also lifts a lock and ends the account's open sessions."""
    user = _existing(email)
    password = password if password is not None else _ask_password()
    try:
        service.set_password(user, password, actor=CLI_ACTOR)
    except service.AccountError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Password set for {user.email}.")


def _ask_password() -> str:
    return click.prompt(
        f"Password (at least {service.MIN_PASSWORD_LENGTH} characters)",
        hide_input=True,
        confirmation_prompt="Type it again",
        type=str,
    )


def _existing(email: str) -> StaffUser:
    user = queries.find_user(email)
    if user is None:
        raise click.ClickException(
            f"No staff account for {queries.normalise_email(email)}. See them with: flask users list"
        )
    return user


def _status(user: StaffUser, now: dt.datetime) -> str:
    if not user.active:
        return "deactivated"
    until = service.throttled_until(user, now)
    if until is not None:
        return f"sign-in throttled until {until.strftime('%H:%M UTC')}"
    return "active"
