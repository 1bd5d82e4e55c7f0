"""Response headers every page gets: no inline code, no framing, no leaking private links."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, abort, request
from werkzeug.routing import IntegerConverter, Map

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "img-src 'self' data:",
        "script-src 'self'",
        "style-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)


def init_app(app: Flask) -> None:
    """Add the security headers to every response."""

    @app.after_request
    def security_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        # Patient links carry their token in the path: never send it to another site.
        headers.setdefault("Referrer-Policy", "no-referrer")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if app.config["ENV_NAME"] == "production":
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        # Every page is built for one request and most carry health data (records, queue, print view,
        # reports, exports, API reads, a patient's answers): no browser or proxy keeps a copy. Only the
        # vendored CSS and JS are cached.
        if not (request.endpoint or "").endswith("static"):
            headers["Cache-Control"] = "no-store"
        return response


#: The largest id a route accepts: ids are INTEGER columns, 32-bit on PostgreSQL. A larger one is a
#: 404, not an overflow in the database (a 500).
MAX_ID = 2**31 - 1


class DatabaseIntegerConverter(IntegerConverter):
    """``<int:…>`` in every route: a non-negative integer that fits the database's id columns."""

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:  # noqa: A002 - werkzeug's name
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def init_request_checks(app: Flask) -> None:
    """Refuse malformed bodies before anything reads them (registered ahead of the CSRF check)."""
    app.url_map.converters["int"] = DatabaseIntegerConverter

    @app.before_request
    def refuse_malformed_forms() -> None:
        # A multipart part without a name parses to a None key, which Flask-WTF's CSRF check
        # (and any code reading field names) cannot handle: refuse the request as malformed.
        if request.method in ("POST", "PUT", "PATCH", "DELETE") and request.mimetype in (
            "multipart/form-data", "application/x-www-form-urlencoded"
        ) and None in request.form:
            abort(400)
