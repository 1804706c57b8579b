"""The privacy pages: each control acts, exports are private, erasure asks, staff are logged."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from entertainment.accounts.export import build
from entertainment.accounts.models import (
    DataExport,
    ErasureRequest,
    PersonalDataAccess,
    SettingChange,
    User,
)
from entertainment.accounts.privacy import change_settings
from entertainment.activity.models import Play, Rating, Review
from entertainment.activity.views import SESSION_PLAYS_KEPT
from tests.factories import (
    ItemFactory,
    PlayFactory,
    RatingFactory,
    ReviewFactory,
    StaffFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


PRIVACY = "/accounts/privacy/"
EXPORTS = "/accounts/privacy/exports/"
DEFAULTS = {
    "personalised": "on",
    "train_on_plays": "on",
    "train_on_ratings": "on",
    "review_visibility": "anonymous",
    "measure_recommendations": "on",
    "list_style": "familiar",
}


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def person(user) -> Client:
    return logged_in(user)


def _history(user: User, n: int = 2) -> list:
    items = [ItemFactory() for _ in range(n)]
    for item in items:
        RatingFactory(user=user, item=item)
        PlayFactory(user=user, item=item)
    ReviewFactory(user=user, item=items[0])
    return items


# --- Settings -------------------------------------------------------------------------------


def test_privacy_page_shows_every_control_with_its_explanation(person):
    response = person.get(PRIVACY)
    assert response.status_code == 200
    html = response.content.decode()
    assert "csrfmiddlewaretoken" in html
    for name in ("personalised", "history_paused", "train_on_plays", "train_on_ratings"):
        assert f'<label class="privacy-label" for="id_{name}">' in html
        assert f'id="id_{name}_helptext"' in html
        assert f'aria-describedby="id_{name}_helptext"' in html
    assert "you get the same lists as everyone; we delete the lists we computed for you" in html
    assert 'type="radio" name="review_visibility" value="anonymous"' in html
    assert "You have not changed any setting yet" in html


def test_privacy_page_is_linked_from_the_account_page_and_the_nav(person):
    html = person.get("/accounts/").content.decode()
    assert html.count(f'href="{PRIVACY}"') >= 2


@pytest.mark.parametrize(
    ("field", "posted", "stored", "shown"),
    [
        ("personalised", None, False, "Personalised recommendations: off"),
        ("history_paused", "on", True, "Pause my history: on"),
        ("train_on_plays", None, False, "Learn from my plays: off"),
        ("train_on_ratings", None, False, "Learn from my ratings: off"),
        ("train_on_reviews", "on", True, "Learn from my reviews: on"),
        ("review_visibility", "private", "private", "Who sees my reviews: Private"),
    ],
)
def test_each_control_changes_what_is_stored_and_is_recorded(
    person, user, field, posted, stored, shown
):
    data = {**DEFAULTS}
    if posted is None:
        data.pop(field)
    else:
        data[field] = posted
    response = person.post(PRIVACY, data, follow=True)
    assert response.status_code == 200
    user.refresh_from_db()
    assert getattr(User.objects.get(pk=user.pk).privacy, field) == stored
    html = response.content.decode()
    assert f"Saved. {shown}." in html  # the message names what changed, and only that
    assert SettingChange.objects.filter(user=user).count() == 1
    change = SettingChange.objects.get(user=user)
    assert change.setting == field
    # The history table shows it back.
    assert "Changes to your settings" in html and "You have not changed any" not in html


def test_posting_the_same_settings_changes_nothing(person, user):
    response = person.post(PRIVACY, DEFAULTS, follow=True)
    assert "Nothing changed." in response.content.decode()
    assert not SettingChange.objects.filter(user=user).exists()


def test_a_bad_choice_is_refused_with_its_reason_and_changes_nothing(person, user):
    response = person.post(
        PRIVACY, {**DEFAULTS, "review_visibility": "everyone", "train_on_plays": ""}
    )
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert User.objects.get(pk=user.pk).privacy.train_on_plays is True
    assert not SettingChange.objects.filter(user=user).exists()


def test_change_history_shows_old_and_new_values(person, user):
    change_settings(user, review_visibility="public")
    html = person.get(PRIVACY).content.decode()
    assert "<td>Who sees my reviews</td>" in html
    assert "<td>Public, anonymously</td>" in html and "<td>Public, with my name</td>" in html


def test_pages_say_when_personalisation_is_off(person, user):
    notice = "Personalised recommendations are off: you see the same lists as everyone."
    assert notice not in person.get("/accounts/").content.decode()
    change_settings(user, personalised=False)
    # (The home page says so in its recommendation rows: the recommender's template.)
    for url in ("/accounts/", PRIVACY):
        assert notice in person.get(url).content.decode(), url


def test_paused_history_banner_on_every_page(person, user):
    banner = "Your history is paused:"
    item = ItemFactory()
    assert banner not in person.get("/").content.decode()
    change_settings(user, history_paused=True)
    for url in ("/", "/accounts/", item.get_absolute_url(), "/me/history/", "/catalogue/films/"):
        assert banner in person.get(url).content.decode(), url
    assert banner not in Client().get("/").content.decode()


def test_paused_play_stores_nothing_but_the_session_keeps_the_items(person, user):
    change_settings(user, history_paused=True)
    items = [ItemFactory() for _ in range(3)]
    for item in items:
        response = person.post(reverse("activity:play", args=[item.pk]), {"seconds_played": "30"})
        assert response.status_code == 302
    assert not Play.objects.filter(user=user).exists()
    assert person.session["session_plays"] == [item.pk for item in items]
    person.post(reverse("activity:rate", args=[items[0].pk]), {"value": "4.5"})
    assert not Rating.objects.filter(user=user).exists()


def test_session_plays_keep_only_the_latest(person, user):
    change_settings(user, history_paused=True)
    item = ItemFactory()
    session = person.session
    session["session_plays"] = list(range(1, SESSION_PLAYS_KEPT + 1))
    session.save()
    person.post(reverse("activity:play", args=[item.pk]), {"seconds_played": "30"})
    kept = person.session["session_plays"]
    assert len(kept) == SESSION_PLAYS_KEPT and kept[-1] == item.pk and kept[0] == 2


def test_a_stored_play_does_not_touch_the_session(person, user):
    item = ItemFactory()
    person.post(reverse("activity:play", args=[item.pk]), {"seconds_played": "30"})
    assert Play.objects.filter(user=user, item=item).exists()
    assert "session_plays" not in person.session


# --- Export ---------------------------------------------------------------------------------


def _ready_export(user: User) -> DataExport:
    export = build(DataExport.objects.create(user=user))
    assert export is not None  # no erasure ran meanwhile
    return export


def test_export_button_creates_an_export_and_the_page_follows_it(person, user):
    response = person.post(EXPORTS)
    assert response.status_code == 302
    export = DataExport.objects.get(user=user)
    assert export.status == DataExport.Status.PENDING
    html = person.get(EXPORTS).content.decode()
    assert '<meta http-equiv="refresh" content="3">' in html
    assert f'<progress id="export-progress-{export.pk}" max="100" value="0"' in html
    assert "Waiting" in html


def test_ready_export_downloads_for_its_owner_only(person, user, other_user):
    _history(user)
    export = _ready_export(user)
    html = person.get(EXPORTS).content.decode()
    assert "refresh" not in html
    url = reverse("accounts:export_download", args=[export.pk])
    assert f'href="{url}"' in html
    assert "/media/" not in url

    response = person.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "no-store" in response["Cache-Control"]
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert "encore-export.json" in archive.namelist()

    assert logged_in(other_user).get(url).status_code == 404
    assert logged_in(StaffFactory()).get(url).status_code == 404
    anonymous = Client().get(url)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous.url


def test_export_not_ready_is_404_and_expired_is_410(person, user):
    pending = DataExport.objects.create(user=user)
    assert person.get(reverse("accounts:export_download", args=[pending.pk])).status_code == 404
    export = _ready_export(user)
    DataExport.objects.filter(pk=export.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = person.get(reverse("accounts:export_download", args=[export.pk]))
    assert response.status_code == 410
    assert "Expired" in person.get(EXPORTS).content.decode()


# --- Erasure --------------------------------------------------------------------------------


def test_erasing_chosen_items_asks_first_then_deletes_their_rows(
    person, user, django_capture_on_commit_callbacks
):
    kept, erased = _history(user)
    assert reverse("accounts:erase_items") in person.get("/me/history/").content.decode()
    listing = person.get(reverse("accounts:erase_items")).content.decode()
    assert f'name="items" value="{erased.pk}"' in listing and "reviewed" in listing

    confirm = person.post(reverse("accounts:erase_items"), {"items": [kept.pk]})
    assert confirm.status_code == 200
    assert "Yes, erase them" in confirm.content.decode()
    assert Play.objects.filter(user=user, item=kept).exists()  # nothing yet

    with django_capture_on_commit_callbacks(execute=True):
        done = person.post(
            reverse("accounts:erase_items"), {"items": [kept.pk], "confirm": "yes"}, follow=True
        )
    assert not Rating.objects.filter(user=user, item=kept).exists()
    assert not Play.objects.filter(user=user, item=kept).exists()
    assert not Review.objects.filter(user=user, item=kept).exists()
    assert Play.objects.filter(user=user, item=erased).exists()
    erasure = ErasureRequest.objects.get(user=user)
    assert erasure.scope == "items" and erasure.rows_deleted == 3
    assert "3 rows deleted" in done.content.decode()


def test_erasing_items_refuses_items_outside_the_persons_history(person, user, other_user):
    theirs = _history(other_user)[0]
    mine = _history(user)[0]
    response = person.post(
        reverse("accounts:erase_items"), {"items": [mine.pk, theirs.pk], "confirm": "yes"}
    )
    assert response.status_code == 400
    assert "not in your history" in response.content.decode()
    assert Play.objects.filter(user=user, item=mine).exists()
    assert Play.objects.filter(user=other_user, item=theirs).exists()
    bad = person.post(reverse("accounts:erase_items"), {"items": ["x"], "confirm": "yes"})
    assert bad.status_code == 400
    nothing = person.post(reverse("accounts:erase_items"), {"confirm": "yes"})
    assert nothing.status_code == 400 and "Tick at least one item" in nothing.content.decode()


def test_erasing_items_refuses_an_id_too_large_for_the_database(person, user):
    # The same overflow the API fuzzer found in POST /api/me/erase/ (a 500 on SQLite).
    mine = _history(user)[0]
    response = person.post(
        reverse("accounts:erase_items"), {"items": [mine.pk, 2**70], "confirm": "yes"}
    )
    assert response.status_code == 400
    assert "whole numbers" in response.content.decode()
    assert Play.objects.filter(user=user, item=mine).exists()


def test_erasing_all_history_needs_confirmation(person, user, django_capture_on_commit_callbacks):
    _history(user)
    page = person.get(reverse("accounts:erase_history")).content.decode()
    assert "2 ratings, 2 plays and 1 review" in page
    refused = person.post(reverse("accounts:erase_history"))
    assert refused.status_code == 400 and Rating.objects.filter(user=user).exists()
    with django_capture_on_commit_callbacks(execute=True):
        person.post(reverse("accounts:erase_history"), {"confirm": "yes"})
    assert not Rating.objects.filter(user=user).exists()
    assert not Play.objects.filter(user=user).exists()
    assert not Review.objects.filter(user=user).exists()
    assert User.objects.filter(pk=user.pk).exists()
    html = person.get(PRIVACY).content.decode()
    assert "All history" in html and "<td>5</td>" in html and "since" in html


def test_privacy_page_says_when_models_will_be_clean(person, user, settings):
    settings.ERASURE_RETRAIN_WINDOW_H = 12
    ErasureRequest.objects.create(user=user, scope="history", rows_deleted=4, pending_versions=[1])
    html = person.get(PRIVACY).content.decode()
    assert "pending: the models are retrained within 12 hours" in html


def test_erasing_the_account_needs_the_username_then_logs_out(
    person, user, django_capture_on_commit_callbacks
):
    _history(user)
    url = reverse("accounts:erase_account")
    assert "Type your username to confirm" in person.get(url).content.decode()
    wrong = person.post(url, {"confirm": "somebody-else"})
    assert wrong.status_code == 400 and User.objects.filter(pk=user.pk).exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = person.post(url, {"confirm": user.username})
    assert response.status_code == 302 and response.url == reverse("accounts:goodbye")
    assert not User.objects.filter(pk=user.pk).exists()
    assert not Play.objects.filter(user_id=user.pk).exists()
    assert "_auth_user_id" not in person.session
    goodbye = person.get(response.url).content.decode()
    assert "Your account has been erased" in goodbye and "Log in" in goodbye
    assert person.get(PRIVACY).status_code == 302  # logged out: sent to log in


def test_another_session_of_the_person_ends_with_the_account(user):
    from django.contrib.auth import get_user

    first, second = Client(), Client()
    for client in (first, second):  # through the login page, so the sessions are recorded
        client.post(
            "/accounts/login/",
            {"username": user.username, "password": "correct horse battery staple"},
        )
        assert get_user(client).is_authenticated
    first.post(reverse("accounts:erase_account"), {"confirm": user.username})
    assert not get_user(second).is_authenticated


@pytest.mark.parametrize(
    "url",
    [
        PRIVACY,
        EXPORTS,
        "/accounts/privacy/erase/items/",
        "/accounts/privacy/erase/history/",
        "/accounts/privacy/erase/account/",
    ],
)
def test_every_privacy_page_needs_a_login(url):
    for response in (Client().get(url), Client().post(url)):
        assert response.status_code == 302 and "/accounts/login/" in response.url


def test_pages_show_only_the_persons_own_record(user, other_user):
    change_settings(other_user, review_visibility="public")
    erase_history_of_other = ErasureRequest.objects.create(user=other_user, scope="history")
    build(DataExport.objects.create(user=other_user))
    mine = logged_in(user)
    assert "You have not changed any setting yet" in mine.get(PRIVACY).content.decode()
    assert "You have not erased anything" in mine.get(PRIVACY).content.decode()
    assert "No exports yet." in mine.get(EXPORTS).content.decode()
    assert erase_history_of_other.pk  # it exists, but not on this person's pages


# --- Staff and the audit trail --------------------------------------------------------------


def staff_with(*codenames: str) -> tuple[User, Client]:
    staff: User = StaffFactory.create()
    staff.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return staff, logged_in(staff)


@pytest.mark.parametrize("model", ["rating", "play", "review"])
def test_permitted_staff_views_of_raw_history_are_logged(model, user, other_user):
    factory = {"rating": RatingFactory, "play": PlayFactory, "review": ReviewFactory}[model]
    row = factory(user=user)
    factory(user=other_user)
    staff, client = staff_with(f"view_{model}", "view_personal_data")
    changelist = reverse(f"admin:activity_{model}_changelist")

    assert client.get(changelist).status_code == 200
    everyone = PersonalDataAccess.objects.get(staff=staff)
    assert everyone.subject is None and everyone.what.endswith("list")

    assert client.get(changelist, {"user__id__exact": user.pk}).status_code == 200
    one_person = PersonalDataAccess.objects.filter(staff=staff).first()
    assert one_person.subject == user and f"user__id__exact={user.pk}" in one_person.what

    assert client.get(reverse(f"admin:activity_{model}_change", args=[row.pk])).status_code == 200
    record = PersonalDataAccess.objects.filter(staff=staff).first()
    assert record.subject == user and record.what.endswith(str(row.pk))
    assert PersonalDataAccess.objects.filter(staff=staff).count() == 3


@pytest.mark.parametrize("model", ["rating", "play", "review"])
def test_staff_without_the_permission_are_refused_and_nothing_is_logged(model, user):
    factory = {"rating": RatingFactory, "play": PlayFactory, "review": ReviewFactory}[model]
    row = factory(user=user)
    _, client = staff_with(f"view_{model}", f"change_{model}")
    assert client.get(reverse(f"admin:activity_{model}_changelist")).status_code == 403
    assert client.get(reverse(f"admin:activity_{model}_change", args=[row.pk])).status_code == 403
    assert not PersonalDataAccess.objects.exists()


def test_exports_in_the_admin_need_the_permission_and_are_logged(user):
    export = build(DataExport.objects.create(user=user))
    _, refused = staff_with("view_dataexport")
    assert refused.get(reverse("admin:accounts_dataexport_changelist")).status_code == 403
    staff, client = staff_with("view_dataexport", "view_personal_data")
    change = client.get(reverse("admin:accounts_dataexport_change", args=[export.pk]))
    assert change.status_code == 200
    assert str(export.archive.name) not in change.content.decode()  # the file is the owner's only
    assert PersonalDataAccess.objects.get(staff=staff).subject == user


def test_the_access_log_is_for_superusers_only_and_read_only(user):
    staff, client = staff_with("view_personaldataaccess", "view_personal_data")
    PersonalDataAccess.objects.create(staff=staff, subject=user, what="ratings list")
    url = reverse("admin:accounts_personaldataaccess_changelist")
    assert client.get(url).status_code == 403
    superuser = logged_in(UserFactory(is_staff=True, is_superuser=True))
    response = superuser.get(url)
    assert response.status_code == 200 and "ratings list" in response.content.decode()
    assert superuser.get(reverse("admin:accounts_personaldataaccess_add")).status_code == 403
    row = PersonalDataAccess.objects.get()
    delete = reverse("admin:accounts_personaldataaccess_delete", args=[row.pk])
    assert superuser.post(delete, {"post": "yes"}).status_code == 403
    assert PersonalDataAccess.objects.filter(pk=row.pk).exists()
