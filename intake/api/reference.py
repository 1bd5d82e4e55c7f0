"""The API documentation page for signed-in staff (/staff/api-docs/).

The endpoints are drawn on the server from the OpenAPI document, with how to authenticate, so the
page is complete without JavaScript; the vendored Swagger UI (intake/static/vendor/) adds the
interactive reference for browsers that run it. The page keeps the app's Content-Security-Policy as it
is: the viewer needs no relaxation (intake/static/js/api-docs.js says why).
"""

from __future__ import annotations

from typing import Any

from flask import render_template, url_for

from ..auth.access import StaffBlueprint
from . import tokens
from .spec import openapi_document

blueprint = StaffBlueprint("api_reference", __name__, url_prefix="/staff/api-docs")

#: The vendored viewer, under intake/static/ (intake/static/vendor/README.md says where it comes from).
SWAGGER_UI = "vendor/swagger-ui-dist-5.36.0"
#: The operations of an OpenAPI path item, in the order the page lists them.
METHODS = ("get", "post", "put", "patch", "delete")


def endpoints(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Each operation of the document: method, path, summary, the scope its token needs, its status codes."""
    found = []
    for path, item in document.get("paths", {}).items():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            found.append({
                "method": method.upper(),
                "path": path,
                "summary": operation.get("summary") or operation.get("description") or "",
                "scope": tokens.scope_needed(method),
                # "default" is flask-smorest's catch-all error response, not a status code.
                "responses": sorted(code for code in operation.get("responses", {}) if code.isdigit()),
            })
    return found


@blueprint.get("/")
def show_api_docs() -> str:
    """The API's endpoints and how to authenticate, then the interactive reference."""
    document = openapi_document()
    return render_template("api/docs.html", endpoints=endpoints(document), info=document.get("info", {}),
                           spec_url=url_for("api-docs.openapi_json"), swagger_ui=SWAGGER_UI)
