"""The demo world as plain data: a catalogue, people with latent tastes, and their history.

Nothing here touches the database; `build_world(seed, ...)` gives the same world for the same
arguments. The history is generated from the tastes with structure a sequence model can find:

- films in a series are watched in order (part one first, often the next part straight after);
- albums are played track by track in order, and often the same artist's next album follows;
- sessions stay in one genre (a "genre run"), chosen by the person's taste;
- games are played over several sessions until finished;
- ratings follow taste and an item's quality, plus noise; reviews' words follow the rating.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from . import vocab
from .reviews import review_text

# Histories start here: fixed, not "now", so the same seed gives the same timestamps.
HISTORY_START = datetime(2025, 1, 6, 18, 0, tzinfo=UTC)
DEMO_ACCOUNT_KEY = "account-demo"
KINDS = ("film", "music", "game")
# When sessions start (UTC hours): a little at breakfast and lunch, mostly in the evening.
SESSION_HOURS = (7, 8, 12, 13, 17, 18, 19, 19, 20, 20, 20, 21, 21, 21, 22, 22, 23)


@dataclass
class DemoItem:
    key: str
    kind: str
    title: str
    genres: list[str]  # names, the first is the main one
    year: int | None = None
    description: str = ""
    runtime_minutes: int | None = None
    music_type: str = ""
    parent: str | None = None  # key of the artist (album), album (track) or first film
    position: int | None = None
    duration_seconds: int | None = None
    platforms: list[str] = field(default_factory=list)
    credits: list[tuple[str, str]] = field(default_factory=list)  # (role, name), billing order
    # The key of the item whose cover this item shows: its own, or its album's for a track.
    artwork: str | None = None
    # Latent, never stored: how good people find it, how often it is picked.
    quality: float = 0.0
    popularity: float = 1.0
    sessions_to_finish: int = 0  # games


@dataclass(frozen=True)
class DemoPlay:
    item: str
    started_at: datetime
    seconds_played: int
    completed: bool


@dataclass(frozen=True)
class DemoRating:
    item: str
    stars: Decimal
    at: datetime


@dataclass(frozen=True)
class DemoReview:
    item: str
    text: str
    stars: Decimal
    at: datetime


@dataclass
class DemoPerson:
    key: str
    username: str
    first_name: str
    last_name: str
    kinds: dict[str, float]  # share of sessions per kind
    tastes: dict[str, dict[str, float]]  # kind -> genre -> affinity in [-1, 1]
    generosity: float  # added to every rating
    plays: list[DemoPlay] = field(default_factory=list)
    ratings: list[DemoRating] = field(default_factory=list)
    reviews: list[DemoReview] = field(default_factory=list)


@dataclass
class DemoWorld:
    seed: int
    genres: dict[str, list[str]]
    items: list[DemoItem]  # every parent comes before its children
    people: list[DemoPerson]
    account: DemoPerson  # the history of the `demo` log-in

    @property
    def signature(self) -> str:
        """Names this world among others: a rerun with the same one adds nothing."""
        return f"s{self.seed}-p{len(self.people)}-i{self.items_per_kind}"

    @property
    def items_per_kind(self) -> int:
        return sum(1 for item in self.items if item.kind == "film")


# --- Catalogue ---------------------------------------------------------------------------------


class _Names:
    """Unique titles and names: a clash gets another draw, then a number."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def unique(self, draw: Callable[[], str]) -> str:
        for _ in range(30):
            name = draw()
            if name not in self.used:
                break
        base, n = name, 2
        while name in self.used:
            name, n = f"{base} {n}", n + 1
        self.used.add(name)
        return name


def _person_name(rng: random.Random) -> str:
    return f"{rng.choice(vocab.FIRST_NAMES)} {rng.choice(vocab.LAST_NAMES)}"


def _genres_for(rng: random.Random, names: list[str]) -> list[str]:
    main = rng.choice(names)
    if rng.random() < 0.5:
        return [main, rng.choice([n for n in names if n != main])]
    return [main]


def _year(rng: random.Random, first: int) -> int:
    # Skewed to recent years, like any catalogue.
    return min(2025, first + int((2025 - first) * rng.random() ** 0.6))


