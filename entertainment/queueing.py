"""Enqueueing Celery tasks from web code: after commit, and never failing the request.

A broker that is down must not turn a stored write into an error page. The caller says what
to do instead (mark a run or an export failed, or nothing when a schedule will catch up).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.db import transaction

log = logging.getLogger(__name__)


def send(task: Any, *args: Any, on_error: Callable[[Exception], None] | None = None) -> bool:
    """Send now; on a broker error log it, call `on_error` and return False."""
    try:
        task.delay(*args)
    except Exception as exc:
        log.error("could not enqueue %s%s", getattr(task, "name", task), args, exc_info=True)
        if on_error is not None:
            on_error(exc)
        return False
    return True


def send_on_commit(
    task: Any, *args: Any, on_error: Callable[[Exception], None] | None = None
) -> None:
    transaction.on_commit(lambda: send(task, *args, on_error=on_error))
