"""Reminders to patients and the staff's morning digest.

``due`` is the pure core: which reminders are due at an instant, from plain facts (no Flask,
no database). The rest is the thin shell: ``send`` runs one pass (``send_due_reminders``) through the
outbox, ``service`` and ``views`` the signed stop and continue links, ``queries`` what the record shows,
``cli`` `flask reminders`.
"""
