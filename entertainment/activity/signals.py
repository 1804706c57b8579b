"""Signals other apps listen to (the recommender), so activity never imports them.

Each but `history_changing` is sent after the writing transaction commits, with ids only
(`announce`). A listener that fails then (the database gone a moment after the commit) is
logged and ignored: the write is stored, and the request that made it must say so, not
answer an error a client would retry.

Bulk ingestion (ingest.py) stores up to 10,000 events at once and does not send the three
per-row signals for each of them: a listener doing work per signal (a Celery task per play)
would flood the queue. It sends one `events_ingested` per batch instead, which names the people
touched, the newest play each of them got (what a real-time "up next" list follows) and the
reviews whose text is new (what the sentiment model must score). A listener that only
cares about single writes can ignore it; one that needs every row reads them by these ids.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from django.db import transaction
from django.dispatch import Signal

log = logging.getLogger(__name__)

# kwargs: user_id, item_id, play_id
play_recorded = Signal()
# kwargs: user_id, item_id, rating_id
rating_recorded = Signal()
# kwargs: user_id, item_id, review_id
review_recorded = Signal()
# kwargs: user_ids (list[int]: people with stored events), last_play_ids (dict[int, int]: per
# person, the id of the newest play the batch stored), review_ids (list[int]: reviews written
# or rewritten, whose sentiment is now empty)
events_ingested = Signal()
# kwargs: user_id, item_id. What a person's player says is playing right now (ListenBrainz's
# playing_now): nothing is stored, but their "up next" follows it. Sent at once (no transaction).
now_playing = Signal()
# kwargs: user_id, item_id, dismissed (bool: True for "not for me", False for its undoing)
dismissal_changed = Signal()
# kwargs: user_ids (list[int]). Sent inside the writing transaction, *before* a stored rating,
# play or review of these people is changed (a correction through the API or the admin): the old
# values are in snapshots and models, which must act as for an erasure of the row. (A deletion
# needs no signal of its own: Django's pre_delete and post_delete cover every way.)
history_changing = Signal()


def announce(signal: Signal, sender: type, **kwargs: Any) -> None:
    """Send `signal` once the current transaction commits, to every listener, robustly."""
    transaction.on_commit(partial(_send_robust, signal, sender, kwargs))


def _send_robust(signal: Signal, sender: type, kwargs: dict[str, Any]) -> None:
    for receiver, outcome in signal.send_robust(sender=sender, **kwargs):
        if isinstance(outcome, Exception):
            log.error(
                "%s listener %s failed after commit",
                sender.__name__,
                getattr(receiver, "__qualname__", receiver),
                exc_info=outcome,
            )
