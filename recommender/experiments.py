"""Online A/B experiments: two sequence versions (or one against the popular lists) on live
traffic, each person in one arm for the experiment's whole life, and the arms' results.

Assignment is a stable hash (blake2b of the experiment's salt and the person's id, read as a
number in [0, 1)): the same in every process and after every restart, with no row per person.
Serving (recommender.serving) reads the running experiments from the cache once per process
every few seconds, like the active versions, and never queries the database per read: starting
or stopping one deletes the cached copy (after commit) and bumps this process's generation, so
this process sees it at once and every other within the same few seconds as an activation.

Only sequence experiments are accepted: the sequence version is what ranks the lists. A
sentiment version's scores are written onto reviews when they are scored, one score per review,
so two versions cannot serve side by side; an artwork version only places cold items in the
lists and drives "Looks similar" on item pages, so a list-level comparison would measure almost
nothing of it. Both are refused with a 400 that says so.

Results (`results`) are per person, not per impression: one person's impressions are
correlated (the same taste, the same page views), so treating each as independent would make
every difference look significant. For each arm and each rate (click-through, play-through,
rating 4+ per impression of the lists judged, JUDGED_LISTS) each person's own rate is taken,
the arm's rate is the mean over its people with a 95% Student t interval, and B is compared
with A by Welch's t-test (unequal variances). Click-through is the primary metric: it decides
"significant" and the winner; the other two are shown with their own tests. Arms of fewer
than PRIVACY_MIN_GROUP_SIZE people are hidden, and then nothing is compared. Days whose raw
impressions have expired count in the arms' totals from the daily aggregates (ListMetricDay)
but not in the per-person figures or the test, which need one row per impression.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Min, Sum
from django.utils import timezone

from entertainment import caching
from entertainment.accounts.models import User
from entertainment.activity.models import Impression, ListName

from . import registry, staff_actions
from .models import Experiment, ListMetricDay, ModelKind, ModelVersion
from .popular import NON_PERSONAL
from .staff_metrics import at_least_k

RUNNING_KEY = "experiments:running"
# Start and stop delete the cached copy; the TTL only bounds a deletion lost to a cache outage.
RUNNING_TTL_S = 300
KINDS = (ModelKind.SEQUENCE.value,)
REFUSED_KINDS = {
    ModelKind.SENTIMENT.value: "Sentiment versions cannot be compared online: each review "
    "keeps the one score the active version gave it, so both arms would see the same lists.",
    ModelKind.ARTWORK.value: "Artwork versions cannot be compared online: the artwork model "
    "only places new items without plays in the lists, too little to measure per list.",
}
ARMS = ("a", "b")
# The rates compared, each per person: (name, label, the impression field of its outcome).
RATES = (
    ("click_through", "Click-through", "clicked_at"),
    ("play_through", "Play-through", "played_at"),
    ("high_rating", "Rating 4+", "rated_at"),
)
PRIMARY = "click_through"
ALPHA = 0.05
# The lists an experiment is judged on: the person's own lists (home page rows and the API),
# or the popular ones shown in their place. Every person of an arm is shown them, whatever they
# do; "Up next" follows the arm too, but how often someone sees it depends on the item pages
# they open, itself an outcome of their arm, so it would weigh the arms unequally.
JUDGED_LISTS = (ListName.FOR_YOU.value, ListName.POPULAR.value)


# --- Assignment and the running experiments, as serving reads them ---------------------------


def assign(salt: str, user_id: int, share: float) -> str:
    """The arm of a person: "b" for a `share` of people, "a" for the rest, for good."""
    digest = hashlib.blake2b(f"{salt}:{user_id}".encode(), digest_size=8).digest()
    return "b" if int.from_bytes(digest, "big") / 2.0**64 < share else "a"


@dataclass(frozen=True)
class Running:
    """A running experiment as serving needs it (plain data: it lives in the cache)."""

    id: int
    kind: str
    salt: str
    share: float
    version_a: int
    version_b: int | None  # None: arm B sees the popular lists

    def arm(self, user_id: int) -> str:
        return assign(self.salt, user_id, self.share)


_generation = [0]


def generation() -> int:
    """Bumped when this process starts or stops an experiment: serving looks again at once."""
    return _generation[0]


def running_all() -> dict[str, Running]:
    """The running experiments by kind: from the cache, else the database (then cached)."""
    cached = caching.get(RUNNING_KEY)
    if isinstance(cached, list):
        try:
            return {r["kind"]: Running(**r) for r in cached}
        except (TypeError, KeyError):
            pass  # an older shape: read again
    rows = [
        Running(e.pk, e.kind, e.salt, e.share, e.version_a_id, e.version_b_id)
        for e in Experiment.objects.filter(status=Experiment.Status.RUNNING)
    ]
    caching.put(RUNNING_KEY, [asdict(r) for r in rows], RUNNING_TTL_S)
    return {r.kind: r for r in rows}


def running(kind: str) -> Running | None:
    return running_all().get(kind)


def _changed() -> None:
    # Now, and again after commit: a read between the two may have cached the old state.
    caching.delete([RUNNING_KEY])
    _generation[0] += 1

    def again() -> None:
        caching.delete([RUNNING_KEY])
        _generation[0] += 1

    transaction.on_commit(again)


# --- Starting, stopping, activating the winner -----------------------------------------------


class Refused(Exception):
    """Nothing was done; `errors` holds messages by field, for a form or a 400."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(m for ms in errors.values() for m in ms))
        self.errors = errors


