"""The flask-smorest Api that serves our OpenAPI document."""

from __future__ import annotations

from typing import Any

from flask import current_app
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


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document the app serves at /api/v1/openapi.json, as a dict (one Api per app)."""
    (registered,) = current_app.extensions["flask-smorest"]["apis"].values()
    document: dict[str, Any] = registered["ext_obj"].spec.to_dict()
    return document
