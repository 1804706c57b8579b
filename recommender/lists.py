"""A person's lists as pages and the API read them: computed on demand, kept in the cache.

A list follows its person, not a clock. Each person has a *stamp* in the cache, a token that
every event of theirs (a play, rating or review, by page, API or bulk ingestion) and every
privacy change replaces once it has committed. A cached list carries the stamp and the active
model versions it was computed with; a read that finds either changed computes the lists of
every kind again in the calling process (recommender.personal, a few milliseconds) and caches
them under the stamp it read *before* reading the history. So a list computed from a history
without an event can never be kept as current after the event: the event's new stamp already
differs from the one the list carries.

People without any history, and people who switched personalisation off, see the popular
lists (recommender.popular). The cache holds derived data only: without it every read computes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from entertainment import caching
from entertainment.catalogue.models import Kind

from . import controls, personal, serving
from .entries import Entry, RecommendationList, plain
from .popular import NON_PERSONAL, popular

# Lists are recomputed whenever they are stale, so the TTL only bounds what an idle person
# costs the cache; the stamp outlives them (a lost stamp costs one computation, nothing more).
CACHE_TTL_S = 2 * 3600
STAMP_TTL_S = 7 * 24 * 3600
# Privacy changes drop the cached switch at once (receivers.py); the TTL bounds the rest.
PERSONALISED_TTL_S = 300

__all__ = ["NON_PERSONAL", "Entry", "RecommendationList", "plain", "popular"]


def cache_key(user_id: int, kind: str) -> str:
    return f"recs:{user_id}:{kind}"


def stamp_key(user_id: int) -> str:
    return f"recs:stamp:{user_id}"


def personalised_key(user_id: int) -> str:
    return f"recs:personalised:{user_id}"


def touch(user_ids: Iterable[int]) -> None:
    """These people's history or settings changed (called after commit): every cached list
    of theirs is stale from now on."""
    caching.put_many({stamp_key(u): uuid.uuid4().hex for u in user_ids}, STAMP_TTL_S)


def stamp(user_id: int, cached: dict[str, Any]) -> str | None:
    """The person's stamp as read, or a new one when they had none (add: a concurrent event's
    stamp wins, and is then read back). None only when the cache is down."""
    found = cached.get(stamp_key(user_id))
    if isinstance(found, str):
        return found
    fresh = uuid.uuid4().hex
    if caching.add(stamp_key(user_id), fresh, STAMP_TTL_S):
        return fresh
    again = caching.get(stamp_key(user_id))
    return again if isinstance(again, str) else None


def compute(user_id: int, current: str | None = None) -> dict[str, dict[str, Any]]:
    """Compute and cache the person's lists of every kind under their stamp (`current`, as
    read before this; read now when not given); returns them as cached, by kind."""
    if current is None:
        current = stamp(user_id, {})
    # The person's arm where an experiment runs: its key keeps the arms' lists apart. Read
    # before the lists are: should an experiment start or stop meanwhile, the key is stale and
    # the next read computes again, never serving one arm's list in the other.
    active = serving.active(user_id).key
    found, history = personal.compute(user_id)
    # Their list style and the diversity cap, whichever version ranked (controls.py).
    found = controls.arranged_lists(user_id, found)
    payloads = {
        kind: {
            "a": active,
            "s": current,
            "h": history,
            "v": found[kind].model_version,
            "p": found[kind].personalised,
            "e": [plain(e) for e in found[kind].entries],
        }
        for kind in Kind.values
    }
    if current is not None:
        caching.put_many({cache_key(user_id, kind): p for kind, p in payloads.items()}, CACHE_TTL_S)
    return payloads


def drop_stale(computed: dict[int, str | None]) -> list[int]:
    """Delete the lists just cached for these people (person -> the stamp they were computed
    under) whose stamp has changed since: an event, a privacy change or an erasure committed
    while they were computed. Such a list is never served (its stamp is not current), but it
    may name what was just erased, so it does not wait for its TTL. Returns those people."""
    stamps = caching.get_many([stamp_key(u) for u in computed])
    stale = [u for u, s in computed.items() if s is not None and stamps.get(stamp_key(u)) != s]
    # A list a concurrent read cached meanwhile may go too: that costs one computation.
    caching.delete([cache_key(u, kind) for u in stale for kind in Kind.values])
    return stale


def forget(user_id: int) -> None:
    """Delete everything cached about a person's lists (personalisation off, erasure)."""
    keys = [cache_key(user_id, kind) for kind in Kind.values]
    # The stamp and the cached switch name the person too: erasure must leave no key behind.
    caching.delete([*keys, stamp_key(user_id), personalised_key(user_id)])


