"""The serving model of this process: the active versions loaded once, as one ml.ranking.Ranker.

Every web process (and cpu worker) holds at most a couple of Rankers, keyed by the directories
of the active sequence and artwork versions; which versions are active is looked up at most
every few seconds, so an activation reaches every process within that time. Loading maps the
arrays (NumPy only, never TensorFlow): processes of a node share the pages.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from functools import lru_cache

from ml.ranking import Ranker

from . import registry
from .popular import NON_PERSONAL

log = logging.getLogger(__name__)

_VERSION_TTL_S = 5.0


@dataclass(frozen=True)
class Active:
    """The active versions a list is computed with; `label` names them in lists and the API."""

    label: str
    sequence_path: str | None
    artwork_path: str | None


_active: dict[str, object] = {"checked": -1e9, "value": None}


def active() -> Active:
    """The active versions (looked up at most every _VERSION_TTL_S seconds per process)."""
    now = time.monotonic()
    if now - float(_active["checked"]) > _VERSION_TTL_S:  # type: ignore[arg-type]
        _active.update(checked=now, value=_lookup())
    value = _active["value"]
    assert isinstance(value, Active)
    return value


def forget_active() -> None:
    """Look the active versions up again on the next call (after an activation here)."""
    _active["checked"] = -1e9


def _lookup() -> Active:
    versions = {
        kind: registry.active_version(kind) for kind in ("sequence", "sentiment", "artwork")
    }
    sequence = versions["sequence"]
    if sequence is None or not sequence.path:
        return Active(NON_PERSONAL, None, None)
    # The sentiment version counts too: reviews weigh the lists by the scores it gave them.
    label = "+".join(v.label for v in versions.values() if v is not None)
    artwork = versions["artwork"]
    return Active(label, sequence.path, artwork.path if artwork and artwork.path else None)


def ranker() -> Ranker | None:
    """The loaded Ranker of the active versions; None without a sequence model, or when its
    files cannot be loaded (logged once per version: the site falls back to popular lists)."""
    current = active()
    if current.sequence_path is None:
        return None
    return _load(current.sequence_path, current.artwork_path)


@lru_cache(maxsize=2)
def _load(sequence_path: str, artwork_path: str | None) -> Ranker | None:
    try:
        return Ranker.load(sequence_path, artwork_path)
    except Exception:
        log.exception("cannot load the serving model from %s", sequence_path)
        return None
