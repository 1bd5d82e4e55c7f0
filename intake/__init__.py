"""Meso Intake: consultation intake and suitability checker for mesotherapy clinics."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from . import audit, jobs, protection
from .admin.views import blueprint as admin_blueprint
from .admin.views import clinic_blueprint, tokens_blueprint
from .api import init_app as init_api
from .auth.cli import users
from .auth.queries import load_staff_user
from .auth.views import blueprint as auth_blueprint
from .cli import register as register_cli
from .config import REPO_ROOT, ConfigError, build_config
from .extensions import babel, csrf, db, limiter, login_manager, mail, migrate
from .patient.views import blueprint as patient_blueprint
from .patient.views import render_section_unsaved
from .photos.views import patient_blueprint as patient_photos_blueprint
from .photos.views import staff_blueprint as staff_photos_blueprint
from .reminders.cli import reminders as reminders_cli
from .reminders.views import blueprint as reminders_blueprint
from .review.views import blueprint as review_blueprint
from .rulesets import active
from .web import clinic, errors, languages, outage, security, templating


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: settings, extensions, rules, blueprints, error pages, commands."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=str(REPO_ROOT / "templates"),
    )
    app.config.update(build_config(app.instance_path))
    if config:
        app.config.update(config)
    if app.config["ENV_NAME"] == "production" and app.debug:
        raise ConfigError("Refusing to start in production mode: debug is on (unset FLASK_DEBUG, drop --debug)")
    if app.config["TRUSTED_PROXIES"]:
        # Behind a reverse proxy the client's address (throttling, audit) and HTTPS come from its headers.
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]  # Flask's way to wrap it
    register_extensions(app)
    register_ruleset(app)
    register_blueprints(app)
    register_error_pages(app)
    register_template_helpers(app)
    register_commands(app)
    return app


def register_extensions(app: Flask) -> None:
    """The database (every model is known through intake.models), encryption, audit chain, security, i18n."""
    db.init_app(app)
    protection.init_app(app)
    audit.init_app(app)
    migrate.init_app(app, db, directory=str(REPO_ROOT / "migrations"))
    security.init_request_checks(app)  # before the CSRF check, which would crash on a malformed form
    csrf.init_app(app)
    babel.init_app(app, locale_selector=languages.select_locale)
    security.init_app(app)
    login_manager.init_app(app)
    login_manager.user_loader(load_staff_user)
    limiter.init_app(app)
    mail.init_app(app)
    jobs.init_app(app)


def register_ruleset(app: Flask) -> None:
    active.init_app(app)


def register_blueprints(app: Flask) -> None:
    app.register_blueprint(patient_blueprint)
    app.register_blueprint(auth_blueprint)
    app.register_blueprint(review_blueprint)
    app.register_blueprint(patient_photos_blueprint)
    app.register_blueprint(staff_photos_blueprint)
    app.register_blueprint(admin_blueprint)
    app.register_blueprint(clinic_blueprint)
    app.register_blueprint(tokens_blueprint)
    app.register_blueprint(reminders_blueprint)
    init_api(app)


def register_error_pages(app: Flask) -> None:
    # A database outage: a 503 keeping what was typed (a patient's section is drawn again, filled in).
    outage.init_app(app, unsaved_pages={"patient.edit_section": render_section_unsaved})
    errors.init_app(app)


def register_template_helpers(app: Flask) -> None:
    templating.init_app(app)
    languages.init_app(app)
    clinic.init_app(app)


def register_commands(app: Flask) -> None:
    register_cli(app)
    app.cli.add_command(users)
    app.cli.add_command(reminders_cli)
