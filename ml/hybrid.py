"""The hybrid recommender: what people get. NumPy only at recommendation time.

For a person with history h (their items in order, each with a feedback weight w_i):

    score(j) = p_gru(j | h)                         the GRU's next-item probability
             + a * p_next(j | last item of h)       how often j followed that item
             + b * sum_i w_i d^(age_i) sim(i, j) / sum_i |w_i|   feedback: item-kNN, recency-decayed
             + c * p_popular(j)

w_i is 1 for a plain interaction. A review sets it from its sentiment s in [0, 1] (the sentiment
LSTM's probability for the text, or (rating - 1) / 4 without a text model): w = 4 (s - 1/2), so a
glowing review (+2) counts more than a lukewarm play (+1), a lukewarm review adds nothing, and a
negative one (-2) pushes similar items down. a, b, c and d are tuned on each person's held-out
last item at training time.

Items without plays yet (in the artwork model but unknown to the GRU) are cold-start items: each
gets `visual_weight * cosine * (the person's best score)` from its closest artwork among the
person's liked items, when that cosine is at least `visual_threshold`.

Each recommendation has a reason: "because you played X" (the history item that contributed most),
"looks like Y" (cold start), or "popular in Z" (Z a genre from the artwork labels, when known).

Model directory: meta.json ("encore.hybrid"), the arrays below, and sub-directories `sequence/`,
`sentiment/` and `artwork/` (the last two only when trained with reviews / artwork).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ml.artefacts import ArtefactError, load_array, read_meta, save_arrays, write_meta, writing
from ml.baselines import ItemKNN, Markov
from ml.data import (
    Interaction,
    Recommendation,
    Review,
    Sequences,
    encode,
    read_interactions,
    user_histories,
)
from ml.evaluation import metrics, top_k
from ml.progress import Progress, scaled
from ml.serving import SequenceServer

FORMAT = "encore.hybrid"
FORMAT_VERSION = 1
NEIGHBOURS = 50
# Reviews teach the sentiment model only when both classes have at least this many examples.
MIN_REVIEWS_PER_CLASS = 20

DEFAULT_WEIGHTS = {
    "markov": 0.1,
    "feedback": 0.05,
    "popularity": 1.0,
    "decay": 0.9,
    "visual_weight": 0.5,
    "visual_threshold": 0.5,
}
GRID = {
    "markov": (0.0, 0.05, 0.1, 0.2, 0.4),
    "feedback": (0.0, 0.02, 0.05, 0.1, 0.2),
    "popularity": (0.0, 1.0, 4.0),
    "decay": (0.8, 0.95),
}


@dataclass
class Components:
    """The non-GRU parts of the score, as arrays indexed like the GRU's vocabulary."""

    popularity: np.ndarray  # (V,) share of users
    neighbours: np.ndarray  # (V, K) item-kNN neighbours (-1: none)
    neighbour_sims: np.ndarray  # (V, K)
    successors: np.ndarray  # (V, K) most frequent next items (-1: none)
    successor_probs: np.ndarray  # (V, K)

    @classmethod
    def fit(cls, train: Sequences, k: int = NEIGHBOURS) -> Components:
        knn = ItemKNN(train, neighbours=k)
        k = min(k, train.n_items)
        order = np.argsort(-knn.similarity, axis=1)[:, :k]
        sims = np.take_along_axis(knn.similarity, order, axis=1)
        neighbours = np.where(sims > 0, order, -1).astype(np.int32)

        chain = Markov(train)
        successors = np.full((train.n_items, k), -1, dtype=np.int32)
        probs = np.zeros((train.n_items, k), dtype=np.float32)
        for item, (targets, counts) in chain.follows.items():
            best = np.argsort(-counts, kind="stable")[:k]
            successors[item, : len(best)] = targets[best]
            probs[item, : len(best)] = counts[best] / counts.sum()
        pop = knn.counts / max(len(train.histories), 1)
        return cls(pop.astype(np.float32), neighbours, sims.astype(np.float32), successors, probs)

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            "popularity": self.popularity,
            "neighbours": self.neighbours,
            "neighbour_sims": self.neighbour_sims,
            "successors": self.successors,
            "successor_probs": self.successor_probs,
        }

    @classmethod
    def load(cls, directory: Path) -> Components:
        return cls(**{name: load_array(directory, name) for name in cls.__dataclass_fields__})


