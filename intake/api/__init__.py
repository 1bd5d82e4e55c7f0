"""The JSON API for the clinic's other systems, its tokens, its documentation page for staff, and the staff
exports (CSV, JSON, FHIR)."""

from __future__ import annotations

from flask import Flask

from ..answers.jsonschema import AnswersPlugin
from ..extensions import csrf
from . import exports, reference, views
from .spec import BlueprintScopedApi

API_PREFIX = "/api/v1"


def init_app(app: Flask) -> None:
    """Register the API (with its OpenAPI document at /api/v1/openapi.json), its documentation page and the
    staff exports."""
    app.config.setdefault("OPENAPI_URL_PREFIX", API_PREFIX)
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    # One Api per app: it keeps the app and its spec on itself, and tests build one app per database.
    api = BlueprintScopedApi(spec_kwargs={
        "title": "Meso Intake API",
        "version": "1",
        "openapi_version": "3.0.3",
        "security": [{"bearerAuth": []}],
        # The converter of docs/answers.schema.json: the answers document is described once.
        "marshmallow_plugin": AnswersPlugin(),
    })
    api.init_app(app)
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    # Token auth, not cookies: a browser cannot be tricked into sending the header, so CSRF does not apply.
    csrf.exempt(views.blueprint)
    api.register_blueprint(views.blueprint)
    app.register_blueprint(exports.blueprint)
    app.register_blueprint(exports.public_blueprint)
    app.register_blueprint(reference.blueprint)
