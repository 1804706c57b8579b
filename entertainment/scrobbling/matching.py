"""The catalogue's music item for each listen: found by MusicBrainz id, then by name, or added.

Lookups go in chunks of a few hundred values, never one query per listen. Items added here
are marked with where they came from (an ExternalId of the caller's source, "listenbrainz" or
"plex", whose value names the item's normalised key): that id is unique, so two requests adding
the same new track at once collide on it, and the loser's transaction is retried by its caller
(`retrying`), then finding the winner's items.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TypeVar

from django.db import IntegrityError, transaction
from django.db.models import Max, Min, Q, QuerySet

from entertainment.catalogue.models import Creator, Credit, ExternalId, Item, Kind, MusicType
from entertainment.catalogue.names import name_digest

from .models import MusicName

T = TypeVar("T")
R = TypeVar("R")
CHUNK = 900
TITLE_MAX = Item._meta.get_field("title").max_length or 300
NAME_MAX = Creator._meta.get_field("name").max_length or 255
MUSICBRAINZ = ExternalId.Source.MUSICBRAINZ


@dataclass(frozen=True)
class Track:
    """A track as a listen names it. MBIDs are lower-case UUID strings or ""."""

    artist: str
    title: str
    album: str = ""
    recording_mbid: str = ""
    release_mbid: str = ""
    artist_mbid: str = ""
    duration_s: int | None = None
    position: int | None = None

    @cached_property
    def digest(self) -> str:
        return name_digest(self.artist, self.title)

    @cached_property
    def album_digest(self) -> str:
        return name_digest(self.artist, self.album)

    @cached_property
    def artist_digest(self) -> str:
        return name_digest(self.artist)


def chunks(values: Iterable[T], size: int = CHUNK) -> Iterator[list[T]]:
    batch: list[T] = []
    for value in values:
        batch.append(value)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def retrying(work: Callable[[], R]) -> R:
    """`work` in a transaction, once more if a concurrent request added the same items first."""
    try:
        with transaction.atomic():
            return work()
    except IntegrityError:
        with transaction.atomic():
            return work()


# --- The name index ---------------------------------------------------------------------------


def artist_name(item: Item) -> str:
    """The name of a track's or album's artist (its album's parent, or its parent)."""
    parent = item.parent
    if parent is None:
        return ""
    if parent.music_type == MusicType.ARTIST:
        return parent.title
    return parent.parent.title if parent.parent is not None else ""


def digest_of(item: Item) -> str:
    if item.music_type == MusicType.ARTIST:
        return name_digest(item.title)
    return name_digest(artist_name(item), item.title)


def _music_items() -> QuerySet[Item]:
    return (
        Item.objects.filter(kind=Kind.MUSIC)
        .exclude(music_type="")
        .select_related("parent__parent")
        .only(
            "pk",
            "title",
            "music_type",
            "parent__title",
            "parent__music_type",
            "parent__parent__title",
        )
    )


def index_music() -> int:
    """Indexes the music items added since the newest indexed one; answers how many.

    Items keep increasing ids, so this reads only what is new. (An import that committed
    after a later item was indexed is missed until `manage.py index_music --all`.)
    """
    newest = MusicName.objects.aggregate(newest=Max("item_id"))["newest"] or 0
    rows = [
        MusicName(item_id=item.pk, music_type=item.music_type, digest=digest_of(item))
        for item in _music_items().filter(pk__gt=newest).order_by("pk").iterator(chunk_size=2000)
    ]
    MusicName.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
    return len(rows)


def reindex_all() -> int:
    MusicName.objects.all().delete()
    return index_music()


def reindex(item: Item) -> None:
    """A music item was saved (a title changed): its key, and its albums' and tracks' keys.

    Only rows already indexed change: an item not indexed yet is indexed by index_music (a row
    for a new item here would move its mark past older items still waiting).
    """
    indexed = MusicName.objects.filter(
        Q(item=item) | Q(item__parent=item) | Q(item__parent__parent=item)
    ).values_list("item_id", flat=True)
    for member in _music_items().filter(pk__in=list(indexed)):
        MusicName.objects.filter(item_id=member.pk).update(
            music_type=member.music_type, digest=digest_of(member)
        )


# --- Lookups ----------------------------------------------------------------------------------


def _by_external_id(source: str, values: set[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for part in chunks(sorted(v for v in values if v)):
        found.update(
            ExternalId.objects.filter(source=source, value__in=part).values_list("value", "item_id")
        )
    return found


def _by_name(music_type: str, digests: set[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for part in chunks(sorted(digests)):
        found.update(
            MusicName.objects.filter(music_type=music_type, digest__in=part)
            .values("digest")
            .annotate(first=Min("item_id"))
            .values_list("digest", "first")
        )
    return found


def known(track: Track) -> int | None:
    """The catalogue item of a track, without adding one (what "playing now" may look up)."""
    index_music()
    by_mbid = _by_external_id(MUSICBRAINZ, {track.recording_mbid})
    return by_mbid.get(track.recording_mbid) or _by_name(MusicType.TRACK, {track.digest}).get(
        track.digest
    )


def resolve(tracks: Sequence[Track], source: str) -> list[int]:
    """The item id of each track, in order; unknown ones are added, marked with `source`."""
    index_music()
    by_mbid = _by_external_id(MUSICBRAINZ, {t.recording_mbid for t in tracks})
    by_name = _by_name(MusicType.TRACK, {t.digest for t in tracks})
    ids: list[int | None] = [by_mbid.get(t.recording_mbid) or by_name.get(t.digest) for t in tracks]
    # Found by name with an MBID no item holds yet: the item learns it.
    by_name_only = [
        (t, found)
        for t, found in zip(tracks, ids, strict=True)
        if found is not None and t.recording_mbid and t.recording_mbid not in by_mbid
    ]
    new = {t.digest: t for t, found in zip(tracks, ids, strict=True) if found is None}
    if new:
        created = _add(list(new.values()), source)
        ids = [found or created[t.digest] for t, found in zip(tracks, ids, strict=True)]
    _learn_recording_ids([t for t, _ in by_name_only], [found for _, found in by_name_only])
    resolved = [found for found in ids if found is not None]
    assert len(resolved) == len(tracks)
    return resolved


def _learn_recording_ids(tracks: Sequence[Track], ids: Sequence[int | None]) -> None:
    """A track found by name gains the recording MBID its listen gave, if no item holds it."""
    wanted = {
        t.recording_mbid: item
        for t, item in zip(tracks, ids, strict=True)
        if t.recording_mbid and item is not None
    }
    if not wanted:
        return
    taken = _by_external_id(MUSICBRAINZ, set(wanted))
    _link(MUSICBRAINZ, {mbid: item for mbid, item in wanted.items() if mbid not in taken})


def _link(source: str, values: dict[str, int]) -> None:
    ExternalId.objects.bulk_create(
        [ExternalId(item_id=item, source=source, value=value) for value, item in values.items()]
    )


def _create(
    music_type: str, source: str, wanted: dict[str, tuple[str, int | None, dict[str, object]]]
) -> dict[str, int]:
    """New items of one type: digest -> (title, parent id, other fields); marked and indexed."""
    keys = list(wanted)
    items = Item.objects.bulk_create(
        [
            Item(
                kind=Kind.MUSIC,
                music_type=music_type,
                title=wanted[key][0][:TITLE_MAX],
                parent_id=wanted[key][1],
                **wanted[key][2],
            )
            for key in keys
        ]
    )
    ids = {key: item.pk for key, item in zip(keys, items, strict=True)}
    # The mark first: a concurrent request adding the same item collides here.
    _link(source, {f"{music_type}:{key}": pk for key, pk in ids.items()})
    MusicName.objects.bulk_create(
        [MusicName(item_id=pk, music_type=music_type, digest=key) for key, pk in ids.items()]
    )
    return ids


def _credit(pairs: dict[int, str]) -> None:
    """Credits each new album and track to its artist by name (what search looks at)."""
    names = {name[:NAME_MAX] for name in pairs.values()}
    Creator.objects.bulk_create([Creator(name=n) for n in sorted(names)], ignore_conflicts=True)
    creators: dict[str, int] = {}
    for part in chunks(sorted(names)):
        creators.update(Creator.objects.filter(name__in=part).values_list("name", "pk"))
    Credit.objects.bulk_create(
        [
            Credit(item_id=item, creator_id=creators[name[:NAME_MAX]], role=Credit.Role.ARTIST)
            for item, name in pairs.items()
        ]
    )


def _add(tracks: list[Track], source: str) -> dict[str, int]:
    # Artists: by MusicBrainz id, then by name, else new.
    artist_ids = _by_external_id(MUSICBRAINZ, {t.artist_mbid for t in tracks})
    artists = _by_name(MusicType.ARTIST, {t.artist_digest for t in tracks})
    for t in tracks:
        if t.artist_mbid in artist_ids:
            artists.setdefault(t.artist_digest, artist_ids[t.artist_mbid])
    new_artists = {t.artist_digest: t for t in tracks if t.artist_digest not in artists}
    artists |= _create(
        MusicType.ARTIST, source, {k: (t.artist, None, {}) for k, t in new_artists.items()}
    )
    taken = set(artist_ids)
    _link(
        MUSICBRAINZ,
        {
            t.artist_mbid: artists[k]
            for k, t in new_artists.items()
            if t.artist_mbid and t.artist_mbid not in taken
        },
    )

    # Albums, when the listen names one: by release MBID, then by artist and title, else new.
    with_album = [t for t in tracks if t.album]
    release_ids = _by_external_id(MUSICBRAINZ, {t.release_mbid for t in with_album})
    albums = _by_name(MusicType.ALBUM, {t.album_digest for t in with_album})
    for t in with_album:
        if t.release_mbid in release_ids:
            albums.setdefault(t.album_digest, release_ids[t.release_mbid])
    new_albums = {t.album_digest: t for t in with_album if t.album_digest not in albums}
    created_albums = _create(
        MusicType.ALBUM,
        source,
        {k: (t.album, artists[t.artist_digest], {}) for k, t in new_albums.items()},
    )
    albums |= created_albums
    _link(
        MUSICBRAINZ,
        {
            t.release_mbid: albums[k]
            for k, t in new_albums.items()
            if t.release_mbid and t.release_mbid not in release_ids
        },
    )

    tracks_by_key = {t.digest: t for t in tracks}
    created = _create(
        MusicType.TRACK,
        source,
        {
            k: (
                t.title,
                albums[t.album_digest] if t.album else artists[t.artist_digest],
                {"duration_seconds": t.duration_s, "position": t.position},
            )
            for k, t in tracks_by_key.items()
        },
    )
    recordings = _by_external_id(MUSICBRAINZ, {t.recording_mbid for t in tracks})
    _link(
        MUSICBRAINZ,
        {
            t.recording_mbid: created[k]
            for k, t in tracks_by_key.items()
            if t.recording_mbid and t.recording_mbid not in recordings
        },
    )
    _credit(
        {pk: new_albums[k].artist for k, pk in created_albums.items()}
        | {pk: tracks_by_key[k].artist for k, pk in created.items()}
    )
    return created