@dataclass
class Visual:
    """Artwork embeddings by item id (file stem), for look-alikes and cold start."""

    ids: list[str]
    embeddings: np.ndarray

    @classmethod
    def load(cls, directory: Path) -> Visual | None:
        if not (directory / "meta.json").is_file():
            return None
        meta = read_meta(directory, "encore.artwork", [1])
        ids = [Path(f).stem for f in meta["file_ids"]]
        return cls(ids, load_array(directory, "embeddings").astype(np.float32))


def feedback_weights(
    histories: dict[str, list[Interaction]],
    reviews: Sequence[Review],
    sentiment: np.ndarray | None,
) -> dict[tuple[str, str], float]:
    """(user, item) → feedback weight from reviews (see the module docstring); plays are 1."""
    out: dict[tuple[str, str], float] = {}
    for n, review in enumerate(reviews):
        if sentiment is not None and review.text.strip():
            s = float(sentiment[n])
        elif review.rating is not None:
            s = min(max((review.rating - 1.0) / 4.0, 0.0), 1.0)
        else:
            continue
        out[(review.user, review.item)] = 4.0 * (s - 0.5)
    return {key: w for key, w in out.items() if key[0] in histories}


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    np.exp(shifted, out=shifted)
    shifted /= shifted.sum(axis=1, keepdims=True)
    return shifted


class Blender:
    """Blended scores and their parts for a batch of histories (item indices)."""

    def __init__(
        self, server: SequenceServer, parts: Components, weights: dict[str, float]
    ) -> None:
        self.server, self.parts, self.weights = server, parts, weights

    def parts_for(
        self, histories: Sequence[Sequence[int]], feedback: Sequence[Sequence[float]] | None
    ) -> dict[str, np.ndarray]:
        n_items = self.server.n_items
        seq = _softmax(self.server.scores(histories))
        nxt = np.zeros_like(seq)
        fb = np.zeros_like(seq)
        decay = self.weights["decay"]
        for row, history in enumerate(histories):
            if not len(history):
                continue
            last = int(history[-1])
            succ, probs = self.parts.successors[last], self.parts.successor_probs[last]
            nxt[row, succ[succ >= 0]] = probs[succ >= 0]
            weights = np.asarray(feedback[row] if feedback else np.ones(len(history)), np.float32)
            weights = weights * decay ** np.arange(len(history) - 1, -1, -1, dtype=np.float32)
            neigh = self.parts.neighbours[np.asarray(history)]
            sims = self.parts.neighbour_sims[np.asarray(history)] * weights[:, None]
            valid = neigh >= 0
            fb[row] = np.bincount(neigh[valid], weights=sims[valid], minlength=n_items)
            fb[row] /= max(float(np.abs(weights).sum()), 1e-6)
        return {"sequence": seq, "markov": nxt, "feedback": fb}

    def combine(self, parts: dict[str, np.ndarray], weights: dict[str, float]) -> np.ndarray:
        return (
            parts["sequence"]
            + weights["markov"] * parts["markov"]
            + weights["feedback"] * parts["feedback"]
            + weights["popularity"] * self.parts.popularity[None, :]
        )


