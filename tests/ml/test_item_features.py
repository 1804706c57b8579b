"""The catalogue's genres, years and title words as side information for EASE
(ml.item_features)."""

from __future__ import annotations

import numpy as np
import pytest

from ml.data import DataError, Interaction
from ml.evaluation import leave_one_out
from ml.factors import EASE
from ml.hybrid import tuned_ease
from ml.item_features import Side, read_item_features, side_matrix, title_words


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_items_csv_gives_genres_eras_and_title_words(tmp_path):
    path = write(
        tmp_path / "items.csv",
        'item,title,genres,year\nm1,"Toy Story 2",Comedy|drama,1997\nm2,,,\n',
    )
    assert read_item_features(path) == {
        "m1": ["genre:comedy", "genre:drama", "era:1995", "title:story", "title:toy"],
        "m2": [],
    }
    # the header of before titles were used still reads
    path = write(tmp_path / "old.csv", "item,genres,year\nm1,Comedy|drama,1997\nm2,,\n")
    assert read_item_features(path) == {"m1": ["genre:comedy", "genre:drama", "era:1995"], "m2": []}


def test_title_words_leave_out_numbers_short_and_function_words():
    assert title_words("Harry Potter and the Chamber of Secrets") == [
        "title:chamber",
        "title:harry",
        "title:potter",
        "title:secrets",
    ]
    assert title_words("Rocky III (1982)") == ["title:rocky"]
    assert title_words("Amélie, Le Fabuleux destin d'Amélie Poulain") == [
        "title:amélie",
        "title:destin",
        "title:fabuleux",
        "title:poulain",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty file"),
        ("id,genres,year\n", "line 1: the header must be item,title,genres,year"),
        ("item,title,genres,year\nm1,Up,comedy\n", "line 2: expected 4 fields, got 3"),
        ("item,genres,year\nm1,comedy\n", "line 2: expected 3 fields, got 2"),
        ("item,genres,year\nm1,comedy,1990\nm1,drama,1991\n", "line 3: item 'm1' is listed twice"),
        ("item,genres,year\nm1,comedy,199x\n", "line 2: year '199x' is not a whole number"),
        ("item,genres,year\n,comedy,1990\n", "line 2: empty item id"),
    ],
)
def test_a_bad_items_file_names_its_line(tmp_path, text, message):
    with pytest.raises(DataError, match=message):
        read_item_features(write(tmp_path / "items.csv", text))


def test_side_matrix_weighs_rare_features_more_and_drops_lone_ones():
    features = {"a": ["genre:noir"], "b": ["genre:noir", "genre:drama"], "c": ["genre:drama"],
                "d": ["genre:drama", "genre:solo"]}  # fmt: skip
    side = side_matrix(features, ["a", "b", "c", "d", "unknown"]).toarray()
    # Rows: drama (3 items), noir (2 items); "solo" ties nothing together.
    np.testing.assert_allclose(side[0], [0, 1, 1, 1, 0] / np.sqrt(3))
    np.testing.assert_allclose(side[1], [1, 1, 0, 0, 0] / np.sqrt(2))
    assert side.shape == (2, 5)


def sparse_tastes(n_users=200, n_genres=6, per_genre=40, taken=5, seed=0):
    """Each person plays a few items of their one genre: few pairs of items share anyone, but
    the genre says which items go together."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_users):
        genre = int(rng.integers(n_genres))
        for item in rng.choice(per_genre, size=taken, replace=False) + genre * per_genre:
            rows.append(Interaction(f"u{u}", f"i{item:03d}", None, 1.0))
    features = {f"i{i:03d}": [f"genre:g{i // per_genre}"] for i in range(n_genres * per_genre)}
    return rows, features


def test_genres_lift_ease_where_plays_are_few():
    rows, features = sparse_tastes()
    split = leave_one_out(rows, seed=0)
    side = Side.of(features, split.train.items)
    histories, targets = split.validation()
    plain = tuned_ease(split.train, histories, targets)
    with_side = tuned_ease(split.train, histories, targets, side)
    assert plain is not None and with_side is not None
    assert with_side.params["side_weight"] > 0 and with_side.params["l2"] == plain.params["l2"]
    assert with_side.ndcg > plain.ndcg + 0.005
    # Unplayed together or not, an item of the history's genre outscores every other genre's.
    index = split.train.item_index()
    model = EASE(split.train, l2=plain.params["l2"], side=side, side_weight=1000.0)
    scores = model.scores([[index["i000"]]])[0]
    played = [i for i in features if i in index]
    same = [index[i] for i in played if features[i] == ["genre:g0"] and i != "i000"]
    other = [index[i] for i in played if features[i] != ["genre:g0"]]
    assert scores[same].min() > scores[other].max()


def test_side_information_that_does_not_help_is_left_out():
    rows, _ = sparse_tastes()
    split = leave_one_out(rows, seed=0)
    # Genres drawn at random: they tie items that no one plays together.
    rng = np.random.default_rng(1)
    noise = {item: [f"genre:r{rng.integers(6)}"] for item in split.train.items}
    histories, targets = split.validation()
    found = tuned_ease(split.train, histories, targets, Side.of(noise, split.train.items))
    assert found is not None and found.params.get("side_weight", 0.0) == 0.0


def series(n_users=300, n_series=40, per_series=6, seed=0):
    """Each person plays three parts of one series and two items of anything: parts of one
    series share title words and are seldom played by the same people."""
    rng = np.random.default_rng(seed)
    n_items = n_series * per_series
    rows = []
    for u in range(n_users):
        one = int(rng.integers(n_series))
        parts = rng.choice(per_series, size=3, replace=False) + one * per_series
        anything = rng.choice(n_items, size=2, replace=False)
        for item in {*parts.tolist(), *anything.tolist()}:
            rows.append(Interaction(f"u{u}", f"i{item:03d}", None, 1.0))
    titles = {f"i{i:03d}": [f"title:s{i // per_series}"] for i in range(n_items)}
    return rows, titles


def test_title_words_tie_a_series_together():
    rows, titles = series()
    split = leave_one_out(rows, seed=0)
    histories, targets = split.validation()
    plain = tuned_ease(split.train, histories, targets)
    with_titles = tuned_ease(split.train, histories, targets, Side.of(titles, split.train.items))
    assert plain is not None and with_titles is not None
    assert with_titles.params["title_weight"] > 0
    assert with_titles.params.get("side_weight", 0.0) == 0.0  # no genres or years given
    assert with_titles.ndcg > plain.ndcg + 0.01
    # the same words on random items tie nothing that is played together: left out
    rng = np.random.default_rng(2)
    words = rng.permutation([names[0] for names in titles.values()])
    shuffled = {item: [str(word)] for item, word in zip(titles, words, strict=True)}
    found = tuned_ease(split.train, histories, targets, Side.of(shuffled, split.train.items))
    assert found is not None and found.params.get("title_weight", 0.0) == 0.0
