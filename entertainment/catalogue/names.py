"""Names as other services spell them, reduced to what identifies a catalogue item.

One reduction for every importer, so that a title or an artist matches the same way whichever
door it came in by: accents dropped (NFKD), case folded, "&" read as "and", punctuation and
repeated spaces gone. A name of nothing but punctuation ("!!!") keeps it, so it is not the
empty name. Each kind adds what its sources vary in:

- `title_key` (films and games, from personal exports): "Matrix, The" and "The Matrix" are one
  title (the catalogue's importers move a trailing article to the front, some exports do not);
- `music_key` (artists, albums and tracks, from players and scrobblers): "Beyoncé feat. JAY-Z"
  and "Beyonce (featuring Jay Z)" are one artist, "Crazy in Love [feat. Jay-Z]" one title.
  `name_digest` (of `music_key`s) is what the listen tables and Plex's marks index, so this
  reduction must not change without a migration that recomputes the stored digests.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache

_ARTICLE_AT_END = re.compile(r"^(?P<rest>.+),\s*(?P<article>the|a|an)$", re.IGNORECASE)
_ARTICLE_AT_START = re.compile(r"^(?P<article>the|a|an)\s+(?P<rest>.+)$", re.IGNORECASE)
# " feat. X", " (feat. X)", " [ft X]", " featuring X": to the end of the name, or of the bracket.
_FEATURING = re.compile(
    r"\s*(?:[(\[]\s*(?:feat\.?|ft\.?|featuring)\s[^)\]]*[)\]]|\s(?:feat\.?|ft\.|featuring)\s.*$)",
    re.IGNORECASE,
)
_NOT_WORD = re.compile(r"[\W_]+")
SEPARATOR = "\x1f"


def _reduced(text: str, original: str) -> str:
    """`text` without accents, case, "&" or punctuation; `original` folded if nothing is left."""
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.casefold().replace("&", " and ")
    words = _NOT_WORD.sub(" ", text).split()
    return " ".join(words) if words else " ".join(original.casefold().split())


def title_key(title: str) -> str:
    """A film's or a game's title as matched: a trailing article moved to the front."""
    text = title.strip()
    if match := _ARTICLE_AT_END.match(text):
        text = f"{match['article']} {match['rest']}"
    return _reduced(text, title)


def title_variants(title: str) -> set[str]:
    """The spellings a catalogue may hold a title under, for a case-insensitive lookup."""
    title = title.strip()
    found = {title}
    if match := _ARTICLE_AT_END.match(title):
        found.add(f"{match['article']} {match['rest']}")
    elif match := _ARTICLE_AT_START.match(title):
        found.add(f"{match['rest']}, {match['article']}")
    return found


@lru_cache(maxsize=65536)  # a listening history names the same artists again and again
def music_key(name: str) -> str:
    """An artist's, album's or track's name as matched: its "feat." parts removed."""
    return _reduced(_FEATURING.sub("", name.strip()), name)


def name_digest(*names: str) -> str:
    """A fixed-length, indexable digest of names reduced by `music_key` (artist, then album or
    title)."""
    joined = SEPARATOR.join(music_key(name) for name in names)
    return hashlib.sha1(joined.encode("utf-8"), usedforsecurity=False).hexdigest()