def forget_personalised(user_id: int) -> None:
    """Drop the cached copy of a person's personalisation switch (it has just changed)."""
    caching.delete([personalised_key(user_id)])


def read_keys(user_id: int, kinds: list[str]) -> list[str]:
    """The cache keys for_person reads, for a caller that fetches them with others at once."""
    return [
        personalised_key(user_id),
        stamp_key(user_id),
        *(cache_key(user_id, kind) for kind in kinds),
    ]


def current(payload: Any, stamp: str | None, active: str) -> bool:
    """Whether a cached payload of the person's was computed under their stamp `stamp` and
    the active versions `active` (their lists, their up next)."""
    return (
        stamp is not None
        and isinstance(payload, dict)
        and payload.get("s") == stamp
        and payload.get("a") == active
    )


def for_kinds(
    user: Any,
    kinds: list[str],
    n: int,
    cached: dict[str, Any] | None = None,
    wanted: controls.Wanted = controls.NOTHING,
) -> dict[str, RecommendationList]:
    """What a person sees for each kind: their own list, or the popular one when
    personalisation is off or they have no history yet; through the filters `wanted`, and
    without what they marked "not for me" (controls.py).

    `cached` is what the cache held for read_keys (fetched by the caller, e.g. in the rate
    limit's round trip); without it, they are fetched here, in one round trip.
    """
    out: dict[str, RecommendationList] = {}
    if getattr(user, "is_authenticated", False):
        if cached is None:
            cached = caching.get_many(read_keys(user.pk, kinds))
        if _personalised(user, cached):
            read = cached.get(stamp_key(user.pk))
            serves = serving.active(user.pk)
            active = serves.key
            payloads: dict[str, Any] = {k: cached.get(cache_key(user.pk, k)) for k in kinds}
            if not all(current(p, read, active) for p in payloads.values()):
                payloads.update(compute(user.pk, stamp(user.pk, cached)))
            for kind in kinds:
                payload = payloads[kind]
                # Empty without a history: everyone's popular list. Empty with one: the person
                # has everything the model and the popular list could offer of this kind.
                if payload["e"] or payload.get("h"):
                    entries = [Entry(**e) for e in payload["e"][: None if wanted.narrows else n]]
                    out[kind] = RecommendationList(kind, entries, payload["v"], payload["p"])
                    if wanted.narrows:
                        out[kind] = controls.narrowed(user, out[kind], n, wanted)
            if serves.experiment_id is not None:
                # In the experiment whatever they are shown (popular lists without a history).
                out = {
                    k: replace(
                        out.get(k) or controls.popular_for(user, k, n, wanted),
                        experiment_id=serves.experiment_id,
                        arm=serves.arm,
                    )
                    for k in kinds
                }
    missing = [kind for kind in kinds if kind not in out]
    if missing:
        # One read of their "not for me" items for every popular list they are shown.
        gone = controls.dismissed(user.pk) if getattr(user, "is_authenticated", False) else set()
        out.update({k: controls.popular_for(user, k, n, wanted, gone) for k in missing})
    return {kind: out[kind] for kind in kinds}


def for_person(
    user: Any, kind: str, n: int, cached: dict[str, Any] | None = None
) -> RecommendationList:
    return for_kinds(user, [kind], n, cached)[kind]


def _personalised(user: Any, cached: dict[str, Any]) -> bool:
    personalised = cached.get(personalised_key(user.pk))
    if not isinstance(personalised, bool):
        personalised = bool(user.privacy.personalised)
        caching.put(personalised_key(user.pk), personalised, PERSONALISED_TTL_S)
        cached[personalised_key(user.pk)] = personalised
    return personalised