def _serves(version: ModelVersion) -> str | None:
    """Why the version cannot serve, or None."""
    if version.needs_retrain_since is not None:
        return f"{version.label} was trained with data that has been erased."
    if not version.path or not Path(version.path, "meta.json").is_file():
        return f"{version.label} has no model files."
    return None


def start(
    name: str,
    kind: str,
    version_a: ModelVersion,
    version_b: ModelVersion | None,
    share: float,
    started_by: User | None = None,
) -> Experiment:
    """Start an experiment; raises Refused with messages by field."""
    errors: dict[str, list[str]] = {}
    if kind in REFUSED_KINDS:
        errors["kind"] = [REFUSED_KINDS[kind]]
    elif kind not in KINDS:
        errors["kind"] = [f"Unknown model kind {kind}."]
    for field_name, version in (("version_a", version_a), ("version_b", version_b)):
        if version is None:
            continue
        if version.kind != kind:
            errors.setdefault(field_name, []).append(
                f"{version.label} is a {version.kind} version, not {kind}."
            )
        elif problem := _serves(version):
            errors.setdefault(field_name, []).append(problem)
    if version_b is not None and version_b.pk == version_a.pk:
        errors.setdefault("version_b", []).append("Compare two different versions.")
    if not (isinstance(share, int | float) and 0.0 < share < 1.0):
        errors["share"] = ["The share of people in arm B must be between 0 and 1 (exclusive)."]
    running_one = "A {kind} experiment is already running: stop it first."
    if "kind" not in errors and Experiment.objects.filter(kind=kind, status="running").exists():
        errors["kind"] = [running_one.format(kind=kind)]
    if errors:
        raise Refused(errors)
    try:
        with transaction.atomic():
            experiment = Experiment.objects.create(
                name=name,
                kind=kind,
                version_a=version_a,
                version_b=version_b,
                share=float(share),
                salt=secrets.token_hex(16),
                started_by=started_by,
            )
            _changed()
    except IntegrityError:  # started by someone else since the check
        raise Refused({"kind": [running_one.format(kind=kind)]}) from None
    return experiment


def stop(experiment: Experiment) -> Experiment:
    """Stop a running experiment and record its winner (an arm that won significantly with at
    least EXPERIMENT_MIN_PEOPLE people in each arm, else none). Raises Refused if stopped."""
    with transaction.atomic():
        winner = results(experiment).winner
        stopped = Experiment.objects.filter(pk=experiment.pk, status="running").update(
            status=Experiment.Status.STOPPED, stopped_at=timezone.now(), winner=winner
        )
        if stopped != 1:
            raise Refused({"status": ["The experiment has already stopped."]})
        _changed()
    experiment.refresh_from_db()
    return experiment


