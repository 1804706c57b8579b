"""Baselines find the structure they are built for, and fall back to popularity."""

from __future__ import annotations

import numpy as np

from ml.baselines import ItemKNN, Markov, Popularity
from ml.data import Interaction, encode


def planted(n_users=60, seed=0):
    """Items c0..c8 are watched as a chain c0→c1→… (each user watches 4 of it); 'hit' by all."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_users):
        start = int(rng.integers(0, 6))
        rows.append(Interaction(f"u{u}", "hit", 0.0))
        for step, item in enumerate(range(start, start + 4)):
            rows.append(Interaction(f"u{u}", f"c{item}", float(step + 1)))
    return encode(rows)


def test_popularity_ranks_by_user_count():
    seqs = planted()
    pop = Popularity(seqs)
    assert seqs.items[int(np.argmax(pop.scores([[]])[0]))] == "hit"


def test_markov_predicts_the_successor_then_popularity():
    seqs = planted()
    index = seqs.item_index()
    chain = Markov(seqs)
    scores = chain.scores([[index["c3"]], [index["hit"]], [index["c8"]]])
    assert seqs.items[int(np.argmax(scores[0]))] == "c4"
    # c8 is never followed: popularity decides.
    assert seqs.items[int(np.argmax(scores[2]))] == "hit"


def test_markov_ignores_untimed_histories():
    seqs = encode([Interaction("u", f"i{i}", None) for i in range(5)])
    assert Markov(seqs).follows == {}


def test_itemknn_prefers_co_watched_items():
    rows = [Interaction(f"a{u}", item, None) for u in range(10) for item in ("x", "y")]
    rows += [Interaction(f"b{u}", item, None) for u in range(10) for item in ("p", "q", "r")]
    seqs = encode(rows)
    index = seqs.item_index()
    scores = ItemKNN(seqs).scores([[index["x"]], [index["p"]]])
    assert seqs.items[int(np.argmax(scores[0]))] == "y"
    top_b = {seqs.items[i] for i in np.argsort(-scores[1])[:3]}
    assert top_b == {"p", "q", "r"}
