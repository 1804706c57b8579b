"""Names as players spell them, reduced to what identifies a piece of music.

"Beyoncé feat. JAY-Z", "BEYONCE" and "Beyonce (featuring Jay Z)" are one artist; "Crazy in
Love [feat. Jay-Z]" and "crazy in love" one title. Reduced: accents dropped (NFKD), case
folded, "feat." parts removed, "&" read as "and", punctuation and repeated spaces gone. A name
that is nothing but punctuation ("!!!") keeps its punctuation, so it is not the empty name.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache

# " feat. X", " (feat. X)", " [ft X]", " featuring X": to the end of the name, or of the bracket.
_FEATURING = re.compile(
    r"\s*(?:[(\[]\s*(?:feat\.?|ft\.?|featuring)\s[^)\]]*[)\]]|\s(?:feat\.?|ft\.|featuring)\s.*$)",
    re.IGNORECASE,
)
_NOT_WORD = re.compile(r"[\W_]+")
SEPARATOR = "\x1f"


@lru_cache(maxsize=65536)  # a listening history names the same artists again and again
def normalise(name: str) -> str:
    text = _FEATURING.sub("", name.strip())
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.casefold()
    text = text.replace("&", " and ")
    words = _NOT_WORD.sub(" ", text).split()
    return " ".join(words) if words else " ".join(name.casefold().split())


def key_digest(*names: str) -> str:
    """A fixed-length, indexable digest of normalised names (artist, then album or title)."""
    joined = SEPARATOR.join(normalise(name) for name in names)
    return hashlib.sha1(joined.encode("utf-8"), usedforsecurity=False).hexdigest()
