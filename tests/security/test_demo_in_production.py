"""`flask demo` never seeds demo accounts or example patients into a production database."""

from __future__ import annotations

import sqlalchemy as sa

from intake.extensions import db
from intake.models import Intake, StaffUser


def test_flask_demo_refuses_in_production(app, runner):
    app.config["ENV_NAME"] = "production"
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 1 and "does not run in production mode" in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(StaffUser)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Intake)) == 0


def test_flask_demo_still_prepares_a_development_clinic(app, runner):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0 and "created demo staff accounts" in result.output
