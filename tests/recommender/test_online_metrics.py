"""Daily online figures: impressions and their outcomes counted into ListMetricDay, shown to
staff without any cell of fewer than PRIVACY_MIN_GROUP_SIZE people, kept after raw rows expire."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone

from entertainment.activity import impressions
from entertainment.activity.models import Impression
from recommender import online_metrics
from recommender.models import ListMetricDay
from tests.factories import ImpressionFactory, ItemFactory, PlayFactory, UserFactory
from tests.recommender.factories import ListMetricDayFactory

pytestmark = pytest.mark.django_db

URL = "/api/staff/online-metrics/"


def _noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


def test_a_day_is_counted_per_list_kind_and_version():
    today = timezone.now().date()
    items = ItemFactory.create_batch(10, kind="film")
    PlayFactory(item=items[0])  # the one popular film (top 10% of 10)
    people = UserFactory.create_batch(3)
    at = _noon(today)
    for n, person in enumerate(people):
        ImpressionFactory(user=person, item=items[0], created_at=at, rank=1)
        ImpressionFactory(
            user=person,
            item=items[n + 1],
            created_at=at,
            rank=2,
            clicked_at=at if n == 0 else None,
            played_at=at if n < 2 else None,
        )
    ImpressionFactory(user=people[0], item=items[5], created_at=at, list="up_next")
    ImpressionFactory(user=people[0], created_at=at - timedelta(days=1))  # another day

    assert online_metrics.aggregate_day(today) == 2
    cell = ListMetricDay.objects.get(day=today, list="for_you")
    assert (cell.kind, cell.model_version, cell.experiment_id, cell.arm) == (
        "film",
        "sequence-v1",
        None,
        "",
    )
    assert (cell.impressions, cell.people, cell.clicks, cell.plays) == (6, 3, 1, 2)
    assert (cell.high_ratings, cell.reviews) == (0, 0)
    assert cell.distinct_items == 4
    assert cell.novel_impressions == 3  # the popular film's three impressions are not novel
    assert cell.catalogue_size == 11  # ten films here, one more from the other day's factory
    assert ListMetricDay.objects.get(day=today, list="up_next").impressions == 1


def test_counting_a_day_again_replaces_it():
    today = timezone.now().date()
    shown = ImpressionFactory(created_at=_noon(today))
    online_metrics.aggregate_day(today)
    Impression.objects.filter(pk=shown.pk).update(clicked_at=_noon(today))
    online_metrics.aggregate_day(today)
    online_metrics.aggregate_day(today)
    cell = ListMetricDay.objects.get()
    assert (cell.impressions, cell.clicks) == (1, 1)


def test_expiry_keeps_the_aggregates(settings):
    settings.IMPRESSION_RETENTION_DAYS = 30
    today = timezone.now().date()
    old_day = today - timedelta(days=40)
    ImpressionFactory(created_at=_noon(old_day))
    # Counted while the raw rows were there (as the beat does each day)...
    online_metrics.aggregate_day(old_day, today=old_day)
    assert ListMetricDay.objects.get(day=old_day).impressions == 1
    # ...then the rows expire and counting again leaves the day alone.
    assert impressions.expire() == 1
    assert online_metrics.aggregate_day(old_day) == -1
    online_metrics.aggregate_recent()
    assert ListMetricDay.objects.get(day=old_day).impressions == 1


def test_the_beat_counts_the_days_whose_outcomes_may_still_arrive(settings):
    settings.OUTCOME_WINDOW_DAYS = 3
    today = timezone.now().date()
    for back in range(6):
        ImpressionFactory(created_at=_noon(today - timedelta(days=back)))
    online_metrics.aggregate_recent()
    assert sorted(ListMetricDay.objects.values_list("day", flat=True)) == [
        today - timedelta(days=back) for back in (3, 2, 1, 0)
    ]


def test_staff_see_only_cells_of_at_least_k_people(staff, settings):
    settings.PRIVACY_MIN_GROUP_SIZE = 5
    today = timezone.now().date()
    ListMetricDayFactory(day=today, people=5, impressions=200, clicks=20)
    ListMetricDayFactory(day=today, list="up_next", people=4, impressions=40, clicks=39)
    view = online_metrics.staff_view(30)
    assert view["hidden_cells"] == 1
    assert [c["list"] for c in view["cells"]] == ["for_you"]
    assert view["cells"][0]["click_through"] == 0.1
    assert set(view["series"]) == {"for_you"}  # the small cell is in no series either


def test_the_staff_api(client, staff, user):
    today = timezone.now().date()
    ListMetricDayFactory(day=today, people=12, impressions=100, clicks=25, plays=10)
    ListMetricDayFactory(day=today - timedelta(days=40), people=12)
    ListMetricDayFactory(day=today, list="similar", people=2)
    client.force_login(user)
    assert client.get(URL).status_code == 403
    client.force_login(staff)
    body = client.get(f"{URL}?days=30").json()
    assert body["hidden_cells"] == 1 and body["min_group"] == 5
    [cell] = body["cells"]
    assert (cell["click_through"], cell["play_through"], cell["coverage"]) == (0.25, 0.1, 0.4)
    assert body["series"]["for_you"][0]["day"] == today.isoformat()
    assert client.get(f"{URL}?days=0").status_code == 400
    assert client.get(f"{URL}?days=x").status_code == 400


def test_anonymous_is_refused(client):
    assert client.get(URL).status_code in (401, 403)


def test_the_dashboard_section(client, staff):
    today = timezone.now().date()
    ListMetricDayFactory(day=today, people=9, impressions=50, clicks=5)
    ListMetricDayFactory(day=today, list="popular", people=3, impressions=50, clicks=5)
    client.force_login(staff)
    html = client.get("/staff/").content.decode()
    section = html.split('id="online-metrics"')[1].split("</section>")[0]
    assert 'id="online-metrics-data"' in section
    assert 'data-online-metric="click_through"' in section
    assert "recommender/online_metrics.js" in section
    assert "(1 hidden)" in section
    assert "<td>for_you</td>" in section and "<td>popular</td>" not in section
    assert "10%" in section  # click-through of the shown cell
