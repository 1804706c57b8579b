"""Store a demo world: one transaction of bulk inserts, safe to run again.

Rows are found again by their demo keys (ExternalId(source="demo") for items,
User.imported_from="demo" for people; both carry the world's signature), so a rerun inserts only
what is missing and activity duplicates are dropped by the database's own unique constraints
(client event ids, one rating and one review per person and item). Bulk inserts bypass the
recording functions and their per-event signals on purpose; the invariants they keep hold here
by construction (half-star ratings in range, one rating and review per person and item, unique
event ids) or are checked (nothing is stored for a person whose history is paused).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from django.contrib.auth.hashers import make_password
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Model, QuerySet
from django.utils import timezone
from django.utils.text import slugify

from entertainment.accounts.models import PrivacySettings, User
from entertainment.activity.models import Play, Rating, Review
from entertainment.catalogue.artwork import thumbnail_of
from entertainment.catalogue.models import Creator, Credit, ExternalId, Genre, Item

from .artwork import render_png
from .world import DemoItem, DemoWorld

SOURCE = "demo"
DEMO_PASSWORD = "encore-demo"  # noqa: S105 - public on purpose, created only with DEBUG on
ACCOUNT_KEYS = {"demo": "account-demo", "staff": "account-staff"}
BATCH = 500
Dated = TypeVar("Dated", Rating, Review)


class WorldConflict(Exception):
    """The database holds rows that a demo world cannot be stored beside."""


@dataclass
class LoadReport:
    items: int = 0
    people: int = 0
    plays: int = 0
    ratings: int = 0
    reviews: int = 0
    accounts_created: list[str] = field(default_factory=list)
    accounts_kept: list[str] = field(default_factory=list)
    removed_items: int = 0
    removed_people: int = 0


Progress = Callable[[str], None]


def _key(world: DemoWorld, key: str) -> str:
    return f"{world.signature}:{key}"


def loaded_signatures() -> set[str]:
    """The signatures of the demo worlds in the database (normally none or one)."""
    values = ExternalId.objects.filter(source=SOURCE).values_list("value", flat=True)
    return {value.split(":", 1)[0] for value in values.iterator()}


def demo_accounts() -> list[str]:
    """The demo world's log-ins that exist now (`demo`, `staff`)."""
    keys = [
        f"{signature}:{key}" for signature in loaded_signatures() for key in ACCOUNT_KEYS.values()
    ]
    return sorted(
        User.objects.filter(imported_from=SOURCE, imported_id__in=keys).values_list(
            "username", flat=True
        )
    )


def _remove_rows() -> tuple[int, int, set[str]]:
    """Delete every demo item and demo person; the counts and the items' artwork files."""
    items = Item.objects.filter(external_ids__source=SOURCE)
    files = {
        name for pair in items.values_list("artwork", "artwork_thumbnail") for name in pair if name
    }
    people = User.objects.filter(imported_from=SOURCE)
    n_items, n_people = items.count(), people.count()
    items.delete()
    people.delete()
    return n_items, n_people, files


def load_world(
    world: DemoWorld,
    *,
    accounts: bool,
    artwork: bool = True,
    replace: bool = False,
    progress: Progress = lambda message: None,
) -> LoadReport:
    """Insert what is missing of `world`; with `accounts`, the `demo` and `staff` log-ins too.

    Without `artwork`, items get no covers (quicker, for benchmark-sized worlds).

    With `replace`, the loaded demo world is deleted first, in the same transaction: a load that
    fails leaves the old world in place. Raises WorldConflict when another demo world is loaded
    (and not replaced) or a username is taken.
    """
    storage = Item._meta.get_field("artwork").storage
    written: list[str] = []
    try:
        with transaction.atomic():
            report = LoadReport()
            old_files: set[str] = set()
            if replace:
                report.removed_items, report.removed_people, old_files = _remove_rows()
            others = loaded_signatures() - {world.signature}
            if others:
                raise WorldConflict(
                    f"The database holds another demo world ({', '.join(sorted(others))}); "
                    "use --replace to swap it for this one."
                )
            _load(world, accounts, artwork, report, written, progress)
    except BaseException:
        # The rows are rolled back; take the files written for them too.
        for name in written:
            storage.delete(name)
        raise
    # The old world's files go once its rows are gone for good.
    for name in sorted(old_files):
        storage.delete(name)
    return report


