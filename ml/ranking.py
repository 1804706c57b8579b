"""The loaded serving model: one object per process and model version, NumPy (and faiss) only.

`Ranker.load(model_dir)` maps a hybrid model directory (ml.hybrid) into memory once; then

    ranker.recommend(history, k, exclude) -> [Recommended(item, score, reason)]

ranks the catalogue for one person with the hybrid's score (see ml.hybrid), never returning an
item of the history or of `exclude`, each with a structured `Reason` (its kind and the item or
genre it cites) that the caller puts into words. `similar` (artwork) and `co_played` (item-kNN
neighbours) answer the item pages' panels from the same loaded model.

Two ways of ranking, the same score:

- exact, below `EXACT_BELOW` items: the GRU's logits for every item (one matrix-vector
  product), so the softmax is exact;
- two-stage, at catalogue scale: candidates are the approximate nearest neighbours of the
  person's query vector in the item table (ml.ann, built at training time), the Markov
  successors of their last item, the item-kNN (and EASE, when the model has it) neighbours of
  their recent items, the approximate best items of the ALS part (an index over ALS's item
  factors, when the model has the part) and the most popular items; only those are scored. The
  softmax's normaliser is then estimated from the candidates (where its mass is) and a fixed
  uniform sample of the other items; the EASE part (its rows weighted by ease_decay^age, as
  offline) is divided by the best candidate's EASE score, the ALS part by the best candidate's
  ALS score outside the history.

Arrays are memory-mapped: processes serving the same version share the pages, and a million-item
model costs a process only the pages its requests touch, plus the ANN index.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ml.ann import ItemIndex
from ml.artefacts import ArtefactError, read_meta
from ml.hybrid import (
    ALS_ANN_DIR,
    ANN_DIR,
    DEFAULT_WEIGHTS,
    FORMAT,
    SUPPORTED_VERSIONS,
    Components,
    Visual,
    best_outside,
)
from ml.serving import SequenceServer, top_k_row

# Below this many items the exact ranking is as fast as the two-stage one (bench/ml_serving.py).
EXACT_BELOW = 50_000
# Two-stage ranking: how many ANN neighbours of the query, recent items whose kNN neighbours
# are candidates, most popular items always scored, and items sampled for the normaliser.
ANN_CANDIDATES = 256
RECENT = 20
POPULAR_CANDIDATES = 100
# The strongest weights of each recent item's EASE list that make candidates (a list holds
# ml.hybrid.list_length of them, strongest first; all of them score the candidates).
EASE_CANDIDATES = 200
NORMALISER_SAMPLE = 2048
# A co-play needs this many people behind it, so no list reveals one person's history.
MIN_CO_PLAY_PEOPLE = 2


@dataclass(frozen=True)
class Reason:
    """Why an item is recommended.

    kind: "played" (`item`: the history item it follows from), "looks_like" (`item`: the liked
    item whose artwork it resembles), "genre" (`genre`: popular in it), "popular" (popular in
    the whole catalogue), "co_played" (`item`: the item page's item, `people`: how many played
    both), "similar" (`item`: the item page's item, by artwork).
    """

    kind: str
    item: str | None = None
    genre: str | None = None
    people: int | None = None

    def describe(self) -> str:
        """Plain words with item ids, for the `ml` command line (the web side uses titles)."""
        words = {
            "played": f"because you played {self.item}",
            "looks_like": f"looks like {self.item}",
            "genre": f"popular in {self.genre}",
            "popular": "popular in the whole catalogue",
            "co_played": f"{self.people} fans of {self.item} played it",
            "similar": f"looks like {self.item}",
        }
        return words[self.kind]


class Recommended(NamedTuple):
    item: str
    score: float
    reason: Reason


class ItemIds:
    """Item id ↔ catalogue index over a (possibly memory-mapped) NumPy string array, by binary
    search: a dict of a million ids would cost each process about 100 MB."""

    def __init__(self, ids: np.ndarray) -> None:
        self.ids = ids
        ordered = bool(len(ids) < 2 or np.all(ids[:-1] <= ids[1:]))
        self.order = None if ordered else np.argsort(ids, kind="stable")
        self.sorted = ids if ordered else ids[self.order]

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index: int) -> str:
        return str(self.ids[index])

    def positions(self, ids: Iterable[str]) -> np.ndarray:
        """Each id's index, -1 where the model does not know it."""
        wanted = np.asarray([str(i) for i in ids], dtype=np.str_)
        if not len(wanted) or not len(self.sorted):
            return np.full(len(wanted), -1, dtype=np.int64)
        at = np.minimum(np.searchsorted(self.sorted, wanted), len(self.sorted) - 1)
        found = self.sorted[at] == wanted
        index = at if self.order is None else self.order[at]
        return np.where(found, index, -1).astype(np.int64)


class Ranker:
    """The hybrid recommender of one model version, ready to serve (see the module docstring)."""

    def __init__(
        self,
        sequence: SequenceServer,
        parts: Components,
        weights: dict[str, float],
        *,
        genres: dict[str, list[str]] | None = None,
        visual: Visual | None = None,
        index: ItemIndex | None = None,
        als_index: ItemIndex | None = None,
        exact_below: int = EXACT_BELOW,
        seed: int = 0,
    ) -> None:
        self.sequence, self.parts = sequence, parts
        self.weights = {**DEFAULT_WEIGHTS, **weights}
        # A model without EASE lists or ALS factors (trained before them, or tuned without them)
        # has no such part.
        for name, found in (("ease", parts.ease), ("als", parts.als)):
            if found is None:
                self.weights[name] = 0.0
            self.weights.setdefault(name, 0.0)
        self.items = ItemIds(np.asarray(sequence.items))
        self.genres = genres or {}
        self.visual = visual
        n = len(self.items)
        if len(parts.popularity) != n:
            raise ArtefactError("the blend and the sequence model disagree on items")
        self.index = index if index is not None and n >= exact_below else None
        self.als_index = als_index if self.index is not None else None
        # Exact ranking reads every item's factors per request: held once in single precision
        # (a 50,000 x 128 table is 25 MB), not converted from the mapped half-precision file
        # each time. Two-stage ranking reads only the candidates' rows.
        self.als_table = (
            np.array(parts.als.items, dtype=np.float32)
            if parts.als is not None and self.exact and self.weights["als"]
            else None
        )
        top = min(POPULAR_CANDIDATES, n)
        self.popular = np.argpartition(-parts.popularity, top - 1)[:top] if top else np.zeros(0)
        rng = np.random.default_rng(seed)
        self.sample = np.sort(rng.choice(n, size=min(n, NORMALISER_SAMPLE), replace=False))
        # Copied once: read from the mapped table, the same scattered rows cost every request.
        self.sample_rows = np.array(sequence.item_embedding[self.sample + 1], dtype=np.float32)
        self.sample_bias = np.array(sequence.item_bias[self.sample + 1], dtype=np.float32)
        self._cold = self._cold_items()

    @classmethod
    def load(
        cls,
        model_dir: Path | str,
        artwork_dir: Path | str | None = None,
        *,
        exact_below: int = EXACT_BELOW,
    ) -> Ranker:
        """A hybrid directory (ml.hybrid.train); the artwork model's directory when there is one
        (trained on its own, it may be of another version), else the hybrid's own `artwork/`."""
        model_dir = Path(model_dir)
        meta = read_meta(model_dir, FORMAT, SUPPORTED_VERSIONS)
        sequence = SequenceServer.load(model_dir / "sequence", mmap=True)
        parts = Components.load(model_dir, serving=True)
        visual = Visual.load(Path(artwork_dir) if artwork_dir else model_dir / "artwork")
        n_items = len(sequence.items)
        index = als_index = None
        if n_items >= exact_below and (model_dir / ANN_DIR / "meta.json").is_file():
            index = ItemIndex.load(model_dir / ANN_DIR)
            if parts.als is not None and (model_dir / ALS_ANN_DIR / "meta.json").is_file():
                als_index = ItemIndex.load(model_dir / ALS_ANN_DIR)
        return cls(
            sequence, parts, meta["weights"], genres=meta.get("genres", {}), visual=visual,
            index=index, als_index=als_index, exact_below=exact_below,
        )  # fmt: skip

    @property
    def n_items(self) -> int:
        return len(self.items)

    @property
    def exact(self) -> bool:
        return self.index is None

    # -- a person's list -------------------------------------------------------------------

    def recommend(
        self,
        history: Sequence[str],
        k: int,
        exclude: Collection[str] = (),
        feedback: Sequence[float] | None = None,
    ) -> list[Recommended]:
        """The k best items after `history` (item ids, oldest first; unknown ids are skipped),
        never one of the history or of `exclude`.

        `feedback`: one weight per history item (ml.hybrid.feedback_weights: 1 for a play,
        more for a glowing review, negative for a bad one).
        """
        weights = np.ones(len(history), np.float32) if feedback is None else feedback
        positions = self.items.positions(history)
        known = positions >= 0
        hist = positions[known]
        fb = np.asarray(weights, dtype=np.float32)[known]
        banned = np.concatenate([hist, self.items.positions(exclude)])
        banned = banned[banned >= 0]

        query = self._query(hist)
        ease = self._ease_rows(hist)
        als = self._als_shares(hist)
        candidates = None if self.exact else self._candidates(query, hist, ease, als)
        parts = self._parts(query, hist, fb, candidates, ease, als)
        scores = self._combine(parts)
        scores[_located(candidates, banned)[0]] = -np.inf
        best = top_k_row(scores, k)
        rows = best if candidates is None else candidates[best]
        reasons = self._reasons(best, rows, parts, hist, fb, ease, als)
        names = self.items.ids[rows].tolist()
        warm = [
            Recommended(str(name), float(scores[at]), reason)
            for at, name, reason in zip(best.tolist(), names, reasons, strict=True)
        ]
        owned = {str(i) for i in history} | {str(i) for i in exclude}
        return self._with_cold(warm, k, hist, fb, owned)

    def _query(self, hist: np.ndarray) -> np.ndarray:
        state = self.sequence.state_after(hist)
        last = int(hist[-1]) if len(hist) else -1  # -1: the padding row (no last item)
        return np.asarray(self.sequence.query(state, last), dtype=np.float32)

    def _ease_rows(self, hist: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """The history items' EASE lists (items, weights times ease_decay^age), when the blend
        uses them."""
        lists = self.parts.ease
        if lists is None or not self.weights["ease"] or not len(hist):
            return None
        return lists.rows(hist, self.weights["ease_decay"])

    def _als_shares(self, hist: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """The history's distinct items and each one's share of its ALS person vector
        (ml.hybrid.AlsFactors.solve), when the blend uses the part."""
        factors = self.parts.als
        if factors is None or not self.weights["als"] or not len(hist):
            return None
        return factors.solve(hist)

    def _candidates(
        self,
        query: np.ndarray,
        hist: np.ndarray,
        ease: tuple[np.ndarray, np.ndarray] | None,
        als: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> np.ndarray:
        assert self.index is not None
        found = [self.index.search(query[None, :], ANN_CANDIDATES)[0], self.popular]
        if len(hist):
            found.append(self.parts.successors[int(hist[-1])])
            found.append(self.parts.neighbours[hist[-RECENT:]].ravel())
        if ease is not None:
            found.append(ease[0][-RECENT:, :EASE_CANDIDATES].ravel())
        if als is not None and self.als_index is not None:
            person = als[1].sum(axis=1).astype(np.float32)
            found.append(self.als_index.search(person[None, :], ANN_CANDIDATES)[0])
        merged = np.unique(np.concatenate([np.asarray(f, dtype=np.int64) for f in found]))
        return merged[merged >= 0]

    def _parts(
        self,
        query: np.ndarray,
        hist: np.ndarray,
        fb: np.ndarray,
        candidates: np.ndarray | None,
        ease: tuple[np.ndarray, np.ndarray] | None = None,
        als: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> dict[str, np.ndarray]:
        """The score's parts for every item (exact) or for the candidates (sorted indices)."""
        table, bias = self.sequence.item_embedding, self.sequence.item_bias
        if candidates is None:
            logits = table[1:] @ query + bias[1:]
            log_norm = _logsumexp(logits)
        else:
            logits = table[candidates + 1] @ query + bias[candidates + 1]
            log_norm = self._log_normaliser(query, logits, candidates)
        size = len(logits)
        markov = np.zeros(size, np.float32)
        feedback = np.zeros(size, np.float32)
        if len(hist):
            succ = self.parts.successors[int(hist[-1])]
            ok = succ >= 0
            _accumulate(markov, candidates, succ[ok], self.parts.successor_probs[int(hist[-1])][ok])
            decayed = fb * self.weights["decay"] ** np.arange(len(hist) - 1, -1, -1)
            neigh = np.asarray(self.parts.neighbours[hist])
            sims = np.asarray(self.parts.neighbour_sims[hist]) * decayed[:, None]
            valid = neigh >= 0
            _accumulate(feedback, candidates, neigh[valid], sims[valid])
            feedback /= max(float(np.abs(fb).sum()), 1e-6)
        popularity = (
            self.parts.popularity if candidates is None else self.parts.popularity[candidates]
        )
        found = {
            "sequence": np.exp(logits - log_norm).astype(np.float32),
            "markov": markov,
            "feedback": feedback,
            "popularity": np.asarray(popularity, dtype=np.float32),
        }
        if ease is not None:
            # As ml.hybrid.EaseLists.part: the history's EASE scores over its best one (exact:
            # over every item; two-stage: over the candidates, where the best ones are).
            part = np.zeros(size, np.float32)
            _accumulate(part, candidates, ease[0].ravel(), ease[1].ravel())
            best = float(part.max()) if size else 0.0
            if best > 0:
                part /= best
            found["ease"] = part
        if als is not None and self.parts.als is not None:
            # As ml.hybrid.AlsFactors.part: u·y_j over the best item outside the history (exact:
            # over every item; two-stage: over the candidates).
            rows = self.als_table if candidates is None else self.parts.als.items[candidates]
            person = als[1].sum(axis=1).astype(np.float32)
            part = np.asarray(rows, dtype=np.float32) @ person
            part /= best_outside(part, _located(candidates, als[0])[0])
            found["als"] = part
        return found

    def _log_normaliser(
        self, query: np.ndarray, logits: np.ndarray, candidates: np.ndarray
    ) -> float:
        """log Σ_j exp(logit_j) over every item, from the candidates' terms (the large ones) and
        a uniform sample of the rest, scaled up to the number of the rest."""
        outside = ~np.isin(self.sample, candidates, assume_unique=True)
        others, drawn = self.n_items - len(candidates), int(outside.sum())
        if not drawn or others <= 0:
            return _logsumexp(logits)
        sampled = self.sample_rows[outside] @ query + self.sample_bias[outside]
        scale = np.log(others / drawn)
        return _logsumexp(np.concatenate([logits, sampled + scale]))

    def _combine(self, parts: dict[str, np.ndarray]) -> np.ndarray:
        w = self.weights
        scores = (
            parts["sequence"]
            + w["markov"] * parts["markov"]
            + w["feedback"] * parts["feedback"]
            + w["popularity"] * parts["popularity"]
        )
        for name in ("ease", "als"):
            if name in parts:
                scores += w[name] * parts[name]
        return scores

    def _reasons(
        self,
        at: np.ndarray,
        items: np.ndarray,
        parts: dict[str, np.ndarray],
        hist: np.ndarray,
        fb: np.ndarray,
        ease: tuple[np.ndarray, np.ndarray] | None = None,
        als: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> list[Reason]:
        """Why each ranked item: when the person's part of its score outweighs its popularity,
        the last item where the order of plays decides most, the history item that adds most
        to its EASE or ALS score where that part decides most, else the liked recent item most
        like it in the GRU's item space (cosine); otherwise its genre or the catalogue's
        popularity."""
        w = self.weights
        co = np.zeros(len(at), np.float32)
        for name in ("ease", "als"):
            if name in parts:
                co = co + w[name] * parts[name][at]
        personal = (
            parts["sequence"][at] + w["markov"] * parts["markov"][at]
            + w["feedback"] * parts["feedback"][at] + co
        )  # fmt: skip
        own = personal >= w["popularity"] * parts["popularity"][at]
        anchors = np.zeros(len(items), dtype=np.int64)
        if len(hist) and own.any():
            recent, liked = hist[-RECENT:], fb[-RECENT:] > 0
            if liked.any():
                recent = recent[liked]
            table = self.sequence.item_embedding
            ranked, sources = table[items + 1], table[recent + 1]
            cosines = (sources @ ranked.T) / np.maximum(
                np.linalg.norm(sources, axis=1)[:, None] * np.linalg.norm(ranked, axis=1), 1e-12
            )
            anchors = recent[cosines.argmax(axis=0)]
            # What the order of plays decides (the GRU's next item, what followed the last
            # item) follows from the last item; what taste decides, from the liked recent item
            # most like it.
            order = np.maximum(parts["sequence"][at], w["markov"] * parts["markov"][at])
            taste = w["feedback"] * parts["feedback"][at]
            anchors[order >= taste] = hist[-1]
            dominant = (co > order) & (co > taste)
            if ease is not None and dominant.any():
                anchors[dominant] = _strongest_sources(hist, ease, items[dominant])
            if als is not None and self.parts.als is not None and dominant.any():
                # The ALS part's terms (Hu et al. 2008, section 5): item i adds alpha(A⁻¹y_i)·y_j.
                # Where both parts are in the blend, the larger one names the source.
                larger = w["als"] * parts["als"][at] >= (
                    w["ease"] * parts["ease"][at] if "ease" in parts else 0.0
                )
                chosen = dominant & larger
                if chosen.any():
                    rows = np.asarray(self.parts.als.items[items[chosen]], dtype=np.float64)
                    anchors[chosen] = als[0][(rows @ als[1]).argmax(axis=1)]
        # Ids fetched as one array, not item by item from the mapped table (a tenth the time).
        names = self.items.ids[items].tolist()
        cited = self.items.ids[anchors].tolist()
        out = []
        for n, name in enumerate(names):
            if len(hist) and own[n]:
                out.append(Reason("played", item=str(cited[n])))
            elif genre := self.genres.get(name):
                out.append(Reason("genre", genre=genre[0]))
            else:
                out.append(Reason("popular"))
        return out

    # -- cold start: items with artwork but no plays yet -------------------------------------

    def _cold_items(self) -> np.ndarray:
        if self.visual is None:
            return np.zeros(0, dtype=np.int64)
        return np.flatnonzero(self.items.positions(self.visual.ids) < 0)

    def _with_cold(
        self,
        warm: list[Recommended],
        k: int,
        hist: np.ndarray,
        fb: np.ndarray,
        owned: set[str],
    ) -> list[Recommended]:
        """Cold items that look like one of the person's liked items join the ranking, scored
        `visual_weight * cosine * (the person's best score)`."""
        visual = self.visual
        if visual is None or not len(self._cold) or not len(hist):
            return warm
        liked_ids = [self.items[int(i)] for i, f in zip(hist, fb, strict=True) if f > 0]
        anchors = [visual.position[i] for i in liked_ids[-RECENT:] if i in visual.position]
        if not anchors:
            return warm
        sims = visual.embeddings[self._cold] @ visual.embeddings[anchors].T
        best = sims.argmax(axis=1)
        top_score = warm[0].score if warm else 1.0
        out = list(warm)
        for row, n in enumerate(self._cold):
            cosine = float(sims[row, best[row]])
            item = visual.ids[int(n)]
            if cosine >= self.weights["visual_threshold"] and item not in owned:
                anchor = visual.ids[anchors[int(best[row])]]
                score = self.weights["visual_weight"] * cosine * top_score
                out.append(Recommended(item, score, Reason("looks_like", item=anchor)))
        out.sort(key=lambda r: (-r.score, r.item))
        return out[:k]

    # -- the item page's panels --------------------------------------------------------------

    def similar(self, item: str, k: int, exclude: Iterable[str] = ()) -> list[Recommended]:
        """Items whose artwork looks most like `item`'s (cosine of the CNN's embeddings)."""
        visual = self.visual
        if visual is None or item not in visual.position:
            return []
        target = visual.position[item]
        scores = visual.embeddings @ visual.embeddings[target]
        scores[target] = -np.inf
        banned = [visual.position[i] for i in exclude if i in visual.position]
        scores[banned] = -np.inf
        return [
            Recommended(visual.ids[int(i)], float(scores[i]), Reason("similar", item=item))
            for i in top_k_row(scores, k)
        ]

    def co_played(self, item: str, k: int, exclude: Iterable[str] = ()) -> list[Recommended]:
        """The item-kNN neighbours that at least MIN_CO_PLAY_PEOPLE people had both of, the
        most shared first."""
        j = int(self.items.positions([item])[0])
        if j < 0:
            return []
        neigh = np.asarray(self.parts.neighbours[j])
        people = np.asarray(self.parts.neighbour_people[j])
        sims = np.asarray(self.parts.neighbour_sims[j])
        banned = set(self.items.positions(exclude).tolist())
        keep = [
            n for n in range(len(neigh))
            if neigh[n] >= 0 and people[n] >= MIN_CO_PLAY_PEOPLE and int(neigh[n]) not in banned
        ]  # fmt: skip
        keep.sort(key=lambda n: (-int(people[n]), -float(sims[n]), int(neigh[n])))
        return [
            Recommended(
                self.items[int(neigh[n])],
                float(people[n]),
                Reason("co_played", item=item, people=int(people[n])),
            )
            for n in keep[:k]
        ]


def _strongest_sources(
    hist: np.ndarray, ease: tuple[np.ndarray, np.ndarray], items: np.ndarray
) -> np.ndarray:
    """For each item, the history item whose EASE list adds most to its score."""
    lists, weights = ease
    order = np.argsort(items, kind="stable")
    at = np.minimum(np.searchsorted(items[order], lists), len(items) - 1)
    hit = items[order][at] == lists
    source = np.broadcast_to(np.arange(len(hist))[:, None], lists.shape)
    gains = np.zeros((len(hist), len(items)), dtype=np.float64)
    np.add.at(gains, (source[hit], order[at[hit]]), weights[hit])
    return hist[gains.argmax(axis=0)]


def _logsumexp(values: np.ndarray) -> float:
    top = float(values.max()) if len(values) else 0.0
    return top + float(np.log(np.exp(values - top).sum()))


def _located(candidates: np.ndarray | None, items: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where items sit in the scored arrays: themselves (exact), or their positions among the
    sorted candidates, with a mask of the items that are candidates at all."""
    items = np.asarray(items, dtype=np.int64)
    if candidates is None:
        return items, np.ones(len(items), dtype=bool)
    at = np.searchsorted(candidates, items)
    ok = at < len(candidates)
    ok[ok] = candidates[at[ok]] == items[ok]
    return at[ok], ok


def _accumulate(
    into: np.ndarray, candidates: np.ndarray | None, items: np.ndarray, values: np.ndarray
) -> None:
    """into[item] += value in the scored arrays' indexing (items not scored are dropped)."""
    at, ok = _located(candidates, items)
    weights = np.asarray(values, dtype=np.float64)[ok]
    into += np.bincount(at, weights=weights, minlength=len(into)).astype(np.float32)
