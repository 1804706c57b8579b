"""Fixtures of the recommender's tests."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, cast

import pytest
from django.conf import settings
from django.core.cache import cache

from recommender import serving
from recommender.models import ModelVersion
from tests.recommender.factories import ModelVersionFactory
from tests.recommender.serving_model import write_model

_counter = itertools.count()


@pytest.fixture
def fresh_lists() -> Iterator[None]:
    """An empty cache, and no active version remembered from an earlier test."""
    cache.clear()
    serving.forget_active()
    yield
    serving.forget_active()


@pytest.fixture
def serving_model(db: Any) -> Iterator[Callable[..., ModelVersion]]:
    """Make a planted serving model (tests/recommender/serving_model.py) the active sequence
    version: `serving_model(items, follows={a.pk: b.pk}, popular=[...], co_played={...})`."""

    def activate(
        items: Sequence[Any],
        follows: dict[int, int] | None = None,
        popular: Sequence[int] = (),
        co_played: dict[int, list[tuple[int, int]]] | None = None,
    ) -> ModelVersion:
        directory = Path(settings.MODEL_DIR) / f"planted-{next(_counter)}"
        ids = [getattr(i, "pk", i) for i in items]
        write_model(directory, ids, follows, popular, co_played)
        ModelVersion.objects.filter(kind="sequence", status=ModelVersion.Status.ACTIVE).update(
            status=ModelVersion.Status.RETIRED
        )
        version = cast(
            ModelVersion,
            ModelVersionFactory(
                kind="sequence", status=ModelVersion.Status.ACTIVE, path=str(directory)
            ),
        )
        serving.forget_active()
        return version

    serving.forget_active()
    yield activate
    serving.forget_active()
