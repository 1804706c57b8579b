"""The ListenBrainz-compatible API (/1/...), the Plex webhook, and the account page's
Plex section.

The /1/ endpoints answer as ListenBrainz does (its shapes and words, `{"code": 400, "error":
...}`), not as Encore's /api/ does, so they are plain Django views outside the OpenAPI schema.
A person authenticates with their Encore API token, sent as ListenBrainz clients send theirs:
`Authorization: Token <key>`.

The webhook's URL holds its secret. Django logs the path of every answer of 400 or more
("Not Found: /hooks/plex/<secret>/"), so each answer of this view is marked as logged
already, and an unexpected failure is logged here without the path.
"""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from rest_framework.exceptions import AuthenticationFailed

from entertainment.accounts.models import User
from entertainment.accounts.tokens import ApiTokenAuthentication
from entertainment.activity.models import Play
from entertainment.activity.signals import now_playing
from entertainment.catalogue.models import Kind
from entertainment.throttling import ResilientUserRateThrottle

from . import plex
from .listens import ListenError, check_submission, store
from .matching import artist_name, known
from .models import PlexWebhook

log = logging.getLogger(__name__)
# ListenBrainz's most listens in one GET.
MAX_ITEMS_PER_GET = 1000


def _error(code: int, message: str) -> JsonResponse:
    return JsonResponse({"code": code, "error": message}, status=code)


def _method_not_allowed(allowed: str) -> JsonResponse:
    response = _error(405, "The method is not allowed for the requested URL.")
    response["Allow"] = allowed
    return response


def _token(request: HttpRequest) -> str:
    """The key of `Authorization: Token <key>` (any scheme word, as ListenBrainz reads it)."""
    parts = request.headers.get("Authorization", "").split()
    return parts[1] if len(parts) == 2 else ""


def _user(key: str) -> User | None:
    try:
        user, _ = ApiTokenAuthentication().authenticate_credentials(key.encode("utf-8"))
    except (AuthenticationFailed, UnicodeEncodeError):
        return None
    return user if isinstance(user, User) else None


def _throttled(request: HttpRequest, user: User) -> JsonResponse | None:
    """The person's API rate limit (REST_FRAMEWORK's "user" rate, one budget with /api/), as
    ListenBrainz answers its own: a 429 with the seconds to wait."""
    request.user = user
    throttle = ResilientUserRateThrottle()
    if throttle.allow_request(request, None):
        return None
    response = _error(429, "Too many requests. Please wait and send them again.")
    wait = throttle.wait()
    if wait:
        response["Retry-After"] = str(math.ceil(wait))
    return response


@csrf_exempt
def validate_token(request: HttpRequest) -> HttpResponse:
    if request.method != "GET":
        return _method_not_allowed("GET")
    # ListenBrainz also reads ?token=; Encore does not: a key in a URL ends up in logs.
    key = _token(request)
    if not key:
        return _error(400, "You need to provide an Authorization token.")
    user = _user(key)
    if user is None:
        return JsonResponse({"code": 200, "message": "Token invalid.", "valid": False})
    return JsonResponse(
        {"code": 200, "message": "Token valid.", "valid": True, "user_name": user.username}
    )


