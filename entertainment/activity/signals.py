"""Signals other apps listen to (the recommender), so activity never imports them.

Each is sent after the writing transaction commits, with ids only.

Bulk ingestion (ingest.py) stores up to 10,000 events at once and does not send the three
per-row signals for each of them: a listener doing work per signal (a Celery task per play)
would flood the queue. It sends one `events_ingested` per batch instead, which names the people
touched, the newest play each of them got (what a real-time "up next" list follows) and the
reviews whose text is new (what the sentiment model must score). A listener that only
cares about single writes can ignore it; one that needs every row reads them by these ids.
"""

from django.dispatch import Signal

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
