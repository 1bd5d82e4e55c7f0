"""Staff accounts, sign-in and sign-out, and the access rules of every staff page."""

from .access import StaffBlueprint, enforce_staff_session
from .sessions import StaffSessionInterface

blueprint = StaffBlueprint("auth", __name__, url_prefix="/staff")
blueprint.before_app_request(enforce_staff_session)
# Staff sessions need their own cookie lifetime; registering the blueprint brings it along.
blueprint.record_once(lambda state: setattr(state.app, "session_interface", StaffSessionInterface()))

from . import views  # noqa: E402, F401 - the views attach themselves to the blueprint
