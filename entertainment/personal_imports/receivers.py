"""Imports are personal data: in the person's export, and gone with an erasure.

Registered here, as the recommender registers its own, so accounts needs no knowledge of
this app: an export section (accounts.export.register), and a listener of `erasing`, sent in
the erasure's transaction before history rows are deleted.
"""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from entertainment.accounts import export
from entertainment.accounts.models import User
from entertainment.accounts.signals import erasing

from .models import PersonalImport, UnmatchedRow


def _imports(user: User) -> list[dict[str, Any]]:
    return [
        dict(row)
        for row in PersonalImport.objects.filter(user=user)
        .order_by("created_at", "pk")
        .values(
            "id",
            "format",
            "filename",
            "status",
            "error",
            "rows",
            "matched",
            "unmatched",
            "skipped",
            "stored",
            "duplicates",
            "created_at",
            "finished_at",
        )
    ]


def _unmatched(user: User) -> list[dict[str, Any]]:
    return [
        dict(row)
        for row in UnmatchedRow.objects.filter(user=user)
        .order_by("personal_import_id", "number")
        .values(
            "personal_import_id",
            "number",
            "source",
            "kind",
            "title",
            "year",
            "external_id",
            "events",
            "status",
            "item_id",
            "item__title",
            "resolved_at",
        )
    ]


export.register("personal_imports", _imports)
export.register("personal_import_unmatched_rows", _unmatched)


@receiver(erasing, dispatch_uid="personal_imports.erase")
def erase_imports(
    sender: Any, user_id: int, scope: str, item_ids: list[int] | None = None, **kwargs: Any
) -> None:
    """All history or the account: every import and its rows (a file still waiting to be
    imported too). Chosen items: the rows the person matched to them."""
    if item_ids is not None:
        UnmatchedRow.objects.filter(user_id=user_id, item_id__in=item_ids).delete()
        return
    UnmatchedRow.objects.filter(user_id=user_id).delete()
    PersonalImport.objects.filter(user_id=user_id).delete()
