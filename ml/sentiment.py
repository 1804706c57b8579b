"""Review sentiment: a bidirectional LSTM over words, beside a linear bag-of-n-grams branch.

Text is normalised in Python (lower case, "n't" -> " not", negation scope marked, `!`/`?` kept
as tokens), then three Keras `TextVectorization` layers learnt from the training corpus turn it
into numbers:

- `words`: word ids in order, for the embedding and the BiLSTM;
- `word_ngrams`: a multi-hot bag of word unigrams and bigrams;
- `char_ngrams`: a multi-hot bag of character 2- to 5-grams (robust to typos and word forms).

The model averages the BiLSTM's logit and the logit of a linear model over the two bags
("wide and deep"): on a couple of thousand sentences the bags give a strong start and the LSTM
learns word order and negation on top.

So that it travels to a site whose reviews differ from the labelled sentences:

- a review is scored sentence by sentence (`chunks`), its logit the mean of its sentences';
  training does the same, each chunk weighted 1 / its review's chunk count;
- the word embedding starts from vectors pre-trained on the labelled and the site's unlabelled
  text (`pretrained_embedding`: positive PMI + truncated SVD), so a word the labels never
  show ("fun" on a games site) starts next to the words it is used like;
- the general English polarity of its words (ml.lexicon: VADER's lexicon, rated by people,
  not learnt from any one site) is added to the network's logit, so a word no labelled
  sentence had still counts ("superb", "unplayable");
- a temperature and the lexicon's two weights are fitted together on the validation split
  (`fit_scoring`: a logistic regression over the logit and the lexicon's positive and negative
  sums), which also calibrates the probabilities.

The vocabularies are stored as JSON lists (`vocabulary.json`) and the vectorisers rebuilt from
them on load, so `model.keras` holds only numeric layers (loaded with safe mode on) and any
Keras backend can run it; the chunk size, temperature and lexicon weights are in meta.json
(`scoring`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ml.artefacts import ArtefactError, read_meta, write_meta, writing
from ml.csvfiles import READ_ENCODING, read_rows
from ml.data import DataError
from ml.lexicon import NEGATED_PREFIX, polarity
from ml.progress import Progress, keras_callback, scaled

FORMAT = "encore.sentiment"
# 2: the model outputs a logit; chunked scoring and a temperature. 3: + the lexicon's weights
# (a version-2 directory still loads, without them; an older reader refuses a version 3 one
# rather than score without the lexicon)
FORMAT_VERSION = 3
READABLE_VERSIONS = [2, 3]
VOCABULARY_FILE = "vocabulary.json"
MODEL_FILE = "model.keras"

DEFAULTS: dict[str, Any] = {
    "word_vocabulary": 20000,
    "ngram_vocabulary": 20000,
    "char_vocabulary": 20000,
    "sequence_length": 40,
    "embedding_dim": 64,
    "lstm_units": 32,
    "dropout": 0.4,
    "bag_l2": 1e-4,
    "learning_rate": 2e-3,
    "batch_size": 32,
    "epochs": 25,
    "patience": 4,
    "validation_fraction": 0.1,
    # "both" (the default: the average of the two), or one branch alone for an ablation
    "branches": "both",
    # LSTMs trained apart and averaged before joining the bag branch
    "lstm_members": 1,
    # score (and train on) sentences: a review is cut into chunks of at most this many words,
    # each scored, their logits averaged; 0 scores whole texts
    "chunk_words": 40,
    # word vectors pre-trained on labelled + unlabelled text (PPMI + SVD over this window of
    # neighbours; 0: random start), then frozen or fine-tuned
    "pretrain_window": 4,
    "embedding_trainable": True,
    # temperature scaling of the logit on the validation split
    "calibrate": True,
    # the lexicon's polarity beside the logit, weighted by the same fit (needs "calibrate");
    # 2026-11-30, bench/ml_sentiment.py, 3 splits: in-domain 0.854 -> 0.893, Steam 0.716 -> 0.740
    "lexicon": True,
}


class LabelledDataError(DataError):
    """A labelled-text file that cannot be read; the message names the file and line."""


# --- text normalisation ------------------------------------------------------------------

_CONTRACTIONS = [
    (re.compile(r"\bcan't\b|\bcannot\b"), "can not"),
    (re.compile(r"\bwon't\b"), "will not"),
    (re.compile(r"n't\b"), " not"),
    (re.compile(r"'(re|ve|ll|d|m|s)\b"), r" \1"),
]
_TOKEN = re.compile(r"[a-z0-9]+|[!?]")
_NEGATIONS = frozenset({"not", "no", "never", "nothing", "nor", "neither", "none", "without"})
_SCOPE_END = re.compile(r"[.,;:!?]")


def normalise(text: str) -> str:
    """Lower-case tokens joined by spaces; words after a negation (to the next punctuation) get a
    `neg_` twin so "not good" and "good" differ even in a bag of words."""
    text = text.lower().replace("\u2019", "'")
    for pattern, replacement in _CONTRACTIONS:
        text = pattern.sub(replacement, text)
    out: list[str] = []
    for clause in re.split(r"([.,;:!?])", text):
        if _SCOPE_END.fullmatch(clause):
            if clause in "!?":
                out.append(clause)
            continue
        negated = False
        for token in _TOKEN.findall(clause):
            out.append(f"{NEGATED_PREFIX}{token}" if negated and token not in _NEGATIONS else token)
            negated = negated or token in _NEGATIONS
    return " ".join(out)


# --- reading labelled text ---------------------------------------------------------------


def read_labelled(path: Path | str) -> tuple[list[str], np.ndarray]:
    """Read `text,label` (0/1) or `text,rating` (weak labels: >= 4 positive, <= 2 negative, the
    rest dropped) CSV with a header, or the UCI `sentence<TAB>label` text format.

    Texts come back exactly as written: a review may span lines or hold any character
    (ml.csvfiles reads the CSV; the UCI format breaks lines at line feeds only)."""
    path = Path(path)
    try:
        with path.open(newline="", encoding=READ_ENCODING) as handle:
            first = handle.readline()
    except OSError as exc:
        raise LabelledDataError(f"{path}: cannot open ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise LabelledDataError(f"{path}: not UTF-8 text ({exc.reason})") from None
    if "\t" in first and "," not in first.split("\t")[-1]:
        return _read_tab_separated(path)
    return _read_csv(path)


def _read_tab_separated(path: Path) -> tuple[list[str], np.ndarray]:
    try:
        raw = path.read_bytes().decode(READ_ENCODING)
    except UnicodeDecodeError as exc:
        raise LabelledDataError(f"{path}: not UTF-8 text ({exc.reason})") from None
    texts: list[str] = []
    labels: list[int] = []
    # Lines end at "\n" (or "\r\n") only: str.splitlines() would also break a sentence at
    # \x0c, \x85, \u2028 and the like, which are text.
    for number, line in enumerate(raw.split("\n"), start=1):
        if not line.strip():
            continue
        text, sep, label = line.removesuffix("\r").rpartition("\t")
        if not sep or label.strip() not in ("0", "1"):
            raise LabelledDataError(
                f"{path}, line {number}: expected 'sentence<TAB>0|1', got {line[:60]!r}"
            )
        texts.append(text.strip())
        labels.append(int(label))
    return _checked(path, texts, labels)


def weak_label(rating: float) -> int | None:
    """A star rating as a sentiment label: >= 4 positive, <= 2 negative, otherwise none (a
    lukewarm rating says little about the words)."""
    if rating >= 4:
        return 1
    if rating <= 2:
        return 0
    return None


def _read_csv(path: Path) -> tuple[list[str], np.ndarray]:
    records = read_rows(path, LabelledDataError)
    _, first = next(records, (1, []))
    header = [h.strip().lower() for h in first]
    if "text" not in header or not ({"label", "rating"} & set(header)):
        raise LabelledDataError(
            f"{path}, line 1: expected a header with 'text' and 'label' or 'rating', got {header}"
        )
    text_at = header.index("text")
    by_rating = "label" not in header
    value_at = header.index("rating" if by_rating else "label")
    texts: list[str] = []
    labels: list[int] = []
    for number, row in records:
        if len(row) != len(header):
            raise LabelledDataError(
                f"{path}, line {number}: {len(row)} fields, the header has {len(header)}"
            )
        value = row[value_at].strip()
        if by_rating:
            try:
                label = weak_label(float(value))
            except ValueError:
                raise LabelledDataError(
                    f"{path}, line {number}: rating {value!r} is not a number"
                ) from None
            if label is None:
                continue
            labels.append(label)
        elif value in ("0", "1"):
            labels.append(int(value))
        else:
            raise LabelledDataError(f"{path}, line {number}: label {value!r} is not 0 or 1")
        texts.append(row[text_at])  # exactly as written: normalise() handles the spacing
    return _checked(path, texts, labels)


def _checked(path: Path, texts: list[str], labels: list[int]) -> tuple[list[str], np.ndarray]:
    if not texts:
        raise LabelledDataError(f"{path}: no labelled rows")
    return texts, np.asarray(labels, dtype=np.int32)


def read_texts(path: Path | str) -> list[str]:
    """Texts to score: a CSV with a `text` column (other columns ignored)."""
    path = Path(path)
    records = read_rows(path, LabelledDataError)
    _, first = next(records, (1, []))
    header = [h.strip().lower() for h in first]
    if "text" not in header:
        raise LabelledDataError(f"{path}, line 1: expected a header with a 'text' column")
    at = header.index("text")
    texts = []
    for number, row in records:
        if len(row) != len(header):
            raise LabelledDataError(
                f"{path}, line {number}: {len(row)} fields, the header has {len(header)}"
            )
        texts.append(row[at])
    return texts


# --- chunks: a long review is scored sentence by sentence ----------------------------------

_SENTENCE_END = re.compile(r"(?<=[.!?;])(?=\s*\S)|\n+")


def chunks(text: str, max_words: int) -> list[str]:
    """A review cut at sentence ends (also where a full stop runs straight into the next
    sentence, "gaming.Only"), a sentence longer than `max_words` into windows of that many words.

    The labelled sentences this model learns from are one sentence long; reviews on a site are
    several. A bag-of-n-grams logit summed over a long review adds up the small leanings of
    every function word, so each chunk is scored apart and their logits averaged."""
    pieces: list[str] = []
    for sentence in _SENTENCE_END.split(text):
        words = sentence.split()
        if not words:
            continue
        for start in range(0, len(words), max_words):
            pieces.append(" ".join(words[start : start + max_words]))
    return pieces or [text]


def chunk_texts(texts: Sequence[str], max_words: int) -> tuple[list[str], np.ndarray]:
    """All chunks of `texts` in order, and for each the index of the text it came from."""
    pieces: list[str] = []
    owners: list[int] = []
    for at, text in enumerate(texts):
        parts = chunks(text, max_words)
        pieces += parts
        owners += [at] * len(parts)
    return pieces, np.asarray(owners, dtype=np.int64)


def per_text_mean(values: np.ndarray, owners: np.ndarray, n: int) -> np.ndarray:
    counts = np.bincount(owners, minlength=n)
    return np.bincount(owners, weights=values, minlength=n) / np.maximum(counts, 1)


# --- vectorisation -------------------------------------------------------------------------


def _text_vectorization(**config: Any) -> Any:
    import keras

    return keras.layers.TextVectorization(standardize=None, **config)


_BAG_CONFIGS: dict[str, dict[str, Any]] = {
    "word_ngrams": {"ngrams": 2, "output_mode": "multi_hot"},
    "char_ngrams": {"split": "character", "ngrams": (2, 3, 4, 5), "output_mode": "multi_hot"},
}


@dataclass
class Vectorisers:
    """The three TextVectorization layers, rebuilt from stored vocabularies."""

    words: Any
    word_ngrams: Any
    char_ngrams: Any

    @classmethod
    def learn(
        cls, texts: Sequence[str], hyper: dict[str, Any], unlabelled: Sequence[str] = ()
    ) -> Vectorisers:
        """The bags' vocabularies come from the labelled texts only (an n-gram never seen with a
        label has no weight to learn); the words' from the labelled and unlabelled texts, whose
        embeddings are pre-trained on both."""
        normalised = np.asarray([normalise(t) for t in texts])
        layers = cls(
            words=_text_vectorization(
                max_tokens=hyper["word_vocabulary"],
                output_sequence_length=hyper["sequence_length"],
            ),
            word_ngrams=_text_vectorization(
                max_tokens=hyper["ngram_vocabulary"], **_BAG_CONFIGS["word_ngrams"]
            ),
            char_ngrams=_text_vectorization(
                max_tokens=hyper["char_vocabulary"], **_BAG_CONFIGS["char_ngrams"]
            ),
        )
        everything = normalised
        if len(unlabelled):
            everything = np.concatenate([normalised, [normalise(t) for t in unlabelled]])
        layers.words.adapt(everything)
        layers.word_ngrams.adapt(normalised)
        layers.char_ngrams.adapt(normalised)
        return layers

    @classmethod
    def from_vocabularies(cls, stored: dict[str, Any]) -> Vectorisers:
        def rebuild(entry: dict[str, Any]) -> Any:
            config = dict(entry["config"])
            if isinstance(config.get("ngrams"), list):  # JSON has no tuples
                config["ngrams"] = tuple(config["ngrams"])
            config.pop("standardize", None)
            vocabulary = entry["vocabulary"]
            if config.get("output_mode", "int") == "int":
                vocabulary = vocabulary[2:]  # padding and OOV are added back by the layer
            else:
                vocabulary = vocabulary[1:]  # OOV
            return _text_vectorization(vocabulary=vocabulary, **config)

        return cls(
            words=rebuild(stored["words"]),
            word_ngrams=rebuild(stored["word_ngrams"]),
            char_ngrams=rebuild(stored["char_ngrams"]),
        )

    def vocabularies(self) -> dict[str, Any]:
        keys = ("standardize", "split", "ngrams", "output_mode", "output_sequence_length")

        def describe(layer: Any) -> dict[str, Any]:
            config = {k: v for k, v in layer.get_config().items() if k in keys}
            return {"config": config, "vocabulary": layer.get_vocabulary()}

        return {
            "words": describe(self.words),
            "word_ngrams": describe(self.word_ngrams),
            "char_ngrams": describe(self.char_ngrams),
        }

    def __call__(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        normalised = np.asarray([normalise(t) for t in texts] or [""])
        arrays = {
            "words": np.asarray(self.words(normalised), dtype=np.int32),
            "word_ngrams": np.asarray(self.word_ngrams(normalised), dtype=np.float32),
            "char_ngrams": np.asarray(self.char_ngrams(normalised), dtype=np.float32),
        }
        if not texts:
            arrays = {k: v[:0] for k, v in arrays.items()}
        return arrays


# --- pre-training the word embedding on review text ----------------------------------------


def pretrained_embedding(
    word_ids: np.ndarray, vocabulary_size: int, dim: int, window: int, seed: int
) -> np.ndarray:
    """Word vectors from the positive pointwise mutual information of words within `window`
    of each other, reduced by a truncated SVD (Levy & Goldberg 2014: what skip-gram with
    negative sampling factorises, computed in closed form). `word_ids` are the words
    vectoriser's padded id rows (0 padding, 1 out of vocabulary; both left out).

    Rows are scaled to unit length; a word with no neighbour gets a small random vector."""
    import scipy.sparse
    import scipy.sparse.linalg

    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    weights: list[np.ndarray] = []
    for offset in range(1, window + 1):
        left, right = word_ids[:, :-offset].ravel(), word_ids[:, offset:].ravel()
        valid = (left > 1) & (right > 1)
        left, right = left[valid], right[valid]
        weight = np.full(len(left), 1.0 / offset)  # nearer words count more, as in GloVe
        rows += [left, right]
        cols += [right, left]
        weights += [weight, weight]
    rng = np.random.default_rng(seed)
    fallback = rng.normal(0, 0.1, (vocabulary_size, dim)).astype(np.float32)
    if not rows or not sum(len(r) for r in rows):
        return fallback
    shape = (vocabulary_size, vocabulary_size)
    counts = scipy.sparse.coo_matrix(
        (np.concatenate(weights), (np.concatenate(rows), np.concatenate(cols))), shape=shape
    ).tocsr()
    counts.sum_duplicates()
    total = counts.sum()
    word = np.asarray(counts.sum(axis=1)).ravel()
    context = np.asarray(counts.sum(axis=0)).ravel() ** 0.75  # smoothed context distribution
    context /= context.sum()
    coo = counts.tocoo()
    pmi = np.log(coo.data * 1.0 / total) - np.log(word[coo.row] / total) - np.log(context[coo.col])
    positive = pmi > 0
    ppmi = scipy.sparse.csr_matrix(
        (pmi[positive], (coo.row[positive], coo.col[positive])), shape=shape
    )
    if ppmi.nnz == 0:
        return fallback
    k = min(dim, min(shape) - 1)
    start = rng.normal(size=vocabulary_size)
    u, s, _ = scipy.sparse.linalg.svds(ppmi, k=k, v0=start)
    vectors = np.zeros((vocabulary_size, dim), dtype=np.float64)
    vectors[:, :k] = u * np.sqrt(s)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    known = norms[:, 0] > 1e-8
    out = fallback.copy()
    out[known] = (vectors[known] / norms[known]).astype(np.float32)
    out[0] = 0.0
    return out


# --- the model -----------------------------------------------------------------------------


def build_models(
    sizes: dict[str, int], hyper: dict[str, Any], embedding: np.ndarray | None = None
) -> dict[str, Any]:
    """The two branches as models of their own (trained one after the other, each with its own
    early stopping) and `combined`, which shares their layers and averages their logits. Every
    model outputs a logit: the loader applies the calibration and the sigmoid.

    Trained jointly, the LSTM overfits the 1-2k sentences before the bag branch has converged
    and the sum does worse than either alone; trained apart they make different mistakes, and
    the average beats both.
    """
    import keras
    from keras import layers

    words = keras.Input((hyper["sequence_length"],), dtype="int32", name="words")
    word_ngrams = keras.Input((sizes["word_ngrams"],), name="word_ngrams")
    char_ngrams = keras.Input((sizes["char_ngrams"],), name="char_ngrams")
    inputs = [words, word_ngrams, char_ngrams]

    lstm_logits = []
    for member in range(hyper["lstm_members"]):
        embed = layers.Embedding(
            sizes["words"],
            hyper["embedding_dim"],
            mask_zero=True,
            trainable=embedding is None or hyper["embedding_trainable"],
        )
        x = embed(words)
        if embedding is not None:
            embed.set_weights([embedding])
        x = layers.SpatialDropout1D(hyper["dropout"] / 2)(x)
        x = layers.Bidirectional(layers.LSTM(hyper["lstm_units"]))(x)
        x = layers.Dropout(hyper["dropout"])(x)
        lstm_logits.append(layers.Dense(1, name=f"lstm_logit_{member}")(x))
    lstm_logit = lstm_logits[0] if len(lstm_logits) == 1 else layers.Average()(lstm_logits)

    bags = layers.Concatenate()([word_ngrams, char_ngrams])
    bags = layers.Dropout(hyper["dropout"])(bags)
    bag_logit = layers.Dense(
        1, kernel_regularizer=keras.regularizers.L2(hyper["bag_l2"]), name="bag_logit"
    )(bags)

    def model(logit: Any, name: str, trained: bool = True) -> Any:
        built = keras.Model(inputs, layers.Identity(name="logit")(logit), name=name)
        if not trained:
            return built  # uncompiled: it is saved and served, never fitted itself
        built.compile(
            optimizer=keras.optimizers.Adam(hyper["learning_rate"]),
            loss=keras.losses.BinaryCrossentropy(from_logits=True),
            weighted_metrics=[keras.metrics.BinaryAccuracy(threshold=0.0)],
        )
        return built

    models = {f"lstm_{i}": model(logit, f"lstm_{i}") for i, logit in enumerate(lstm_logits)}
    models["lstm"] = model(lstm_logit, "lstm", trained=False)
    models["bag"] = model(bag_logit, "bag")
    models["combined"] = model(
        layers.Average()([lstm_logit, bag_logit]), "sentiment", trained=False
    )
    return models


def _data_hash(texts: Sequence[str], labels: np.ndarray, unlabelled: Sequence[str] = ()) -> str:
    digest = hashlib.sha256()
    for text, label in zip(texts, labels.tolist(), strict=True):
        digest.update(f"{label}\t{text}\n".encode())
    for text in unlabelled:
        digest.update(f"-\t{text}\n".encode())
    return digest.hexdigest()


def binary_metrics(labels: np.ndarray, probabilities: np.ndarray) -> dict[str, float]:
    """Accuracy, F1 of the positive class and ROC AUC (ties counted half)."""
    labels = np.asarray(labels).astype(bool)
    predicted = np.asarray(probabilities) >= 0.5
    tp = float(np.sum(predicted & labels))
    fp = float(np.sum(predicted & ~labels))
    fn = float(np.sum(~predicted & labels))
    f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return {
        "accuracy": float(np.mean(predicted == labels)),
        "f1": f1,
        "roc_auc": roc_auc(labels, probabilities),
    }


def log_loss(labels: np.ndarray, probabilities: np.ndarray) -> float:
    p = np.clip(np.asarray(probabilities, dtype=np.float64), 1e-7, 1 - 1e-7)
    y = np.asarray(labels, dtype=np.float64)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    labels = np.asarray(labels).astype(bool)
    scores = np.asarray(scores, dtype=np.float64)
    positives, negatives = int(labels.sum()), int((~labels).sum())
    if not positives or not negatives:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    # average ranks over ties so that a constant scorer gets exactly 0.5
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    for start, count in zip(first, counts, strict=True):
        ranks[order[start : start + count]] = start + (count + 1) / 2
    return float((ranks[labels].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60, 60)))


@dataclass(frozen=True)
class Scoring:
    """How a text's logit becomes a probability: sigmoid(logit / temperature + lexicon · w),
    with `lexicon` the text's (positive, negative) polarity (ml.lexicon)."""

    temperature: float = 1.0
    lexicon_weights: tuple[float, float] = (0.0, 0.0)

    def probabilities(self, logits: np.ndarray, lexicon: np.ndarray) -> np.ndarray:
        z = np.asarray(logits, dtype=np.float64) / self.temperature
        if any(self.lexicon_weights):
            z = z + lexicon @ np.asarray(self.lexicon_weights)
        return sigmoid(z)


