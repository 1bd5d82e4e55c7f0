"""The error pages: plain words in HTML, JSON under /api/."""

from __future__ import annotations

from typing import Any

from flask import Flask, make_response, render_template, request
from flask_babel import gettext
from werkzeug.http import HTTP_STATUS_CODES

from .ratelimits import retry_after_seconds


def render_error(code: int, title: str, explanation: str) -> Any:
    """The error page (HTML), or the API's JSON error for an address under /api/."""
    if request.path.startswith("/api/"):
        # An address under the API that matched no route still answers as the API does: JSON.
        return {"code": code, "status": HTTP_STATUS_CODES.get(code, ""), "message": f"{title}. {explanation}"}, code
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