def activate_winner(experiment: Experiment) -> ModelVersion:
    """Activate the winning arm's version through the registry's normal activation (which
    refreshes lists). Raises Refused while it runs, without a winner, or if the winner is the
    popular lists; staff_actions.ActivationRefused if the version cannot serve."""
    if experiment.status == Experiment.Status.RUNNING:
        raise Refused({"status": ["Stop the experiment before activating its winner."]})
    if experiment.winner not in ARMS:
        raise Refused({"winner": [_no_winner()]})
    version = experiment.version_a if experiment.winner == "a" else experiment.version_b
    if version is None:
        raise Refused({"winner": ["The popular lists won: there is no version to activate."]})
    current = registry.active_version(experiment.kind)
    # The online verdict decides, not the offline metric (registry.passes_policy).
    if not registry.passes_policy(version, current, online=True):
        raise Refused({"winner": [f"{version.label} may not replace {current}."]})
    return staff_actions.activate_version(version)


def _no_winner() -> str:
    return (
        "No arm won: the difference in click-through was not significant, or an arm had fewer "
        f"than {settings.EXPERIMENT_MIN_PEOPLE} people."
    )


# --- Results -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Interval:
    """A value with its 95% confidence interval."""

    value: float
    low: float
    high: float

    @property
    def as_percent(self) -> str:
        return f"{self.value:.1%} ({self.low:.1%} to {self.high:.1%})"

    @property
    def as_points(self) -> str:
        """A difference of rates in percentage points."""
        return f"{100 * self.value:+.1f} points ({100 * self.low:+.1f} to {100 * self.high:+.1f})"