def fit_scoring(
    logits: np.ndarray, labels: np.ndarray, lexicon: np.ndarray | None = None
) -> Scoring:
    """The temperature T (Guo et al. 2017) and, given `lexicon` (the texts' polarity), its two
    weights that minimise the log loss on held-out texts: a logistic regression without an
    intercept (so "no evidence" stays at 0.5). T is kept in [0.5, 20] and the weights in
    [0, 20], signs fixed: a validation split the model separates perfectly would otherwise
    drive them to infinity and every probability to 0 or 1, and a positive word never counts
    against a text. Without the lexicon only T moves: the ranking and the 0.5 threshold stay."""
    from scipy.optimize import minimize

    x = np.asarray(logits, dtype=np.float64)[:, None]
    if lexicon is not None:
        x = np.column_stack([x, np.asarray(lexicon, dtype=np.float64)])
    y = np.asarray(labels, dtype=np.float64)
    if len(np.unique(y)) < 2 or not np.any(x):
        return Scoring()

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = x @ w
        p = sigmoid(z)
        return float(np.mean(np.logaddexp(0.0, z) - y * z)), x.T @ (p - y) / len(y)

    bounds = [(1 / 20, 1 / 0.5)] + [(0.0, 20.0)] * (x.shape[1] - 1)
    start = np.array([1.0] + [0.0] * (x.shape[1] - 1))
    w = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=bounds).x
    weights = (float(w[1]), float(w[2])) if lexicon is not None else (0.0, 0.0)
    return Scoring(temperature=float(1 / w[0]), lexicon_weights=weights)


