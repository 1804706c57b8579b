"""Review sentiment: a bidirectional LSTM over words, beside a linear bag-of-n-grams branch.

Text is normalised in Python (lower case, "n't" -> " not", negation scope marked, `!`/`?` kept
as tokens), then three Keras `TextVectorization` layers learnt from the training corpus turn it
into numbers:

- `words`: word ids in order, for the embedding and the BiLSTM;
- `word_ngrams`: a multi-hot bag of word unigrams and bigrams;
- `char_ngrams`: a multi-hot bag of character 2- to 5-grams (robust to typos and word forms).

The model adds the BiLSTM's logit to the logit of a linear model over the two bags ("wide and
deep"): on a couple of thousand sentences the bags give a strong start and the LSTM learns
word order and negation on top. The vocabularies are stored as JSON lists (`vocabulary.json`)
and the vectorisers rebuilt from them on load, so `model.keras` holds only numeric layers
(loaded with safe mode on) and any Keras backend can run it.
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
from ml.progress import Progress, keras_callback, scaled

FORMAT = "encore.sentiment"
FORMAT_VERSION = 1
VOCABULARY_FILE = "vocabulary.json"
MODEL_FILE = "model.keras"

DEFAULTS: dict[str, Any] = {
    "word_vocabulary": 8000,
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
            out.append(f"neg_{token}" if negated and token not in _NEGATIONS else token)
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


# --- vectorisation -------------------------------------------------------------------------


@dataclass
class Vectorisers:
    """The three TextVectorization layers, rebuilt from stored vocabularies."""

    words: Any
    word_ngrams: Any
    char_ngrams: Any

    @classmethod
    def learn(cls, texts: Sequence[str], hyper: dict[str, Any]) -> Vectorisers:
        import keras

        normalised = np.asarray([normalise(t) for t in texts])
        layers = cls(
            words=keras.layers.TextVectorization(
                max_tokens=hyper["word_vocabulary"],
                standardize=None,
                output_sequence_length=hyper["sequence_length"],
            ),
            word_ngrams=keras.layers.TextVectorization(
                max_tokens=hyper["ngram_vocabulary"],
                standardize=None,
                ngrams=2,
                output_mode="multi_hot",
            ),
            char_ngrams=keras.layers.TextVectorization(
                max_tokens=hyper["char_vocabulary"],
                standardize=None,
                split="character",
                ngrams=(2, 3, 4, 5),
                output_mode="multi_hot",
            ),
        )
        for layer in (layers.words, layers.word_ngrams, layers.char_ngrams):
            layer.adapt(normalised)
        return layers

    @classmethod
    def from_vocabularies(cls, stored: dict[str, Any]) -> Vectorisers:
        import keras

        def rebuild(entry: dict[str, Any]) -> Any:
            config = dict(entry["config"])
            if isinstance(config.get("ngrams"), list):  # JSON has no tuples
                config["ngrams"] = tuple(config["ngrams"])
            vocabulary = entry["vocabulary"]
            if config.get("output_mode", "int") == "int":
                vocabulary = vocabulary[2:]  # padding and OOV are added back by the layer
            else:
                vocabulary = vocabulary[1:]  # OOV
            return keras.layers.TextVectorization(vocabulary=vocabulary, **config)

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


# --- the model -----------------------------------------------------------------------------


def build_models(sizes: dict[str, int], hyper: dict[str, Any]) -> dict[str, Any]:
    """The two branches as models of their own (trained one after the other, each with its own
    early stopping) and `combined`, which shares their layers and averages their logits.

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
        x = layers.Embedding(sizes["words"], hyper["embedding_dim"], mask_zero=True)(words)
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
        built = keras.Model(inputs, layers.Activation("sigmoid", name="positive")(logit), name=name)
        if not trained:
            return built  # uncompiled: it is saved and served, never fitted itself
        built.compile(
            optimizer=keras.optimizers.Adam(hyper["learning_rate"]),
            loss="binary_crossentropy",
            metrics=["accuracy"],
        )
        return built

    models = {f"lstm_{i}": model(logit, f"lstm_{i}") for i, logit in enumerate(lstm_logits)}
    models["lstm"] = model(lstm_logit, "lstm", trained=False)
    models["bag"] = model(bag_logit, "bag")
    models["combined"] = model(
        layers.Average()([lstm_logit, bag_logit]), "sentiment", trained=False
    )
    return models


