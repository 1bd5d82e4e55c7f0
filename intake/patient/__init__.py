"""The patient's side: the public start page and the private intake link (blueprint in views)."""