class _Batches:
    """Chunks vectorised a batch at a time (the bags are ~40k wide: 8k reviews at once would
    take gigabytes), fed to a logit model."""

    def __init__(self, vectorisers: Vectorisers, model: Any, batch: int = 256) -> None:
        self.vectorisers, self.model, self.batch = vectorisers, model, batch

    def logits(self, pieces: Sequence[str]) -> np.ndarray:
        out = [np.zeros(0, dtype=np.float32)]
        for start in range(0, len(pieces), self.batch):
            inputs = self.vectorisers(list(pieces[start : start + self.batch]))
            out.append(np.asarray(self.model.predict_on_batch(inputs), dtype=np.float32)[:, 0])
        return np.concatenate(out)

    def text_logits(self, texts: Sequence[str], hyper: dict[str, Any]) -> np.ndarray:
        pieces, owners = scored_pieces(texts, hyper["chunk_words"])
        return per_text_mean(self.logits(pieces), owners, len(texts))


def scored_pieces(texts: Sequence[str], chunk_words: int) -> tuple[list[str], np.ndarray]:
    """What a text is scored by: its chunks, or the whole text when `chunk_words` is 0; and
    for each piece the index of its text."""
    if chunk_words:
        return chunk_texts(texts, chunk_words)
    return list(texts), np.arange(len(texts))


