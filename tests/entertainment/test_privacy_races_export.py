"""An export built while its owner erases: the erasure wins, whatever the order.

The build is paused at a named step, between collecting the sections and storing the archive
(a last section registered by the test), while the erasure runs; then it resumes. No sleeps.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from rest_framework.test import APIClient

from entertainment.accounts import export as export_module
from entertainment.accounts import tasks
from entertainment.accounts.erasure import erase_account, erase_history
from entertainment.accounts.export import build
from entertainment.accounts.models import DataExport, User
from tests.factories import ItemFactory, PlayFactory, RatingFactory, UserFactory

EXPORTS = "/api/me/exports/"


def client_of(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _history(user: User) -> None:
    for _ in range(2):
        item = ItemFactory()
        RatingFactory(user=user, item=item)
        PlayFactory(user=user, item=item)


def _files() -> list[str]:
    root = Path(settings.EXPORT_ROOT)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def _pause_before_storing(monkeypatch, step) -> None:
    """Run `step(person)` once every section is collected, before the archive is stored."""

    def last_section(person):
        step(person)
        return []

    monkeypatch.setitem(export_module.SECTIONS, "zz_paused_here", last_section)


@pytest.mark.django_db
def test_history_erased_while_its_export_is_built_leaves_no_export(
    monkeypatch, django_capture_on_commit_callbacks
):
    person = UserFactory()
    _history(person)
    client = client_of(person)
    export_id = client.post(EXPORTS).json()["id"]
    _pause_before_storing(monkeypatch, erase_history)

    with django_capture_on_commit_callbacks(execute=True):
        tasks.build_export(export_id)

    # The archive held rows that no longer exist: nothing to list, nothing to download.
    assert client.get(EXPORTS).json()["count"] == 0
    assert client.get(f"{EXPORTS}{export_id}/").status_code == 404
    assert client.get(f"{EXPORTS}{export_id}/download/").status_code == 404
    assert _files() == []


@pytest.mark.django_db
def test_account_erased_while_its_export_is_built_leaves_no_file(
    monkeypatch, django_capture_on_commit_callbacks
):
    person = UserFactory()
    _history(person)
    export_id = client_of(person).post(EXPORTS).json()["id"]
    _pause_before_storing(monkeypatch, erase_account)

    with django_capture_on_commit_callbacks(execute=True):
        tasks.build_export(export_id)

    assert not User.objects.filter(pk=person.pk).exists()
    assert not DataExport.objects.filter(pk=export_id).exists()
    assert _files() == []


@pytest.mark.django_db(transaction=True)
def test_account_erased_by_another_connection_while_a_worker_builds(monkeypatch):
    """Two actors on two connections: the build in a thread, paused before storing; the
    erasure committed meanwhile by the main thread."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite's in-memory test database is per connection")
    person = UserFactory()
    _history(person)
    export_id = client_of(person).post(EXPORTS).json()["id"]
    collected, erased = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def wait_for_the_erasure(_person):
        collected.set()
        assert erased.wait(30), "the erasure never came"

    _pause_before_storing(monkeypatch, wait_for_the_erasure)

    def worker():
        try:
            tasks.build_export(export_id)
        except BaseException as exc:  # reported below, with the thread's own traceback
            failures.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=worker)
    thread.start()
    assert collected.wait(30)
    erase_account(User.objects.get(pk=person.pk))
    erased.set()
    thread.join(30)

    assert failures == []
    assert not DataExport.objects.filter(pk=export_id).exists()
    assert _files() == []


@pytest.mark.django_db
def test_the_hourly_purge_deletes_export_files_that_no_row_owns(user):
    owned = build(DataExport.objects.create(user=user))
    assert owned is not None
    folder = Path(settings.EXPORT_ROOT) / "exports"
    left = folder / "encore-export-left-by-an-erased-account.zip"
    left.write_bytes(b"PK")
    a_day_ago = time.time() - 24 * 3600
    os.utime(left, (a_day_ago, a_day_ago))
    # Written this moment by a build that has yet to record it on its row: not an orphan yet.
    being_stored = folder / "encore-export-being-stored.zip"
    being_stored.write_bytes(b"PK")

    tasks.purge_expired_exports()

    assert _files() == sorted([str(owned.archive.name), "exports/encore-export-being-stored.zip"])
    assert client_of(user).get(f"{EXPORTS}{owned.pk}/download/").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_an_archive_stored_while_the_erasure_reads_its_files_is_deleted_too(monkeypatch):
    """The erasure paused after reading which files to delete, before deleting the rows; the
    build stores its archive then. Either the build waits for the erasure (and finds no row)
    or the erasure read its file: the file never outlives the row."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: row locks between two connections")
    from entertainment.accounts import erasure
    from tests.conftest import wait_for, waiting_on_a_lock

    person = UserFactory()
    _history(person)
    export = DataExport.objects.create(user=person)
    content = export_module.pack(person)
    read, go, stored = threading.Event(), threading.Event(), threading.Event()
    failures: list[BaseException] = []
    files_of = erasure._export_files

    def pausing_after_reading(user):
        names = files_of(user)
        read.set()
        assert go.wait(30), "never released"
        return names

    monkeypatch.setattr(erasure, "_export_files", pausing_after_reading)

    def actor(step):
        try:
            step()
        except BaseException as exc:  # reported below
            failures.append(exc)
        finally:
            connection.close()

    eraser = threading.Thread(target=actor, args=(lambda: erase_history(person),))
    eraser.start()
    assert read.wait(30)

    def store() -> None:
        export_module.store(export, content)
        stored.set()

    builder = threading.Thread(target=actor, args=(store,))
    builder.start()

    # The build has stored its archive, or is held until the erasure ends: either way, go on.
    wait_for(lambda: stored.is_set() or waiting_on_a_lock(), 30, "the build to store or wait")
    go.set()
    eraser.join(30)
    builder.join(30)

    assert failures == []
    assert not DataExport.objects.filter(pk=export.pk).exists()
    assert _files() == []
