"""`flask api-tokens …`: create, list and revoke the staff API tokens from the server's shell."""

from __future__ import annotations

import datetime as dt

import click
from flask.cli import with_appcontext

from ..clock import as_utc, utcnow
from . import tokens

#: CLI changes are made by whoever has a shell on the server; the audit log says so.
CLI_ACTOR = "system"


@click.group("api-tokens")
def api_tokens() -> None:
    """API tokens for the clinic's other systems: create, list, revoke."""


@api_tokens.command("create")
@click.option("--name", required=True, help="What the token is for, e.g. 'Booking system'.")
@click.option("--by", "by", required=True, help="Email of the admin creating it (the token dies with their account).")
@click.option("--scope", type=click.Choice(tokens.SCOPES), default=tokens.READ, show_default=True,
              help="read: list and read intakes; write: also create them (a booking system).")
@click.option("--days", type=click.IntRange(min=1), default=365, show_default=True,
              help="The token stops working after this many days.")
@click.option("--no-expiry", is_flag=True, help="The token never expires (revoke it by hand).")
@with_appcontext
def create_token(name: str, by: str, scope: str, days: int, no_expiry: bool) -> None:
    """Create a token and print it, this once (only its hash is kept)."""
    expires_at = None if no_expiry else utcnow() + dt.timedelta(days=days)
    try:
        token, secret = tokens.create_token(name, by, scope=scope, expires_at=expires_at, actor=CLI_ACTOR)
    except tokens.TokenError as error:
        raise click.ClickException(str(error)) from None
    until = f"until {_when(expires_at)}" if expires_at else "with no expiry"
    click.echo(f"Created API token {token.id} ({token.name}), scope {token.scope}, {until}.")
    click.echo("Copy it now, it is not shown again:")
    click.echo(secret)


@api_tokens.command("list")
@with_appcontext
def list_tokens() -> None:
    """List every token: id, name, creator, when created and last used, status."""
    rows = tokens.list_tokens()
    if not rows:
        click.echo("No API tokens yet. Create one with: flask api-tokens create --name … --by ADMIN_EMAIL")
        return
    table = [("id", "name", "scope", "created by", "created", "expires", "last used", "status")]
    now = utcnow()
    for token, creator in rows:
        state = tokens.status(token, creator, now)
        table.append((
            str(token.id),
            token.name,
            token.scope,
            creator.email if creator else "(deleted account)",
            _when(token.created_at),
            _when(token.expires_at) or "never",
            _when(token.last_used_at) or "never",
            f"revoked {_when(token.revoked_at)}" if state == "revoked" else state,
        ))
    widths = [max(len(row[column]) for row in table) for column in range(len(table[0]))]
    for row in table:
        click.echo("  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)).rstrip())


@api_tokens.command("revoke")
@click.argument("token_id", type=int)
@with_appcontext
def revoke_token(token_id: int) -> None:
    """Revoke a token: requests signed with it are refused from now on."""
    try:
        token = tokens.revoke_token(token_id, actor=CLI_ACTOR)
    except tokens.TokenError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Revoked API token {token.id} ({token.name}).")


def _when(value) -> str:
    value = as_utc(value)
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else ""
