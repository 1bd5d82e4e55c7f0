"""`flask` commands of the web shell: the demo clinic, the answers document's schema, and
(from their packages) data protection, API tokens and staff accounts. The `flask rules`
commands are intake.rulesets.cli, a plugin that runs even when the app cannot start."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from ..answers.jsonschema import answers_json_schema, with_reference
from ..answers.jsonschema import answers_reference as reference
from ..api.cli import api_tokens
from ..demo import seed, seed_staff
from ..jobs.cli import jobs_group, scheduler, worker
from . import data


def register(app: Flask) -> None:
    """Attach the commands to the app."""
    data.register(app)
    app.cli.add_command(demo)
    app.cli.add_command(answers_group)
    app.cli.add_command(api_tokens)
    app.cli.add_command(worker)
    app.cli.add_command(scheduler)
    app.cli.add_command(jobs_group)


@click.command("demo")
@with_appcontext
def demo() -> None:
    """Prepare the demo clinic (run after `flask db upgrade`) and print where to go."""
    if current_app.config["ENV_NAME"] == "production":
        raise click.ClickException("flask demo creates demo staff accounts and example patients: it does not run "
                                   "in production mode (MESO_ENV=production). Create real accounts with "
                                   "`flask users create`.")
    created = seed()
    staff = seed_staff()
    click.echo(f"Demo clinic: {current_app.config['CLINIC_NAME']}")
    if created:
        click.echo(f"  seeded {created} example intakes")
    click.echo("  Patient intake start page: http://127.0.0.1:5000/")
    click.echo("  Staff sign-in: http://127.0.0.1:5000/staff/sign-in")
    if staff.created:
        click.echo(f"  created demo staff accounts: {', '.join(staff.created)}")
        click.echo(f"  password for both, shown only this once: {staff.password}")
    if staff.existing:
        click.echo(f"  demo staff accounts already exist: {', '.join(staff.existing)}")
        click.echo("  forgot their password? set a new one with: "
                   ".venv/bin/flask --app wsgi users set-password admin@demo.clinic")


@click.group("answers")
def answers_group() -> None:
    """The answers document: its JSON Schema and reference page."""


@answers_group.command("schema")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write to this file instead of stdout.")
def answers_schema(output: str | None) -> None:
    """Print the answers document's JSON Schema."""
    _write(json.dumps(answers_json_schema(), indent=2, ensure_ascii=False) + "\n", output)


@answers_group.command("reference")
@click.option("--output", "-o", type=click.Path(dir_okay=False),
              help="Write to this file instead of stdout (in docs/answers.md: between its reference markers).")
def answers_reference(output: str | None) -> None:
    """Print the answers document's reference (Markdown), generated from the declared questions."""
    if output and Path(output).is_file():
        _write(with_reference(Path(output).read_text(encoding="utf-8"), reference()), output)
    else:
        _write(reference() + "\n", output)


def _write(text: str, output: str | None) -> None:
    if output:
        with open(output, "w", encoding="utf-8") as file:
            file.write(text)
    else:
        click.echo(text, nl=False)