def _quality(rng: random.Random) -> tuple[float, float]:
    quality = rng.gauss(0, 0.5)
    popularity = math.exp(rng.gauss(0, 0.8) + 0.6 * quality)
    return quality, popularity


def _films(rng: random.Random, n: int) -> list[DemoItem]:
    genres = list(vocab.FILM_GENRES)
    titles = _Names()
    directors = [_person_name(rng) for _ in range(max(2, n // 3))]
    actors = list({_person_name(rng) for _ in range(max(8, n))})
    actors.sort()
    films: list[DemoItem] = []
    # Series start at random, and at the latest here, so even a tiny world has one.
    series_by = rng.randrange(max(1, n - 1))
    while len(films) < n:
        left = n - len(films)
        series = rng.random() < 0.15 or (
            len(films) >= series_by and not any(f.parent for f in films)
        )
        parts = min(left, rng.randint(2, 4)) if left >= 2 and series else 1
        item_genres = _genres_for(rng, genres)
        adjectives, nouns = vocab.FILM_GENRES[item_genres[0]]

        def draw(adjectives: list[str] = adjectives, nouns: list[str] = nouns) -> str:
            pattern = rng.randrange(4)
            if pattern == 0:
                return f"The {rng.choice(adjectives)} {rng.choice(nouns)}"
            if pattern == 1:
                return f"{rng.choice(adjectives)} {rng.choice(nouns)}"
            if pattern == 2:
                return f"{rng.choice(nouns)} of the {rng.choice(vocab.FILM_PLACES)}"
            return f"The {rng.choice(nouns)}"

        stem = titles.unique(draw)
        director = rng.choice(directors)
        cast = rng.sample(actors, rng.randint(3, 5))
        year = _year(rng, 1970 if parts == 1 else 1990)
        base_quality, popularity = _quality(rng)
        first_key = f"film-{len(films) + 1:04d}"
        for part in range(parts):
            key = f"film-{len(films) + 1:04d}"
            title = stem + vocab.SEQUEL_SUFFIXES[part] if part else stem
            titles.used.add(title)
            # Sequels keep most of the cast and lose a little quality each time.
            part_cast = cast[:2] + rng.sample([a for a in actors if a not in cast[:2]], 2)
            runtime = (
                rng.randint(80, 105) if item_genres[0] == "Animation" else rng.randint(85, 165)
            )
            films.append(
                DemoItem(
                    key=key,
                    kind="film",
                    title=title,
                    genres=item_genres,
                    year=min(2025, year + 3 * part),
                    description=(
                        f"A {item_genres[0].lower()} film directed by {director}"
                        + (f", part {part + 1} of the {stem} series." if parts > 1 else ".")
                    ),
                    runtime_minutes=runtime,
                    parent=first_key if part else None,
                    position=part + 1 if parts > 1 else None,
                    credits=[("director", director)] + [("cast", a) for a in part_cast],
                    artwork=key,
                    quality=base_quality - 0.15 * part,
                    popularity=popularity * (0.8**part),
                )
            )
    return films


def _music(rng: random.Random, n_albums: int) -> list[DemoItem]:
    genres = list(vocab.MUSIC_GENRES)
    names = _Names()
    artists: list[DemoItem] = []
    for index in range(max(1, n_albums // 3)):
        item_genres = _genres_for(rng, genres)
        adjectives, nouns = vocab.MUSIC_GENRES[item_genres[0]]

        def draw(adjectives: list[str] = adjectives, nouns: list[str] = nouns) -> str:
            if rng.random() < 0.6:
                return f"The {rng.choice(adjectives)} {rng.choice(nouns)}"
            return _person_name(rng)

        name = names.unique(draw)
        quality, popularity = _quality(rng)
        key = f"music-artist-{index + 1:04d}"
        artists.append(
            DemoItem(
                key=key,
                kind="music",
                title=name,
                genres=item_genres,
                description=f"{item_genres[0]} artist.",
                music_type="artist",
                credits=[("artist", name)],
                artwork=key,
                quality=quality,
                popularity=popularity,
            )
        )
    # Every artist gets an album; the rest go to artists at random.
    album_counts = dict.fromkeys((a.key for a in artists), 1)
    for _ in range(n_albums - len(artists)):
        album_counts[rng.choice(artists).key] += 1

    albums: list[DemoItem] = []
    tracks: list[DemoItem] = []
    album_titles = _Names()
    for artist in artists:
        count = album_counts[artist.key]
        first_year = _year(rng, 1965)
        for number in range(count):
            adjectives, nouns = vocab.MUSIC_GENRES[artist.genres[0]]

            def album_title(adjectives: list[str] = adjectives, nouns: list[str] = nouns) -> str:
                return f"{rng.choice(adjectives)} {rng.choice(nouns)}"

            title = album_titles.unique(album_title)
            key = f"music-album-{len(albums) + 1:04d}"
            year = min(2025, first_year + 2 * number + rng.randint(0, 2))
            quality = artist.quality + rng.gauss(0, 0.3)
            album = DemoItem(
                key=key,
                kind="music",
                title=title,
                genres=list(artist.genres),
                year=year,
                description=f"Album number {number + 1} by {artist.title}.",
                music_type="album",
                parent=artist.key,
                position=number + 1,
                credits=[("artist", artist.title)],
                artwork=key,
                quality=quality,
                popularity=artist.popularity * math.exp(rng.gauss(0, 0.3)),
            )
            albums.append(album)
            track_names = _Names()
            for position in range(1, rng.randint(5, 10) + 1):
                track_title = track_names.unique(
                    lambda: rng.choice(vocab.TRACK_PATTERNS).format(
                        a=rng.choice(vocab.TRACK_WORDS), b=rng.choice(vocab.TRACK_WORDS)
                    )
                )
                tracks.append(
                    DemoItem(
                        key=f"music-track-{len(tracks) + 1:05d}",
                        kind="music",
                        title=track_title,
                        genres=list(album.genres),
                        year=year,
                        description=f"Track {position} of {title} by {artist.title}.",
                        music_type="track",
                        parent=key,
                        position=position,
                        duration_seconds=rng.randint(110, 420),
                        credits=[("artist", artist.title)],
                        artwork=key,
                        quality=quality + rng.gauss(0, 0.2),
                    )
                )
    return artists + albums + tracks


def _numbered(title: str, number: int) -> str:
    """A sequel's title: "Siege 2", or "Siege 2: Awakening" for a subtitled one."""
    head, colon, tail = title.partition(": ")
    return f"{head} {number}{colon}{tail}"


def _games(rng: random.Random, n: int) -> list[DemoItem]:
    genres = list(vocab.GAME_GENRES)
    titles = _Names()
    first, second = vocab.STUDIO_WORDS
    studios = list({f"{rng.choice(first)} {rng.choice(second)}" for _ in range(max(2, n // 4))})
    studios.sort()
    games: list[DemoItem] = []
    series_by = rng.randrange(max(1, n - 1))
    while len(games) < n:
        left = n - len(games)
        series = rng.random() < 0.1 or (
            len(games) >= series_by and not any(g.parent for g in games)
        )
        parts = min(left, rng.randint(2, 3)) if left >= 2 and series else 1
        item_genres = _genres_for(rng, genres)
        adjectives, nouns = vocab.GAME_GENRES[item_genres[0]]

        def draw(adjectives: list[str] = adjectives, nouns: list[str] = nouns) -> str:
            if rng.random() < 0.5:
                return f"{rng.choice(adjectives)} {rng.choice(nouns)}"
            return f"{rng.choice(nouns)}: {rng.choice(vocab.GAME_SUBTITLES)}"

        stem = titles.unique(draw)
        developer = rng.choice(studios)
        publisher = developer if rng.random() < 0.2 else rng.choice(vocab.PUBLISHERS)
        year = _year(rng, 1995)
        quality, popularity = _quality(rng)
        first_key = f"game-{len(games) + 1:04d}"
        for part in range(parts):
            key = f"game-{len(games) + 1:04d}"
            platforms = rng.sample(vocab.PLATFORMS, rng.randint(1, 4))
            credits = [("developer", developer)]
            if publisher != developer:
                credits.append(("publisher", publisher))
            games.append(
                DemoItem(
                    key=key,
                    kind="game",
                    title=_numbered(stem, part + 1) if part else stem,
                    genres=item_genres,
                    year=min(2025, year + 3 * part),
                    description=f"A {item_genres[0].lower()} game by {developer}.",
                    parent=first_key if part else None,
                    position=part + 1 if parts > 1 else None,
                    platforms=sorted(platforms, key=vocab.PLATFORMS.index),
                    credits=credits,
                    artwork=key,
                    quality=quality - 0.1 * part,
                    popularity=popularity * (0.8**part),
                    sessions_to_finish=rng.randint(3, 8),
                )
            )
    return games


# --- People ------------------------------------------------------------------------------------


def _tastes(rng: random.Random) -> dict[str, dict[str, float]]:
    tastes: dict[str, dict[str, float]] = {}
    for kind, genres in vocab.GENRES_BY_KIND.items():
        order = list(genres)
        rng.shuffle(order)
        affinity = {}
        for rank, genre in enumerate(order):
            if rank < 2:
                affinity[genre] = rng.uniform(0.6, 1.0)
            elif rank < 4:
                affinity[genre] = rng.uniform(-1.0, -0.4)
            else:
                affinity[genre] = rng.uniform(-0.3, 0.3)
        tastes[kind] = affinity
    return tastes


def _person(rng: random.Random, key: str, usernames: set[str]) -> DemoPerson:
    first, last = rng.choice(vocab.FIRST_NAMES), rng.choice(vocab.LAST_NAMES)
    base = f"{first}.{last}".lower()
    username, n = base, 2
    while username in usernames:
        username, n = f"{base}{n}", n + 1
    usernames.add(username)
    weights = {kind: rng.gammavariate(1.2, 1.0) for kind in KINDS}
    total = sum(weights.values())
    return DemoPerson(
        key=key,
        username=username,
        first_name=first,
        last_name=last,
        kinds={kind: w / total for kind, w in weights.items()},
        tastes=_tastes(rng),
        generosity=rng.gauss(0, 0.35),
    )


class _Catalogue:
    """Indexes of the catalogue that a person's history draws from."""

    def __init__(self, items: list[DemoItem]) -> None:
        self.items = {item.key: item for item in items}
        self.children: dict[str, list[DemoItem]] = defaultdict(list)
        for item in items:
            if item.parent:
                self.children[item.parent].append(item)
        # What a session starts from, per kind and genre: films, albums, games.
        self.starts: dict[str, dict[str, list[DemoItem]]] = defaultdict(lambda: defaultdict(list))
        for item in items:
            if item.kind == "music" and item.music_type != "album":
                continue
            for genre in item.genres:
                self.starts[item.kind][genre].append(item)

    def series(self, item: DemoItem) -> list[DemoItem]:
        """The parts of a film's or game's series in order ([item] when it stands alone)."""
        if item.position is None:
            return [item]
        head = self.items[item.parent] if item.parent else item
        return [head, *self.children[head.key]]

    def tracks(self, album: DemoItem) -> list[DemoItem]:
        return self.children[album.key]

    def next_album(self, album: DemoItem) -> DemoItem | None:
        albums = self.children[album.parent or ""]
        later = [a for a in albums if (a.position or 0) > (album.position or 0)]
        return later[0] if later else None


class _History:
    """One person's life with the catalogue, session after session."""

    def __init__(self, rng: random.Random, person: DemoPerson, catalogue: _Catalogue) -> None:
        self.rng = rng
        self.person = person
        self.catalogue = catalogue
        # People join over four months; their first session is on an evening like the rest.
        self.now = HISTORY_START + timedelta(days=rng.randint(0, 120), minutes=rng.randint(0, 240))
        self.seen: set[str] = set()
        self.rated: set[str] = set()
        self.liked_albums: dict[str, float] = {}
        self.game_sessions: dict[str, int] = defaultdict(int)
        self.finished: set[str] = set()

    # The person's view of an item.
    def affinity(self, item: DemoItem) -> float:
        taste = self.person.tastes[item.kind]
        weights = [0.7, 0.3][: len(item.genres)]
        return sum(w * taste.get(g, 0.0) for w, g in zip(weights, item.genres, strict=False)) / sum(
            weights
        )

    def liking(self, item: DemoItem) -> float:
        return self.affinity(item) + 0.5 * item.quality

    def stars(self, item: DemoItem) -> Decimal:
        score = 3.0 + 1.6 * self.affinity(item) + 1.0 * item.quality + self.person.generosity
        score += self.rng.gauss(0, 0.45)
        halves = min(10, max(1, round(score * 2)))
        return Decimal(halves) / 2

    # Choices.
    def pick_genre(self, kind: str) -> str:
        taste = self.person.tastes[kind]
        # Only genres with something in them: a small catalogue leaves some empty.
        genres = sorted(g for g in taste if self.catalogue.starts[kind].get(g))
        if self.rng.random() < 0.15:  # now and then, something new
            return self.rng.choice(genres)
        return self.rng.choices(genres, weights=[math.exp(3 * taste[g]) for g in genres])[0]

    def pick(self, candidates: list[DemoItem], boost: dict[str, float]) -> DemoItem | None:
        weights = [c.popularity * boost.get(c.key, 1.0) for c in candidates]
        if not candidates or sum(weights) <= 0:
            return None
        return self.rng.choices(candidates, weights=weights)[0]

    # Events.
    def play(self, item: DemoItem, seconds: int, completed: bool) -> None:
        self.person.plays.append(DemoPlay(item.key, self.now, seconds, completed))
        self.seen.add(item.key)
        self.now += timedelta(seconds=seconds + self.rng.randint(5, 120))

    def maybe_rate(self, item: DemoItem, chance: float) -> None:
        if item.key in self.rated or self.rng.random() >= chance:
            return
        self.rated.add(item.key)
        stars = self.stars(item)
        at = self.now + timedelta(minutes=self.rng.randint(1, 30))
        self.person.ratings.append(DemoRating(item.key, stars, at))
        # Strong feelings get written down more often, disappointment most of all.
        if self.rng.random() < (0.7 if stars <= 2 else 0.25 + 0.25 * abs(float(stars) - 3) / 2):
            text = review_text(self.rng, item.kind, item.title, item.genres[0], float(stars))
            self.person.reviews.append(
                DemoReview(item.key, text, stars, at + timedelta(minutes=self.rng.randint(1, 20)))
            )

    # Sessions.
    def film_session(self, genre: str) -> None:
        for _ in range(self.rng.choice([1, 1, 2, 2, 3])):
            candidates = self.catalogue.starts["film"][genre]
            # Films are rarely watched twice.
            film = self.pick(candidates, {c.key: 0.03 for c in candidates if c.key in self.seen})
            if film is None:
                return
            parts = self.catalogue.series(film)
            # A series is started from its first unseen part, nearly always.
            if self.rng.random() < 0.95:
                film = next((p for p in parts if p.key not in self.seen), film)
            while True:
                self.watch(film)
                later = parts[parts.index(film) + 1 :]
                if not later or self.rng.random() > 0.7:
                    break
                film = later[0]

    def watch(self, film: DemoItem) -> None:
        full = (film.runtime_minutes or 100) * 60
        liking = self.liking(film)
        completed = self.rng.random() < 1 / (1 + math.exp(-(1.5 + 2.5 * liking)))
        seconds = full if completed else int(full * self.rng.uniform(0.1, 0.6))
        first_time = film.key not in self.seen
        self.play(film, seconds, completed)
        if first_time:
            self.maybe_rate(film, 0.55 if completed else 0.3)

    def music_session(self, genre: str) -> None:
        boost = {key: 0.5 + 2 * max(0.0, like) for key, like in self.liked_albums.items()}
        album = self.pick(self.catalogue.starts["music"][genre], boost)
        for _ in range(self.rng.choice([1, 1, 2, 3])):
            if album is None:
                return
            self.listen(album)
            following = self.catalogue.next_album(album)
            if following is not None and self.rng.random() < 0.5:
                album = following
            else:
                album = self.pick(self.catalogue.starts["music"][genre], boost)

    def listen(self, album: DemoItem) -> None:
        tracks = list(self.catalogue.tracks(album))
        if self.rng.random() < 0.08:  # a few people shuffle
            self.rng.shuffle(tracks)
        liking = self.liking(album)
        stop = 0.03 if liking > 0.3 else 0.18
        played = 0
        for track in tracks:
            full = track.duration_seconds or 200
            skipped = self.rng.random() < (0.05 if liking > 0.3 else 0.25)
            self.play(
                track, int(full * self.rng.uniform(0.05, 0.4)) if skipped else full, not skipped
            )
            played += 1
            if self.rng.random() < stop:
                break
        self.liked_albums[album.key] = liking
        if played * 2 >= len(tracks):
            self.maybe_rate(album, 0.35)
        if tracks:
            self.maybe_rate(self.rng.choice(tracks[:played]), 0.05)

    def game_session(self, genre: str) -> None:
        candidates = self.catalogue.starts["game"][genre]
        for _ in range(self.rng.choice([1, 1, 1, 2])):
            boost = {
                c.key: (4.0 if c.key in self.game_sessions else 1.0)
                * (0.05 if c.key in self.finished else 1.0)
                for c in candidates
            }
            game = self.pick(candidates, boost)
            if game is None:
                return
            parts = self.catalogue.series(game)
            if game.key not in self.game_sessions and self.rng.random() < 0.9:
                game = next((p for p in parts if p.key not in self.finished), game)
            self.game_sessions[game.key] += 1
            sessions = self.game_sessions[game.key]
            # A game the person dislikes is dropped before the end.
            done = (
                game.key not in self.finished
                and sessions >= game.sessions_to_finish
                and self.liking(game) >= -0.3
            )
            minutes = self.rng.randint(20, 150)
            self.play(game, minutes * 60, done)
            if done:
                self.finished.add(game.key)
                self.maybe_rate(game, 0.7)
            elif sessions == 2:
                self.maybe_rate(game, 0.25)

    def live(self, sessions: int) -> None:
        kinds = list(self.person.kinds)
        for _ in range(sessions):
            kind = self.rng.choices(kinds, weights=[self.person.kinds[k] for k in kinds])[0]
            genre = self.pick_genre(kind)
            getattr(self, f"{kind}_session")(genre)
            self.now = self.next_session()

    def next_session(self) -> datetime:
        """A day or two later, mostly in the evening, never before the last session ended."""
        day = self.now + timedelta(days=self.rng.expovariate(1 / 1.5))
        hour = self.rng.choice(SESSION_HOURS)
        start = day.replace(hour=hour, minute=self.rng.randint(0, 59))
        return start if start > self.now else start + timedelta(days=1)


# --- The world ---------------------------------------------------------------------------------


def build_world(seed: int, people: int, items_per_kind: int) -> DemoWorld:
    """The catalogue (items_per_kind films, albums with their tracks and artists, games) and
    `people` people plus the `demo` account's history, all from `seed`."""
    if people < 1 or items_per_kind < 2:
        raise ValueError("A demo world needs at least 1 person and 2 items per kind.")
    rng = random.Random(seed)
    items = _films(rng, items_per_kind) + _music(rng, items_per_kind) + _games(rng, items_per_kind)
    catalogue = _Catalogue(items)
    usernames = {"demo", "staff"}
    persons: list[DemoPerson] = []
    for index in range(people):
        person = _person(rng, f"person-{index + 1:05d}", usernames)
        # A few very active people, most moderately so: a long tail, like real services.
        sessions = min(80, max(6, int(rng.lognormvariate(2.7, 0.5))))
        _History(rng, person, catalogue).live(sessions)
        persons.append(person)
    account = _person(rng, DEMO_ACCOUNT_KEY, set())
    account.username, account.first_name, account.last_name = "demo", "Demo", "Person"
    _History(rng, account, catalogue).live(25)
    genres = {kind: list(names) for kind, names in vocab.GENRES_BY_KIND.items()}
    return DemoWorld(seed=seed, genres=genres, items=items, people=persons, account=account)
