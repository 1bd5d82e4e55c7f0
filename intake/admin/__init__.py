"""Clinic admin: ruleset versions (upload, edit, check, preview, activate, roll back); see views.blueprint."""
