"""k ≥ 5 everywhere staff look: only allow-listed metrics, no count of fewer than 5 people.

A sequence model trained on 3 people stores `gru_users: 3` (and a future trainer may store a
count under any new name): the dashboard, the staff API and the admin pages of versions and
runs must show neither the count nor a metric nobody put on the allow-list.
"""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from recommender import staff_metrics
from tests.recommender.factories import ModelVersionFactory, TrainingRunFactory

pytestmark = pytest.mark.django_db

# What the sequence trainer stores for a model trained on 3 people, plus a name no one vetted.
TRAINED_ON_THREE = {
    "ndcg@10": 0.3125,
    "gru_hr@10": 0.6667,
    "gru_ndcg@10": 0.2917,
    "gru_mrr@10": 0.2222,
    "gru_coverage@10": 0.5,
    "gru_users": 3.0,
    "distinct_raters": 2,
}
# The count may be named as hidden ("gru_users < 5"), never given.
THREE_PEOPLE = re.compile(r"gru_users\W*3\b")
UNVETTED = "distinct_raters"


@pytest.fixture
def three_people_model(settings):
    settings.PRIVACY_MIN_GROUP_SIZE = 5
    version = ModelVersionFactory(kind="sequence", metrics=TRAINED_ON_THREE)
    run = TrainingRunFactory(kind="sequence", model_version=version, metrics=TRAINED_ON_THREE)
    return version, run


@pytest.fixture
def staff_browser(staff) -> Client:
    staff.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_modelversion", "view_trainingrun"])
    )
    client = Client()
    client.force_login(staff)
    return client


def _assert_no_people_count(text: str, where: str, metrics_listed: bool = True) -> None:
    text = re.sub(r"<[^>]*>", "", text)
    assert not THREE_PEOPLE.search(text), f"a count of 3 people shown on {where}"
    assert UNVETTED not in text, f"an unvetted metric shown on {where}"
    if metrics_listed:
        assert "gru_hr@10" in text, f"the allowed metrics are missing from {where}"


def test_the_dashboard_shows_no_count_of_three_people(three_people_model, staff_browser):
    html = staff_browser.get(reverse("staff:dashboard")).content.decode()
    _assert_no_people_count(html, "the dashboard")


def test_the_staff_api_shows_no_count_of_three_people(three_people_model, staff):
    version, run = three_people_model
    api = APIClient()
    api.force_authenticate(staff)
    for path in (
        "/api/staff/model-versions/",
        f"/api/staff/model-versions/{version.pk}/",
        "/api/staff/training-runs/",
        f"/api/staff/training-runs/{run.pk}/",
    ):
        response = api.get(path)
        assert response.status_code == 200, path
        _assert_no_people_count(response.content.decode(), path)


def test_the_admin_shows_no_count_of_three_people(three_people_model, staff_browser):
    version, run = three_people_model
    for path in (
        reverse("admin:recommender_modelversion_changelist"),
        reverse("admin:recommender_modelversion_change", args=[version.pk]),
        reverse("admin:recommender_trainingrun_changelist"),
        reverse("admin:recommender_trainingrun_change", args=[run.pk]),
    ):
        response = staff_browser.get(path)
        assert response.status_code == 200, path
        _assert_no_people_count(response.content.decode(), path, "/change/" in path)


def test_a_count_of_enough_people_is_shown(settings):
    settings.PRIVACY_MIN_GROUP_SIZE = 5
    assert staff_metrics.shown_metrics({"gru_users": 5.0, "ndcg@10": 0.1}) == {
        "gru_users": 5,
        "ndcg@10": 0.1,
    }
    assert staff_metrics.metrics_text({"gru_users": 4.0}) == [("gru_users", "< 5")]


def test_every_metric_the_trainers_store_is_on_the_allow_list():
    """A metric staff should see but nobody named would vanish: the trainers' names, listed."""
    names = [
        "ndcg@10",
        *(f"gru_{m}@10" for m in ("hr", "ndcg", "mrr", "coverage")),
        "accuracy",
        "f1",
        "roc_auc",
        "lstm_0_epochs",
        "lstm_1_epochs",
        "bag_epochs",
        "micro_f1",
        "macro_f1",
        "neighbour_genre_accuracy",
        "chance_micro_f1",
        "chance_macro_f1",
        "chance_neighbour_genre_accuracy",
        "epochs_trained",
    ]
    assert set(staff_metrics.shown_metrics(dict.fromkeys(names, 0.5))) == set(names)
