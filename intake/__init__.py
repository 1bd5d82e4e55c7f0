"""Meso Intake: consultation intake and suitability checker for mesotherapy clinics."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, make_response, render_template, request
from flask_babel import gettext
from werkzeug.middleware.proxy_fix import ProxyFix

from .config import REPO_ROOT, build_config


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
        from .config import ConfigError

        raise ConfigError("Refusing to start in production mode: debug is on (unset FLASK_DEBUG, drop --debug)")
    if app.config["TRUSTED_PROXIES"]:
        # Behind a reverse proxy the client's address (throttling, audit) and HTTPS come from its headers.
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    register_extensions(app)
    register_ruleset(app)
    register_blueprints(app)
    register_error_pages(app)
    register_template_helpers(app)
    register_commands(app)
    return app


def register_extensions(app: Flask) -> None:
    from . import models, protection, security  # noqa: F401 - the models must be known to Alembic and create_all
    from .extensions import babel, csrf, db, limiter, login_manager, mail, migrate

    # Not imported from models.py: intake.review's blueprint needs intake.auth, which needs models.
    from .review import models as review_models  # noqa: F401

    db.init_app(app)
    protection.init_app(app)
    migrate.init_app(app, db, directory=str(REPO_ROOT / "migrations"))
    security.init_request_checks(app)  # before the CSRF check, which would crash on a malformed form
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_select_locale)
    security.init_app(app)
    login_manager.init_app(app)
    limiter.init_app(app)
    mail.init_app(app)


def _select_locale() -> str | None:
    from flask import current_app

    return request.accept_languages.best_match(current_app.config["LANGUAGES"])


def register_ruleset(app: Flask) -> None:
    from .ruleset import init_ruleset

    init_ruleset(app)


def register_blueprints(app: Flask) -> None:
    from . import api
    from .admin.views import blueprint as admin
    from .auth import blueprint as auth
    from .patient import blueprint as patient
    from .review import blueprint as review

    app.register_blueprint(patient)
    app.register_blueprint(auth)
    app.register_blueprint(review)
    app.register_blueprint(admin)
    api.init_app(app)


def register_error_pages(app: Flask) -> None:
    from . import outage

    outage.init_app(app)  # a database outage: 503 keeping what was typed
    from werkzeug.http import HTTP_STATUS_CODES

    def render_error(code: int, title: str, explanation: str) -> Any:
        if request.path.startswith("/api/"):
            # An address under the API that matched no route still answers as the API does: JSON.
            return {"code": code, "status": HTTP_STATUS_CODES.get(code, ""), "message": f"{title}. {explanation}"}, code
        return render_template("error.html", code=code, title=title, explanation=explanation), code

    @app.errorhandler(400)
    def bad_request(_error: Exception) -> tuple[str, int]:
        return render_error(400, gettext("Something in that request was not right"),
                            gettext("Go back, check the page and try again."))

    @app.errorhandler(404)
    def not_found(_error: Exception) -> tuple[str, int]:
        return render_error(404, gettext("Page not found"),
                            gettext("Check the address, or use the link the clinic sent you."))

    @app.errorhandler(405)
    def method_not_allowed(error: Exception) -> Any:
        body, code = render_error(405, gettext("That cannot be done at this address"),
                                  gettext("Go back and use the page's own buttons and links."))
        # RFC 9110: a 405 says which methods the address takes.
        methods = sorted(getattr(error, "valid_methods", None) or [])
        return body, code, {"Allow": ", ".join(methods)} if methods else {}

    @app.errorhandler(413)
    def too_large(_error: Exception) -> tuple[str, int]:
        return render_error(413, gettext("That was too much to send at once"),
                            gettext("Shorten the longest answers and try again. Nothing was saved."))

    @app.errorhandler(429)
    def too_many_requests(_error: Exception) -> Any:
        from .ratelimits import retry_after_seconds

        seconds = retry_after_seconds()
        if request.path.startswith("/api/"):
            body, _code = render_error(429, "Too many requests", f"Wait {seconds} seconds and try again")
            return body, 429, {"Retry-After": str(seconds)}
        response = make_response(render_template("too_many_requests.html", retry_after=seconds), 429)
        response.headers["Retry-After"] = str(seconds)
        return response

    @app.errorhandler(500)
    def server_error(_error: Exception) -> tuple[str, int]:
        return render_error(500, gettext("Something went wrong on our side"),
                            gettext("Your last change may not have been saved. Please try again in a moment."))


def register_template_helpers(app: Flask) -> None:
    from . import templating

    templating.init_app(app)


def register_commands(app: Flask) -> None:
    from .auth.cli import users
    from .cli import register

    register(app)
    app.cli.add_command(users)
