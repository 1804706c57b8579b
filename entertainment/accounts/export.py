"""Export: one archive of everything Encore holds about a person.

`encore-export.json` has every section; the history tables are also CSV files. Sections come
from this module and from other apps that hold personal data (the recommender registers its
own in its AppConfig.ready), so the export grows with the data model instead of lagging it.
"""

from __future__ import annotations

import csv
import io
import json
import secrets
import time
import zipfile
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from entertainment import queueing
from entertainment.activity.models import Click, Dismissal, Impression, Play, Rating, Review

from .models import DataExport, ExportStorage, User

Rows = list[dict[str, Any]]
Section = Callable[[User], Rows]
SECTIONS: dict[str, Section] = {}
# Sections that are tables of history: also written as CSV for spreadsheets.
CSV_SECTIONS = {
    "ratings",
    "plays",
    "reviews",
    "setting_changes",
    "recommendations",
    "impressions",
    "clicks",
    "dismissals",
}


def _rows(values: Iterable[Mapping[str, Any]]) -> Rows:
    return [dict(row) for row in values]


def register(name: str, section: Section) -> None:
    SECTIONS[name] = section


def _profile(user: User) -> Rows:
    return [
        {
            "username": user.username,
            "email": user.email,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "date_joined": user.date_joined,
            "last_login": user.last_login,
            "imported_from": user.imported_from,
        }
    ]


def _settings(user: User) -> Rows:
    p = user.privacy
    return [
        {
            "personalised": p.personalised,
            "history_paused": p.history_paused,
            "train_on_plays": p.train_on_plays,
            "train_on_ratings": p.train_on_ratings,
            "train_on_reviews": p.train_on_reviews,
            "review_visibility": p.review_visibility,
            "measure_recommendations": p.measure_recommendations,
            "list_style": p.list_style,
            "updated_at": p.updated_at,
        }
    ]


def _setting_changes(user: User) -> Rows:
    return _rows(
        user.setting_changes.order_by("changed_at", "pk").values(
            "setting", "old_value", "new_value", "changed_at"
        )
    )


def _ratings(user: User) -> Rows:
    return _rows(
        Rating.objects.filter(user=user)
        .order_by("created_at", "pk")
        .values(
            "item_id",
            "item__title",
            "item__kind",
            "value",
            "client_event_id",
            "created_at",
            "updated_at",
        )
    )


def _plays(user: User) -> Rows:
    return _rows(
        Play.objects.filter(user=user)
        .order_by("started_at", "pk")
        .values(
            "item_id",
            "item__title",
            "item__kind",
            "started_at",
            "seconds_played",
            "completed",
            "play_count",
            "client_event_id",
            "created_at",
        )
    )


def _reviews(user: User) -> Rows:
    return _rows(
        Review.objects.filter(user=user)
        .order_by("created_at", "pk")
        .values(
            "item_id",
            "item__title",
            "item__kind",
            "text",
            "rating",
            "sentiment",
            "sentiment_score",
            "sentiment_model_version",
            "client_event_id",
            "created_at",
            "updated_at",
        )
    )


def _impressions(user: User) -> Rows:
    return _rows(
        Impression.objects.filter(user=user)
        .order_by("created_at", "pk")
        .values(
            "item_id",
            "item__title",
            "item__kind",
            "list",
            "rank",
            "model_version",
            "experiment_id",
            "arm",
            "client_event_id",
            "created_at",
            "clicked_at",
            "played_at",
            "rated_at",
            "reviewed_at",
        )
    )


def _clicks(user: User) -> Rows:
    return _rows(
        Click.objects.filter(user=user)
        .order_by("created_at", "pk")
        .values("item_id", "item__title", "item__kind", "list", "client_event_id", "created_at")
    )


def _dismissals(user: User) -> Rows:
    return _rows(
        Dismissal.objects.filter(user=user)
        .order_by("created_at", "pk")
        .values("item_id", "item__title", "item__kind", "client_event_id", "created_at")
    )


def _erasures(user: User) -> Rows:
    return _rows(
        user.erasures.order_by("requested_at").values(
            "scope", "rows_deleted", "requested_at", "models_clean_at"
        )
    )


for _name, _section in {
    "profile": _profile,
    "privacy_settings": _settings,
    "setting_changes": _setting_changes,
    "ratings": _ratings,
    "plays": _plays,
    "reviews": _reviews,
    "impressions": _impressions,
    "clicks": _clicks,
    "dismissals": _dismissals,
    "erasures": _erasures,
}.items():
    register(_name, _section)


