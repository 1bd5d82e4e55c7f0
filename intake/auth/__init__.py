"""Staff accounts, sign-in and sign-out, and the access rules of every staff page (blueprint in views)."""
