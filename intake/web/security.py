"""Response headers every page gets: no inline code, no framing, no leaking private links."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, Response, abort, current_app, request
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


View = TypeVar("View", bound=Callable[..., Any])
#: The form memory of an upload's request (werkzeug's default): what its parser may buffer.
UPLOAD_FORM_MEMORY = 500_000


def accepts_upload(setting: str) -> Callable[[View], View]:
    """Let a view's requests be as large as the setting ``setting`` (a file) plus MAX_CONTENT_LENGTH (its form).

    Every other route keeps MAX_CONTENT_LENGTH: raising it for one upload page does not raise it everywhere.
    """

    def mark(view: View) -> View:
        view.upload_limit_setting = setting  # type: ignore[attr-defined]  # a mark upload_limit() reads
        return view

    return mark


def upload_limit() -> int | None:
    """The larger limit of the view this request goes to, if it accepts an upload (``accepts_upload``)."""
    view = current_app.view_functions.get(request.endpoint or "")
    setting = getattr(view, "upload_limit_setting", None)
    return int(current_app.config[setting]) + int(current_app.config["MAX_CONTENT_LENGTH"]) if setting else None


def init_request_checks(app: Flask) -> None:
    """Refuse malformed bodies before anything reads them (registered ahead of the CSRF check)."""
    app.url_map.converters["int"] = DatabaseIntegerConverter

    @app.before_request
    def allow_uploads() -> None:
        # First of all: the form is read (by the checks below, then CSRF) under the limit set here.
        limit = upload_limit()
        if limit is not None:
            request.max_content_length = limit
            # werkzeug's multipart parser counts its read buffer (64 KiB chunks) against the form-memory
            # limit: a file above MAX_FORM_MEMORY_SIZE (64 KiB) would be refused. Its default (500 kB) here.
            request.max_form_memory_size = max(UPLOAD_FORM_MEMORY, current_app.config["MAX_FORM_MEMORY_SIZE"])

    @app.before_request
    def refuse_malformed_forms() -> None:
        # A multipart part without a name parses to a None key, which Flask-WTF's CSRF check
        # (and any code reading field names) cannot handle: refuse the request as malformed.
        if request.method in ("POST", "PUT", "PATCH", "DELETE") and request.mimetype in (
            "multipart/form-data", "application/x-www-form-urlencoded"
        ) and None in request.form:
            abort(400)
