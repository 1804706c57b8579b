"""The Celery app. Configuration lives in settings under the CELERY_ prefix."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "entertainment.settings")

app = Celery("entertainment")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Django never deletes expired sessions by itself (`clearsessions` is left to a cron); each
# holds a person's key and what they played while paused. Added to the beat schedule of
# settings when it is loaded; `expires` so a backlog never runs stale work.
app.add_periodic_task(
    3600.0,
    app.signature("accounts.purge_expired_sessions"),
    name="purge-expired-sessions",
    expires=1800,
)