def _load(
    world: DemoWorld,
    accounts: bool,
    artwork: bool,
    report: LoadReport,
    written: list[str],
    progress: Progress,
) -> None:
    genres = _genres(world)
    items = _items(world, genres, artwork, written, report, progress)
    people = _people(world, accounts, report)
    progress(f"{report.people} people; writing their history")
    _history(world, people, items, report)


def _genres(world: DemoWorld) -> dict[tuple[str, str], int]:
    ids: dict[tuple[str, str], int] = {}
    for kind, names in world.genres.items():
        for name in names:
            genre, _ = Genre.objects.get_or_create(
                kind=kind, slug=slugify(name), defaults={"name": name}
            )
            ids[(kind, name)] = genre.pk
    return ids


def _creators(world: DemoWorld) -> dict[str, int]:
    names = sorted({name for item in world.items for _, name in item.credits})
    Creator.objects.bulk_create(
        [Creator(name=name) for name in names], ignore_conflicts=True, batch_size=BATCH
    )
    ids: dict[str, int] = {}
    for start in range(0, len(names), BATCH):
        chunk = names[start : start + BATCH]
        ids.update(Creator.objects.filter(name__in=chunk).values_list("name", "pk"))
    return ids


def _depth(item: DemoItem, by_key: dict[str, DemoItem]) -> int:
    depth = 0
    while item.parent:
        item = by_key[item.parent]
        depth += 1
    return depth


def _items(
    world: DemoWorld,
    genres: dict[tuple[str, str], int],
    artwork: bool,
    written: list[str],
    report: LoadReport,
    progress: Progress,
) -> dict[str, int]:
    """Item ids by demo key, creating the missing items with their artwork, genres and credits."""
    stored = ExternalId.objects.filter(source=SOURCE, value__startswith=f"{world.signature}:")
    ids = {value.split(":", 1)[1]: pk for value, pk in stored.values_list("value", "item_id")}
    files = {
        pk: (artwork, thumbnail)
        for pk, artwork, thumbnail in Item.objects.filter(
            external_ids__source=SOURCE, external_ids__value__startswith=f"{world.signature}:"
        ).values_list("pk", "artwork", "artwork_thumbnail")
    }
    # (artwork, thumbnail) file names by the key of the item they belong to.
    covers = {key: files[pk] for key, pk in ids.items() if pk in files}
    missing = [item for item in world.items if item.key not in ids]
    if not missing:
        return ids
    creators = _creators(world)
    by_key = {item.key: item for item in world.items}
    # Parents first, so children can point at them: artists, then albums and first parts, ...
    generations: dict[int, list[DemoItem]] = {}
    for item in missing:
        generations.setdefault(_depth(item, by_key), []).append(item)
    painted = 0
    for depth in sorted(generations):
        rows = []
        for spec in generations[depth]:
            row = Item(
                kind=spec.kind,
                title=spec.title,
                description=spec.description,
                year=spec.year,
                runtime_minutes=spec.runtime_minutes,
                music_type=spec.music_type,
                parent_id=ids[spec.parent] if spec.parent else None,
                position=spec.position,
                duration_seconds=spec.duration_seconds,
                platforms=spec.platforms,
            )
            if artwork and spec.artwork == spec.key:
                covers[spec.key] = _paint(world, spec, row, written)
                painted += 1
                if painted % 50 == 0:
                    progress(f"{painted} covers painted")
            elif artwork and spec.artwork:
                # A track shows its album's cover: the same files, not a copy.
                row.artwork.name, row.artwork_thumbnail.name = covers.get(spec.artwork, ("", ""))
            rows.append(row)
        Item.objects.bulk_create(rows, batch_size=BATCH)
        for spec, row in zip(generations[depth], rows, strict=True):
            ids[spec.key] = row.pk
    report.items = len(missing)
    progress(f"{report.items} items, {painted} covers")

    ExternalId.objects.bulk_create(
        [ExternalId(item_id=ids[s.key], source=SOURCE, value=_key(world, s.key)) for s in missing],
        batch_size=BATCH,
    )
    Item.genres.through.objects.bulk_create(
        [
            Item.genres.through(item_id=ids[s.key], genre_id=genres[(s.kind, name)])
            for s in missing
            for name in s.genres
        ],
        batch_size=BATCH,
        ignore_conflicts=True,
    )
    Credit.objects.bulk_create(
        [
            Credit(item_id=ids[s.key], creator_id=creators[name], role=role, order=order)
            for s in missing
            for order, (role, name) in enumerate(s.credits)
        ],
        batch_size=BATCH,
        ignore_conflicts=True,
    )
    return ids