def text_polarity(texts: Sequence[str], chunk_words: int) -> np.ndarray:
    """texts x (positive, negative) lexicon polarity, averaged over a text's pieces as its
    logit is."""
    pieces, owners = scored_pieces(texts, chunk_words)
    found = np.array([polarity(normalise(piece).split()) for piece in pieces], dtype=np.float64)
    found = found.reshape(len(pieces), 2)
    return np.column_stack([per_text_mean(found[:, j], owners, len(texts)) for j in range(2)])


def _chunked(
    texts: Sequence[str], labels: np.ndarray, hyper: dict[str, Any]
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Training examples: each chunk with its review's label, weighted 1 / its review's chunk
    count so that a long review counts as much as a one-line one."""
    if not hyper["chunk_words"]:
        return list(texts), labels, np.ones(len(texts), dtype=np.float32)
    pieces, owners = chunk_texts(texts, hyper["chunk_words"])
    counts = np.bincount(owners, minlength=len(texts))
    return pieces, labels[owners], (1.0 / counts[owners]).astype(np.float32)


@dataclass
class NetworkInputs:
    """What the networks are fitted on: the vectorised training and validation pieces with
    their labels and weights, the vocabularies' sizes and the pre-trained word vectors. Text
    becomes these on the CPU (TensorFlow's TextVectorization, SciPy's SVD); fitting on them is
    the backend's work, a GPU's on a JAX worker (bench/ml_training.py times it there)."""

    x_train: dict[str, np.ndarray]
    y_train: np.ndarray
    w_train: np.ndarray
    x_valid: dict[str, np.ndarray]
    y_valid: np.ndarray
    w_valid: np.ndarray
    sizes: dict[str, int]
    embedding: np.ndarray | None


def vectorise(
    texts: list[str],
    labels: np.ndarray,
    site: Sequence[str],
    hp: dict[str, Any],
    seed: int,
    report: Progress,
) -> tuple[Vectorisers, NetworkInputs, np.ndarray]:
    """Split off the stratified validation texts, learn the vocabularies, vectorise both parts
    and pre-train the word vectors; returns the vectorisers, the inputs and the validation
    texts' indices."""
    train_at, valid_at = _stratified_split(labels, hp["validation_fraction"], seed)
    train_texts = [texts[i] for i in train_at]
    valid_texts = [texts[i] for i in valid_at]
    train_pieces, y_train, w_train = _chunked(train_texts, labels[train_at], hp)
    valid_pieces, y_valid, w_valid = _chunked(valid_texts, labels[valid_at], hp)
    site_pieces = chunk_texts(site, hp["chunk_words"])[0] if hp["chunk_words"] else site

    report(0.0, "learning vocabularies")
    vectorisers = Vectorisers.learn(train_pieces, hp, site_pieces)
    x_train = vectorisers(train_pieces)
    x_valid = vectorisers(valid_pieces)
    sizes = {name: int(array.shape[1]) for name, array in x_train.items()}
    sizes["words"] = vectorisers.words.vocabulary_size()

    embedding = None
    if hp["pretrain_window"]:
        report(0.03, "pre-training word vectors")
        corpus = [*train_pieces, *site_pieces]
        ids = np.concatenate(
            [
                np.asarray(vectorisers.words(np.asarray([normalise(t) for t in batch])))
                for batch in (corpus[i : i + 2048] for i in range(0, len(corpus), 2048))
            ]
        )
        embedding = pretrained_embedding(
            ids, sizes["words"], hp["embedding_dim"], hp["pretrain_window"], seed
        )

    inputs = NetworkInputs(x_train, y_train, w_train, x_valid, y_valid, w_valid, sizes, embedding)
    return vectorisers, inputs, valid_at


def fit_networks(
    inputs: NetworkInputs, hp: dict[str, Any], progress: Progress | None = None
) -> tuple[Any, dict[str, float]]:
    """Build the models and fit the trained branches one after the other, each with its own
    early stopping on the validation pieces; returns the model to serve (the branches'
    average, or the one branch trained) and each branch's epochs."""
    import keras

    metrics: dict[str, float] = {}
    models = build_models(inputs.sizes, hp, inputs.embedding)
    lstms = [f"lstm_{i}" for i in range(hp["lstm_members"])]
    branches = {"both": [*lstms, "bag"], "lstm": lstms, "bag": ["bag"]}[hp["branches"]]
    for step, branch in enumerate(branches):
        stop = keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=hp["patience"], restore_best_weights=True
        )
        share = 0.85 / len(branches)
        models[branch].fit(
            inputs.x_train,
            inputs.y_train,
            sample_weight=inputs.w_train,
            validation_data=(inputs.x_valid, inputs.y_valid, inputs.w_valid),
            epochs=hp["epochs"],
            batch_size=hp["batch_size"],
            callbacks=[
                stop,
                keras_callback(
                    progress, hp["epochs"], 0.05 + step * share, 0.05 + (step + 1) * share
                ),
            ],
            verbose=0,
        )
        metrics[f"{branch}_epochs"] = float(stop.stopped_epoch or hp["epochs"])
    served = models["combined"] if hp["branches"] == "both" else models[hp["branches"]]
    return served, metrics


