"""Signals other apps listen to (the recommender), so activity never imports them.

Each is sent after the writing transaction commits, with ids only.
"""

from django.dispatch import Signal

# kwargs: user_id, item_id, play_id
play_recorded = Signal()
# kwargs: user_id, item_id, rating_id
rating_recorded = Signal()
# kwargs: user_id, item_id, review_id
review_recorded = Signal()
