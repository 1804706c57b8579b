"""The model registry, training runs and snapshots."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.db.models import Max, Q


class ModelKind(models.TextChoices):
    SEQUENCE = "sequence", "Play sequences (GRU)"
    SENTIMENT = "sentiment", "Review sentiment (LSTM)"
    ARTWORK = "artwork", "Artwork (CNN)"


class Snapshot(models.Model):
    """One export of consenting people's data to files, the input of a training run.

    `path` is empty once the files are deleted (an erasure, a withdrawn consent, or no run
    needing them any more); a run given such a snapshot takes a new one.
    """

    created_at = models.DateTimeField(auto_now_add=True)
    path = models.CharField(max_length=500)
    data_hash = models.CharField(max_length=64, db_index=True)
    counts = models.JSONField(default=dict)
    # The erasure clock (ErasureClock) when the files were known to hold no erased row: every
    # erasure up to it had committed before the rows were read, or was of someone not in it.
    erasure_seq = models.BigIntegerField(default=0)
    # When someone whose rows it holds erased or deleted some of them after it was written:
    # a version trained on it is marked from its registration on.
    erased_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Snapshot {self.pk} ({self.data_hash[:10]})"


class SnapshotMember(models.Model):
    """Whose data went into a snapshot: erasure uses it to find the models that hold a person."""

    snapshot = models.ForeignKey(Snapshot, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="snapshot_memberships"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["snapshot", "user"], name="snapshot_member_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in snapshot {self.snapshot_id}"


class ErasureClock(models.Model):
    """One row: the number of the last erasure. Every erasure, every snapshot's start and end
    and every registration or activation of a version updates this row first, so they hold
    its lock in turn until they commit: a snapshot never reads rows that an erasure it cannot
    see yet is deleting, and an erasure never misses a snapshot or version registered while
    it runs (recommender/withdrawal.py)."""

    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"erasure clock at {self.value}"


class ErasureEvent(models.Model):
    """Some of a person's rows left (an erasure, an account erasure, a deletion or a
    correction). A snapshot being written meanwhile finds it by number when it ends, and is
    taken again if the person is in it. Pruned after a few days: the person's id is all it
    keeps of them, and no snapshot is written for that long."""

    seq = models.BigIntegerField(unique=True)
    # A plain number, not a key: the account may be gone a moment later.
    person_id = models.BigIntegerField(db_index=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["seq"]

    def __str__(self) -> str:
        return f"erasure {self.seq} of person {self.person_id}"


class ModelVersionQuerySet(models.QuerySet["ModelVersion"]):
    def active(self) -> ModelVersionQuerySet:
        return self.filter(status=ModelVersion.Status.ACTIVE)


class ModelVersion(models.Model):
    class Status(models.TextChoices):
        CANDIDATE = "candidate", "Candidate"
        ACTIVE = "active", "Active"
        REJECTED = "rejected", "Rejected by policy"
        RETIRED = "retired", "Retired"

    kind = models.CharField(max_length=16, choices=ModelKind.choices)
    # Counted per kind, so a kind's first version is v1 whatever else was trained before it.
    number = models.PositiveIntegerField(editable=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CANDIDATE)
    path = models.CharField(max_length=500)
    snapshot = models.ForeignKey(Snapshot, null=True, blank=True, on_delete=models.SET_NULL)
    data_hash = models.CharField(max_length=64, blank=True)
    main_metric = models.CharField(max_length=32)
    main_metric_value = models.FloatField(null=True, blank=True)
    metrics = models.JSONField(default=dict)
    hyperparameters = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    # Set when someone whose data trained this version erased it; cleared by the retrain.
    needs_retrain_since = models.DateTimeField(null=True, blank=True)

    objects = ModelVersionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind"], condition=Q(status="active"), name="one_active_version_per_kind"
            ),
            models.UniqueConstraint(fields=["kind", "number"], name="version_number_per_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} v{self.number} ({self.status})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.number is None:
            # Two trainings of one kind finishing together: the unique constraint turns the
            # loser's insert into an error; it takes the next number and tries again.
            for attempt in range(5):
                last = ModelVersion.objects.filter(kind=self.kind).aggregate(n=Max("number"))["n"]
                self.number = (last or 0) + 1
                try:
                    with transaction.atomic():
                        super().save(*args, **kwargs)
                    return
                except IntegrityError:
                    self.number = None
                    if attempt == 4:
                        raise
        super().save(*args, **kwargs)

    @property
    def label(self) -> str:
        return f"{self.kind}-v{self.number}"


class TrainingRun(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        SKIPPED = "skipped", "Skipped (data unchanged)"
        FAILED = "failed", "Failed"

    class Trigger(models.TextChoices):
        MANUAL = "manual", "Staff"
        SCHEDULE = "schedule", "Schedule"
        ERASURE = "erasure", "Erasure"
        DEMO = "demo", "Demo set-up"

    LIVE = (Status.QUEUED, Status.RUNNING)

    kind = models.CharField(max_length=16, choices=ModelKind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.MANUAL)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    progress = models.PositiveSmallIntegerField(default=0)
    stage = models.CharField(max_length=200, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    snapshot = models.ForeignKey(Snapshot, null=True, blank=True, on_delete=models.SET_NULL)
    model_version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs"
    )
    metrics = models.JSONField(default=dict)
    error = models.TextField(blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # At most one live run per kind: a second click or worker cannot start another.
            models.UniqueConstraint(
                fields=["kind"],
                condition=Q(status__in=["queued", "running"]),
                name="one_live_run_per_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} run {self.pk} ({self.status})"

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class ListMetricDay(models.Model):
    """One day of one recommendation list's online figures, kept after raw impressions expire.

    A cell is a list (`for_you`, `up_next`, ...), an item kind, a model version label (empty
    for lists no model made) and, while an experiment runs, its arm.
    """

    day = models.DateField(db_index=True)
    list = models.CharField(max_length=20)
    kind = models.CharField(max_length=8)
    model_version = models.CharField(max_length=40, blank=True)
    experiment = models.ForeignKey(
        "Experiment", null=True, blank=True, on_delete=models.SET_NULL, related_name="days"
    )
    arm = models.CharField(max_length=1, blank=True)
    people = models.PositiveIntegerField(default=0)
    impressions = models.PositiveIntegerField(default=0)
    clicks = models.PositiveIntegerField(default=0)
    plays = models.PositiveIntegerField(default=0)
    high_ratings = models.PositiveIntegerField(default=0, help_text="Ratings of 4 or more.")
    reviews = models.PositiveIntegerField(default=0)
    distinct_items = models.PositiveIntegerField(default=0)
    novel_impressions = models.PositiveIntegerField(
        default=0, help_text="Impressions of items outside the top 10% by popularity."
    )
    catalogue_size = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-day", "list", "kind", "model_version"]
        constraints = [
            models.UniqueConstraint(
                fields=["day", "list", "kind", "model_version", "experiment", "arm"],
                name="list_metric_day_cell",
                nulls_distinct=False,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.list}/{self.kind} {self.model_version or '-'}"


class Experiment(models.Model):
    """Two versions of one model kind (or one version against popular lists) on live traffic.

    Each person is put in an arm by a stable hash of the experiment's salt and their id: a
    `share` of people see arm B, the rest arm A.
    """

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        STOPPED = "stopped", "Stopped"

    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=ModelKind.choices)
    version_a = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="+")
    # Empty: arm B sees the popular lists instead of a model's.
    version_b = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    share = models.FloatField(help_text="Share of people who see arm B, between 0 and 1.")
    salt = models.CharField(max_length=32)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(auto_now_add=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    winner = models.CharField(max_length=1, blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind"],
                condition=Q(status="running"),
                name="one_running_experiment_per_kind",
            ),
            models.CheckConstraint(
                condition=Q(share__gt=0, share__lt=1), name="experiment_share_open"
            ),
        ]

    def __str__(self) -> str:
        return f"Experiment {self.name} ({self.kind}, {self.status})"
