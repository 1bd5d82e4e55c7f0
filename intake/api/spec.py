"""The flask-smorest Api that serves our OpenAPI document."""

from __future__ import annotations

from flask_smorest import Api

from .schemas import ErrorSchema


class BlueprintScopedApi(Api):
    """flask-smorest's Api, minus its app-wide JSON error handler.

    The patient and staff pages keep their HTML error pages; the API blueprint answers
    its own errors in JSON, in the shape ErrorSchema documents.
    """

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self) -> None:
        pass
