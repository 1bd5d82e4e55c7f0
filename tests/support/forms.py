"""A test client that submits forms the way a browser does."""

from __future__ import annotations

from werkzeug.datastructures import MultiDict

from .html import csrf_token


class FormClient:
    """Submits forms the way a browser does: GET the page, send its CSRF token back."""

    def __init__(self, client):
        self.client = client

    def post(self, url: str, data: dict | list, follow_redirects: bool = False, page: str | None = None):
        """POST ``data`` to ``url`` with the CSRF token of ``page`` (default: ``url``)."""
        html = self.client.get(page or url).get_data(as_text=True)
        token = csrf_token(html)
        if isinstance(data, dict):
            data = list(data.items())
        fields = [("csrf_token", token), *data]
        return self.client.post(url, data=MultiDict(fields), follow_redirects=follow_redirects)
