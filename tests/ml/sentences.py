"""Generated labelled sentences for the sentiment tests: filler words around one sentiment
word, so what a model must learn (or be told) is planted and known."""

from __future__ import annotations

import numpy as np

FILLER = ["the", "a", "this", "film", "show", "game", "it", "was", "is", "and", "plot"]
GOOD_CONTEXT = ["joy", "smile", "delight", "cheer"]
BAD_CONTEXT = ["pain", "frown", "misery", "gloom"]


def sentences(
    n: int, seed: int, good: str, bad: str, context: bool = False
) -> tuple[list[str], np.ndarray]:
    """Filler sentences holding one sentiment word, positive (label 1) and negative in turn;
    with `context`, also a word or two that go with that side (the site's way of writing,
    seen only in its unlabelled text)."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for i in range(n):
        label = i % 2
        words = rng.choice(FILLER, size=int(rng.integers(3, 7))).tolist()
        phrase = [good if label else bad]
        if context:
            phrase += rng.choice(GOOD_CONTEXT if label else BAD_CONTEXT, size=2).tolist()
        at = int(rng.integers(len(words) + 1))
        words[at:at] = phrase
        texts.append(" ".join(words))
        labels.append(label)
    return texts, np.array(labels)
