"""The hybrid recommender: what people get. NumPy only at recommendation time.

For a person with history h (their items in order, each with a feedback weight w_i):

    score(j) = p_gru(j | h)                         the GRU's next-item probability
             + a * p_next(j | last item of h)       how often j followed that item
             + b * sum_i w_i d^(age_i) sim(i, j) / sum_i |w_i|   feedback: item-kNN, recency-decayed
             + c * p_popular(j)
             [+ e * ease(j | h)                     optional: EASE's co-occurrence]
             [+ g * als(j | h)                      optional: ALS's factors, beyond EASE]

w_i is 1 for a plain interaction. A review sets it from its sentiment s in [0, 1] (the sentiment
LSTM's probability for the text, or (rating - 1) / 4 without a text model): w = 4 (s - 1/2), so a
glowing review (+2) counts more than a lukewarm play (+1), a lukewarm review adds nothing, and a
negative one (-2) pushes similar items down. a, b, c and d are tuned on each person's held-out
last item at training time (`tune`: coordinate ascent over `GRID`).

ease(j | h) = sum_i f^(age_i) B[i, j] is the history's EASE score (ml.factors.EASE, its l2 and
the weights of the catalogue's genres and years and of its title words, when given, tuned on
validation) from each item's strongest weights (`list_length`: all in a small catalogue),
each history item's row weighted by f^age (f = `ease_decay`; age 0 for the last item), divided
by the row's best score so e means the same on any catalogue. On feedback without order it
carries what the GRU and the Markov chain cannot (f = 1: a set); with timestamps a
recency-weighted EASE (f < 1) ranks the next item far better than the plain one
(ml-latest-small with timestamps, EASE alone: NDCG@10 0.040 -> 0.071 at f = 0.8). The tuning
decides e and f. `train` adds it for catalogues of up to
`ml.factors.EASE_MAX_ITEMS` items (l2, e and f tuned on the held-out items, the lists saved with
the other arrays); a model without it (larger, or older) has e = 0. `ml.ranking.Ranker` serves
it with the same arithmetic.

als(j | h) = u_h . y_j is ALS's score (ml.factors.ALS, implicit's factorisation, its grid tuned
on the held-out items), u_h the history folded into a person vector by ALS's own least-squares
step (`AlsFactors`: NumPy, so any history is scored, a new person's too), divided by the best
score of an item outside the history. It is the co-occurrence part of catalogues too large for
EASE's items x items matrix (`train(factors="auto")`: EASE up to ml.factors.EASE_MAX_ITEMS,
ALS beyond), where the hybrid had only item-kNN lists to read a set with; g is tuned like e.
On ml-latest-small, where both fit, EASE is the stronger part (ml/README.md), so a catalogue
EASE fits gets EASE alone unless asked (`factors="als"`).

Items without plays yet (in the artwork model but unknown to the GRU) are cold-start items: each
gets `visual_weight * cosine * (the person's best score)` from its closest artwork among the
person's liked items, when that cosine is at least `visual_threshold`.

Each recommendation has a structured reason (ml.ranking.Reason): the history item it follows
from, the liked item it looks like (cold start), or popularity (in a genre of the artwork
labels, when known). Serving is ml.ranking.Ranker, which loads a directory written here.

Model directory: meta.json ("encore.hybrid"), the Components arrays, and sub-directories
`sequence/` (the GRU), `ann/` (the ANN index over its item table, ml.ann), `als_ann/` (over ALS's
item factors, with the ALS part), `sentiment/` and `artwork/` (the last two only when trained
with reviews / artwork).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ml.ann import HEAD_MAX, ItemIndex
from ml.artefacts import load_array, load_rows, read_meta, save_arrays, write_meta, writing
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

if TYPE_CHECKING:
    # Only their types: serving processes import this module and need no SciPy.
    from ml.factors import ALS, EASE, Tuned
    from ml.item_features import Side

FORMAT = "encore.hybrid"
# 2: the co-play counts of the neighbours and the ANN index (ann/) for serving at scale.
# (Version 2 directories may hold the EASE lists, `ease_items.npy` and `ease_weights.npy`: they
# are optional, so directories written before them load as they are, with e = 0.)
FORMAT_VERSION = 2
# 3: the EASE part weighted by recency (`ease_decay` < 1 in the weights). Written only then, so a
# server that predates it refuses the model instead of serving the unweighted part.
RECENCY_EASE_VERSION = 3
# 4: the ALS part (`als_*` arrays, `als_ann/`). A server that predates it would serve the blend
# without its strongest part, so it must refuse the directory.
ALS_VERSION = 4
SUPPORTED_VERSIONS = (FORMAT_VERSION, RECENCY_EASE_VERSION, ALS_VERSION)
ANN_DIR = "ann"
# The ANN index over ALS's item factors: the ALS part's own candidates at catalogue scale.
ALS_ANN_DIR = "als_ann"
# The share of ALS's items, by the length of their factors, scored exactly by that index (at most
# ml.ann.HEAD_MAX). ALS's lengths follow popularity (on ml-latest-small, norm ~ count^0.45), and
# inner products with long items defeat the body's L2 reduction: with the GRU index's 1%, the
# index's recall@10 was 0.90 at 100,000 items (bench/synthetic_model.py's factors; 0.68 with
# lengths ~ count^0.25), with 5% 1.00, and 1.00 at 1,000,000 items with the 20,000 cap.
ALS_HEAD_SHARE = 0.05
# Whose query vectors tune the ANN index's search depth.
INDEX_TUNING_PEOPLE = 500
NEIGHBOURS = 50
# Co-play counts are saved as 16-bit numbers: "65,535 fans" means that many or more.
PEOPLE_MAX = np.iinfo(np.uint16).max
# Reviews teach the sentiment model only when both classes have at least this many examples.
MIN_REVIEWS_PER_CLASS = 20

DEFAULT_WEIGHTS = {
    "markov": 0.1,
    "feedback": 0.05,
    "popularity": 1.0,
    "decay": 0.9,
    "ease_decay": 1.0,
    "visual_weight": 0.5,
    "visual_threshold": 0.5,
}
# Each item's strongest EASE weights kept (by magnitude: negative ones push items down), strongest
# first. 200 lost a tenth of EASE's validation NDCG@10 on ml-latest-small (0.141 -> 0.132; 1,000:
# 0.142); serving reads only the history's rows, and takes two-stage candidates from the first
# `ml.ranking.EASE_CANDIDATES` of each. Catalogues of up to `EASE_ALL_WEIGHTS_ITEMS` keep every
# weight: with the catalogue's side information the rows are denser, and 1,000 of ml-latest-small's
# 3,650 lost its EASE part 0.164 -> 0.157 test NDCG@10 (2,000: 0.161). Saved, 4,000 items' full
# lists take 96 MB.
EASE_NEIGHBOURS = 1000
EASE_ALL_WEIGHTS_ITEMS = 4000
# The blend's candidate values, searched one weight at a time (`tune`), starting from each
# list's first value (the GRU alone).
GRID = {
    # Up to 10: on feedback without order EASE should be able to outweigh the GRU (whose weight
    # is 1) almost entirely.
    "ease": (0.0, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 5.0, 10.0),
    "ease_decay": (1.0, 0.95, 0.9, 0.8, 0.7, 0.5),
    # The ALS part's, like EASE's: where it is the only co-occurrence part it may outweigh all.
    "als": (0.0, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 5.0, 10.0),
    "markov": (0.0, 0.02, 0.05, 0.07, 0.1, 0.15, 0.2, 0.3, 0.4),
    "feedback": (0.0, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2),
    "decay": (0.8, 0.95),
    "popularity": (0.0, 0.5, 1.0, 2.0, 4.0),
}
# Passes of the coordinate ascent over GRID (it stops early when a pass changes nothing).
TUNING_ROUNDS = 4


@dataclass
class EaseLists:
    """EASE's item-item weights as per-item lists (like the item-kNN neighbours)."""

    items: Any  # (V, K) int32: np.ndarray, or ml.artefacts.Rows when served
    weights: Any  # (V, K) float32 (float16 as saved)

    @classmethod
    def from_model(cls, model: EASE, k: int | None = None) -> EaseLists:
        """Each item's `k` strongest weights (by default `list_length` of the catalogue)."""
        k = min(k or list_length(model.n_items), model.n_items)
        strongest = np.argpartition(-np.abs(model.weights), k - 1, axis=1)[:, :k]
        weights = np.take_along_axis(model.weights, strongest, axis=1)
        order = np.argsort(-np.abs(weights), axis=1, kind="stable")
        strongest = np.take_along_axis(strongest, order, axis=1)
        weights = np.take_along_axis(weights, order, axis=1)
        return cls(strongest.astype(np.int32), weights.astype(np.float32))

    def rows(
        self, history: Sequence[int] | np.ndarray, decay: float = 1.0
    ) -> tuple[np.ndarray, np.ndarray]:
        """The history's lists: (items, weights), each (len(history), K); float32 weights, each
        item's row times decay^age (age 0 for the last item)."""
        at = np.asarray(history, dtype=np.int64)
        weights = np.asarray(self.weights[at], dtype=np.float32)
        if decay != 1.0:
            weights = weights * recency(len(at), decay)[:, None]
        return np.asarray(self.items[at]), weights

    def part(
        self, histories: Sequence[Sequence[int]], n_items: int, decay: float = 1.0
    ) -> np.ndarray:
        """Each history's EASE scores over the catalogue (its items' rows weighted by
        decay^age), divided by the row's best one."""
        out = np.zeros((len(histories), n_items), dtype=np.float32)
        for row, history in enumerate(histories):
            if not len(history):
                continue
            items, weights = self.rows(history, decay)
            out[row] = np.bincount(items.ravel(), weights=weights.ravel(), minlength=n_items)
            best = float(out[row].max())
            if best > 0:
                out[row] /= best
        return out