@dataclass(frozen=True)
class ArmResult:
    arm: str
    serves: str  # the version label, or "popular"
    people: int | None  # None: fewer than PRIVACY_MIN_GROUP_SIZE, nothing else shown
    impressions: int
    clicks: int
    plays: int
    high_ratings: int
    # Per person, by RATES name; None where the arm is hidden.
    rates: dict[str, Interval | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Comparison:
    """B minus A of one per-person rate: Welch's t-test."""

    metric: str
    label: str
    difference: Interval
    p_value: float
    significant: bool


@dataclass(frozen=True)
class Results:
    arms: list[ArmResult]
    comparisons: list[Comparison]
    # The primary comparison's verdict; enough: both arms have EXPERIMENT_MIN_PEOPLE people.
    significant: bool
    enough_people: bool
    winner: str  # "a", "b" or "" (no significant difference, or not enough people)
    aggregate_days: int  # days counted from ListMetricDay only (raw rows expired)
    since: datetime | None  # the oldest raw impression counted


def _serves_label(version: ModelVersion | None) -> str:
    return version.label if version is not None else NON_PERSONAL


def _t_quantile(df: float) -> float:
    # scipy only here, on a staff page: the web process's serving path never loads it.
    from scipy.special import stdtrit

    return float(stdtrit(df, 1 - ALPHA / 2))


def _t_two_sided_p(t: float, df: float) -> float:
    from scipy.special import stdtr

    return float(2 * stdtr(df, -abs(t)))


def mean_interval(values: list[float]) -> Interval:
    """Mean with a 95% Student t interval, clipped to [0, 1] (the values are rates)."""
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return Interval(mean, 0.0, 1.0)
    variance = sum((v - mean) ** 2 for v in values) / (n - 1)
    half = _t_quantile(n - 1) * math.sqrt(variance / n)
    return Interval(mean, max(0.0, mean - half), min(1.0, mean + half))


def welch(a: list[float], b: list[float]) -> tuple[Interval, float]:
    """B - A with its 95% interval, and the two-sided p-value of Welch's t-test."""
    na, nb = len(a), len(b)
    ma, mb = sum(a) / na, sum(b) / nb
    va = sum((v - ma) ** 2 for v in a) / (na - 1)
    vb = sum((v - mb) ** 2 for v in b) / (nb - 1)
    diff = mb - ma
    se2 = va / na + vb / nb
    if se2 == 0:  # every person of both arms had the same rate
        return Interval(diff, diff, diff), 1.0 if diff == 0 else 0.0
    df = se2**2 / ((va / na) ** 2 / (na - 1) + (vb / nb) ** 2 / (nb - 1))
    se = math.sqrt(se2)
    half = _t_quantile(df) * se
    return Interval(diff, diff - half, diff + half), _t_two_sided_p(diff / se, df)


def results(experiment: Experiment) -> Results:
    """The arms' figures and B against A, from the experiment's impressions (see the module)."""
    raw = Impression.objects.filter(experiment_id=experiment.pk, list__in=JUDGED_LISTS)
    per_person: Any = raw.values("arm", "user_id").annotate(
        n=Count("pk"), **{name: Count(outcome) for name, _, outcome in RATES}
    )
    since = raw.aggregate(first=Min("created_at"))["first"]
    rates: dict[str, dict[str, list[float]]] = {arm: {n: [] for n, *_ in RATES} for arm in ARMS}
    totals: dict[str, dict[str, int]] = {
        arm: dict.fromkeys(("impressions", *(n for n, *_ in RATES)), 0) for arm in ARMS
    }
    for row in per_person:
        arm = row["arm"]
        if arm not in ARMS or not row["n"]:
            continue
        totals[arm]["impressions"] += row["n"]
        for name, *_ in RATES:
            totals[arm][name] += row[name]
            rates[arm][name].append(row[name] / row["n"])
    days = ListMetricDay.objects.filter(experiment=experiment, arm__in=ARMS, list__in=JUDGED_LISTS)
    if since is not None:
        days = days.filter(day__lt=since.date())
    aggregates: Any = days.values("arm").annotate(
        impressions=Sum("impressions"),
        click_through=Sum("clicks"),
        play_through=Sum("plays"),
        high_rating=Sum("high_ratings"),
        days=Count("day", distinct=True),
    )
    aggregate_days = 0
    for row in aggregates:
        aggregate_days = max(aggregate_days, row["days"])
        for name in totals[row["arm"]]:
            totals[row["arm"]][name] += row[name] or 0
    versions = {"a": experiment.version_a, "b": experiment.version_b}
    arms = []
    for arm in ARMS:
        people = at_least_k(len(rates[arm][PRIMARY]))
        arms.append(
            ArmResult(
                arm=arm,
                serves=_serves_label(versions[arm]),
                people=people,
                impressions=totals[arm]["impressions"],
                clicks=totals[arm]["click_through"],
                plays=totals[arm]["play_through"],
                high_ratings=totals[arm]["high_rating"],
                rates={
                    name: None if people is None else mean_interval(rates[arm][name])
                    for name, *_ in RATES
                },
            )
        )
    comparisons = []
    if all(arm.people is not None for arm in arms):
        for name, label, _ in RATES:
            difference, p = welch(rates["a"][name], rates["b"][name])
            comparisons.append(Comparison(name, label, difference, p, p < ALPHA))
    primary = next((c for c in comparisons if c.metric == PRIMARY), None)
    significant = primary is not None and primary.significant
    enough = all(len(rates[arm][PRIMARY]) >= settings.EXPERIMENT_MIN_PEOPLE for arm in ARMS)
    winner = ""
    if primary is not None and significant and enough:
        winner = "b" if primary.difference.value > 0 else "a"
    return Results(arms, comparisons, significant, enough, winner, aggregate_days, since)


# --- What the dashboard and the API show -------------------------------------------------------


@dataclass(frozen=True)
class Row:
    experiment: Experiment
    results: Results


def rows(limit: int = 20) -> list[Row]:
    """The latest experiments with their results, running ones first."""
    found = Experiment.objects.select_related("version_a", "version_b", "started_by").order_by(
        "status", "-started_at", "-pk"
    )[:limit]
    return [Row(e, results(e)) for e in found]


def version_choices() -> list[ModelVersion]:
    """The versions an experiment may compare: those of the kinds accepted that can serve."""
    found = ModelVersion.objects.filter(kind__in=KINDS, needs_retrain_since=None).exclude(path="")
    return [v for v in found.order_by("kind", "-number") if _serves(v) is None]


def payload(experiment: Experiment, found: Results | None = None) -> dict[str, Any]:
    """An experiment with its results, as the API's serializer reads it."""
    found = found or results(experiment)
    return {"experiment": experiment, "results": found}
