"""Keeps the music name index (models.MusicName) current when an item is saved one by one
(the admin, the API); bulk imports are picked up by matching.index_music."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from entertainment.catalogue.models import Item, Kind

from .matching import reindex


@receiver(post_save, sender=Item, dispatch_uid="scrobbling.reindex_music")
def reindex_music(sender: Any, instance: Item, raw: bool = False, **kwargs: Any) -> None:
    if raw or instance.kind != Kind.MUSIC or not instance.music_type:
        return
    reindex(instance)
