"""Short reviews whose wording follows their star rating.

The sentiment LSTM learns from these with the stars as weak labels (>= 4 positive, <= 2
negative), so the words must carry the sentiment: praise for high ratings, complaints for low
ones, both for the middle. Templates, aspects and word choice vary so that no single phrase
gives the label away.
"""

from __future__ import annotations

import random

POSITIVE_WORDS = [
    "brilliant", "gorgeous", "gripping", "superb", "delightful", "wonderful", "stunning",
    "beautiful", "excellent", "moving", "clever", "charming", "fantastic", "memorable",
]  # fmt: skip
# The strongest praise, kept for full marks.
RAVE_WORDS = ["flawless", "unforgettable", "extraordinary", "perfect", "breathtaking"]
NEGATIVE_WORDS = [
    "dull", "clumsy", "tedious", "flat", "forgettable", "messy", "boring", "disappointing",
    "lifeless", "bland", "sloppy", "annoying", "weak", "shallow",
]  # fmt: skip
# The harshest complaints, kept for the lowest ratings.
PAN_WORDS = ["awful", "unbearable", "dreadful", "painful", "terrible"]
MIXED_WORDS = ["uneven", "decent", "fine", "okay", "patchy", "solid", "average", "passable"]

ASPECTS = {
    "film": ["story", "acting", "pacing", "cinematography", "ending", "score", "dialogue"],
    "music": ["vocals", "production", "melodies", "lyrics", "arrangements", "rhythm section"],
    "game": ["gameplay", "controls", "level design", "story", "difficulty curve", "art style"],
}
NOUNS = {"film": "film", "music": "record", "game": "game"}

# Placeholders: {a_neg} is the word with its article ("an annoying"); {is} and {feels} agree
# with {aspect} ("the vocals are", "the story is"), {is2} with {aspect2}.
_POSITIVE = [
    "{Title} is {pos}.",
    "Absolutely {pos}: the {aspect} alone makes it worth it.",
    "The {aspect} {is} {pos} and the {aspect2} {is2} just as {pos2}.",
    "One of the most {pos} {genre} {noun}s I know.",
    "I loved every minute of it.",
    "Would happily come back to this again and again.",
    "{pos_cap} from start to finish, and the {aspect} {is} {pos2}.",
    "Highly recommended to anyone who likes {genre}.",
    "Never boring, always {pos}.",
]
_RAVE = [
    "Truly {rave}.",
    "Simply {rave}; the {aspect} {is} {pos}.",
    "This is what {genre} should be: {rave}.",
    "An absolute masterpiece.",
]
_NEGATIVE = [
    "{Title} was {neg}.",
    "I wanted to like it, but the {aspect} {is} {neg}.",
    "The {aspect} {feels} {neg} and the {aspect2} {is2} even worse.",
    "{A_neg} {genre} {noun}; I would not recommend it.",
    "Not worth your time.",
    "I gave up halfway, it was that {neg}.",
    "{neg_cap} and {neg2}, with {a_neg} {aspect}.",
    "Hard to care about anything here.",
]
_PAN = [
    "Honestly {pan}.",
    "{pan_cap}: the {aspect} {is} {neg} and nothing works.",
    "One of the most {pan} things I have sat through.",
]
_MIXED = [
    "{Title} is {mixed}.",
    "The {aspect} {is} {pos}, but the {aspect2} {is2} {neg}.",
    "{A_mixed} {genre} {noun} with some {pos} moments.",
    "Some parts are {pos}, others a bit {neg}.",
    "{mixed_cap} overall; the {aspect} could be better.",
    "Worth a try if you like {genre}, nothing more.",
]


def _with_article(word: str) -> str:
    return f"{'an' if word[0] in 'aeiou' else 'a'} {word}"


def _plural(noun: str) -> bool:
    return noun.endswith("s")


def _templates(stars: float) -> list[list[str]]:
    """Template pools to draw sentences from, strongest first."""
    if stars >= 4.5:
        return [_RAVE, _POSITIVE]
    if stars >= 4.0:
        return [_POSITIVE]
    if stars <= 1.0:
        return [_PAN, _NEGATIVE]
    if stars <= 2.0:
        return [_NEGATIVE]
    return [_MIXED]


def review_text(rng: random.Random, kind: str, title: str, genre: str, stars: float) -> str:
    """One to three sentences about `title` whose tone matches `stars` (0.5 to 5)."""
    pools = _templates(stars)
    count = rng.choice([1, 2, 2, 3])
    aspect, aspect2 = rng.sample(ASPECTS[kind], 2)
    pos, pos2 = rng.sample(POSITIVE_WORDS, 2)
    neg, neg2 = rng.sample(NEGATIVE_WORDS, 2)
    mixed = rng.choice(MIXED_WORDS)
    words = {
        "Title": title,
        "genre": genre.lower(),
        "noun": NOUNS[kind],
        "aspect": aspect,
        "aspect2": aspect2,
        "is": "are" if _plural(aspect) else "is",
        "is2": "are" if _plural(aspect2) else "is",
        "feels": "feel" if _plural(aspect) else "feels",
        "pos": pos,
        "pos2": pos2,
        "pos_cap": pos.capitalize(),
        "neg": neg,
        "neg2": neg2,
        "neg_cap": neg.capitalize(),
        "a_neg": _with_article(neg),
        "A_neg": _with_article(neg).capitalize(),
        "rave": rng.choice(RAVE_WORDS),
        "pan": rng.choice(PAN_WORDS),
        "pan_cap": rng.choice(PAN_WORDS).capitalize(),
        "mixed": mixed,
        "A_mixed": _with_article(mixed).capitalize(),
        "mixed_cap": rng.choice(MIXED_WORDS).capitalize(),
    }
    # The first sentence comes from the strongest pool, the rest from any of them.
    chosen = [rng.choice(pools[0])]
    candidates = [template for pool in pools for template in pool if template not in chosen]
    chosen += rng.sample(candidates, min(count - 1, len(candidates)))
    return " ".join(template.format(**words) for template in chosen)
