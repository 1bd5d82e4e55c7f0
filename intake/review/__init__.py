"""Practitioner review: the queue, the intake record, flag reviews, plan edits, signed decisions,
invitations and patient links, reports (blueprint in views)."""