def list_length(n_items: int) -> int:
    """How many EASE weights each item keeps: all of them in a small catalogue."""
    return n_items if n_items <= EASE_ALL_WEIGHTS_ITEMS else EASE_NEIGHBOURS


def recency(length: int, decay: float) -> np.ndarray:
    """decay^age for a history of `length` items, oldest first (the last item's age is 0)."""
    return (decay ** np.arange(length - 1, -1, -1, dtype=np.float64)).astype(np.float32)


@dataclass
class AlsFactors:
    """ALS's item factors and what folds a history into a person vector, in NumPy.

    The fold-in is ALS's own user step (Hu, Koren & Volinsky 2008; implicit's
    `recalculate_user`) for a history of distinct items, each of confidence alpha:
    u = A⁻¹ alpha Σᵢ yᵢ with A = YᵀY + λI + (alpha - 1) Σᵢ yᵢyᵢᵀ, one k x k solve per person.
    The same paper's explanation splits u·y_j into one term per history item,
    alpha (A⁻¹yᵢ)·y_j: the history item that adds most is the one a recommendation cites.
    """

    items: Any  # (V, k) float32 (float16 as saved; mapped when served)
    base: np.ndarray  # (k, k) float64: YᵀY + λI, Y as saved
    confidence: float  # alpha

    @classmethod
    def from_model(cls, model: ALS) -> AlsFactors:
        """The model's item factors as they are saved (half precision), and YᵀY + λI of those
        very numbers, so a served fold-in is the one the blend was tuned with."""
        items = np.asarray(model.item_factors, dtype=np.float16).astype(np.float32)
        base = items.T.astype(np.float64) @ items.astype(np.float64)
        base[np.diag_indices_from(base)] += model.hyper["regularization"]
        return cls(items, base, float(model.hyper["alpha"]))

    def solve(self, history: Sequence[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The history's distinct items and the matrix A⁻¹ alpha Yₕᵀ whose column i is item i's
        share of the person vector (their sum is u): (items, (k, len(items)) float64)."""
        at = np.unique(np.asarray(history, dtype=np.int64))
        rows = np.asarray(self.items[at], dtype=np.float64)
        system = self.base + (self.confidence - 1.0) * rows.T @ rows
        shares = np.linalg.solve(system, self.confidence * rows.T) if len(at) else rows.T
        return at, shares

    def part(self, histories: Sequence[Sequence[int]], n_items: int) -> np.ndarray:
        """Each history's ALS scores over the catalogue, divided by the best one of an item
        outside the history (the history's own items score highest, and are never offered)."""
        out = np.zeros((len(histories), n_items), dtype=np.float32)
        table = np.asarray(self.items, dtype=np.float32)
        for row, history in enumerate(histories):
            if not len(history):
                continue
            at, shares = self.solve(history)
            out[row] = table @ shares.sum(axis=1).astype(np.float32)
            out[row] /= best_outside(out[row], at)
        return out


def best_outside(scores: np.ndarray, inside: np.ndarray) -> float:
    """The largest score outside `inside` (positions), or 1 when none is positive."""
    held = scores[inside].copy()
    scores[inside] = -np.inf
    best = float(scores.max()) if len(scores) > len(np.unique(inside)) else 0.0
    scores[inside] = held
    return best if best > 0 else 1.0


# Components' arrays (the EASE lists are optional: a model without them has none).
ARRAYS = (
    "popularity", "neighbours", "neighbour_sims", "neighbour_people", "successors",
    "successor_probs",
)  # fmt: skip
EASE_ARRAYS = ("ease_items", "ease_weights")
# The ALS part's: item factors, YᵀY + λI, and alpha (one element: the part is all arrays).
ALS_ARRAYS = ("als_items", "als_base", "als_confidence")


@dataclass
class Components:
    """The non-GRU parts of the score, as arrays indexed like the GRU's vocabulary."""

    popularity: np.ndarray  # (V,) share of users
    neighbours: np.ndarray  # (V, K) item-kNN neighbours (-1: none)
    neighbour_sims: np.ndarray  # (V, K)
    neighbour_people: np.ndarray  # (V, K) how many people had both (co-play lists need 2+)
    successors: np.ndarray  # (V, K) most frequent next items (-1: none)
    successor_probs: np.ndarray  # (V, K)
    ease: EaseLists | None = None  # EASE's strongest weights per item (catalogues it fits)
    als: AlsFactors | None = None  # ALS's item factors (catalogues beyond EASE)

    @classmethod
    def fit(cls, train: Sequences, k: int = NEIGHBOURS) -> Components:
        knn = ItemKNN(train, neighbours=k)
        k = min(k, train.n_items)
        order = np.argsort(-knn.similarity, axis=1)[:, :k]
        sims = np.take_along_axis(knn.similarity, order, axis=1)
        neighbours = np.where(sims > 0, order, -1).astype(np.int32)
        # The similarity is co-occurrences / sqrt(count_i count_j): undone, it counts people.
        norm = np.sqrt(np.maximum(knn.counts, 1.0))
        people = np.rint(sims * norm[:, None] * norm[order]).astype(np.int32)

        chain = Markov(train)
        successors = np.full((train.n_items, k), -1, dtype=np.int32)
        probs = np.zeros((train.n_items, k), dtype=np.float32)
        for item, (targets, counts) in chain.follows.items():
            best = np.argsort(-counts, kind="stable")[:k]
            successors[item, : len(best)] = targets[best]
            probs[item, : len(best)] = counts[best] / counts.sum()
        pop = knn.counts / max(len(train.histories), 1)
        return cls(
            pop.astype(np.float32), neighbours, sims.astype(np.float32), people, successors, probs
        )

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays as saved. Similarities and probabilities in half precision, co-play counts
        saturating at 65,535: a million-item model's neighbour arrays take 700 MB, not 1 GB,
        of every serving process's mapped memory, and nothing ranks differently for it."""
        arrays = {
            "popularity": self.popularity,
            "neighbours": self.neighbours,
            "neighbour_sims": self.neighbour_sims.astype(np.float16),
            "neighbour_people": np.minimum(self.neighbour_people, PEOPLE_MAX).astype(np.uint16),
            "successors": self.successors,
            "successor_probs": self.successor_probs.astype(np.float16),
        }
        if self.ease is not None:
            arrays["ease_items"] = np.asarray(self.ease.items, dtype=np.int32)
            arrays["ease_weights"] = np.asarray(self.ease.weights).astype(np.float16)
        if self.als is not None:
            arrays["als_items"] = np.asarray(self.als.items).astype(np.float16)
            arrays["als_base"] = self.als.base
            arrays["als_confidence"] = np.asarray([self.als.confidence])
        return arrays

    @classmethod
    def load(cls, directory: Path, serving: bool = False) -> Components:
        """`serving`: popularity mapped, the per-item lists read a row at a time
        (ml.artefacts.Rows), as a web process holds them; else every array in memory. The EASE
        lists when the directory has them."""
        directory = Path(directory)
        read: Any = load_rows if serving else load_array
        found: dict[str, Any] = {name: read(directory, name) for name in ARRAYS[1:]}
        found["popularity"] = load_array(directory, "popularity", mmap=serving)
        if all((directory / f"{name}.npy").is_file() for name in EASE_ARRAYS):
            found["ease"] = EaseLists(*(read(directory, name) for name in EASE_ARRAYS))
        if all((directory / f"{name}.npy").is_file() for name in ALS_ARRAYS):
            found["als"] = AlsFactors(
                load_array(directory, "als_items", mmap=serving),
                load_array(directory, "als_base"),
                float(load_array(directory, "als_confidence")[0]),
            )
        return cls(**found)


@dataclass
class Visual:
    """Artwork embeddings by item id (file stem), for look-alikes and cold start."""

    ids: list[str]
    embeddings: np.ndarray
    position: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.position = {item: n for n, item in enumerate(self.ids)}

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
        self,
        server: SequenceServer,
        parts: Components,
        weights: dict[str, float],
        ease: EaseLists | None = None,
        als: AlsFactors | None = None,
    ) -> None:
        """`ease`, `als`: the EASE lists and ALS factors to blend in (by default the parts' own,
        when they have them)."""
        self.server, self.parts, self.weights = server, parts, weights
        self.ease = ease if ease is not None else parts.ease
        self.als = als if als is not None else parts.als

    def parts_for(
        self, histories: Sequence[Sequence[int]], feedback: Sequence[Sequence[float]] | None
    ) -> dict[str, np.ndarray]:
        found = {
            "sequence": _softmax(self.server.scores(histories)),
            "markov": self.markov_part(histories),
            "feedback": self.feedback_part(histories, feedback, self.weights["decay"]),
        }
        if self.ease is not None:
            found["ease"] = self.ease_part(histories, self.weights.get("ease_decay", 1.0))
        if self.als is not None:
            found["als"] = self.als.part(histories, self.server.n_items)
        return found

    def markov_part(self, histories: Sequence[Sequence[int]]) -> np.ndarray:
        """How often each item followed each history's last item."""
        nxt = np.zeros((len(histories), self.server.n_items), dtype=np.float32)
        for row, history in enumerate(histories):
            if not len(history):
                continue
            last = int(history[-1])
            succ, probs = self.parts.successors[last], self.parts.successor_probs[last]
            nxt[row, succ[succ >= 0]] = probs[succ >= 0]
        return nxt

    def feedback_part(
        self,
        histories: Sequence[Sequence[int]],
        feedback: Sequence[Sequence[float]] | None,
        decay: float,
    ) -> np.ndarray:
        """item-kNN similarity to each history, weighted by feedback and decay^age."""
        n_items = self.server.n_items
        fb = np.zeros((len(histories), n_items), dtype=np.float32)
        for row, history in enumerate(histories):
            if not len(history):
                continue
            weights = np.asarray(feedback[row] if feedback else np.ones(len(history)), np.float32)
            weights = weights * decay ** np.arange(len(history) - 1, -1, -1, dtype=np.float32)
            neigh = self.parts.neighbours[np.asarray(history)]
            sims = self.parts.neighbour_sims[np.asarray(history)] * weights[:, None]
            valid = neigh >= 0
            fb[row] = np.bincount(neigh[valid], weights=sims[valid], minlength=n_items)
            fb[row] /= max(float(np.abs(weights).sum()), 1e-6)
        return fb

    def ease_part(self, histories: Sequence[Sequence[int]], decay: float) -> np.ndarray:
        assert self.ease is not None
        return self.ease.part(histories, self.server.n_items, decay)

    def combine(self, parts: dict[str, np.ndarray], weights: dict[str, float]) -> np.ndarray:
        scores = (
            parts["sequence"]
            + weights["markov"] * parts["markov"]
            + weights["feedback"] * parts["feedback"]
            + weights["popularity"] * self.parts.popularity[None, :]
        )
        for name in ("ease", "als"):
            if name in parts and weights.get(name, 0.0):
                scores += weights[name] * parts[name]
        return scores


def tune(
    server: SequenceServer,
    parts: Components,
    histories: Sequence[Sequence[int]],
    targets: np.ndarray,
    feedback: Sequence[Sequence[float]] | None = None,
    ease: EaseLists | None = None,
    als: AlsFactors | None = None,
) -> tuple[dict[str, float], float]:
    """The blend's weights by validation NDCG@10 of held-out items; returns them and their
    NDCG@10. With `ease`, its weight and recency decay are searched too (and returned); with
    `als`, its weight.

    Coordinate ascent: from the GRU alone (each GRID list's first value), each weight in turn
    takes the value of its list that scores best with the others fixed (ties keep the current
    one), for up to TUNING_ROUNDS passes. A full grid over the six weights would be some 45,000
    blends; this is a few hundred (about 150 on ml-latest-small), over finer lists."""
    blender = Blender(server, parts, dict(DEFAULT_WEIGHTS), ease, als)
    base = {
        "sequence": _softmax(server.scores(histories)),
        "markov": blender.markov_part(histories),
    }
    if als is not None:
        base["als"] = als.part(histories, server.n_items)
    cached: dict[tuple[str, float], np.ndarray] = {}

    def part(name: str, value: float) -> np.ndarray:
        if (name, value) not in cached:
            if name == "feedback":
                cached[name, value] = blender.feedback_part(histories, feedback, value)
            else:
                cached[name, value] = blender.ease_part(histories, value)
        return cached[name, value]

    def score(weights: dict[str, float]) -> float:
        computed = {**base, "feedback": part("feedback", weights["decay"])}
        if ease is not None:
            computed["ease"] = part("ease", weights["ease_decay"])
        scores = blender.combine(computed, weights)
        for row, history in enumerate(histories):
            scores[row, list(history)] = -np.inf
        return float(metrics(top_k(scores, 10), targets, server.n_items)["ndcg@10"])

    names = ["markov", "feedback", "decay", "popularity"]
    if ease is not None:
        names = ["ease", "ease_decay", *names]
    if als is not None:
        names = ["als", *names]
    weights = {**DEFAULT_WEIGHTS, **{name: GRID[name][0] for name in names}}
    best = score(weights)
    for _ in range(TUNING_ROUNDS):
        changed = False
        for name in names:
            for value in GRID[name]:
                if value == weights[name]:
                    continue
                trial = {**weights, name: value}
                found = score(trial)
                if found > best + 1e-12:
                    best, weights, changed = found, trial, True
        if not changed:
            break
    return weights, best


def evaluate_split(
    split: Any,
    model: Any,
    hyper: dict[str, Any],
    seed: int = 0,
    ease: EASE | None = None,
    als: ALS | None = None,
    k: int = 10,
) -> dict[str, Any]:
    """The hybrid under the evaluation protocol (bench): tune on validation (NDCG@10), report
    test metrics at `k`. `ease`, `als`: an EASE or ALS fitted on `split.train` (tuned on
    `split.valid`: `tuned_ease`, `tuned_als`) joins the blend."""
    from ml.sequence import export_arrays

    server = SequenceServer(export_arrays(model), split.train.items, hyper["max_len"])
    parts = Components.fit(split.train)
    lists = EaseLists.from_model(ease) if ease is not None else None
    factors = AlsFactors.from_model(als) if als is not None else None
    histories, targets = split.validation()
    weights, _ = tune(server, parts, histories, targets, ease=lists, als=factors)
    blender = Blender(server, parts, weights, lists, factors)
    histories, targets = split.testing()
    scores = blender.combine(blender.parts_for(histories, None), weights)
    for row, history in enumerate(histories):
        scores[row, list(history)] = -np.inf
    return {"metrics": metrics(top_k(scores, k), targets, server.n_items, k), "weights": weights}


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
    items_csv: Path | str | None = None,
    factors: str = "auto",
) -> dict[str, Any]:
    """Train the GRU (and the sentiment and artwork models when given data), tune the blend.

    `items_csv`: the catalogue's titles, genres and years (ml.item_features), side information
    for the EASE part where it helps on validation.

    `factors`: the co-occurrence part (one of ml.factors.FACTORS, see `tuned_parts`).

    `text_model=False` leaves the sentiment model to its own training (the web application
    trains each model in its own run); reviews then weigh feedback by their star ratings.
    """
    from ml import sequence
    from ml.factors import EASE_MAX_ITEMS, FACTORS

    if factors not in FACTORS:
        raise ValueError(f"factors must be one of {', '.join(FACTORS)}, not {factors!r}")
    rows = (
        read_interactions(interactions)
        if isinstance(interactions, str | Path)
        else list(interactions)
    )
    report = progress or (lambda fraction, stage: None)
    seqs = encode(rows)
    if factors == "ease" and seqs.n_items > EASE_MAX_ITEMS:
        raise ValueError(
            f"EASE needs an items x items matrix: {seqs.n_items} items > {EASE_MAX_ITEMS}; "
            "use ALS (factors als or auto)"
        )
    train_seqs, valid = sequence.hold_out_last(seqs, seed)
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
        report(0.9, "tuning the co-occurrence part")
        histories = user_histories(rows)
        weights_by_pair = feedback_weights(histories, reviews, sentiment)
        feedback = [
            [weights_by_pair.get((seqs.users[u], seqs.items[i]), 1.0)
             for i in train_seqs.histories[u]]
            for u in users
        ]  # fmt: skip
        parts = Components.fit(train_seqs)
        valid_histories = [train_seqs.histories[u] for u in users]
        side = None
        if items_csv is not None:
            from ml.item_features import Side, read_item_features

            side = Side.of(read_item_features(items_csv), seqs.items)
        ease, als = tuned_parts(factors, train_seqs, valid_histories, valid[users], side, seed)
        if ease is not None:
            result["ease"] = {"ndcg@10": ease.ndcg, **ease.params}
        if als is not None:
            result["als"] = {"ndcg@10": als.ndcg, **als.params}
        report(0.92, "tuning the blend")
        weights, ndcg = tune(
            server, parts, valid_histories, valid[users], feedback,
            ease=EaseLists.from_model(ease.model) if ease is not None else None,
            als=AlsFactors.from_model(als.model) if als is not None else None,
        )  # fmt: skip
        weights.setdefault("ease", 0.0)
        weights.setdefault("als", 0.0)
        result["hybrid"] = {"ndcg@10": ndcg}
        genres = _genres(labels_csv) if labels_csv is not None else {}
        del ease, als  # EASE's items x items matrix; the refit below makes another
        report(0.95, "saving the blend")
        ease_params, als_params = (
            {key: value for key, value in result[name].items() if key != "ndcg@10"}
            if name in result and weights[name] > 0
            else None
            for name in ("ease", "als")
        )
        write_blend(
            tmp, seqs, weights, result, genres, sequence._hash_rows(rows), ease_params, side,
            als_params, seed,
        )  # fmt: skip
        write_index(tmp, seed, seqs.histories)
    report(1.0, "saved")
    return result


def tuned_parts(
    factors: str,
    train: Sequences,
    histories: Sequence[Sequence[int]],
    targets: np.ndarray,
    side: Side | None = None,
    seed: int = 0,
) -> tuple[Tuned[EASE] | None, Tuned[ALS] | None]:
    """The co-occurrence part `factors` asks for, tuned on the held-out items: "auto" EASE where
    the catalogue fits its items x items matrix and ALS beyond, "ease" or "als" that one (to
    measure one against the other), "none" neither. Returns (EASE, ALS), at most one of them."""
    ease = tuned_ease(train, histories, targets, side) if factors in ("auto", "ease") else None
    wants_als = factors == "als" or (factors == "auto" and ease is None)
    return ease, tuned_als(train, histories, targets, seed) if wants_als else None


def tuned_ease(
    train: Sequences,
    histories: Sequence[Sequence[int]],
    targets: np.ndarray,
    side: Side | None = None,
) -> Tuned[EASE] | None:
    """EASE with its l2 tuned on the held-out items, when the catalogue is small enough for its
    items x items matrix (and there is anything held out to tune on). With `side` (the
    catalogue's features and title words, ml.item_features), each group's weight is then tuned
    in turn with what was found before it, and kept at 0 when it does not help: about 20 fits,
    not the 210 of the full grid."""
    from ml import factors

    if not len(targets) or not 2 <= train.n_items <= factors.EASE_MAX_ITEMS:
        return None
    best = factors.grid_search(factors.EASE, factors.EASE_GRID, train, histories, targets)
    if side is None:
        return best
    for grid, group in (
        (factors.EASE_SIDE_GRID, side.catalogue),
        (factors.EASE_TITLE_GRID, side.title),
    ):
        if not group.shape[0]:
            continue
        fixed = dict(best.params)
        found = factors.grid_search(
            lambda seqs, fixed=fixed, **weight: factors.EASE(seqs, side=side, **fixed, **weight),
            grid, train, histories, targets,
        )  # fmt: skip
        if found.ndcg > best.ndcg:
            best = factors.Tuned(found.model, {**fixed, **found.params}, found.ndcg, found.table)
    return best


def tuned_als(
    train: Sequences, histories: Sequence[Sequence[int]], targets: np.ndarray, seed: int = 0
) -> Tuned[ALS] | None:
    """ALS with its grid (ml.factors.ALS_GRID) tuned on the held-out items, when there is
    anything held out to tune on."""
    from ml import factors

    if not len(targets) or train.n_items < 2:
        return None
    return factors.grid_search(
        lambda seqs, **params: factors.ALS(seqs, seed=seed, **params),
        factors.ALS_GRID, train, histories, targets,
    )  # fmt: skip


def write_blend(
    directory: Path,
    seqs: Sequences,
    weights: dict[str, float],
    result: dict[str, Any],
    genres: dict[str, list[str]],
    data_hash: str,
    ease_params: dict[str, float] | None = None,
    side: Side | None = None,
    als_params: dict[str, Any] | None = None,
    seed: int = 0,
) -> None:
    """The hybrid's own files beside `sequence/`: the blend's arrays (from all of `seqs`,
    each person's last item included; with `ease_params` (l2, and the side information's
    weights with `side`), EASE's lists refitted on them; with `als_params`, ALS refitted on
    them and the ANN index over its item factors) and meta.json."""
    parts = Components.fit(seqs)
    if ease_params is not None:
        from ml.factors import EASE

        parts.ease = EaseLists.from_model(EASE(seqs, side=side, **ease_params))
    if als_params is not None:
        from ml.factors import ALS

        parts.als = AlsFactors.from_model(ALS(seqs, seed=seed, **als_params))
        write_als_index(directory, parts.als, seed, seqs.histories)
    save_arrays(directory, **parts.arrays())
    write_meta(
        directory, FORMAT,
        format_version(weights) if ease_params is not None or als_params is not None
        else FORMAT_VERSION,
        weights=weights, metrics=result, genres=genres, n_items=seqs.n_items,
        data_hash=data_hash,
    )  # fmt: skip


def format_version(weights: dict[str, float]) -> int:
    """The version a blend's directory needs: 4 with an ALS part, 3 when its EASE part is
    weighted by recency."""
    if weights.get("als", 0.0):
        return ALS_VERSION
    decayed = weights.get("ease", 0.0) and weights.get("ease_decay", 1.0) != 1.0
    return RECENCY_EASE_VERSION if decayed else FORMAT_VERSION


def write_als_index(
    directory: Path, als: AlsFactors, seed: int = 0, histories: Sequence[Sequence[int]] = ()
) -> None:
    """The ANN index over ALS's item factors (no bias: the part is u·y_j), the ALS part's own
    candidates at catalogue scale, its search depth tuned on (a sample of) these people's
    person vectors."""
    rng = np.random.default_rng(seed)
    people = [h for h in histories if len(h)]
    sample = [people[i] for i in rng.permutation(len(people))[:INDEX_TUNING_PEOPLE]]
    queries = [als.solve(h)[1].sum(axis=1) for h in sample]
    items = np.asarray(als.items, dtype=np.float32)
    index = ItemIndex.build(
        items, np.zeros(len(items), dtype=np.float32), seed=seed,
        queries=np.stack(queries).astype(np.float32) if queries else None,
        head_by=np.linalg.norm(items, axis=1),
        head_items=min(int(ALS_HEAD_SHARE * len(items)), HEAD_MAX),
    )  # fmt: skip
    index.save(directory / ALS_ANN_DIR)


def write_index(directory: Path, seed: int = 0, histories: Sequence[Sequence[int]] = ()) -> None:
    """The ANN index over the GRU's item table (`sequence/` beside it), for serving at scale,
    its search depth tuned on the query vectors of (a sample of) these people's histories."""
    server = SequenceServer.load(directory / "sequence", mmap=True)
    rng = np.random.default_rng(seed)
    people = [h for h in histories if len(h)]
    sample = [people[i] for i in rng.permutation(len(people))[:INDEX_TUNING_PEOPLE]]
    queries = [server.query(server.state_after(np.asarray(h)), int(h[-1])) for h in sample]
    index = ItemIndex.build(
        server.item_embedding[1:], server.item_bias[1:], seed=seed,
        queries=np.stack(queries) if queries else None,
    )  # fmt: skip
    index.save(directory / ANN_DIR)


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
) -> list[Recommendation]:
    """Top k for every user in `interactions` (the `ml recommend` command), never an item they
    already have, with reasons in words that name item ids."""
    from ml.ranking import Ranker

    model_dir = Path(model_dir)
    ranker = Ranker.load(model_dir)
    sentiment = None
    if reviews and (model_dir / "sentiment" / "meta.json").is_file():
        sentiment = _score_reviews(model_dir / "sentiment", reviews)
    histories = user_histories(interactions)
    by_pair = feedback_weights(histories, reviews, sentiment)
    out: list[Recommendation] = []
    for user, history in histories.items():
        items = [r.item for r in history]
        feedback = [by_pair.get((user, i), 1.0) for i in items]
        for rank, found in enumerate(ranker.recommend(items, k, feedback=feedback), start=1):
            out.append(Recommendation(user, found.item, rank, found.score, found.reason.describe()))
    return out
