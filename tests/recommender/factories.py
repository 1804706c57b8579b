"""Factories for the recommender's records: snapshots, model versions and training runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import factory
from django.conf import settings
from django.utils import timezone

from recommender.models import ListMetricDay, ModelVersion, Snapshot, TrainingRun
from recommender.registry import MAIN_METRIC


class SnapshotFactory(factory.django.DjangoModelFactory[Snapshot]):
    class Meta:
        model = Snapshot

    path = factory.LazyFunction(lambda: str(Path(settings.SNAPSHOT_DIR) / "s"))
    data_hash = factory.Sequence(lambda n: f"{n:064x}")
    counts = factory.LazyFunction(
        lambda: {"interactions": 120, "reviews": 30, "artwork": 12, "people": 10}
    )


class ModelVersionFactory(factory.django.DjangoModelFactory[ModelVersion]):
    """A registered version with a model directory (only its meta.json: nothing loads it)."""

    class Meta:
        model = ModelVersion

    kind = "sequence"
    status = ModelVersion.Status.CANDIDATE
    main_metric = factory.LazyAttribute(lambda v: MAIN_METRIC[v.kind])
    main_metric_value = 0.25
    metrics = factory.LazyAttribute(lambda v: {v.main_metric: v.main_metric_value, "users": 40.0})
    data_hash = factory.Sequence(lambda n: f"{n:064x}")
    path = factory.Sequence(lambda n: str(Path(settings.MODEL_DIR) / f"version-{n}"))

    @classmethod
    def _create(cls, model_class: type[ModelVersion], *args: Any, **kwargs: Any) -> ModelVersion:
        directory = Path(kwargs["path"])
        directory.mkdir(parents=True, exist_ok=True)
        if not (directory / "meta.json").exists():  # a real model directory stays as it is
            (directory / "meta.json").write_text("{}")
        return super()._create(model_class, *args, **kwargs)


class TrainingRunFactory(factory.django.DjangoModelFactory[TrainingRun]):
    class Meta:
        model = TrainingRun

    kind = "sequence"
    status = TrainingRun.Status.SUCCEEDED
    trigger = TrainingRun.Trigger.MANUAL
    progress = 100
    stage = "activated"


class ListMetricDayFactory(factory.django.DjangoModelFactory[ListMetricDay]):
    """One day of one list's aggregates."""

    class Meta:
        model = ListMetricDay

    day = factory.LazyFunction(lambda: timezone.now().date())
    list = "for_you"
    kind = "film"
    model_version = "sequence-v1"
    people = 10
    impressions = 100
    clicks = 10
    plays = 5
    high_ratings = 2
    reviews = 1
    distinct_items = 20
    novel_impressions = 40
    catalogue_size = 50
