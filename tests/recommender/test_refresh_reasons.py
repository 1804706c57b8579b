"""Reasons people read name titles, not the model's item ids."""

from __future__ import annotations

import pytest

from recommender.lists import Entry
from recommender.refresh import _readable
from tests.factories import ItemFactory

pytestmark = pytest.mark.django_db


def test_ids_in_reasons_become_titles():
    played, looked = ItemFactory(title="Night Ransom"), ItemFactory(title="Blue Hour")
    out = _readable(
        {
            7: {
                "film": [
                    Entry(1, 0.9, f"because you played {played.pk}"),
                    Entry(2, 0.5, f"looks like {looked.pk}"),
                    Entry(3, 0.1, "popular in science-fiction"),
                ]
            }
        }
    )
    assert [e.reason for e in out[7]["film"]] == [
        "Because you played Night Ransom",
        "Looks like Blue Hour",
        "Popular in science fiction",
    ]
