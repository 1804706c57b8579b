"""API tokens moved to django-rest-knox, which stores only their digests: the table of DRF's
authtoken app, with every key in plain text, goes (its app is no longer installed, so nothing
else would ever drop it). Clients ask /api/auth/token/ for a new token."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_access_log_outlives_its_author")]

    operations = [
        migrations.RunSQL("DROP TABLE IF EXISTS authtoken_token", migrations.RunSQL.noop),
    ]
