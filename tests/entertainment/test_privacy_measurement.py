"""The measurement consent and the list style on the privacy page and API, and impressions,
clicks and dismissals in the export and the erasures."""

from __future__ import annotations

import io
import json
import re
import zipfile

import pytest
from django.test import Client

from entertainment.accounts.erasure import erase_account, erase_history
from entertainment.accounts.export import pack
from entertainment.accounts.models import SettingChange
from entertainment.activity.models import Click, Dismissal, Impression
from tests.factories import ClickFactory, ImpressionFactory, ItemFactory, UserFactory

pytestmark = pytest.mark.django_db

PRIVACY = "/accounts/privacy/"
FORM = {
    "personalised": "on",
    "train_on_plays": "on",
    "train_on_ratings": "on",
    "review_visibility": "anonymous",
    "measure_recommendations": "on",
    "list_style": "familiar",
}


@pytest.fixture
def person(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _measured(user, item=None):
    item = item or ItemFactory()
    ImpressionFactory(user=user, item=item)
    ClickFactory(user=user, item=item)
    Dismissal.objects.create(user=user, item=ItemFactory())
    return item


def test_the_switch_is_on_by_default_and_shown_with_its_explanation(person):
    html = person.get(PRIVACY).content.decode()
    assert "Use what I&#x27;m shown to measure recommendations" in html
    assert re.search(r'<input[^>]*id="id_measure_recommendations" checked>', html)
    assert "nothing is recorded and what was is deleted at once" in html
    assert "More of what I like" in html and "Surprise me" in html


def test_one_click_off_deletes_what_was_measured_and_is_logged(person, user, other_user):
    _measured(user)
    _measured(other_user)
    off = {k: v for k, v in FORM.items() if k != "measure_recommendations"}
    response = person.post(PRIVACY, off, follow=True)
    assert "Use what I&#x27;m shown to measure recommendations: off" in response.content.decode()
    user.privacy.refresh_from_db()
    assert user.privacy.measure_recommendations is False
    assert not Impression.objects.filter(user=user).exists()
    assert not Click.objects.filter(user=user).exists()
    # A dismissal is a control, not a measurement: it stays. Others' rows stay too.
    assert Dismissal.objects.filter(user=user).exists()
    assert Impression.objects.filter(user=other_user).exists()
    change = SettingChange.objects.get(user=user)
    assert (change.setting, change.old_value, change.new_value) == (
        "measure_recommendations",
        "on",
        "off",
    )
    assert "Use what I&#x27;m shown to measure recommendations" in response.content.decode()


def test_the_list_style_is_chosen_and_logged(person, user):
    response = person.post(PRIVACY, {**FORM, "list_style": "surprise"}, follow=True)
    assert "My suggestions: Surprise me" in response.content.decode()
    user.privacy.refresh_from_db()
    assert user.privacy.list_style == "surprise"
    row = SettingChange.objects.get(user=user)
    assert (row.setting, row.old_value, row.new_value) == ("list_style", "familiar", "surprise")
    # The page's log of changes shows the choice's words.
    assert "More of what I like" in person.get(PRIVACY).content.decode()


def test_an_unknown_list_style_is_refused(person, user):
    assert person.post(PRIVACY, {**FORM, "list_style": "chaos"}).status_code == 400
    user.privacy.refresh_from_db()
    assert user.privacy.list_style == "familiar"


def test_the_api_reads_and_changes_both(api, user):
    _measured(user)
    body = api.get("/api/me/privacy/").json()
    assert body["measure_recommendations"] is True and body["list_style"] == "familiar"
    response = api.patch(
        "/api/me/privacy/",
        {"measure_recommendations": False, "list_style": "surprise"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["measure_recommendations"] is False
    assert not Impression.objects.filter(user=user).exists()
    assert {c.setting for c in SettingChange.objects.filter(user=user)} == {
        "measure_recommendations",
        "list_style",
    }


@pytest.mark.parametrize("value", [0, "false", None])
def test_the_api_takes_the_consent_only_as_a_boolean(api, value):
    response = api.patch("/api/me/privacy/", {"measure_recommendations": value}, format="json")
    assert response.status_code == 400


def test_the_export_includes_impressions_clicks_and_dismissals(user, other_user):
    item = _measured(user)
    _measured(other_user)
    with zipfile.ZipFile(io.BytesIO(pack(user))) as archive:
        document = json.loads(archive.read("encore-export.json"))
        names = set(archive.namelist())
    assert {"impressions.csv", "clicks.csv", "dismissals.csv"} <= names
    assert [row["item_id"] for row in document["impressions"]] == [item.pk]
    assert document["impressions"][0]["list"] == "for_you"
    assert [row["item_id"] for row in document["clicks"]] == [item.pk]
    assert len(document["dismissals"]) == 1
    assert document["privacy_settings"][0]["measure_recommendations"] is True
    assert document["privacy_settings"][0]["list_style"] == "familiar"


def test_erasing_history_removes_them(user, other_user):
    _measured(user)
    _measured(other_user)
    erase_history(user)
    for model in (Impression, Click, Dismissal):
        assert not model.objects.filter(user=user).exists()
        assert model.objects.filter(user=other_user).exists()


def test_erasing_chosen_items_removes_theirs_only(user):
    chosen, kept = _measured(user), _measured(user)
    erase_history(user, item_ids=[chosen.pk])
    assert list(Impression.objects.values_list("item_id", flat=True)) == [kept.pk]
    assert list(Click.objects.values_list("item_id", flat=True)) == [kept.pk]


def test_erasing_the_account_removes_them():
    person = UserFactory()
    _measured(person)
    erase_account(person)
    assert not Impression.objects.exists() and not Click.objects.exists()
    assert not Dismissal.objects.exists()