def tune(
    server: SequenceServer,
    parts: Components,
    histories: Sequence[Sequence[int]],
    targets: np.ndarray,
    feedback: Sequence[Sequence[float]] | None = None,
) -> tuple[dict[str, float], float]:
    """Grid-search the blend on held-out items; returns the best weights and their NDCG@10."""
    best: tuple[float, dict[str, float]] = (-1.0, dict(DEFAULT_WEIGHTS))
    for decay in GRID["decay"]:
        blender = Blender(server, parts, {**DEFAULT_WEIGHTS, "decay": decay})
        computed = blender.parts_for(histories, feedback)
        for mk, fb, pop in itertools.product(GRID["markov"], GRID["feedback"], GRID["popularity"]):
            weights = {**DEFAULT_WEIGHTS, "decay": decay, "markov": mk, "feedback": fb}
            weights["popularity"] = pop
            scores = blender.combine(computed, weights)
            for row, history in enumerate(histories):
                scores[row, list(history)] = -np.inf
            ndcg = metrics(top_k(scores, 10), targets, server.n_items)["ndcg@10"]
            if ndcg > best[0]:
                best = (ndcg, weights)
    return best[1], best[0]


def evaluate_split(split: Any, model: Any, hyper: dict[str, Any], seed: int = 0) -> dict[str, Any]:
    """The hybrid under the evaluation protocol (bench): tune on validation, report test."""
    from ml.sequence import export_arrays

    server = SequenceServer(export_arrays(model), split.train.items, hyper["max_len"])
    parts = Components.fit(split.train)
    histories, targets = split.validation()
    weights, _ = tune(server, parts, histories, targets)
    blender = Blender(server, parts, weights)
    histories, targets = split.testing()
    scores = blender.combine(blender.parts_for(histories, None), weights)
    for row, history in enumerate(histories):
        scores[row, list(history)] = -np.inf
    return {"metrics": metrics(top_k(scores, 10), targets, server.n_items), "weights": weights}


def _labelled_reviews(reviews: Sequence[Review]) -> tuple[list[str], np.ndarray] | None:
    texts, labels = [], []
    for review in reviews:
        if review.rating is None or not review.text.strip() or 2 < review.rating < 4:
            continue
        texts.append(review.text)
        labels.append(1 if review.rating >= 4 else 0)
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=2)
    if counts.min() < MIN_REVIEWS_PER_CLASS:
        return None
    return texts, np.asarray(labels, dtype=np.int64)


def train(
    interactions: Iterable[Interaction] | Path | str,
    out_dir: Path | str,
    *,
    reviews: Sequence[Review] = (),
    artwork_dir: Path | str | None = None,
    labels_csv: Path | str | None = None,
    seed: int = 0,
    progress: Progress | None = None,
    sequence_hyper: dict[str, Any] | None = None,
    text_model: bool = True,
) -> dict[str, Any]:
    """Train the GRU (and the sentiment and artwork models when given data), tune the blend.

    `text_model=False` leaves the sentiment model to its own training (the web application
    trains each model in its own run); reviews then weigh feedback by their star ratings.
    """
    from ml import sequence

    rows = (
        read_interactions(interactions)
        if isinstance(interactions, str | Path)
        else list(interactions)
    )
    report = progress or (lambda fraction, stage: None)
    seqs = encode(rows)
    train_seqs, valid = sequence.hold_out_last(seqs)
    result: dict[str, Any] = {}
    with writing(out_dir) as tmp:
        model, summary = sequence.fit(
            train_seqs, valid, seed=seed, progress=scaled(progress, 0.0, 0.6),
            **(sequence_hyper or {}),
        )  # fmt: skip
        users = np.flatnonzero(valid >= 0)
        server = SequenceServer(
            sequence.export_arrays(model), seqs.items, summary["hyperparameters"]["max_len"]
        )
        gru_only = metrics(
            top_k(_masked(server.scores([train_seqs.histories[u] for u in users]),
                          [train_seqs.histories[u] for u in users]), 10),
            valid[users], seqs.n_items,
        )  # fmt: skip
        sequence.save(model, tmp / "sequence", seqs.items, sequence._hash_rows(rows), summary,
                      gru_only)  # fmt: skip
        result["sequence"] = gru_only

        sentiment = None
        labelled = _labelled_reviews(reviews) if text_model else None
        if labelled is not None:
            from ml.sentiment import train_sentiment

            result["sentiment"] = train_sentiment(
                *labelled, tmp / "sentiment", seed=seed, progress=scaled(progress, 0.6, 0.75)
            )
            sentiment = _score_reviews(tmp / "sentiment", reviews)
        if artwork_dir is not None and labels_csv is not None:
            from ml.artwork import train_artwork

            result["artwork"] = train_artwork(
                artwork_dir, labels_csv, tmp / "artwork", seed=seed,
                progress=scaled(progress, 0.75, 0.9),
            )  # fmt: skip
        report(0.9, "tuning the blend")
        histories = user_histories(rows)
        weights_by_pair = feedback_weights(histories, reviews, sentiment)
        feedback = [
            [weights_by_pair.get((seqs.users[u], seqs.items[i]), 1.0)
             for i in train_seqs.histories[u]]
            for u in users
        ]  # fmt: skip
        parts = Components.fit(train_seqs)
        weights, ndcg = tune(
            server, parts, [train_seqs.histories[u] for u in users], valid[users], feedback
        )
        result["hybrid"] = {"ndcg@10": ndcg}
        genres = _genres(labels_csv) if labels_csv is not None else {}
        write_blend(tmp, seqs, weights, result, genres, sequence._hash_rows(rows))
    report(1.0, "saved")
    return result


