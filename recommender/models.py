"""The model registry, training runs and snapshots."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


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
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} v{self.pk} ({self.status})"

    @property
    def label(self) -> str:
        return f"{self.kind}-v{self.pk}"


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
