"""The sessions a person holds, so an erasure can reach every one of them.

Sessions live in the database (Django's default engine), keyed by a random key that says
nothing about its owner, and the key changes under the person's feet: at log-in, and when a
password change rotates it (`update_session_auth_hash`). So every saved session that belongs to
someone is recorded as a LoginSession the moment it is written (a post_save receiver on
Django's Session model, in the same transaction), whatever changed the key. Erasing the account
deletes each recorded session; erasing history takes the erased items out of each session's
paused-play list; the hourly purge deletes expired sessions and what recorded them.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.base import SessionBase, UpdateError
from django.contrib.sessions.backends.db import SessionStore as DatabaseStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from entertainment.activity.views import SESSION_PLAYS

from .models import LoginSession


def remember(user_id: int, session_key: str) -> None:
    LoginSession.objects.get_or_create(user_id=user_id, session_key=session_key)


def remember_saved(sender: Any, instance: Session, **kwargs: Any) -> None:
    """post_save of a Session: note its key against the person it is logged in as."""
    owner = instance.get_decoded().get(SESSION_KEY)
    if owner is not None and str(owner).isdigit():
        remember(int(owner), instance.session_key)


def _keys(user_id: int) -> list[str]:
    return list(LoginSession.objects.filter(user_id=user_id).values_list("session_key", flat=True))


def end_all(user_id: int) -> None:
    """Delete every session the person holds (their erasure)."""
    Session.objects.filter(session_key__in=_keys(user_id)).delete()


def drop_paused_plays(session: SessionBase, item_ids: Iterable[int] | None) -> bool:
    """Take these items (all, for None) out of one session's paused-play list; True when it
    changed. A view calls this on its own request's session too, which it may save again."""
    played = session.get(SESSION_PLAYS)
    if not played:
        return False
    if item_ids is None:
        del session[SESSION_PLAYS]
        return True
    erased = set(item_ids)
    kept = [pk for pk in played if pk not in erased]
    if kept == played:
        return False
    session[SESSION_PLAYS] = kept
    return True


def forget_paused_plays(user_id: int, item_ids: list[int] | None) -> None:
    """Erased history: its items leave the paused-play list of every session of the person.
    Runs inside the erasure's transaction (the sessions are rows of the same database)."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    for key in _keys(user_id):
        session = store(session_key=key)  # a key no longer stored loads as empty
        if drop_paused_plays(session, item_ids):
            try:
                session.save()
            except UpdateError:  # ended meanwhile: nothing left to clear
                continue


def purge_expired() -> int:
    """Delete expired sessions (Django's `clearsessions`) and the records of keys no session
    holds any more (expired, rotated, logged out). Returns the count of sessions deleted."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    if not issubclass(store, DatabaseStore):
        store.clear_expired()
        return 0
    deleted = Session.objects.filter(expire_date__lt=timezone.now()).delete()[0]
    # A session is recorded in the transaction that writes it, so a record without its row is
    # of a session gone for good.
    LoginSession.objects.exclude(session_key__in=Session.objects.values("session_key")).delete()
    return deleted