def write_blend(
    directory: Path,
    seqs: Sequences,
    weights: dict[str, float],
    result: dict[str, Any],
    genres: dict[str, list[str]],
    data_hash: str,
) -> None:
    """The hybrid's own files beside `sequence/`: the blend's arrays (from all of `seqs`,
    each person's last item included) and meta.json."""
    save_arrays(directory, **Components.fit(seqs).arrays())
    write_meta(
        directory, FORMAT, FORMAT_VERSION, weights=weights, metrics=result, genres=genres,
        items=seqs.items, data_hash=data_hash,
    )  # fmt: skip


def _masked(scores: np.ndarray, histories: Sequence[Sequence[int]]) -> np.ndarray:
    for row, history in enumerate(histories):
        scores[row, list(history)] = -np.inf
    return scores


def _genres(labels_csv: Path | str) -> dict[str, list[str]]:
    from ml.artwork import read_labels

    files, genre_lists = read_labels(labels_csv)
    return {Path(f).stem: g for f, g in zip(files, genre_lists, strict=True)}


def _score_reviews(sentiment_dir: Path, reviews: Sequence[Review]) -> np.ndarray:
    from ml.sentiment import load_sentiment

    model = load_sentiment(sentiment_dir)
    return np.asarray(model.predict([r.text for r in reviews]), dtype=np.float32)


