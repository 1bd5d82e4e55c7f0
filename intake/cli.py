"""`flask` commands of the web shell (the rules commands live in rules_cli)."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import with_appcontext


def register(app: Flask) -> None:
    """Attach the commands to the app."""
    app.cli.add_command(demo)


@click.command("demo")
@with_appcontext
def demo() -> None:
    """Prepare the demo clinic (run after `flask db upgrade`) and print where to go."""
    from . import demo as demo_data

    created = demo_data.seed()
    click.echo(f"Demo clinic: {current_app.config['CLINIC_NAME']}")
    if created:
        click.echo(f"  seeded {created} example intakes")
    click.echo("  Patient intake start page: http://127.0.0.1:5000/")
