"""General English polarity of words, for reviews that use words no labelled text had.

A sentiment model trained on a few thousand labelled sentences knows only their words; the
next site's reviews use others ("superb", "unplayable"). VADER's lexicon (Hutto & Gilbert
2014, shipped with the vaderSentiment package) gives 7,500 English words a valence rated by
people, from -4 to +4, learnt from no site in particular. `polarity` sums the valences of a
sentence's words with two of VADER's rules, and ml.sentiment weighs the sums beside its
network's logit (weights fitted on its validation split, ml.sentiment.fit_scoring).

The positive and the negative sums are kept apart: in reviews a negative word says more than
a positive one ("good graphics but unplayable"), and the fit gives it 2-4 times the weight.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

# ml.sentiment.normalise marks the words in a negation's scope with this prefix.
NEGATED_PREFIX = "neg_"
# VADER's rules: a negated word counts -0.74 times its valence ("not good" is less bad than
# "bad"); before "but" a sentence's words count half, after it one and a half times.
NEGATION_SCALE = -0.74
BEFORE_BUT, AFTER_BUT = 0.5, 1.5
# valences run from -4 to 4; sums are divided by this so that one strong word is about 1
VALENCE_SCALE = 4.0


@functools.cache
def valences() -> dict[str, float]:
    """word → its mean valence in VADER's lexicon."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return {word: float(value) for word, value in SentimentIntensityAnalyzer().lexicon.items()}


def polarity(tokens: Sequence[str]) -> tuple[float, float]:
    """(positive, negative) valence of one sentence's normalised tokens: the sums of its
    words' valences above and below zero, each divided by VALENCE_SCALE (negative ≤ 0)."""
    lexicon = valences()
    but = tokens.index("but") if "but" in tokens else -1
    positive = negative = 0.0
    for at, token in enumerate(tokens):
        negated = token.startswith(NEGATED_PREFIX)
        value = lexicon.get(token[len(NEGATED_PREFIX) :] if negated else token)
        if value is None:
            continue
        if negated:
            value *= NEGATION_SCALE
        if but >= 0:
            value *= BEFORE_BUT if at < but else AFTER_BUT
        if value > 0:
            positive += value
        else:
            negative += value
    return positive / VALENCE_SCALE, negative / VALENCE_SCALE
