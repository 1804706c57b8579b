"""Sessions and what is left of a person after an erasure: every session key they held is
ended, expired sessions are purged on the beat, erased history leaves no paused plays behind,
and the staff access log outlives the staff member who wrote it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from entertainment.accounts import tasks
from entertainment.accounts.erasure import erase_account
from entertainment.accounts.models import LoginSession, PersonalDataAccess, User
from entertainment.accounts.privacy import change_settings
from entertainment.activity.models import Play
from entertainment.celery import app
from tests.factories import ItemFactory, PlayFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _paused_plays_kept() -> list[list[int]]:
    """The paused-play lists any stored session still holds."""
    kept = (s.get_decoded().get("session_plays") for s in Session.objects.all())
    return [plays for plays in kept if plays]


def _play(client: Client, item) -> None:
    assert (
        client.post(reverse("activity:play", args=[item.pk]), {"seconds_played": "30"}).status_code
        == 302
    )


def test_a_session_key_rotated_by_a_password_change_ends_with_the_account():
    person = UserFactory()
    browser = logged_in(person)
    change_settings(person, history_paused=True)
    _play(browser, ItemFactory())
    old_key = browser.session.session_key
    changed = browser.post(
        reverse("accounts:password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "a new long passphrase",
            "new_password2": "a new long passphrase",
        },
    )
    assert changed.status_code == 302
    new_key = browser.session.session_key
    assert new_key != old_key and browser.session.get("session_plays")

    # Erased from elsewhere (the API with a token, another browser): this browser's session,
    # with the items played while paused, must go too.
    erase_account(User.objects.get(pk=person.pk))

    assert not Session.objects.filter(session_key=new_key).exists()
    assert _paused_plays_kept() == []
    assert "_auth_user_id" not in browser.session


def test_expired_sessions_are_purged_on_the_beat():
    person = UserFactory()
    live, stale = logged_in(person), logged_in(person)
    Session.objects.filter(session_key=stale.session.session_key).update(
        expire_date=timezone.now() - timedelta(minutes=1)
    )
    stale_key = stale.session.session_key

    assert tasks.purge_expired_sessions() == 1

    assert set(Session.objects.values_list("session_key", flat=True)) == {live.session.session_key}
    # What recorded the expired key goes with it; the live one is still known for an erasure.
    assert set(LoginSession.objects.values_list("session_key", flat=True)) == {
        live.session.session_key
    }
    assert not LoginSession.objects.filter(session_key=stale_key).exists()
    scheduled = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert "accounts.purge_expired_sessions" in scheduled


def test_erasing_all_history_clears_the_paused_plays_of_every_session():
    person = UserFactory()
    laptop, phone = logged_in(person), logged_in(person)
    PlayFactory(user=person, item=ItemFactory())
    change_settings(person, history_paused=True)
    _play(laptop, ItemFactory())
    _play(phone, ItemFactory())
    assert len(_paused_plays_kept()) == 2

    response = laptop.post(reverse("accounts:erase_history"), {"confirm": "yes"})

    assert response.status_code == 302
    assert not Play.objects.filter(user=person).exists()
    assert "session_plays" not in laptop.session and "session_plays" not in phone.session
    assert _paused_plays_kept() == []


def test_erasing_chosen_items_through_the_api_drops_only_them_from_paused_plays():
    person = UserFactory()
    browser = logged_in(person)
    erased, kept = ItemFactory(), ItemFactory()
    PlayFactory(user=person, item=erased)
    change_settings(person, history_paused=True)
    _play(browser, erased)
    _play(browser, kept)
    api = APIClient()
    api.force_authenticate(person)

    response = api.post("/api/me/erase/", {"scope": "items", "items": [erased.pk]}, format="json")

    assert response.status_code == 200
    assert browser.session["session_plays"] == [kept.pk]


def test_the_staff_access_log_outlives_its_author_s_account():
    subject = UserFactory()
    author: User = StaffFactory.create(username="auditor")
    author.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_play", "view_personal_data"])
    )
    PlayFactory(user=subject)
    assert (
        logged_in(author)
        .get(reverse("admin:activity_play_changelist"), {"user__id__exact": subject.pk})
        .status_code
        == 200
    )
    author_id = author.pk

    erase_account(author)

    row = PersonalDataAccess.objects.get()
    assert row.staff is None and row.subject == subject
    assert (row.staff_name, row.staff_ref) == ("auditor", author_id)
    superuser = logged_in(UserFactory(is_staff=True, is_superuser=True))
    page = superuser.get(reverse("admin:accounts_personaldataaccess_changelist")).content.decode()
    assert "auditor" in page and "plays list" in page
