"""The API keeps its contract: schemathesis, every check, every phase, zero failures.

What an outside run against `make demo` does (schemathesis's own engine: examples, coverage,
fuzzing and stateful phases, all checks, among them the ones that send schema-valid requests
expecting them accepted and schema-violating ones expecting them refused), in-process on the
WSGI app, as a person with history like the demo's, with rate limits and log-in lockout lifted
(a limit answers 429 to whatever comes after it and the run would test nothing else). Bounded:
a few examples per operation, so the whole run takes a couple of minutes on two cores.

A 400 to a schema-valid request passes only where it refuses what the schema cannot know of:
ids of records that do not exist, a confirmation that is not your username, wrong credentials.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from rest_framework.views import APIView
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, events, from_schema
from schemathesis.transport.wsgi import WSGITransport

from entertainment.accounts.models import DataExport, User
from tests.conftest import api_token
from tests.e2e.api_tokens import CurrentToken
from tests.factories import (
    GenreFactory,
    ItemFactory,
    PlayFactory,
    RatingFactory,
    ReviewFactory,
    UserFactory,
)
from tests.recommender.factories import ModelVersionFactory, TrainingRunFactory

EXAMPLES_PER_OPERATION = 25
SEED = 12
ERASE_PATH = "/api/me/erase/"


def _demo_like_person() -> User:
    """A person with ratings, plays, a review and an export, over a small catalogue."""
    genres = GenreFactory.create_batch(3)
    items = ItemFactory.create_batch(8)
    for item in items:
        item.genres.add(genres[item.pk % 3])
    person = UserFactory.create()
    for item in items[:4]:
        RatingFactory(user=person, item=item)
        PlayFactory(user=person, item=item)
    ReviewFactory(user=person, item=items[5])
    DataExport.objects.create(user=person)
    TrainingRunFactory.create_batch(2)
    ModelVersionFactory.create_batch(2)
    return person


def _send_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Schemathesis 4.32.5's engine hands the WSGI transport socket settings (max_redirects,
    verify, ...) that werkzeug's client refuses when no requests session comes with them;
    they mean nothing in-process."""
    send = WSGITransport.send

    def without_socket_settings(self: Any, case: Any, *, session: Any = None, **kwargs: Any) -> Any:
        for name in ("max_redirects", "verify", "cert", "proxies"):
            kwargs.pop(name, None)
        return send(self, case, session=session, **kwargs)

    monkeypatch.setattr(WSGITransport, "send", without_socket_settings)


# Refusals that depend on stored data, which no schema can describe: an id of a record that
# does not exist, a confirmation that must be your own username, credentials that are wrong
# (schemathesis itself lets a 400 through from an operation it knows grants credentials).
STORED_DATA_REFUSAL = re.compile(
    r"does not exist|No item with id|Unknown item ids|Not in your history|"
    r"Type your username exactly|Unable to log in|You may only send your own events"
)


def _messages(body: Any) -> Iterator[str]:
    if isinstance(body, str):
        yield body
    elif isinstance(body, dict):
        # A bulk refusal: a summary, then each event's errors.
        for value in (body["errors"],) if "errors" in body else body.values():
            yield from _messages(value)
    elif isinstance(body, list):
        for value in body:
            yield from _messages(value)


def _refused_for_stored_data(answer: Any) -> bool:
    if answer is None or answer.status_code != 400:
        return False
    try:
        messages = list(_messages(json.loads(answer.content)))
    except ValueError:
        return False
    return bool(messages) and all(STORED_DATA_REFUSAL.search(m) for m in messages)


def _failures(stream: Any) -> tuple[list[str], list[int]]:
    """Every failed check of the run, described, and the status of every answer."""
    found: dict[str, str] = {}
    statuses: list[int] = []
    for event in stream:
        if isinstance(event, events.FatalError):
            raise event.exception
        if isinstance(event, events.NonFatalError):
            found[f"error {event.label}"] = f"{event.label}: {event.value!r}"
        recorder = getattr(event, "recorder", None)
        if recorder is None or not isinstance(
            event, events.ScenarioFinished | events.FuzzScenarioFinished
        ):
            continue
        statuses += [i.response.status_code for i in recorder.interactions.values() if i.response]
        for case_id, checks in recorder.checks.items():
            for check in checks:
                if check.status != Status.FAILURE or check.failure_info is None:
                    continue
                failure = check.failure_info.failure
                case = recorder.cases[case_id].value
                interaction = recorder.interactions.get(case_id)
                answer = interaction.response if interaction is not None else None
                if check.name == "positive_data_acceptance" and _refused_for_stored_data(answer):
                    continue
                got = f"{answer.status_code} {answer.content[:500]!r}" if answer else "no answer"
                key = f"{check.name} {case.operation.label} {failure.title}"
                found.setdefault(
                    key,
                    f"{case.operation.label} [{check.name}] {failure.title}: "
                    f"{failure.message}\n  got {got}\n  {check.failure_info.code_sample[:400]}",
                )
    return sorted(found.values()), statuses


@pytest.mark.django_db(transaction=True)
def test_the_api_keeps_its_contract(wsgi_app, settings, monkeypatch):
    settings.AXES_ENABLED = False
    monkeypatch.setattr(APIView, "get_throttles", lambda view: [])
    _send_in_process(monkeypatch)
    person = _demo_like_person()
    token = CurrentToken(person)

    config = SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            # Nothing kept between runs (schemathesis would write .schemathesis/ here).
            "cache": {"enabled": False},
            "generation": {
                "max-examples": EXAMPLES_PER_OPERATION,
                "deterministic": True,
                "database": "none",
                "no-shrink": True,
            },
            "phases": {"stateful": {"max-steps": 10}},
        }
    )
    config.projects.override.checks.update(included_check_names=["all"])
    schema = schemathesis.openapi.from_wsgi("/api/schema/", wsgi_app, config=config)

    @schema.auth(refresh_interval=None, retry_on=[])
    class AsThePerson:
        """Each request carries the person's current token; an erasure, a fresh person's."""

        def get(self, case: Any, ctx: Any) -> str:
            if case.operation.path == ERASE_PATH:
                erasable = UserFactory.create()
                RatingFactory(user=erasable)
                return api_token(erasable)
            return token()

        def set(self, case: Any, data: str, ctx: Any) -> None:
            case.headers = {**(case.headers or {}), "Authorization": f"Token {data}"}

    failures, statuses = _failures(from_schema(schema).execute())
    assert not failures, f"{len(failures)} contract failures:\n\n" + "\n\n".join(failures)
    assert len(statuses) >= 2000, f"only {len(statuses)} requests sent"
    # The person's rows were reached: not every answer was a refusal.
    assert sum(200 <= code < 300 for code in statuses) >= len(statuses) // 10
