"""Personal imports through the API and the pages: upload, progress, match, skip, refusals."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from entertainment.accounts.privacy import change_settings
from entertainment.activity.models import Play, Rating
from entertainment.personal_imports import importing
from entertainment.personal_imports.models import PersonalImport, UnmatchedRow
from entertainment.personal_imports.tasks import run_import

from .personal_imports_helpers import build_catalogue, fixture, letterboxd_zip, upload

pytestmark = pytest.mark.django_db

IMPORTS = "/api/imports/"


@pytest.fixture
def catalogue():
    return build_catalogue()


def post_file(api, name: str, content: bytes, **fields: str):
    return api.post(IMPORTS, {"file": upload(name, content), **fields}, format="multipart")


def run_queued(django_capture_on_commit_callbacks, api, name: str, content: bytes, **fields):
    """Upload through the API; the task it queues on commit runs here."""
    with django_capture_on_commit_callbacks() as callbacks:
        response = post_file(api, name, content, **fields)
    assert response.status_code == 202, response.content
    job_id = response.json()["id"]
    assert callbacks  # the task was queued after commit
    run_import(job_id)
    return job_id


def test_an_upload_is_accepted_then_reports_its_counts_and_unmatched_rows(
    api, user, catalogue, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(run_import, "delay", lambda *args: None)  # run below, in this test
    with django_capture_on_commit_callbacks(execute=True):
        response = post_file(api, "export.zip", letterboxd_zip())
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "pending"
    assert (body["filename"], body["format"], body["progress"]) == ("export.zip", "auto", 0)

    run_import(body["id"])
    answer = api.get(f"{IMPORTS}{body['id']}/")
    assert answer.status_code == 200
    job = answer.json()
    assert job["status"] == "done"
    assert job["format"] == "letterboxd"
    assert job["progress"] == 100
    assert {k: job[k] for k in ("rows", "matched", "unmatched", "skipped", "stored")} == {
        "rows": 5,
        "matched": 4,
        "unmatched": 1,
        "skipped": 0,
        "stored": 9,
    }
    (row,) = job["unmatched_rows"]
    assert row["row"] == 1
    assert (row["title"], row["year"], row["kind"], row["status"]) == (
        "Obscure Festival Short",
        2022,
        "film",
        "open",
    )
    assert row["source"] == "diary.csv:5"
    assert row["would_record"] == "rated 3.5, watched 1 time"
    listed = api.get(IMPORTS).json()
    assert [entry["id"] for entry in listed["results"]] == [body["id"]]


def test_a_row_is_matched_then_refused_a_second_time(
    api, user, catalogue, django_capture_on_commit_callbacks
):
    job_id = run_queued(django_capture_on_commit_callbacks, api, "export.zip", letterboxd_zip())
    url = f"{IMPORTS}{job_id}/unmatched/1/match/"

    missing = api.post(url, {"item": 999_999}, format="json")
    assert missing.status_code == 400
    assert missing.json() == {"item": ["No item with id 999999."]}
    wrong = api.post(url, {"item": "12"}, format="json")
    assert wrong.status_code == 400 and "item" in wrong.json()

    answer = api.post(url, {"item": catalogue.obscure_short.pk}, format="json")
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert (body["stored"], body["duplicates"]) == (2, 0)
    assert (body["row"]["status"], body["row"]["item"]) == ("matched", catalogue.obscure_short.pk)
    assert Rating.objects.get(user=user, item=catalogue.obscure_short).value == Decimal("3.5")

    again = api.post(url, {"item": catalogue.obscure_short.pk}, format="json")
    assert again.status_code == 409
    assert again.json() == {"detail": "This title was matched already."}
    assert api.post(f"{IMPORTS}{job_id}/unmatched/1/skip/").status_code == 409


def test_a_row_is_skipped(api, user, catalogue, django_capture_on_commit_callbacks):
    job_id = run_queued(
        django_capture_on_commit_callbacks, api, "owned.json", fixture("steam-owned-games.json")
    )
    answer = api.post(f"{IMPORTS}{job_id}/unmatched/1/skip/")
    assert answer.status_code == 200
    assert answer.json()["status"] == "skipped"
    assert not Play.objects.filter(user=user, item__title__icontains="Indie").exists()


def test_another_persons_import_is_not_found(
    api, user, other_user, catalogue, django_capture_on_commit_callbacks
):
    theirs = importing.start_import(other_user, upload("export.zip", letterboxd_zip()))
    run_import(theirs.pk)
    assert api.get(f"{IMPORTS}{theirs.pk}/").status_code == 404
    match = api.post(
        f"{IMPORTS}{theirs.pk}/unmatched/1/match/",
        {"item": catalogue.obscure_short.pk},
        format="json",
    )
    assert match.status_code == 404
    assert api.post(f"{IMPORTS}{theirs.pk}/unmatched/1/skip/").status_code == 404
    assert UnmatchedRow.objects.get(user=other_user).status == "open"


def test_bad_uploads_get_field_messages(api, user):
    assert api.post(IMPORTS, {}, format="multipart").json() == {"file": ["No file was submitted."]}
    bad = post_file(api, "export.zip", b"x", format="goodreads")
    assert bad.status_code == 400
    assert bad.json() == {"format": ['"goodreads" is not a valid choice.']}
    as_json = api.post(IMPORTS, {"format": "imdb"}, format="json")
    assert as_json.status_code == 415


def test_a_file_that_cannot_be_read_fails_with_its_line(
    api, user, catalogue, django_capture_on_commit_callbacks
):
    job_id = run_queued(
        django_capture_on_commit_callbacks,
        api,
        "ratings.csv",
        b"Const,Your Rating,Title,Year\ntt0133093,11,The Matrix,1999\n",
        format="imdb",
    )
    body = api.get(f"{IMPORTS}{job_id}/").json()
    assert body["status"] == "failed"
    assert body["error"] == "ratings.csv:2: Your Rating: not a rating from 1 to 10: '11'"
    assert not Rating.objects.filter(user=user).exists()


def test_a_paused_history_is_refused_with_409(api, user):
    change_settings(user, history_paused=True)
    answer = post_file(api, "export.zip", letterboxd_zip())
    assert answer.status_code == 409
    assert answer.json() == {"detail": importing.PAUSED_MESSAGE}
    assert not PersonalImport.objects.exists()


def test_imports_need_a_person(anon_api):
    assert anon_api.get(IMPORTS).status_code == 401


def test_the_schema_documents_the_imports_api(api):
    schema = api.get("/api/schema/?format=json").json()
    post = schema["paths"]["/api/imports/"]["post"]
    assert "multipart/form-data" in post["requestBody"]["content"]
    assert set(post["responses"]) >= {"202", "400", "401", "409"}
    match = schema["paths"]["/api/imports/{id}/unmatched/{row}/match/"]["post"]
    assert set(match["responses"]) >= {"200", "400", "404", "409"}


# --- Pages ----------------------------------------------------------------------------------


@pytest.fixture
def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_account_page_links_to_bring_your_history(browser):
    page = browser.get("/accounts/").content.decode()
    assert 'href="/me/imports/"' in page
    assert "Bring your history" in page


def test_a_person_uploads_and_resolves_through_the_pages(
    browser, user, catalogue, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks():
        answer = browser.post(
            "/me/imports/",
            {"file": upload("export.zip", letterboxd_zip()), "format": "auto"},
        )
    assert answer.status_code == 302
    job = PersonalImport.objects.get(user=user)
    assert answer["Location"] == f"/me/imports/{job.pk}/"

    waiting = browser.get(answer["Location"]).content.decode()
    assert 'http-equiv="refresh"' in waiting  # follows the import until it is done

    run_import(job.pk)
    page = browser.get(f"/me/imports/{job.pk}/").content.decode()
    assert 'http-equiv="refresh"' not in page
    assert "9 new entries in your history" in page
    assert "Obscure Festival Short" in page

    search = browser.get(f"/me/imports/{job.pk}/rows/1/", {"q": "festival"}).content.decode()
    assert "A Very Obscure Festival Short" in search
    chosen = browser.post(f"/me/imports/{job.pk}/rows/1/", {"item": catalogue.obscure_short.pk})
    assert chosen.status_code == 302
    assert Rating.objects.filter(user=user, item=catalogue.obscure_short).exists()
    done = browser.get(f"/me/imports/{job.pk}/").content.decode()
    assert "matched to" in done


def test_the_upload_page_says_a_paused_history_refuses(browser, user):
    change_settings(user, history_paused=True)
    answer = browser.post("/me/imports/", {"file": upload("x.zip", letterboxd_zip())})
    assert answer.status_code == 400
    assert importing.PAUSED_MESSAGE in answer.content.decode()


def test_a_row_is_skipped_on_its_page(browser, user, catalogue):
    job = importing.start_import(user, upload("export.zip", letterboxd_zip()))
    run_import(job.pk)
    assert browser.post(f"/me/imports/{job.pk}/rows/1/skip/").status_code == 302
    assert UnmatchedRow.objects.get(user=user).status == "skipped"