def _paint(world: DemoWorld, spec: DemoItem, row: Item, written: list[str]) -> tuple[str, str]:
    """Store the item's cover and its thumbnail; their file names."""
    png = render_png(spec.kind, spec.genres, spec.key, world.seed)
    name = f"demo-{spec.key}.png"
    row.artwork.save(name, ContentFile(png, name=name), save=False)
    written.append(row.artwork.name or "")
    thumbnail = thumbnail_of(ContentFile(png), name)
    row.artwork_thumbnail.save(thumbnail.name or "thumb.webp", thumbnail, save=False)
    written.append(row.artwork_thumbnail.name or "")
    return row.artwork.name or "", row.artwork_thumbnail.name or ""


def _people(world: DemoWorld, accounts: bool, report: LoadReport) -> dict[str, int]:
    """User ids by demo key, creating the missing people (and log-ins, with `accounts`)."""
    stored = User.objects.filter(
        imported_from=SOURCE, imported_id__startswith=f"{world.signature}:"
    ).values_list("imported_id", "pk")
    # The log-ins share the prefix; they are looked after below.
    people = {p.key for p in world.people}
    ids = {
        imported_id.split(":", 1)[1]: pk
        for imported_id, pk in stored
        if imported_id.split(":", 1)[1] in people
    }
    missing = [p for p in world.people if p.key not in ids]
    wanted = [p.username for p in missing]
    taken: set[str] = set()
    for start in range(0, len(wanted), BATCH):
        chunk = wanted[start : start + BATCH]
        taken.update(User.objects.filter(username__in=chunk).values_list("username", flat=True))
    if taken:
        raise WorldConflict(
            f"These usernames are taken by accounts outside the demo world: {sorted(taken)}."
        )
    # Demo people cannot log in: their history is there to be recommended from and learnt.
    unusable = make_password(None)
    rows = [
        User(
            username=p.username,
            first_name=p.first_name,
            last_name=p.last_name,
            email=f"{p.username}@demo.invalid",
            password=unusable,
            imported_from=SOURCE,
            imported_id=_key(world, p.key),
        )
        for p in missing
    ]
    User.objects.bulk_create(rows, batch_size=BATCH)
    # The demo's people are made up, so they let every signal train the models; a real
    # person's reviews train nothing until they switch it on.
    PrivacySettings.objects.bulk_create(
        [PrivacySettings(user_id=row.pk, train_on_reviews=True) for row in rows], batch_size=BATCH
    )
    ids.update({p.key: row.pk for p, row in zip(missing, rows, strict=True)})
    report.people = len(missing)
    if accounts:
        for username, key in ACCOUNT_KEYS.items():
            user_id = _account(world, username, key, report)
            if user_id is not None and key == world.account.key:
                ids[key] = user_id
    return ids


