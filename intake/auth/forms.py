"""The sign-in form."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField
from wtforms.validators import DataRequired, Length

from .service import MAX_PASSWORD_LENGTH


class SignInForm(FlaskForm):
    email = EmailField(
        _l("Email address"),
        validators=[DataRequired(_l("Enter your email address")), Length(max=254)],
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(_l("Enter your password")), Length(max=MAX_PASSWORD_LENGTH)],
    )
    #: Where to go after signing in; checked with access.safe_next before it is followed.
    next = HiddenField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Read by the shared form macros (templates/macros/forms.html).
        self.email.autocomplete, self.email.max_length = "username", 254
        self.password.autocomplete, self.password.max_length = "current-password", MAX_PASSWORD_LENGTH

    def problems(self) -> list[tuple[str, str]]:
        """(link to the field, message) for the page's error summary."""
        return [(f"#{field.id}", field.errors[0]) for field in (self.email, self.password) if field.errors]
