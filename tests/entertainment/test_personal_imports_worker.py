"""A personal import through the API, run by a real Celery worker on PostgreSQL and Redis."""

from __future__ import annotations

from decimal import Decimal

import pytest

from entertainment.activity.models import Play, Rating, Review
from entertainment.personal_imports.models import PersonalImport
from tests.conftest import wait_for

from .personal_imports_helpers import build_catalogue, letterboxd_zip, upload

pytestmark = pytest.mark.worker


def test_a_letterboxd_export_is_imported_by_a_real_worker(api, user, celery_worker_process):
    catalogue = build_catalogue()
    answer = api.post(
        "/api/imports/", {"file": upload("export.zip", letterboxd_zip())}, format="multipart"
    )
    assert answer.status_code == 202, answer.content
    url = f"/api/imports/{answer.json()['id']}/"

    body = wait_for(
        lambda: (b := api.get(url).json())["status"] in ("done", "failed") and b,
        timeout=60,
        what="the worker to import the file",
    )

    assert body["status"] == "done", body["error"]
    assert (body["progress"], body["stored"], body["unmatched"]) == (100, 9, 1)
    assert PersonalImport.objects.get().upload is None
    assert Play.objects.filter(user=user).count() == 5
    assert Rating.objects.get(user=user, item=catalogue.matrix).value == Decimal("4.5")
    assert Review.objects.get(user=user).item == catalogue.parasite

    # The same file again, through the queue: nothing new.
    again = api.post(
        "/api/imports/", {"file": upload("export.zip", letterboxd_zip())}, format="multipart"
    )
    url = f"/api/imports/{again.json()['id']}/"
    body = wait_for(
        lambda: (b := api.get(url).json())["status"] in ("done", "failed") and b,
        timeout=60,
        what="the worker to import the file again",
    )
    assert (body["status"], body["stored"], body["duplicates"]) == ("done", 0, 9)
    assert Play.objects.filter(user=user).count() == 5