def _account(world: DemoWorld, username: str, key: str, report: LoadReport) -> int | None:
    """The log-in's id when it is the demo world's own; an account of the same name that
    someone else made is left exactly as it is."""
    existing = User.objects.filter(username=username).first()
    if existing is not None:
        if existing.imported_from != SOURCE:
            report.accounts_kept.append(username)
            return None
        return existing.pk
    staff = username == "staff"
    user = User.objects.create(
        username=username,
        first_name=world.account.first_name if not staff else "Demo",
        last_name=world.account.last_name if not staff else "Staff",
        email=f"{username}@demo.invalid",
        password=make_password(DEMO_PASSWORD),
        is_staff=staff,
        is_superuser=staff,
        imported_from=SOURCE,
        imported_id=_key(world, key),
    )
    report.accounts_created.append(username)
    return user.pk


def _history(
    world: DemoWorld, people: dict[str, int], items: dict[str, int], report: LoadReport
) -> None:
    started = timezone.now()
    # As in the recording functions: nothing is stored for someone whose history is paused
    # (the `demo` log-in may have paused it before a rerun).
    paused = set(
        PrivacySettings.objects.filter(user__imported_from=SOURCE, history_paused=True).values_list(
            "user_id", flat=True
        )
    )
    plays, ratings, reviews = [], [], []
    rating_times: dict[tuple[int, str], datetime] = {}
    review_times: dict[tuple[int, str], datetime] = {}
    for person in [*world.people, world.account]:
        user_id = people.get(person.key)
        if user_id is None or user_id in paused:
            continue
        plays += [
            Play(
                user_id=user_id,
                item_id=items[p.item],
                started_at=p.started_at,
                seconds_played=p.seconds_played,
                completed=p.completed,
                client_event_id=f"demo-play-{n}",
            )
            for n, p in enumerate(person.plays)
        ]
        ratings += [
            Rating(
                user_id=user_id,
                item_id=items[r.item],
                value=r.stars,
                client_event_id=f"demo-rating-{n}",
            )
            for n, r in enumerate(person.ratings)
        ]
        rating_times.update(
            {(user_id, f"demo-rating-{n}"): r.at for n, r in enumerate(person.ratings)}
        )
        reviews += [
            Review(
                user_id=user_id,
                item_id=items[r.item],
                text=r.text,
                rating=r.stars,
                client_event_id=f"demo-review-{n}",
            )
            for n, r in enumerate(person.reviews)
        ]
        review_times.update(
            {(user_id, f"demo-review-{n}"): r.at for n, r in enumerate(person.reviews)}
        )
    report.plays = _insert(Play, plays)
    report.ratings = _insert(Rating, ratings)
    report.reviews = _insert(Review, reviews)
    # Only the rows inserted now: a rerun leaves earlier rows (maybe changed since) alone.
    mine = {"user__imported_from": SOURCE, "created_at__gte": started}
    _backdate(Rating.objects.filter(**mine), rating_times)
    _backdate(Review.objects.filter(**mine), review_times)


def _insert(model: type[Play] | type[Rating] | type[Review], rows: Sequence[Model]) -> int:
    """Insert, skipping rows the database already has; the number actually inserted."""
    mine = model.objects.filter(user__imported_from=SOURCE)
    before = mine.count()
    model.objects.bulk_create(rows, batch_size=BATCH, ignore_conflicts=True)  # type: ignore[arg-type]
    return mine.count() - before


def _backdate(inserted: QuerySet[Dated], when: dict[tuple[int, str], datetime]) -> None:
    """Give rows the times the world says they happened, by (user id, client event id).

    Bulk inserts stamp them with "now" (auto_now_add); the snapshot orders ratings by time.
    """
    rows = list(inserted.only("pk", "user_id", "client_event_id"))
    for row in rows:
        row.created_at = row.updated_at = when[(row.user_id, row.client_event_id or "")]
    # Small batches: each is one UPDATE with a CASE over its rows.
    inserted.model._default_manager.bulk_update(rows, ["created_at", "updated_at"], 100)
