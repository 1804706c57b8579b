"""Every list a person is shown is recorded as impressions: its name, item kind, model
version label, each item's rank as shown, and the experiment arm; only for people who allow
it. The pages and the API put the records in the buffer; a flush writes them (called here
directly; the worker test runs it through Celery)."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.urls import reverse

from entertainment.activity import impressions
from entertainment.activity.models import Impression
from ml.artefacts import save_arrays, write_meta, writing
from recommender import lists, serving
from recommender.models import ModelVersion
from tests.factories import ItemFactory, PlayFactory, RatingFactory
from tests.recommender.factories import ModelVersionFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_lists")]

_dirs = itertools.count()


@pytest.fixture(autouse=True)
def _fresh_model_lookup(monkeypatch):
    monkeypatch.setattr(serving, "_VERSION_TTL_S", 1e8)
    serving.forget_active()
    yield
    serving.forget_active()


def _titles(html: str, slug: str) -> list[str]:
    row = html.split(f'id="{slug}"')[1].split("</section>")[0]
    return re.findall(r'<span class="card-title">(.*?)</span>', row)


def _shown(list_name: str) -> list[tuple[str, int]]:
    rows = Impression.objects.filter(list=list_name).order_by("rank").select_related("item")
    return [(r.item.title, r.rank) for r in rows]


def _artwork(vectors: dict[int, list[float]]) -> ModelVersion:
    directory = Path(settings.MODEL_DIR) / f"artwork-impressions-{next(_dirs)}"
    with writing(directory) as tmp:
        embeddings = np.array(list(vectors.values()), dtype=np.float32)
        embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
        save_arrays(tmp, embeddings=embeddings)
        write_meta(tmp, "encore.artwork", 1, file_ids=[f"{pk}.png" for pk in vectors])
    version = ModelVersion.objects.get(
        pk=ModelVersionFactory(
            kind="artwork", status=ModelVersion.Status.ACTIVE, path=str(directory)
        ).pk
    )
    serving.forget_active()
    return version


def test_for_you_rows_are_recorded_with_version_and_rank(client, user, serving_model):
    seed, nxt = ItemFactory(title="Seed"), ItemFactory(title="Next One")
    others = [ItemFactory(title=f"Other {n}") for n in range(3)]
    serving_model([seed, nxt, *others], follows={seed.pk: nxt.pk})
    PlayFactory(user=user, item=seed)
    lists.touch([user.pk])
    client.force_login(user)
    html = client.get(reverse("home")).content.decode()
    shown = _titles(html, "for-you-film")
    assert shown and shown[0] == "Next One"
    assert 'href="/catalogue/' in html and "?via=for_you" in html

    impressions.flush()
    assert _shown("for_you") == [(title, n) for n, title in enumerate(shown, start=1)]
    versions = set(Impression.objects.values_list("model_version", "kind"))
    assert versions == {(serving.active().label, "film")}
    assert serving.active().label.startswith("sequence-v")


def test_a_person_without_history_sees_and_records_the_popular_list(client, user):
    hit = ItemFactory(kind="game", title="Hit Game")
    RatingFactory(item=hit)
    client.force_login(user)
    client.get(reverse("home"))
    impressions.flush()
    row = Impression.objects.get()
    assert (row.list, row.kind, row.model_version, row.rank, row.item) == (
        "popular",
        "game",
        "popular",
        1,
        hit,
    )


def test_item_page_panels_are_recorded(client, user, serving_model):
    seed = ItemFactory(title="Seed")
    follow, fan_a, fan_b = (ItemFactory(title=t) for t in ("Follows", "Fan A", "Fan B"))
    near = ItemFactory(title="Near Look")
    version = serving_model(
        [seed, follow, fan_a, fan_b, near],
        follows={seed.pk: follow.pk},
        co_played={seed.pk: [(fan_a.pk, 3), (fan_b.pk, 2)]},
    )
    artwork = _artwork(
        {seed.pk: [1, 0, 0], near.pk: [0.9, 0.1, 0], fan_a.pk: [0, 1, 0], fan_b.pk: [0, 0, 1]}
    )
    PlayFactory(user=user, item=seed)
    lists.touch([user.pk])
    client.force_login(user)
    page = client.get(ItemFactory(title="Elsewhere").get_absolute_url())
    assert page.status_code == 200
    html = client.get(seed.get_absolute_url()).content.decode()
    assert "?via=fans_also_played" in html and "?via=similar" in html

    impressions.flush()
    assert _shown("fans_also_played")[:2] == [("Fan A", 1), ("Fan B", 2)]
    assert _shown("similar")[0] == ("Near Look", 1)
    assert ("Follows", 1) in _shown("up_next")
    label = serving.active().label
    assert version.label in label and artwork.label in label
    assert set(Impression.objects.values_list("model_version", flat=True)) == {label}


def test_api_answers_are_recorded_at_their_ranks(api, user, serving_model):
    films = [ItemFactory(kind="film") for _ in range(3)]
    games = [ItemFactory(kind="game") for _ in range(2)]
    for item in [*films, *games]:
        PlayFactory(item=item)
    body = api.get("/api/recommendations/?n=4").json()
    assert len(body["results"]) == 4
    impressions.flush()
    rows = Impression.objects.filter(user=user).order_by("rank")
    assert [(r.item_id, r.rank) for r in rows] == [
        (row["item"]["id"], row["rank"]) for row in body["results"]
    ]
    assert {r.list for r in rows} == {"api"}
    assert {r.model_version for r in rows} == {"popular"}
    kinds = {row["item"]["id"]: row["item"]["kind"] for row in body["results"]}
    assert all(r.kind == kinds[r.item_id] for r in rows)


@pytest.mark.parametrize(
    "values",
    [{"measure_recommendations": False}, {"history_paused": True}],
    ids=["consent-off", "paused"],
)
def test_nothing_is_recorded_without_consent_or_while_paused(client, api, user, values):
    RatingFactory(item=ItemFactory(title="Well Liked"))
    privacy = user.privacy
    for name, value in values.items():
        setattr(privacy, name, value)
    privacy.save()
    impressions.forget_consent(user.pk)
    client.force_login(user)
    client.get(reverse("home"))
    api.get("/api/recommendations/")
    assert impressions.flush() == 0
    assert not Impression.objects.exists()


def test_signed_out_visitors_are_not_recorded(client):
    RatingFactory(item=ItemFactory(title="Well Liked"))
    html = client.get(reverse("home")).content.decode()
    assert "Well Liked" in html
    assert impressions.flush() == 0
