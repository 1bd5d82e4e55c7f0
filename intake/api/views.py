"""The JSON API under /api/v1: HTTP in, token checked, the API service called, JSON out."""

from __future__ import annotations

from typing import Any

from flask import current_app, g, request, url_for
from flask_smorest import Blueprint
from marshmallow import RAISE, ValidationError
from werkzeug.exceptions import HTTPException

from ..answers import AnswersSchema
from ..clock import clinic_today
from ..extensions import db, limiter
from ..models import Intake
from ..rulesets.active import active_ruleset
from ..web.errors import api_message
from ..web.ratelimits import api_client_key, api_limit, retry_after_seconds
from . import service, tokens
from .schemas import (
    ErrorSchema,
    IntakeCreatedSchema,
    IntakeDetailSchema,
    IntakeListArgsSchema,
    IntakePageSchema,
)

blueprint = Blueprint(
    "api", __name__, url_prefix="/api/v1",
    description="Intakes for the clinic's other systems. Every request needs `Authorization: Bearer <token>`.",
)
REALM = 'Bearer realm="Meso Intake"'
# Every route of the API, counted per token: checked before the token is, so floods of bad tokens count too.
limiter.shared_limit(api_limit, scope="api", key_func=api_client_key)(blueprint)


class ApiError(HTTPException):
    """An error answered as JSON: code, status, message and, for invalid input, errors by field."""

    def __init__(self, code: int, message: str, errors: Any = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.errors = errors
        self.extra_headers = headers or {}


@blueprint.errorhandler(HTTPException)
def json_error(error: HTTPException) -> tuple[dict[str, Any], int, dict[str, str]]:
    """Every error of the API as JSON, never an HTML page."""
    code = error.code or 500
    message = getattr(error, "message", None)
    if not message:
        # werkzeug's default descriptions speak of browsers and URLs typed by hand: say what is wrong in the
        # API's terms, unless whoever raised the error gave a description of their own.
        specific = error.description and error.description != type(error).description
        message = error.description if specific else api_message(code, getattr(error, "valid_methods", None) or ())
    body: dict[str, Any] = {"code": code, "status": error.name, "message": message}
    errors = getattr(error, "errors", None)
    data = getattr(error, "data", None)  # webargs puts query-string errors here, keyed by location
    if errors is None and isinstance(data, dict) and "messages" in data:
        errors = {field: messages for by_location in data["messages"].values() for field, messages in
                  by_location.items()}
        body["message"] = "Some query parameters are not valid."
    if errors is not None:
        body["errors"] = _with_string_keys(errors)
    headers = dict(getattr(error, "extra_headers", {}))
    if isinstance(data, dict):
        headers.update(data.get("headers") or {})
    if code == 429:
        seconds = retry_after_seconds()
        sender = "with this token" if request.headers.get("Authorization") else "from this address"
        body["message"] = f"Too many requests {sender}: wait {seconds} seconds and try again."
        headers["Retry-After"] = str(seconds)
    elif code == 413:
        body["message"] = (f"The request body is larger than the {current_app.config['MAX_CONTENT_LENGTH']} "
                           "bytes accepted.")
    return body, code, headers


def _with_string_keys(errors: Any) -> Any:
    """marshmallow keys list items' errors by position (0, 1…) beside names ("_schema"): JSON wants strings."""
    if isinstance(errors, dict):
        return {str(key): _with_string_keys(value) for key, value in errors.items()}
    if isinstance(errors, list):
        return [_with_string_keys(value) for value in errors]
    return errors


# The app's HTML pages for these codes would be found before a class-wide handler.
for _code in (400, 403, 404, 413, 415, 429, 500):
    blueprint.register_error_handler(_code, json_error)


@blueprint.before_request
def require_token() -> None:
    """Refuse any request without a live token; remember the token for the audit log."""
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise ApiError(401, "Send an API token: Authorization: Bearer <token>.", headers={"WWW-Authenticate": REALM})
    token, state = tokens.check(secret.strip())
    if token is None:
        raise ApiError(401, tokens.REFUSALS.get(state, tokens.REFUSALS["unknown"]),
                       headers={"WWW-Authenticate": f'{REALM}, error="invalid_token"'})
    if not tokens.may(token, request.method):
        db.session.commit()  # its last use
        raise ApiError(403, f"This API token may only read (scope {token.scope}): {request.method} {request.path} "
                            f"needs a token with scope {tokens.scope_needed(request.method)}.",
                       headers={"WWW-Authenticate": f'{REALM}, error="insufficient_scope", scope="write"'})
    g.api_actor = token.actor
    db.session.commit()  # its last use, whatever the request goes on to do


def _actor() -> str:
    actor: str = g.api_actor
    return actor


@blueprint.route("/intakes", methods=["POST"])
@blueprint.doc(
    summary="Create and submit an intake from a complete answers document",
    requestBody={"required": True, "content": {"application/json": {"schema": AnswersSchema}}},
)
@blueprint.alt_response(401, schema=ErrorSchema, description="No valid token")
@blueprint.alt_response(403, schema=ErrorSchema, description="The token's scope is read: creating needs write")
@blueprint.alt_response(413, schema=ErrorSchema, description="The body is larger than MAX_CONTENT_LENGTH")
@blueprint.alt_response(415, schema=ErrorSchema, description="The body is not sent as application/json")
@blueprint.alt_response(422, schema=ErrorSchema, description="The answers document is not valid")
@blueprint.alt_response(429, schema=ErrorSchema, description="Too many requests with this token (API_RATE_LIMIT)")
@blueprint.response(201, IntakeCreatedSchema)
def create_intake() -> tuple[dict[str, Any], int, dict[str, str]]:
    """Validate the document on the clinic's today, assess it with the active rules and store it submitted."""
    if not request.is_json:
        raise ApiError(415, "Send the answers document with Content-Type: application/json.")
    try:
        document = request.get_json(silent=True)
    except RecursionError:  # nested deeper than the parser goes: not an answers document
        document = None
    if not isinstance(document, dict):
        raise ApiError(422, "Send the answers document as a JSON object.",
                       {"_schema": ["Expected a JSON object (the answers document)."]})
    try:
        intake, assessment, token = service.create_submitted_intake(
            document, _actor(), active_ruleset(), clinic_today()
        )
    except ValidationError as invalid:
        db.session.rollback()
        raise ApiError(422, "The answers document is not valid.", invalid.messages) from None
    link = url_for("patient.show_intake", token=token, _external=True)
    location = url_for("api.show_intake", intake_id=intake.id, _external=True)
    return service.created(intake, assessment, link), 201, {"Location": location}


@blueprint.route("/intakes/<int:intake_id>", methods=["GET"])
@blueprint.doc(summary="One intake: its answers, status and latest assessment")
@blueprint.alt_response(401, schema=ErrorSchema, description="No valid token")
@blueprint.alt_response(404, schema=ErrorSchema, description="No such intake")
@blueprint.response(200, IntakeDetailSchema)
def show_intake(intake_id: int) -> dict[str, Any]:
    """Read one intake."""
    intake = db.session.get(Intake, intake_id)
    if intake is None:
        raise ApiError(404, f"No intake with id {intake_id}.")
    data = service.detail(intake)
    service.view_intake(intake, _actor())
    return data


@blueprint.route("/intakes", methods=["GET"])
@blueprint.doc(summary="Intakes matching the review queue's filters, most severe and soonest first")
# Refused, not ignored: a misspelt filter would otherwise silently list everything.
@blueprint.arguments(IntakeListArgsSchema, location="query", as_kwargs=True, unknown=RAISE)
@blueprint.alt_response(401, schema=ErrorSchema, description="No valid token")
@blueprint.alt_response(422, schema=ErrorSchema, description="A query parameter is not valid")
@blueprint.response(200, IntakePageSchema)
def list_intakes(page: int, per_page: int, **filters: Any) -> dict[str, Any]:
    """List intakes, a page at a time."""
    return service.list_intakes(filters, page, per_page, _actor())