def site_texts(unlabelled: Sequence[str]) -> list[str]:
    """The site's unlabelled texts as training reads them: blank ones dropped, and the same
    text twice kept once (it adds nothing to the statistics but weight); order kept for the
    data hash."""
    return list(dict.fromkeys(t for t in unlabelled if t.strip()))


def train_sentiment(
    texts: list[str],
    labels: np.ndarray,
    out_dir: Path | str,
    *,
    unlabelled: Sequence[str] = (),
    seed: int = 0,
    progress: Progress | None = None,
    **hyper: Any,
) -> dict[str, float]:
    """Train on labelled texts (1 positive, 0 negative) and write the model directory.

    `unlabelled`: review texts of the site without labels (those of people who let their
    reviews train models); the word embedding is pre-trained on them with the labelled texts,
    and the bags leave out terms much more common there than in the labelled texts.

    A stratified `validation_fraction` of the data is held out for early stopping and the
    temperature; the returned metrics (also in meta.json) are measured on it.
    """
    import keras

    unknown = set(hyper) - set(DEFAULTS)
    if unknown:
        raise TypeError(f"unknown sentiment hyperparameters: {sorted(unknown)}")
    hp = {**DEFAULTS, **hyper}
    labels = np.asarray(labels, dtype=np.int32)
    if len(texts) != len(labels):
        raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
    if set(np.unique(labels).tolist()) != {0, 1}:
        raise ValueError("training needs both positive (1) and negative (0) examples")
    report = progress or (lambda fraction, stage: None)
    keras.utils.set_random_seed(seed)
    site = site_texts(unlabelled)

    vectorisers, inputs, valid_at = vectorise(texts, labels, site, hp, seed, report)
    model, metrics = fit_networks(inputs, hp, progress)
    del inputs

    scorer = _Batches(vectorisers, model)
    valid_texts = [texts[i] for i in valid_at]
    valid_logits = scorer.text_logits(valid_texts, hp)
    valid_polarity = text_polarity(valid_texts, hp["chunk_words"])
    scoring = Scoring()
    if hp["calibrate"]:
        lexicon = valid_polarity if hp["lexicon"] else None
        scoring = fit_scoring(valid_logits, labels[valid_at], lexicon)
    valid_probabilities = scoring.probabilities(valid_logits, valid_polarity)
    metrics.update(binary_metrics(labels[valid_at], valid_probabilities))
    metrics["log_loss"] = log_loss(labels[valid_at], valid_probabilities)
    metrics["temperature"] = scoring.temperature
    metrics["lexicon_positive"], metrics["lexicon_negative"] = scoring.lexicon_weights

    scaled(progress, 0.95, 1.0)(0.0, "saving")
    with writing(out_dir) as tmp:
        model.save(tmp / MODEL_FILE)
        (tmp / VOCABULARY_FILE).write_text(json.dumps(vectorisers.vocabularies()))
        write_meta(
            tmp,
            FORMAT,
            FORMAT_VERSION,
            data_hash=_data_hash(texts, labels, site),
            hyperparameters={**hp, "seed": seed},
            scoring={
                "chunk_words": hp["chunk_words"],
                "temperature": scoring.temperature,
                "lexicon_weights": list(scoring.lexicon_weights),
            },
            metrics=metrics,
            examples={
                "train": len(texts) - len(valid_at),
                "validation": len(valid_at),
                "unlabelled": len(site),
            },
        )
    report(1.0, "done")
    return metrics