def _csv(rows: Rows) -> str:
    out = io.StringIO()
    if rows:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow({k: (str(v) if isinstance(v, Decimal) else v) for k, v in row.items()})
    return out.getvalue()


def pack(user: User, progress: Callable[[int], None] | None = None) -> bytes:
    """Collect every section into a ZIP archive."""
    collected: dict[str, Rows] = {}
    for number, (name, section) in enumerate(SECTIONS.items(), start=1):
        collected[name] = section(user)
        if progress:
            progress(round(90 * number / len(SECTIONS)))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        document = {
            "exported_at": timezone.now(),
            "counts": {name: len(rows) for name, rows in collected.items()},
            **collected,
        }
        archive.writestr(
            "encore-export.json", json.dumps(document, cls=DjangoJSONEncoder, indent=2)
        )
        for name in sorted(CSV_SECTIONS & set(collected)):
            archive.writestr(f"{name}.csv", _csv(collected[name]))
    return buffer.getvalue()


def store(export: DataExport, content: bytes) -> DataExport | None:
    """Attach the archive to `export`, only if its row still exists; None when it does not.

    The person may have erased their history or account while the archive was built: the
    erasure deleted the row (and the files it knew of), and the archive holds rows that no
    longer exist. So the row is updated, never saved (a save would insert it again), and the
    file just written goes when no row took it. The erasure locks the rows whose files it
    deletes, so either it sees this file on the row or this update finds no row.
    """
    # An unguessable name: the file is only ever handed out by the owner's download view.
    name = f"encore-export-{secrets.token_urlsafe(16)}.zip"
    export.archive.save(name, ContentFile(content), save=False)
    finished = timezone.now()
    fields = {
        "archive": export.archive.name,
        "status": DataExport.Status.READY,
        "progress": 100,
        "finished_at": finished,
        "expires_at": finished + timedelta(hours=settings.EXPORT_TTL_H),
    }
    if not DataExport.objects.filter(pk=export.pk).update(**fields):
        export.archive.storage.delete(export.archive.name or "")
        return None
    for field, value in fields.items():
        setattr(export, field, value)
    return export


def build(export: DataExport, progress: Callable[[int], None] | None = None) -> DataExport | None:
    """Build the person's archive and attach it to `export`; None when the export was
    erased meanwhile (nothing is kept then)."""
    return store(export, pack(export.user, progress))


def _queue_down(export_id: int, exc: Exception) -> None:
    DataExport.objects.filter(pk=export_id, status=DataExport.Status.PENDING).update(
        status=DataExport.Status.FAILED,
        error="The export could not be started because the task queue is unavailable. "
        "Please try again later.",
        finished_at=timezone.now(),
    )


def request_export(user: User) -> DataExport:
    """Start building a new export on the `cpu` queue; returns the row that tracks it."""
    from .tasks import build_export

    export = DataExport.objects.create(user=user)
    queueing.send_on_commit(build_export, export.pk, on_error=partial(_queue_down, export.pk))
    return export


def purge_expired() -> int:
    """Delete exports past their expiry, files first."""
    expired = DataExport.objects.filter(expires_at__lt=timezone.now())
    storage = DataExport._meta.get_field("archive").storage
    count = 0
    for export in expired:
        if export.archive:
            storage.delete(export.archive.name or "")
        export.delete()
        count += 1
    return count


def sweep_orphans(grace_s: float | None = None) -> int:
    """Delete files under EXPORT_ROOT that no export row owns (a build that stopped between
    writing its file and recording it, anything an erasure could not reach). Files younger
    than `grace_s` are left: a build may be about to record them."""
    if grace_s is None:
        grace_s = settings.EXPORT_ORPHAN_GRACE_S
    root = Path(ExportStorage().location)
    cutoff = time.time() - grace_s
    # Read before the files: a row recorded after this read names a file younger than cutoff.
    owned = set(DataExport.objects.exclude(archive="").values_list("archive", flat=True))
    count = 0
    for path in (p for p in root.rglob("*") if p.is_file()):
        if path.relative_to(root).as_posix() in owned:
            continue
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                count += 1
        except FileNotFoundError:  # deleted meanwhile (an erasure, another sweep)
            continue
    return count
