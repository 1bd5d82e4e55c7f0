"""`flask api-tokens …`: create, list and revoke the staff API tokens from the server's shell."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from ..clock import as_utc
from . import tokens

#: CLI changes are made by whoever has a shell on the server; the audit log says so.
CLI_ACTOR = "system"


@click.group("api-tokens")
def api_tokens() -> None:
    """API tokens for the clinic's other systems: create, list, revoke."""


@api_tokens.command("create")
@click.option("--name", required=True, help="What the token is for, e.g. 'Booking system'.")
@click.option("--by", "by", required=True, help="Email of the admin creating it.")
@with_appcontext
def create_token(name: str, by: str) -> None:
    """Create a token and print it, this once (only its hash is kept)."""
    try:
        token, secret = tokens.create_token(name, by, actor=CLI_ACTOR)
    except tokens.TokenError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Created API token {token.id} ({token.name}).")
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
    table = [("id", "name", "created by", "created", "last used", "status")]
    for token, creator in rows:
        revoked = as_utc(token.revoked_at)
        table.append((
            str(token.id),
            token.name,
            creator.email if creator else "(deleted account)",
            _when(token.created_at),
            _when(token.last_used_at) or "never",
            f"revoked {_when(revoked)}" if revoked else "active",
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
