"""Photos: the patient's of the areas they want treated, the practitioner's before and after each session.

``images`` makes an upload safe to keep (pure: Pillow only), ``storage`` keeps the
encrypted bytes (the database, or a directory), ``service`` adds, reads and removes photos
with their audit entries, ``views`` serves them to the patient's link and to practitioners.
"""
