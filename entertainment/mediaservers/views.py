"""The person's side of a media server: confirming that an account there is theirs, the
secret webhook URL its Webhook plugin posts playback to, and that endpoint itself."""

from __future__ import annotations

import json
import logging
from typing import Any, cast

from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from entertainment.accounts.models import User
from entertainment.activity.recording import record_play

from .models import ServerItem, ServerUser, hash_secret
from .sync import _when

log = logging.getLogger(__name__)

# The Webhook plugin's notification types that mean "this was played".
PLAYED = {"PlaybackStop"}


@login_required
@require_http_methods(["GET", "POST"])
def accounts(request: HttpRequest) -> HttpResponse:
    person = cast(User, request.user)
    mine = ServerUser.objects.filter(person=person).select_related("connection")
    new_secret: tuple[int, str] | None = None
    if request.method == "POST":
        account = get_object_or_404(mine, pk=request.POST.get("account"))
        action = request.POST.get("action")
        if action == "confirm":
            account.confirmed_at = timezone.now()
            account.save(update_fields=["confirmed_at"])
        elif action == "decline":
            # Not theirs (or no longer wanted): the link and its webhook go.
            ServerUser.objects.filter(pk=account.pk).update(
                person=None, confirmed_at=None, webhook_secret_hash=""
            )
        elif action == "webhook" and account.confirmed:
            new_secret = (account.pk, account.new_webhook_secret())
        if new_secret is None:
            return redirect("mediaservers:accounts")
    rows = []
    for account in mine:
        url = None
        if new_secret is not None and new_secret[0] == account.pk:
            url = request.build_absolute_uri(reverse("mediaservers:webhook", args=[new_secret[1]]))
        rows.append({"account": account, "webhook_url": url})
    return render(request, "mediaservers/accounts.html", {"rows": rows})


def _played(body: dict[str, Any]) -> bool:
    if body.get("NotificationType") not in PLAYED:
        return False
    return str(body.get("PlayedToCompletion", "")).lower() == "true"


@csrf_exempt
def webhook(request: HttpRequest, secret: str) -> HttpResponse:
    # Django logs the path of every answer of 400 or more, and this path holds the secret:
    # each answer is marked as logged already, and a failure is logged without the path.
    try:
        response = _webhook(request, secret)
    except Exception:
        log.exception("the Jellyfin webhook failed")
        response = JsonResponse({"detail": "Server error."}, status=500)
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def _webhook(request: HttpRequest, secret: str) -> HttpResponse:
    if request.method != "POST":
        return JsonResponse({"detail": "The Webhook plugin posts."}, status=405)
    account = (
        ServerUser.objects.select_related("person", "connection")
        .filter(webhook_secret_hash=hash_secret(secret))
        .first()
    )
    if account is None or not account.confirmed or account.person is None:
        return JsonResponse({"detail": "Not found."}, status=404)
    try:
        body = json.loads(request.body)
    except ValueError:
        return JsonResponse({"detail": "The body is not JSON."}, status=400)
    if not isinstance(body, dict):
        return JsonResponse({"detail": "The body is not a JSON object."}, status=400)
    if not _played(body):
        return HttpResponse(status=204)
    server_item = str(body.get("ItemId", ""))
    mapped = (
        ServerItem.objects.filter(connection=account.connection, server_id=server_item)
        .select_related("item")
        .first()
    )
    if mapped is None:
        # Not synced yet: the next library sync adds it and the history sync counts the play.
        return HttpResponse(status=202)
    when = _when(body.get("UtcTimestamp")) or timezone.now()
    with transaction.atomic():
        record_play(
            account.person,
            mapped.item,
            started_at=when,
            completed=True,
            client_event_id=f"ms:hook:{server_item}:{when.isoformat()}"[:64],
        )
    return HttpResponse(status=204)
