"""The serving model of this process: the active versions loaded once, as one ml.ranking.Ranker.

Every web process (and cpu worker) holds at most a few Rankers, keyed by the directories
of the active sequence and artwork versions; which versions are active is looked up at most
every few seconds, so an activation reaches every process within that time. Loading maps the
arrays (NumPy only, never TensorFlow): processes of a node share the pages.

While a sequence experiment runs (recommender.experiments), its two versions are loaded beside
the active one, and `active(person)` gives each person the versions of their arm (the popular
lists for an arm without a version), looked up with the rest: no query per read.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from functools import lru_cache

from ml.ranking import Ranker

from . import experiments, registry
from .models import ModelVersion
from .popular import NON_PERSONAL

log = logging.getLogger(__name__)

_VERSION_TTL_S = 5.0


@dataclass(frozen=True)
class Active:
    """The active versions a list is computed with; `label` names them in lists and the API."""

    label: str
    sequence_path: str | None
    artwork_path: str | None
    # Set for a person in a running experiment: its id and the arm ("a"/"b") they see.
    experiment_id: int | None = None
    arm: str = ""

    @property
    def key(self) -> str:
        """What a cached list is checked against: the versions and, in an experiment, the
        arm, so a list computed for one arm is never served in the other."""
        if self.experiment_id is None:
            return self.label
        return f"{self.label}|x{self.experiment_id}{self.arm}"


@dataclass(frozen=True)
class _Arms:
    experiment: experiments.Running
    arms: dict[str, Active]


_active: dict[str, object] = {"checked": -1e9, "value": None, "arms": None, "generation": -1}


def active(user_id: int | None = None) -> Active:
    """The active versions (looked up at most every _VERSION_TTL_S seconds per process, and
    at once after this process started or stopped an experiment); for a person in a running
    sequence experiment, the versions of their arm."""
    now = time.monotonic()
    generation = experiments.generation()
    stale = now - float(_active["checked"]) > _VERSION_TTL_S  # type: ignore[arg-type]
    if stale or _active["generation"] != generation:
        value, arms = _lookup()
        _active.update(checked=now, value=value, arms=arms, generation=generation)
    found, experiment = _active["value"], _active["arms"]
    assert isinstance(found, Active)
    if user_id is not None and isinstance(experiment, _Arms):
        return experiment.arms[experiment.experiment.arm(user_id)]
    return found


def forget_active() -> None:
    """Look the active versions up again on the next call (after an activation here)."""
    _active["checked"] = -1e9


def _lookup() -> tuple[Active, _Arms | None]:
    versions = {
        kind: registry.active_version(kind) for kind in ("sequence", "sentiment", "artwork")
    }
    found = _serving(versions)
    experiment = experiments.running("sequence")
    if experiment is None:
        return found, None
    ids = {"a": experiment.version_a, "b": experiment.version_b}
    chosen = ModelVersion.objects.in_bulk([pk for pk in ids.values() if pk is not None])
    arms = {}
    for arm, pk in ids.items():
        version = None if pk is None else chosen.get(pk)
        # No version: the popular lists (the ranker is None, as without any sequence model).
        base = Active(NON_PERSONAL, None, None)
        if version is not None:
            base = _serving({**versions, "sequence": version})
        arms[arm] = replace(base, experiment_id=experiment.id, arm=arm)
    return found, _Arms(experiment, arms)


def _serving(versions: dict[str, ModelVersion | None]) -> Active:
    sequence = versions["sequence"]
    if sequence is None or not sequence.path:
        return Active(NON_PERSONAL, None, None)
    # The sentiment version counts too: reviews weigh the lists by the scores it gave them.
    label = "+".join(v.label for v in versions.values() if v is not None)
    artwork = versions["artwork"]
    return Active(label, sequence.path, artwork.path if artwork and artwork.path else None)


def ranker(current: Active | None = None) -> Ranker | None:
    """The loaded Ranker of the active versions (or of `current`, a person's arm); None
    without a sequence model, or when its files cannot be loaded (logged once per version:
    the site falls back to popular lists)."""
    current = current or active()
    if current.sequence_path is None:
        return None
    return _load(current.sequence_path, current.artwork_path)


# The active versions, an experiment's two arms, and one just replaced while others still
# serve it for a few seconds.
@lru_cache(maxsize=4)
def _load(sequence_path: str, artwork_path: str | None) -> Ranker | None:
    try:
        return Ranker.load(sequence_path, artwork_path)
    except Exception:
        log.exception("cannot load the serving model from %s", sequence_path)
        return None