def _stratified_split(
    labels: np.ndarray, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    valid: list[np.ndarray] = []
    train: list[np.ndarray] = []
    for value in (0, 1):
        members = rng.permutation(np.flatnonzero(labels == value))
        cut = max(1, round(len(members) * fraction)) if len(members) > 1 else 0
        valid.append(members[:cut])
        train.append(members[cut:])
    return rng.permutation(np.concatenate(train)), np.sort(np.concatenate(valid))


# --- loading -------------------------------------------------------------------------------


class SentimentModel:
    """A trained sentiment model: `predict(texts)` gives the probability each is positive."""

    def __init__(self, model: Any, vectorisers: Vectorisers, meta: dict[str, Any]) -> None:
        self._scorer = _Batches(vectorisers, model)
        stored = meta.get("scoring", {})
        self._chunk_words = int(stored.get("chunk_words", 0))
        positive, negative = stored.get("lexicon_weights", (0.0, 0.0))  # none before version 3
        self._scoring = Scoring(float(stored.get("temperature", 1.0)), (positive, negative))
        self.meta = meta
        self.version = f"{meta['created_at']}-{str(meta.get('data_hash', ''))[:8]}"

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        """The network's alone, uncalibrated: the mean over a text's chunks of the two
        branches' averaged logit."""
        return self._scorer.text_logits(list(texts), {"chunk_words": self._chunk_words})

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """The calibrated probability that each text is positive (the lexicon's part in it)."""
        if not texts:
            return np.zeros(0, dtype=np.float32)
        texts = list(texts)
        lexicon = text_polarity(texts, self._chunk_words)
        return self._scoring.probabilities(self.logits(texts), lexicon).astype(np.float32)


def load_sentiment(model_dir: Path | str) -> SentimentModel:
    import keras

    model_dir = Path(model_dir)
    meta = read_meta(model_dir, FORMAT, READABLE_VERSIONS)
    try:
        stored = json.loads((model_dir / VOCABULARY_FILE).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ArtefactError(f"{model_dir / VOCABULARY_FILE} cannot be read: {exc}") from None
    model = keras.saving.load_model(model_dir / MODEL_FILE, safe_mode=True)
    return SentimentModel(model, Vectorisers.from_vocabularies(stored), meta)
