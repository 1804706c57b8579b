"""Privacy signals, so the recommender can act on them without accounts importing it.

`erasing` is sent inside the erasure's transaction, before any row is deleted, so listeners
can still see what the person's data touched (which model versions it trained). The others are
sent after commit.
"""

from django.dispatch import Signal

# kwargs: user_id, changes (dict: setting -> (old, new))
privacy_changed = Signal()
# kwargs: user_id, scope ("items" | "history" | "account"), item_ids (list[int] | None),
# erasure (ErasureRequest | None; None for a whole account)
erasing = Signal()
# kwargs: user_id — after commit: purge caches and anything else outside the database
erased = Signal()
