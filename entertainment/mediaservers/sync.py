"""Reading a media server into Encore: its library, its accounts, confirmed people's history.

Items are found by provider ids first (an IMDb or TMDb id another source already gave the
catalogue), then by kind, title and year, and created otherwise; every one is remembered by
the server's id (ServerItem), so a second sync creates nothing. How the server's types map:
Movie and Series → film (the catalogue has no separate kind for series), MusicArtist →
artist, MusicAlbum → album (under its artist), Audio → track (under its album).

History: an item's `UserData` (PlayCount, LastPlayedDate, Played) becomes one play per person
and item from this server, carrying the count and the last time, updated in place when they
change; a favourite becomes a 5-star rating unless the person rated the item themselves. With
the Playback Reporting plugin, its timed rows are plays of their own. A person whose history is
paused gets nothing stored.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.text import slugify

from entertainment.activity.models import Play, Rating
from entertainment.activity.signals import announce, events_ingested
from entertainment.catalogue.artwork import cleaned_artwork
from entertainment.catalogue.models import ExternalId, Genre, Item, Kind, MusicType

from .client import Client, MediaServerError
from .models import Connection, ServerItem, ServerUser

log = logging.getLogger(__name__)

KINDS = {
    "Movie": (Kind.FILM, ""),
    "Series": (Kind.FILM, ""),
    "MusicArtist": (Kind.MUSIC, MusicType.ARTIST),
    "MusicAlbum": (Kind.MUSIC, MusicType.ALBUM),
    "Audio": (Kind.MUSIC, MusicType.TRACK),
}
PROVIDERS = {"Imdb": ExternalId.Source.IMDB, "Tmdb": ExternalId.Source.TMDB}
FAVOURITE_STARS = Decimal("5.0")


@dataclass
class Summary:
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, what: str, n: int = 1) -> None:
        self.counts[what] = self.counts.get(what, 0) + n

    def __str__(self) -> str:
        return ", ".join(f"{n} {what}" for what, n in sorted(self.counts.items())) or "nothing new"


def _event_id(connection: Connection, *parts: str) -> str:
    return ":".join(["ms", str(connection.pk), *parts])[:64]


# Ids per query when a whole library is looked up at once.
LOOKUP_CHUNK = 5000


def _chunks(values: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(values), LOOKUP_CHUNK):
        yield values[start : start + LOOKUP_CHUNK]


def _provider_items(rows: list[dict]) -> dict[tuple[str, str], tuple[int, str]]:
    """(source, value) → (item id, kind) for every provider id the rows carry that the catalogue
    already has: one query per chunk, not one per row."""
    wanted: dict[str, set[str]] = {}
    for row in rows:
        for name, source in PROVIDERS.items():
            if value := (row.get("ProviderIds") or {}).get(name):
                wanted.setdefault(source, set()).add(str(value))
    found: dict[tuple[str, str], tuple[int, str]] = {}
    for wanted_source, values in wanted.items():
        for chunk in _chunks(sorted(values)):
            for value, item_id, kind in ExternalId.objects.filter(
                source=wanted_source, value__in=chunk
            ).values_list("value", "item_id", "item__kind"):
                found[wanted_source, value] = (item_id, kind)
    return found


def _find(
    kind: str,
    music_type: str,
    title: str,
    year: int | None,
    providers: dict,
    by_provider: dict[tuple[str, str], tuple[int, str]],
) -> Item | None:
    for name, source in PROVIDERS.items():
        if value := providers.get(name):
            found = by_provider.get((source, str(value)))
            if found is not None and found[1] == kind:
                return Item.objects.get(pk=found[0])
    same = Item.objects.filter(kind=kind, title__iexact=title, music_type=music_type)
    return same.filter(year=year).first() if year else same.filter(year__isnull=True).first()


def _genres(kind: str, names: list[str], cache: dict[tuple[str, str], Genre]) -> list[Genre]:
    out = []
    for name in names[:10]:
        slug = slugify(name)[:110]
        if slug and (kind, slug) not in cache:
            cache[kind, slug] = Genre.objects.get_or_create(
                kind=kind, slug=slug, defaults={"name": name}
            )[0]
        if slug:
            out.append(cache[kind, slug])
    return out


def _attach_artwork(client: Client, item: Item, server_id: str, summary: Summary) -> None:
    try:
        picture = client.primary_image(server_id)
    except MediaServerError as error:
        log.warning("artwork of %s: %s", server_id, error)
        return
    if not picture:
        return
    try:
        item.artwork = cleaned_artwork(io.BytesIO(picture), name=f"{server_id}.jpg")
    except ValidationError as error:
        log.warning("artwork of %s refused: %s", server_id, error)
        return
    item.save()
    summary.add("artwork attached")


def sync_library(client: Client) -> Summary:
    """The server's library into the catalogue. Items already known are read in bulk (a
    second sync of a large library makes a query per few thousand items, plus one per renamed
    item); each new item is matched and created in its own transaction."""
    connection, summary = client.connection, Summary()
    known = dict(
        ServerItem.objects.filter(connection=connection).values_list("server_id", "item_id")
    )
    rows = [
        row
        for row in client.library()
        if row.get("Type", "") in KINDS and str(row.get("Id", "")) and row.get("Name")
    ]
    # Parents first, so an album finds its artist and a track its album.
    order = {t: n for n, t in enumerate(("MusicArtist", "MusicAlbum", "Audio"))}
    rows.sort(key=lambda r: order.get(r["Type"], -1))
    titles: dict[int, str] = {}
    for chunk in _chunks(sorted(set(known.values()))):
        titles.update(Item.objects.filter(pk__in=chunk).values_list("pk", "title"))
    for row in rows:
        server_id, title = str(row["Id"]), str(row["Name"])[:300]
        if server_id in known and titles.get(known[server_id], title) != title:
            Item.objects.filter(pk=known[server_id]).update(title=title)
            summary.add("titles updated")
    new = [row for row in rows if str(row["Id"]) not in known]
    by_provider = _provider_items(new)
    genres: dict[tuple[str, str], Genre] = {}
    for row in new:
        server_type, server_id = row["Type"], str(row["Id"])
        kind, music_type = KINDS[server_type]
        title, year = str(row["Name"])[:300], row.get("ProductionYear")
        parent_server = row.get("AlbumId") or row.get("ParentId")
        if server_type == "MusicAlbum":
            parent_server = (row.get("AlbumArtists") or [{}])[0].get("Id") or parent_server
        with transaction.atomic():
            providers = row.get("ProviderIds") or {}
            found = _find(kind, music_type, title, year, providers, by_provider)
            created = found is None
            if found is None:
                item = Item.objects.create(
                    kind=kind,
                    title=title,
                    year=year if isinstance(year, int) else None,
                    music_type=music_type,
                    description=str(row.get("Overview") or "")[:5000],
                    parent_id=known.get(str(parent_server)) if parent_server else None,
                )
                summary.add(f"{server_type} created")
            else:
                item = found
                summary.add(f"{server_type} matched")
            ServerItem.objects.create(
                connection=connection, server_id=server_id, server_type=server_type, item=item
            )
            known[server_id] = item.pk
            for name, source in PROVIDERS.items():
                value = providers.get(name)
                if value and (source, str(value)) not in by_provider:
                    ExternalId.objects.create(item=item, source=source, value=str(value))
                    by_provider[source, str(value)] = (item.pk, kind)
            if found_genres := _genres(kind, list(row.get("Genres") or []), genres):
                item.genres.add(*found_genres)
        if (created or not item.artwork) and (row.get("ImageTags") or {}).get("Primary"):
            _attach_artwork(client, item, server_id, summary)
    return summary


def sync_users(client: Client) -> Summary:
    connection, summary = client.connection, Summary()
    for row in client.users():
        server_id, name = str(row.get("Id", "")), str(row.get("Name", ""))[:150]
        if not server_id:
            continue
        user, created = ServerUser.objects.get_or_create(
            connection=connection, server_id=server_id, defaults={"name": name}
        )
        if created:
            summary.add("accounts found")
        elif user.name != name:
            ServerUser.objects.filter(pk=user.pk).update(name=name)
    return summary


def _when(value: Any) -> datetime | None:
    if not value:
        return None
    # .NET writes seven fractional digits; Python reads up to six.
    text = str(value)
    if "." in text:
        head, _, tail = text.partition(".")
        digits = "".join(c for c in tail if c.isdigit())
        text = f"{head}.{digits[:6]}{tail[len(digits) :]}"
    moment = parse_datetime(text.replace(" ", "T"))
    if moment is not None and timezone.is_naive(moment):
        moment = timezone.make_aware(moment, UTC)
    return moment


def import_history(client: Client, account: ServerUser) -> Summary:
    """The confirmed person's plays and favourites on this server."""
    connection, summary = client.connection, Summary()
    person = account.person
    if not account.confirmed or person is None:
        return summary
    if person.privacy.history_paused:
        summary.add("skipped: history paused")
        return summary
    erased = set(account.erased_item_ids)
    items = {
        server_id: item_id
        for server_id, item_id in ServerItem.objects.filter(connection=connection).values_list(
            "server_id", "item_id"
        )
        if item_id not in erased
    }
    rows = list(client.user_items(account.server_id))
    activity = client.playback_activity(account.server_id, _since(account))
    last_play: dict[int, int] = {}
    with transaction.atomic():
        for row in rows:
            item_id = items.get(str(row.get("Id", "")))
            data = row.get("UserData") or {}
            if item_id is None:
                continue
            count = int(data.get("PlayCount") or 0) or (1 if data.get("Played") else 0)
            if count:
                play, created = Play.objects.update_or_create(
                    user=person,
                    client_event_id=_event_id(connection, "played", str(row["Id"])),
                    defaults={
                        "item_id": item_id,
                        "play_count": count,
                        "started_at": _when(data.get("LastPlayedDate")),
                        "completed": bool(data.get("Played")),
                    },
                )
                summary.add("plays imported" if created else "plays updated")
                last_play[person.pk] = play.pk
            if (
                data.get("IsFavorite")
                and not Rating.objects.filter(user=person, item_id=item_id).exists()
            ):
                Rating.objects.create(
                    user=person,
                    item_id=item_id,
                    value=FAVOURITE_STARS,
                    client_event_id=_event_id(connection, "favourite", str(row["Id"])),
                )
                summary.add("favourites imported")
        for when, server_item, seconds in activity or []:
            item_id = items.get(str(server_item))
            if item_id is None:
                continue
            play, created = Play.objects.get_or_create(
                user=person,
                client_event_id=_event_id(connection, "activity", str(server_item), str(when)),
                defaults={
                    "item_id": item_id,
                    "started_at": _when(when),
                    "seconds_played": max(0, int(float(seconds or 0))),
                },
            )
            if created:
                summary.add("timed plays imported")
                last_play[person.pk] = play.pk
        ServerUser.objects.filter(pk=account.pk).update(history_synced_at=timezone.now())
        if last_play:
            # One signal for the batch, as bulk ingestion sends: lists follow the new plays.
            announce(
                events_ingested,
                Play,
                user_ids=[person.pk],
                last_play_ids=last_play,
                review_ids=[],
            )
    return summary


def _since(account: ServerUser) -> str:
    start = account.history_synced_at or datetime(2000, 1, 1, tzinfo=UTC)
    return start.strftime("%Y-%m-%d %H:%M:%S")


def sync(connection: Connection) -> Summary:
    """Library, accounts, then every confirmed person's history. Records the outcome."""
    client = Client(connection)
    total = Summary()
    try:
        for part in (sync_library(client), sync_users(client)):
            for what, n in part.counts.items():
                total.add(what, n)
        for account in connection.users.select_related("person").exclude(confirmed_at=None):
            for what, n in import_history(client, account).counts.items():
                total.add(what, n)
    except MediaServerError as error:
        Connection.objects.filter(pk=connection.pk).update(last_error=str(error)[:2000])
        raise
    Connection.objects.filter(pk=connection.pk).update(
        last_sync_at=timezone.now(), last_sync_summary=str(total)[:300], last_error=""
    )
    return total