@csrf_exempt
def submit_listens(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _method_not_allowed("POST")
    if not request.headers.get("Authorization"):
        return _error(401, "You need to provide an Authorization header.")
    key = _token(request)
    if not key:
        return _error(401, "Provided Authorization header is invalid.")
    user = _user(key)
    if user is None:
        return _error(401, "Invalid authorization token.")
    if (refused := _throttled(request, user)) is not None:
        return refused
    try:
        listen_type, listens = check_submission(request.body)
    except ListenError as error:
        return _error(400, error.message)
    if listen_type != "playing_now":
        store(user, listens)
    elif not user.privacy.history_paused and (item := known(listens[0].track)) is not None:
        # Kept for a moment by ListenBrainz; Encore stores nothing of it, but "up next" follows
        # it (a track the catalogue lacks is not added for a listen that is not stored).
        now_playing.send(sender=User, user_id=user.pk, item_id=item)
    return JsonResponse({"status": "ok"})


def _whole_param(request: HttpRequest, name: str, default: int | None) -> int | None:
    value = request.GET.get(name)
    if value is None:
        return default
    # Twelve digits reach the year 33658: more would overflow a datetime.
    if not value.isdigit() or len(value) > 12:
        raise ListenError(f"'{name}' should be a non-negative integer")
    return int(value)


@csrf_exempt
def user_listens(request: HttpRequest, user_name: str) -> HttpResponse:
    """A person's latest listens, as ListenBrainz lists them (scrobblers such as multi-scrobbler
    read them to leave out what the server has already). Encore histories are private: only
    their owner's token reads them; anyone else is told there is no such user."""
    if request.method != "GET":
        return _method_not_allowed("GET")
    user = _user(_token(request))
    if user is None or user.username != user_name:
        return _error(404, f"Cannot find user: {user_name}")
    if (refused := _throttled(request, user)) is not None:
        return refused
    try:
        count = min(_whole_param(request, "count", 25) or 0, MAX_ITEMS_PER_GET)
        min_ts = _whole_param(request, "min_ts", None)
        max_ts = _whole_param(request, "max_ts", None)
    except ListenError as error:
        return _error(400, error.message)
    plays = Play.objects.filter(
        user=user, started_at__isnull=False, item__kind=Kind.MUSIC
    ).select_related("item__parent__parent")
    if min_ts is not None:
        plays = plays.filter(started_at__gt=datetime.fromtimestamp(min_ts, UTC))
    if max_ts is not None:
        plays = plays.filter(started_at__lt=datetime.fromtimestamp(max_ts, UTC))
    listens = []
    for play in plays.order_by("-started_at", "-pk")[:count]:
        assert play.started_at is not None
        item = play.item
        album = item.parent if item.parent and item.parent.music_type == "album" else None
        metadata: dict[str, Any] = {
            "artist_name": artist_name(item) or item.title,
            "track_name": item.title,
            "additional_info": {},
        }
        if album is not None:
            metadata["release_name"] = album.title
        listens.append(
            {
                "listened_at": int(play.started_at.timestamp()),
                "track_metadata": metadata,
                "user_name": user.username,
            }
        )
    latest = (
        Play.objects.filter(user=user, started_at__isnull=False, item__kind=Kind.MUSIC)
        .order_by("-started_at")
        .values_list("started_at", flat=True)
        .first()
    )
    return JsonResponse(
        {
            "payload": {
                "count": len(listens),
                "user_id": user.username,
                "listens": listens,
                "latest_listen_ts": int(latest.timestamp()) if latest else 0,
            }
        }
    )


def _quiet(response: HttpResponse) -> HttpResponse:
    """Keeps Django from logging this answer's path, which holds the secret."""
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def _payload_text(request: HttpRequest) -> str:
    if request.content_type == "application/json":
        return request.body.decode("utf-8", errors="replace")
    value = request.POST.get("payload", "")
    return value if isinstance(value, str) else ""


@csrf_exempt
def plex_webhook(request: HttpRequest, secret: str) -> HttpResponse:
    try:
        return _quiet(_plex_webhook(request, secret))
    except Exception:
        log.exception("The Plex webhook failed")  # never the path: it holds the secret
        return _quiet(JsonResponse({"status": "error"}, status=500))


def _plex_webhook(request: HttpRequest, secret: str) -> HttpResponse:
    hook = PlexWebhook.owner_of(secret)
    if hook is None or not hook.user.is_active:
        return JsonResponse({"detail": "Not found."}, status=404)
    if request.method != "POST":
        return JsonResponse({"detail": "Plex posts its webhooks."}, status=405)
    try:
        text = _payload_text(request)
        if not text:
            return JsonResponse({"detail": "No payload part in the form."}, status=400)
        payload = plex.parse(text)
        outcome = plex.handle(hook.user, payload)
    except plex.PlexError as error:
        return JsonResponse({"detail": str(error)}, status=400)
    PlexWebhook.objects.filter(pk=hook.pk).update(last_used_at=timezone.now())
    return JsonResponse({"status": "ok", "recorded": outcome.recorded, "detail": outcome.detail})


@never_cache
@login_required
@require_POST
def plex_webhook_issue(request: HttpRequest) -> HttpResponse:
    """A new secret URL (the old one stops working), shown this once."""
    assert isinstance(request.user, User)
    secret = PlexWebhook.issue(request.user)
    url = request.build_absolute_uri(reverse("scrobbling:plex-webhook", args=[secret]))
    context: dict[str, Any] = {"webhook_url": url}
    return render(request, "scrobbling/plex_webhook_issued.html", context)


@login_required
@require_POST
def plex_webhook_revoke(request: HttpRequest) -> HttpResponse:
    assert isinstance(request.user, User)
    deleted, _ = PlexWebhook.objects.filter(user=request.user).delete()
    if deleted:
        messages.success(request, "Your Plex webhook URL no longer works.")
    return redirect("accounts:account")
