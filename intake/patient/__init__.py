"""The patient's side: the public start page and the private intake link."""

from flask import Blueprint

blueprint = Blueprint("patient", __name__)

from . import views  # noqa: E402, F401 - the routes register themselves on the blueprint