def recommend(
    model_dir: Path | str,
    interactions: Iterable[Interaction],
    reviews: Sequence[Review] = (),
    k: int = 10,
    batch: int = 512,
) -> list[Recommendation]:
    """Top k for every user in `interactions`, never an item they already have, with reasons."""
    model_dir = Path(model_dir)
    meta = read_meta(model_dir, FORMAT, [FORMAT_VERSION])
    server = SequenceServer.load(model_dir / "sequence")
    parts = Components.load(model_dir)
    if len(parts.popularity) != server.n_items:
        raise ArtefactError(f"{model_dir}: the blend and the sequence model disagree on items")
    weights = {**DEFAULT_WEIGHTS, **meta["weights"]}
    genres: dict[str, list[str]] = meta.get("genres", {})
    visual = Visual.load(model_dir / "artwork")
    sentiment = None
    if reviews and (model_dir / "sentiment" / "meta.json").is_file():
        sentiment = _score_reviews(model_dir / "sentiment", reviews)

    histories = user_histories(interactions)
    by_pair = feedback_weights(histories, reviews, sentiment)
    blender = Blender(server, parts, weights)
    cold = _cold_items(visual, server)
    users = list(histories)
    out: list[Recommendation] = []
    for start in range(0, len(users), batch):
        chunk = users[start : start + batch]
        known = [[r.item for r in histories[u] if r.item in server.index] for u in chunk]
        indices = [[server.index[i] for i in items] for items in known]
        feedback = [
            [by_pair.get((u, i), 1.0) for i in items] for u, items in zip(chunk, known, strict=True)
        ]
        computed = blender.parts_for(indices, feedback)
        scores = _masked(blender.combine(computed, weights), indices)
        for row, user in enumerate(chunk):
            owned = {r.item for r in histories[user]}
            ranked = _rank_row(
                scores[row], k, server, owned, cold, visual, known[row], feedback[row], weights
            )
            for rank, (item, score, look_alike) in enumerate(ranked, start=1):
                reason = _reason(
                    item, look_alike, row, computed, weights, server, parts, indices[row],
                    known[row], feedback[row], genres,
                )  # fmt: skip
                out.append(Recommendation(user, item, rank, score, reason))
    return out


def _cold_items(visual: Visual | None, server: SequenceServer) -> list[int]:
    if visual is None:
        return []
    return [n for n, item in enumerate(visual.ids) if item not in server.index]


def _rank_row(
    scores: np.ndarray,
    k: int,
    server: SequenceServer,
    owned: set[str],
    cold: list[int],
    visual: Visual | None,
    known: list[str],
    feedback: list[float],
    weights: dict[str, float],
) -> list[tuple[str, float, str | None]]:
    warm: list[tuple[str, float, str | None]] = [
        (server.items[i], float(scores[i]), None)
        for i in top_k(scores[None, :], k)[0]
        if np.isfinite(scores[i]) and server.items[i] not in owned
    ]
    candidates: list[tuple[str, float, str | None]] = list(warm)
    if visual is not None and cold:
        position = {item: n for n, item in enumerate(visual.ids)}
        liked = [i for i, w in zip(known, feedback, strict=True) if w > 0 and i in position]
        liked = liked[-20:]
        if liked:
            anchors = visual.embeddings[[position[i] for i in liked]]
            sims = visual.embeddings[cold] @ anchors.T  # (cold, anchors)
            best = sims.argmax(axis=1)
            top_score = warm[0][1] if warm else 1.0
            for row, n in enumerate(cold):
                cosine = float(sims[row, best[row]])
                item = visual.ids[n]
                if cosine >= weights["visual_threshold"] and item not in owned:
                    score = weights["visual_weight"] * cosine * top_score
                    candidates.append((item, score, liked[int(best[row])]))
    candidates.sort(key=lambda c: -c[1])
    return candidates[:k]


def _reason(
    item: str,
    look_alike: str | None,
    row: int,
    computed: dict[str, np.ndarray],
    weights: dict[str, float],
    server: SequenceServer,
    parts: Components,
    history: list[int],
    known: list[str],
    feedback: list[float],
    genres: dict[str, list[str]],
) -> str:
    if look_alike is not None:
        return f"looks like {look_alike}"
    j = server.index[item]
    personal = computed["sequence"][row, j] + weights["markov"] * computed["markov"][row, j]
    personal += weights["feedback"] * computed["feedback"][row, j]
    popular = weights["popularity"] * float(parts.popularity[j])
    if history and personal >= popular:
        # The liked history item most like the recommendation in the GRU's item space.
        table = server.item_embedding[1:]
        recent = np.asarray(history[-20:])
        liked = np.asarray(feedback[-20:]) > 0
        if liked.any():
            recent = recent[liked]
        sims = table[recent] @ table[j]
        return f"because you played {server.items[int(recent[int(np.argmax(sims))])]}"
    genre = genres.get(item)
    return f"popular in {genre[0]}" if genre else "popular in the whole catalogue"
