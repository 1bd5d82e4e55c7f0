"""Practitioner review: the queue, the intake record, flag reviews, plan edits and signed decisions."""

from ..auth.access import StaffBlueprint

blueprint = StaffBlueprint("review", __name__, url_prefix="/staff")

from . import invitations, reports, views  # noqa: E402, F401 - the views attach themselves to the blueprint
