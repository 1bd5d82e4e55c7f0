"""The error pages: plain words in HTML, JSON under /api/."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import Flask, current_app, make_response, render_template, request
from flask_babel import gettext
from werkzeug.http import HTTP_STATUS_CODES

from .ratelimits import retry_after_seconds
from .security import upload_limit

#: Where the API's endpoints are listed (served by flask-smorest, no token needed).
OPENAPI_PATH = "/api/v1/openapi.json"


def api_message(code: int, allowed: Iterable[str] = ()) -> str:
    """What is wrong with an API request, for the programmer reading the response (not a patient's wording).

    Used where nothing more precise was said: an address under /api/ that matched no route, a method
    the route does not take, a body that could not be parsed, a failure on our side.
    """
    method, path = request.method, request.path
    if code == 400:
        return (f"The request to {method} {path} could not be read: check its headers and that the body is "
                "valid for its Content-Type.")
    if code == 401:
        return "Send a valid API token: Authorization: Bearer <token>."
    if code == 403:
        return f"This API token may not {method} {path}."
    if code == 404:
        return f"No API endpoint or resource at {path}. The endpoints are listed in {OPENAPI_PATH}."
    if code == 405:
        methods = ", ".join(sorted(set(allowed) - {"HEAD", "OPTIONS"})) or "no other method"
        return f"{method} is not allowed on {path}: it accepts {methods}."
    if code == 409:
        return f"{method} {path} conflicts with the current state of the resource: read it again, then retry."
    if code == 413:
        return f"The request body is larger than the {current_app.config['MAX_CONTENT_LENGTH']} bytes accepted."
    if code == 415:
        return "Send the body with Content-Type: application/json."
    if code == 422:
        return f"The body of {method} {path} is well-formed but not valid."
    if code == 429:
        return f"Too many requests: wait {retry_after_seconds()} seconds and try again."
    if code >= 500:
        return (f"The server failed while handling {method} {path} (the error is logged on the server). "
                "Retry later; if it persists, report it to the clinic with the time of the request.")
    return f"{method} {path} failed: {HTTP_STATUS_CODES.get(code, 'error')}."


def render_error(code: int, title: str, explanation: str, allowed: Iterable[str] = ()) -> Any:
    """The error page (HTML), or the API's JSON error for an address under /api/."""
    if request.path.startswith("/api/"):
        # An address under the API that matched no route still answers as the API does: JSON, in the
        # API's terms (the page's title and explanation are written for patients and staff).
        return {"code": code, "status": HTTP_STATUS_CODES.get(code, ""), "message": api_message(code, allowed)}, code
    return render_template("error.html", code=code, title=title, explanation=explanation), code


def init_app(app: Flask) -> None:
    """Register a page for each error a visitor can meet."""

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
        # RFC 9110: a 405 says which methods the address takes.
        methods = sorted(getattr(error, "valid_methods", None) or [])
        body, code = render_error(405, gettext("That cannot be done at this address"),
                                  gettext("Go back and use the page's own buttons and links."), methods)
        return body, code, {"Allow": ", ".join(methods)} if methods else {}

    @app.errorhandler(413)
    def too_large(_error: Exception) -> tuple[str, int]:
        if upload_limit() is not None:
            megabytes = current_app.config["PHOTO_MAX_BYTES"] / (1024 * 1024)
            return render_error(413, gettext("That photo is too large"),
                                gettext("The most a photo may be is %(size).0f MB. Go back and choose a smaller one "
                                        "(your phone's normal camera setting is fine). Nothing was saved.",
                                        size=megabytes))
        return render_error(413, gettext("That was too much to send at once"),
                            gettext("Shorten the longest answers and try again. Nothing was saved."))

    @app.errorhandler(429)
    def too_many_requests(_error: Exception) -> Any:
        seconds = retry_after_seconds()
        if request.path.startswith("/api/"):
            body = {"code": 429, "status": HTTP_STATUS_CODES[429], "message": api_message(429)}
            return body, 429, {"Retry-After": str(seconds)}
        response = make_response(render_template("too_many_requests.html", retry_after=seconds), 429)
        response.headers["Retry-After"] = str(seconds)
        return response

    @app.errorhandler(500)
    def server_error(_error: Exception) -> tuple[str, int]:
        return render_error(500, gettext("Something went wrong on our side"),
                            gettext("Your last change may not have been saved. Please try again in a moment."))
