"""`manage.py backup` and `restore`: back up, wipe, restore, and the same lists come back.

Runs on SQLite in the first pass and on PostgreSQL (pg_dump / pg_restore) in the second; the
data is committed (transactional_db), since pg_dump reads what other sessions can see.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.test import APIClient

from entertainment.accounts.models import User
from recommender import serving
from recommender.backups import BackupError, back_up, read_manifest, restore
from recommender.models import ModelVersion
from tests.factories import ItemFactory, PlayFactory, UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_lists")]


def _recommended(user_pk: int) -> list[int]:
    client = APIClient()
    client.force_authenticate(User.objects.get(pk=user_pk))
    body = client.get("/api/recommendations/?kind=film").json()
    assert body["personalised"] is True, body
    return [row["item"]["id"] for row in body["results"]]


def _wipe() -> None:
    """A fresh install: the schema migrated, no rows, no model files, an empty cache."""
    call_command("flush", interactive=False, verbosity=0)
    shutil.rmtree(settings.MODEL_DIR)
    cache.clear()
    serving.forget_active()


def test_back_up_wipe_restore_gives_the_same_recommendations(serving_model, tmp_path):
    films = [ItemFactory(kind="film") for _ in range(6)]
    person = UserFactory()
    PlayFactory(user=person, item=films[0])
    version = serving_model(
        films,
        follows={films[0].pk: films[3].pk},
        popular=[films[5].pk, films[4].pk],
        co_played={films[0].pk: [(films[2].pk, 4)]},
    )
    before = _recommended(person.pk)
    assert before[0] == films[3].pk

    out = io.StringIO()
    call_command("backup", "--to", str(tmp_path / "backups"), stdout=out)
    assert version.label in out.getvalue()
    (folder,) = (tmp_path / "backups").iterdir()

    _wipe()
    assert not User.objects.filter(pk=person.pk).exists()

    call_command("restore", str(folder), "--yes", stdout=io.StringIO())
    restored = ModelVersion.objects.get(kind="sequence", status="active")
    assert restored.label == version.label
    assert Path(restored.path).is_dir()
    assert _recommended(person.pk) == before


def test_a_backup_keeps_the_newest_and_writes_nothing_half_done(tmp_path):
    ItemFactory(kind="film")
    to = tmp_path / "backups"
    written = [back_up(to, keep=2, media=False) for _ in range(3)]
    assert sorted(p.name for p in to.iterdir()) == sorted(w.folder.name for w in written[1:])
    assert written[2].removed == [written[0].folder]
    manifest = read_manifest(written[2].folder)
    assert manifest["engine"] in ("sqlite", "postgresql")
    assert not [p for p in to.iterdir() if p.name.endswith(".partial")]


def test_restore_refuses_what_is_not_a_backup_of_this_kind(tmp_path):
    with pytest.raises(BackupError, match="not an Encore backup"):
        restore(tmp_path)
    (tmp_path / "manifest.json").write_text(
        json.dumps({"format": "encore.backup", "format_version": 99})
    )
    with pytest.raises(CommandError, match="format"):
        call_command("restore", str(tmp_path), "--yes")


def test_restore_refuses_a_backup_of_another_database_engine(tmp_path):
    written = back_up(tmp_path, keep=1, media=False)
    manifest = read_manifest(written.folder)
    manifest["engine"] = "postgresql" if manifest["engine"] == "sqlite" else "sqlite"
    (written.folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BackupError, match="database; this install runs"):
        restore(written.folder)