def _data_hash(texts: Sequence[str], labels: np.ndarray) -> str:
    digest = hashlib.sha256()
    for text, label in zip(texts, labels.tolist(), strict=True):
        digest.update(f"{label}\t{text}\n".encode())
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


def train_sentiment(
    texts: list[str],
    labels: np.ndarray,
    out_dir: Path | str,
    *,
    seed: int = 0,
    progress: Progress | None = None,
    **hyper: Any,
) -> dict[str, float]:
    """Train on labelled texts (1 positive, 0 negative) and write the model directory.

    A stratified `validation_fraction` of the data is held out for early stopping; the
    returned metrics (also in meta.json) are measured on it.
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

    train_at, valid_at = _stratified_split(labels, hp["validation_fraction"], seed)
    train_texts = [texts[i] for i in train_at]
    report(0.0, "learning vocabularies")
    vectorisers = Vectorisers.learn(train_texts, hp)
    x_train = vectorisers(train_texts)
    x_valid = vectorisers([texts[i] for i in valid_at])
    sizes = {name: int(array.shape[1]) for name, array in x_train.items()}
    sizes["words"] = vectorisers.words.vocabulary_size()

    models = build_models(sizes, hp)
    lstms = [f"lstm_{i}" for i in range(hp["lstm_members"])]
    branches = {"both": [*lstms, "bag"], "lstm": lstms, "bag": ["bag"]}[hp["branches"]]
    metrics: dict[str, float] = {}
    for step, branch in enumerate(branches):
        stop = keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=hp["patience"], restore_best_weights=True
        )
        share = 0.9 / len(branches)
        models[branch].fit(
            x_train,
            labels[train_at],
            validation_data=(x_valid, labels[valid_at]),
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
    model = models["combined"] if hp["branches"] == "both" else models[hp["branches"]]
    valid_probabilities = model.predict(x_valid, verbose=0, batch_size=256)[:, 0]
    metrics.update(binary_metrics(labels[valid_at], valid_probabilities))

    scaled(progress, 0.95, 1.0)(0.0, "saving")
    with writing(out_dir) as tmp:
        model.save(tmp / MODEL_FILE)
        (tmp / VOCABULARY_FILE).write_text(json.dumps(vectorisers.vocabularies()))
        write_meta(
            tmp,
            FORMAT,
            FORMAT_VERSION,
            data_hash=_data_hash(texts, labels),
            hyperparameters={**hp, "seed": seed},
            metrics=metrics,
            examples={"train": len(train_at), "validation": len(valid_at)},
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
        self._model = model
        self._vectorisers = vectorisers
        self.meta = meta
        self.version = f"{meta['created_at']}-{str(meta.get('data_hash', ''))[:8]}"

    def predict(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros(0, dtype=np.float32)
        inputs = self._vectorisers(list(texts))
        return np.asarray(self._model.predict(inputs, verbose=0, batch_size=256))[:, 0]


def load_sentiment(model_dir: Path | str) -> SentimentModel:
    import keras

    model_dir = Path(model_dir)
    meta = read_meta(model_dir, FORMAT, [FORMAT_VERSION])
    try:
        stored = json.loads((model_dir / VOCABULARY_FILE).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ArtefactError(f"{model_dir / VOCABULARY_FILE} cannot be read: {exc}") from None
    model = keras.saving.load_model(model_dir / MODEL_FILE, safe_mode=True)
    return SentimentModel(model, Vectorisers.from_vocabularies(stored), meta)
