"""Entry point for gunicorn and `flask --app wsgi`."""

from intake import create_app, jobs

app = create_app()
# The queue's own command works too: `celery -A wsgi:celery_app worker` (`flask worker` is the same).
celery_app = jobs.celery_app(app)
