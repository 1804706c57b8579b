# Lists are computed from each person's history when they are read and kept in the cache only:
# the table the hourly refresh rewrote (about sixty rows a person an hour) goes.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("recommender", "0001_initial"),
    ]

    operations = [
        migrations.DeleteModel(name="Recommendation"),
    ]
