"""The GRU next-item model: read a person's items in order, predict what comes next.

Training (chosen on bench/ml_sequence.py, see ml/README.md):
- every position of every history is a training example (causal next-item targets); histories
  longer than `max_len` are cut into windows of `max_len`, latest window aligned to the end;
- the loss is cross-entropy over the full catalogue (`loss="full"`), or, for catalogues too large
  for that, over the true next item and `negatives` items sampled uniformly per window
  (`loss="sampled"`, a sampled softmax with accidental hits masked);
- input and output item embeddings are tied (one table), with dropout on the embeddings and on
  the GRU output; Adam; early stopping on validation NDCG@10 of each user's held-out last item,
  keeping the best epoch's weights.
Histories without timestamps have no known order: their items are shuffled afresh every epoch,
so the model learns them as a set instead of a made-up order.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
from keras import ops

from ml.artefacts import hash_files, load_array, read_meta, save_arrays, write_meta, writing
from ml.data import DataError, Interaction, Sequences, encode, read_interactions
from ml.evaluation import metrics, recommend
from ml.progress import Progress, scaled
from ml.serving import SEQUENCE_FORMAT, SEQUENCE_FORMAT_VERSION

FORMAT = SEQUENCE_FORMAT
FORMAT_VERSION = SEQUENCE_FORMAT_VERSION

DEFAULTS: dict[str, Any] = {
    "dim": 64,
    "hidden": 64,
    "dropout": 0.4,
    "max_len": 20,
    "batch_size": 64,
    "learning_rate": 0.01,
    "epochs": 12,
    "patience": 4,
    "loss": "full",  # or "sampled" for catalogues too large for a full softmax
    "negatives": 256,
}


def build_model(n_items: int, dim: int, hidden: int, dropout: float) -> NextItemGRU:
    model = NextItemGRU(n_items=n_items, dim=dim, hidden=hidden, dropout=dropout)
    model.build((None, None))
    return model


@keras.saving.register_keras_serializable(package="encore")
class NextItemGRU(keras.Model):
    """Items (0 = padding, item i is i + 1) → logits for the next item at every position.

    Called with a dict {"items", "targets", "negatives"} it returns sampled logits instead:
    column 0 the true next item, then the window's shared negatives.
    """

    def __init__(self, n_items: int, dim: int, hidden: int, dropout: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.n_items, self.dim, self.hidden, self.dropout_rate = n_items, dim, hidden, dropout
        self.embedding = keras.layers.Embedding(
            n_items + 1, dim, mask_zero=True, name="item_embedding"
        )
        self.embedding_dropout = keras.layers.Dropout(dropout)
        self.gru = keras.layers.GRU(hidden, return_sequences=True, name="gru")
        self.output_dropout = keras.layers.Dropout(dropout)
        self.projection = keras.layers.Dense(dim, name="projection")

    def build(self, input_shape: Any) -> None:
        self.embedding.build((None, None))
        self.gru.build((None, None, self.dim))
        self.projection.build((None, None, self.hidden + self.dim))
        self.item_bias = self.add_weight(
            shape=(self.n_items + 1,), initializer="zeros", name="item_bias"
        )
        self.built = True

    def encode(self, items: Any, training: bool | None = None) -> Any:
        mask = ops.not_equal(items, 0)
        x = self.embedding_dropout(self.embedding(items), training=training)
        h = self.gru(x, mask=mask, training=training)
        # The current item's embedding skips past the GRU: what follows an item is learnt
        # directly (as a Markov chain would), the GRU adds what the longer history says.
        h = self.output_dropout(ops.concatenate([h, x], axis=-1), training=training)
        return self.projection(h)

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        table = self.embedding.embeddings
        if isinstance(inputs, dict):
            z = self.encode(inputs["items"], training=training)
            targets, negatives = inputs["targets"], inputs["negatives"]
            positive = ops.sum(z * ops.take(table, targets, axis=0), axis=-1, keepdims=True)
            positive = positive + ops.expand_dims(ops.take(self.item_bias, targets), -1)
            neg_vectors = ops.take(table, negatives, axis=0)  # (B, S, d)
            negative = ops.einsum("btd,bsd->bts", z, neg_vectors)
            negative = negative + ops.expand_dims(ops.take(self.item_bias, negatives), 1)
            # A sampled "negative" that is the true next item must not be pushed down.
            hit = ops.equal(ops.expand_dims(targets, -1), ops.expand_dims(negatives, 1))
            negative = ops.where(hit, ops.full_like(negative, -1e9), negative)
            return ops.concatenate([positive, negative], axis=-1)
        z = self.encode(inputs, training=training)
        return ops.matmul(z, ops.transpose(table)) + self.item_bias

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "n_items": self.n_items,
            "dim": self.dim,
            "hidden": self.hidden,
            "dropout": self.dropout_rate,
        }


def windows(histories: Sequence[Sequence[int]], max_len: int) -> tuple[np.ndarray, np.ndarray]:
    """Left-padded (inputs, targets) windows covering every next-item step of every history.

    Indices are shifted by one (0 is padding). The latest window ends at the history's end;
    earlier ones tile backwards, so each step is a target exactly once.
    """
    inputs, targets = [], []
    for history in histories:
        seq = np.asarray(history, dtype=np.int32) + 1
        end = len(seq)
        while end > 1:
            start = max(0, end - max_len - 1)
            chunk = seq[start:end]
            x, y = chunk[:-1], chunk[1:]
            row_x = np.zeros(max_len, dtype=np.int32)
            row_y = np.zeros(max_len, dtype=np.int32)
            row_x[max_len - len(x) :] = x
            row_y[max_len - len(y) :] = y
            inputs.append(row_x)
            targets.append(row_y)
            end = start + 1
    if not inputs:
        return np.zeros((0, max_len), np.int32), np.zeros((0, max_len), np.int32)
    return np.stack(inputs), np.stack(targets)


def left_pad(histories: Sequence[Sequence[int]], max_len: int) -> np.ndarray:
    out = np.zeros((len(histories), max_len), dtype=np.int32)
    for row, history in enumerate(histories):
        tail = np.asarray(history[-max_len:], dtype=np.int32) + 1
        if len(tail):
            out[row, max_len - len(tail) :] = tail
    return out


def export_arrays(model: Any) -> dict[str, np.ndarray]:
    """The weights serving needs, as plain arrays (see ml.serving)."""
    kernel, recurrent, bias = (np.asarray(w) for w in model.gru.get_weights())
    proj_w, proj_b = (np.asarray(w) for w in model.projection.get_weights())
    return {
        "item_embedding": np.asarray(model.embedding.embeddings),
        "gru_kernel": kernel,
        "gru_recurrent_kernel": recurrent,
        "gru_bias": bias,
        "projection_kernel": proj_w,
        "projection_bias": proj_b,
        "item_bias": np.asarray(model.item_bias),
    }


class KerasScorer:
    """Scores from the Keras model itself (used for the NumPy-equality check and validation)."""

    def __init__(self, model: Any, max_len: int, batch: int = 512) -> None:
        self.model, self.max_len, self.batch = model, max_len, batch

    def scores(self, histories: Sequence[Sequence[int]]) -> np.ndarray:
        out = []
        for start in range(0, len(histories), self.batch):
            x = left_pad(histories[start : start + self.batch], self.max_len)
            z = np.asarray(self.model.encode(x, training=False))[:, -1, :]
            table = np.asarray(self.model.embedding.embeddings)
            out.append(z @ table[1:].T + np.asarray(self.model.item_bias)[1:])
        if not out:
            return np.zeros((0, self.model.n_items), dtype=np.float32)
        return np.concatenate(out).astype(np.float32)


def fit(
    train: Sequences,
    valid_targets: np.ndarray,
    *,
    seed: int = 0,
    progress: Progress | None = None,
    **hyper: Any,
) -> tuple[Any, dict[str, Any]]:
    """Train on `train`, early-stopping on each user's `valid_targets` item (-1: none).

    Returns the model with the best epoch's weights and a summary of training.
    """
    unknown = set(hyper) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown sequence hyperparameters: {sorted(unknown)}")
    hp = {**DEFAULTS, **hyper}
    if hp["loss"] not in ("full", "sampled"):
        raise ValueError(f"loss must be 'full' or 'sampled', not {hp['loss']!r}")
    report = progress or (lambda fraction, stage: None)
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    n_items = train.n_items

    model = build_model(n_items, hp["dim"], hp["hidden"], hp["dropout"])
    steps = len(windows(train.histories, hp["max_len"])[0]) // hp["batch_size"] + 1
    # Cosine decay to zero over the epoch budget: late epochs change the model little, so the
    # validation score stops jumping about and the best epoch is a real one, not a lucky one.
    schedule = keras.optimizers.schedules.CosineDecay(
        hp["learning_rate"], decay_steps=steps * hp["epochs"]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=schedule),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    valid_users = np.flatnonzero(valid_targets >= 0)
    valid_histories = [train.histories[u] for u in valid_users]
    scorer = KerasScorer(model, hp["max_len"])

    best: dict[str, Any] = {"ndcg@10": -1.0, "epoch": 0, "weights": model.get_weights()}
    log = []
    started = time.monotonic()
    for epoch in range(1, hp["epochs"] + 1):
        histories = [
            h if ordered else list(rng.permutation(h))
            for h, ordered in zip(train.histories, train.ordered, strict=True)
        ]
        x, y = windows(histories, hp["max_len"])
        if len(x) == 0:
            raise DataError("no user has two or more items: there is no next item to learn")
        weight = (y > 0).astype(np.float32)
        if hp["loss"] == "full":
            inputs: Any = x
            labels = y
        else:
            count = min(hp["negatives"], n_items)
            inputs = {
                "items": x,
                "targets": y,
                "negatives": rng.integers(1, n_items + 1, size=(len(x), count), dtype=np.int32),
            }
            labels = np.zeros_like(y)
        order = rng.permutation(len(x))
        inputs = {k: v[order] for k, v in inputs.items()} if isinstance(inputs, dict) else x[order]
        fitted = model.fit(
            inputs,
            labels[order],
            sample_weight=weight[order],
            batch_size=hp["batch_size"],
            epochs=1,
            shuffle=False,
            verbose=0,
        )
        loss = float(fitted.history["loss"][-1])
        if len(valid_users):
            ranked, _ = recommend(scorer, valid_histories, 10)
            score = metrics(ranked, valid_targets[valid_users], n_items)["ndcg@10"]
        else:
            score = -loss  # nothing held out: keep the epoch with the lowest training loss
        log.append({"epoch": epoch, "loss": round(loss, 5), "valid_ndcg@10": round(score, 5)})
        if score > best["ndcg@10"]:
            best = {"ndcg@10": score, "epoch": epoch, "weights": model.get_weights()}
        report(
            epoch / hp["epochs"], f"epoch {epoch}/{hp['epochs']}: loss {loss:.3f}, ndcg {score:.4f}"
        )
        if epoch - best["epoch"] >= hp["patience"]:
            break
    model.set_weights(best["weights"])
    summary = {
        "best_epoch": best["epoch"],
        "valid_ndcg@10": best["ndcg@10"],
        "epochs_run": len(log),
        "train_seconds": round(time.monotonic() - started, 1),
        "log": log,
    }
    return model, {"hyperparameters": hp, **summary}


def _hash_rows(rows: Iterable[Interaction]) -> str:
    digest = hashlib.sha256()
    for r in rows:
        digest.update(f"{r.user}\t{r.item}\t{r.timestamp}\t{r.weight}\n".encode())
    return digest.hexdigest()


def hold_out_last(seqs: Sequences, seed: int = 0) -> tuple[Sequences, np.ndarray]:
    """Each user's last item (of at least 2) becomes the validation target; the rest trains.

    A history without timestamps has no last item: it is ordered by weight, so its last is the
    heaviest (the highest rated), and early stopping and the blend's tuning would learn to find
    favourites rather than the random item the protocol holds out. One item drawn with the seed
    is held out instead, as ml.evaluation does.
    """
    rng = np.random.default_rng(seed)
    valid = np.full(len(seqs.users), -1, dtype=np.int64)
    histories = []
    for u, history in enumerate(seqs.histories):
        if len(history) >= 2:
            at = len(history) - 1 if seqs.ordered[u] else int(rng.integers(len(history)))
            valid[u] = history[at]
            histories.append([*history[:at], *history[at + 1 :]])
        else:
            histories.append(list(history))
    train = Sequences(seqs.items, seqs.users, histories, seqs.ordered, seqs.weights)
    return train, valid


def train_sequence(
    interactions: Iterable[Interaction] | Path | str,
    out_dir: Path | str,
    *,
    seed: int = 0,
    progress: Progress | None = None,
    **hyper: Any,
) -> dict[str, Any]:
    """Train on every user's history, early-stopped on each one's last item; write the model.

    `interactions` is a list of rows or the path of an I.csv. Returns the validation metrics.
    """
    if isinstance(interactions, str | Path):
        data_hash = hash_files([Path(interactions)])
        rows = read_interactions(interactions)
    else:
        rows = list(interactions)
        data_hash = _hash_rows(rows)
    seqs = encode(rows)
    train, valid = hold_out_last(seqs, seed)
    model, summary = fit(train, valid, seed=seed, progress=scaled(progress, 0.0, 0.95), **hyper)
    users = np.flatnonzero(valid >= 0)
    ranked, _ = recommend(
        KerasScorer(model, summary["hyperparameters"]["max_len"]),
        [train.histories[u] for u in users],
        10,
    )
    result = metrics(ranked, valid[users], seqs.n_items)
    save(model, out_dir, seqs.items, data_hash, summary, result)
    if progress:
        progress(1.0, "saved")
    return result


def save(
    model: Any,
    out_dir: Path | str,
    items: list[str],
    data_hash: str,
    summary: dict[str, Any],
    result: dict[str, float],
) -> None:
    with writing(out_dir) as tmp:
        model.save(tmp / "model.keras")
        save_arrays(tmp, **export_arrays(model), items=item_array(items))
        write_meta(
            tmp,
            FORMAT,
            FORMAT_VERSION,
            n_items=len(items),
            data_hash=data_hash,
            hyperparameters=summary["hyperparameters"],
            metrics=result,
            training={k: v for k, v in summary.items() if k != "hyperparameters"},
        )


def item_array(items: Sequence[str]) -> np.ndarray:
    """Item ids as saved beside a model (a NumPy string array: loads without pickle, maps)."""
    return np.asarray([str(i) for i in items], dtype=np.str_)


class SequenceModel:
    """A loaded Keras sequence model with its item ids."""

    def __init__(self, model: Any, meta: dict[str, Any], items: list[str]) -> None:
        self.model = model
        self.meta = meta
        self.items = items
        self.max_len: int = meta["hyperparameters"]["max_len"]

    def scores(self, histories: Sequence[Sequence[int]]) -> np.ndarray:
        return KerasScorer(self.model, self.max_len).scores(histories)


def load_sequence(model_dir: Path | str) -> SequenceModel:
    meta = read_meta(model_dir, FORMAT, [FORMAT_VERSION])
    model = keras.saving.load_model(Path(model_dir) / "model.keras", safe_mode=True, compile=False)
    return SequenceModel(model, meta, [str(i) for i in load_array(model_dir, "items")])
