"""Progress reporting shared by every trainer: a plain callable, so callers need no Keras.

Trainers accept `progress: Progress | None` and call it with a fraction in [0, 1] and a short
stage text ("epoch 3/10", "evaluating"). The Celery side turns these calls into TrainingRun
updates; the CLI turns them into a progress bar.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Progress = Callable[[float, str], None]


def silent(fraction: float, stage: str) -> None:
    """A Progress that reports nowhere."""


def scaled(progress: Progress | None, start: float, end: float) -> Progress:
    """Map a sub-task's 0..1 onto start..end of the caller's progress (one model of several)."""
    report = progress or silent

    def inner(fraction: float, stage: str) -> None:
        report(start + (end - start) * min(max(fraction, 0.0), 1.0), stage)

    return inner


def keras_callback(
    progress: Progress | None, epochs: int, start: float = 0.0, end: float = 1.0
) -> Any:
    """A Keras callback that reports each finished epoch through `progress`.

    Imported lazily so that modules using only `Progress` never load Keras.
    """
    import keras

    report = scaled(progress, start, end)

    class EpochProgress(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
            shown = ", ".join(f"{k} {v:.4f}" for k, v in sorted((logs or {}).items()))
            report(
                (epoch + 1) / epochs,
                f"epoch {epoch + 1}/{epochs}" + (f": {shown}" if shown else ""),
            )

    return EpochProgress()
