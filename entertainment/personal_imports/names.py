"""Titles as services spell them, reduced to what identifies a film or a game.

"Amélie", "AMELIE" and "Amelie" are one title; so are "Matrix, The" and "The Matrix" (the
catalogue's importers move a trailing article to the front, some exports do not) and
"Spider-Man: No Way Home" and "Spider Man No Way Home". Reduced: accents dropped (NFKD), case
folded, a trailing ", The" moved to the front, "&" read as "and", punctuation and repeated
spaces gone. A title of nothing but punctuation keeps it, so it is not the empty title.
"""

from __future__ import annotations

import re
import unicodedata

_ARTICLE_AT_END = re.compile(r"^(?P<rest>.+),\s*(?P<article>the|a|an)$", re.IGNORECASE)
_NOT_WORD = re.compile(r"[\W_]+")


def normalise(title: str) -> str:
    text = title.strip()
    if match := _ARTICLE_AT_END.match(text):
        text = f"{match['article']} {match['rest']}"
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    text = text.replace("&", " and ")
    words = _NOT_WORD.sub(" ", text).split()
    return " ".join(words) if words else " ".join(title.casefold().split())


def variants(title: str) -> set[str]:
    """The spellings a catalogue may hold a title under, for a case-insensitive lookup."""
    title = title.strip()
    found = {title}
    if match := _ARTICLE_AT_END.match(title):
        found.add(f"{match['article']} {match['rest']}")
    elif match := re.match(r"^(?P<article>the|a|an)\s+(?P<rest>.+)$", title, re.IGNORECASE):
        found.add(f"{match['rest']}, {match['article']}")
    return found
