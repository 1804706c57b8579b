"""Review text leaves the database for training exactly as written: the snapshot's CSV, read
by ml/, gives back every character, and a sentiment run on such reviews trains."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from entertainment.accounts.privacy import change_settings
from ml import sentiment
from ml.data import read_reviews
from ml.progress import silent
from ml.sentiment import read_labelled
from recommender.snapshot import REVIEWS, take_snapshot
from recommender.trainers import train_sentiment
from tests.factories import ItemFactory, ReviewFactory, UserFactory

pytestmark = pytest.mark.django_db

# Every character str.splitlines() breaks on, and CSV's own specials. (No NUL: the database
# refuses it, and the API with it; ml/'s own test covers NUL in files made elsewhere.)
ODD = ["\n", "\r\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]
ODD += ['"', ",", "\t"]


def reviews_with_odd_text() -> dict[str, tuple[str, Decimal]]:
    """Twenty reviews, one odd character in each, half loved (5 stars) and half not (1)."""
    person = UserFactory()
    change_settings(person, train_on_reviews=True)  # reviews train only by choice
    written = {}
    for i in range(20):
        loved = i % 2 == 0
        text = f"The film{ODD[i % len(ODD)]}was {'splendid' if loved else 'dreadful'}"
        rating = Decimal("5.0") if loved else Decimal("1.0")
        review = ReviewFactory(user=person, item=ItemFactory(), text=text, rating=rating)
        written[str(review.item_id)] = (text, rating)
    return written


def test_the_snapshot_gives_ml_every_review_byte_for_byte():
    written = reviews_with_odd_text()
    snapshot = take_snapshot()
    read = read_reviews(Path(snapshot.path) / REVIEWS)
    assert {r.item: (r.text, Decimal(str(r.rating))) for r in read} == written
    assert snapshot.counts["reviews"] == 20
    # The sentiment model's reader too, which takes the stars as labels.
    texts, labels = read_labelled(Path(snapshot.path) / REVIEWS)
    assert sorted(texts) == sorted(text for text, _ in written.values())
    assert labels.sum() == 10


@pytest.mark.slow
def test_sentiment_trains_on_a_snapshot_of_such_reviews(tmp_path, monkeypatch):
    # A small network and two epochs: the point is that the run trains instead of failing.
    for name, value in {"epochs": 2, "lstm_units": 8, "embedding_dim": 8}.items():
        monkeypatch.setitem(sentiment.DEFAULTS, name, value)
    reviews_with_odd_text()
    snapshot = take_snapshot()
    result = train_sentiment(Path(snapshot.path), tmp_path / "model", seed=1, progress=silent)
    assert "accuracy" in result.metrics
    assert (tmp_path / "model" / "model.keras").is_file()
