"""An erasure holds against the next sync: the server still lists what the person played."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from entertainment import queueing
from entertainment.accounts.signals import erasing

from . import tasks
from .models import ServerUser


@receiver(erasing)
def forget_server_history(
    sender: Any, user_id: int, scope: str, item_ids: list[int] | None, **kwargs: Any
) -> None:
    accounts = ServerUser.objects.filter(person_id=user_id)
    if scope == "items" and item_ids:
        for account in accounts:
            account.erased_item_ids = sorted(set(account.erased_item_ids) | set(item_ids))
            account.save(update_fields=["erased_item_ids"])
        return
    # The whole history (or the account): the link goes, so nothing is read again until the
    # person confirms the account anew; their playlists go with it.
    for account in accounts.select_related("connection"):
        playlists = list(account.playlists.values_list("server_id", flat=True))
        if playlists:
            # Off the server too, once the erasure has committed (a call out, so on a worker).
            queueing.send_on_commit(tasks.delete_playlists, account.connection_id, playlists)
        account.playlists.all().delete()
    accounts.update(person=None, confirmed_at=None, webhook_secret_hash="", erased_item_ids=[])
