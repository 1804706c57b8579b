"""Hostile input: the whole REST API fuzzed from its own OpenAPI schema with schemathesis.

Every operation the schema documents gets generated requests, as a person with a token and as
nobody; every answer must be no 5xx, carry a documented status code and match the schema.
The app runs in-process (WSGI) on the test database, seeded so requests reach real code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from entertainment.accounts.models import DataExport, User
from tests.conftest import api_token
from tests.factories import (
    GenreFactory,
    ItemFactory,
    PlayFactory,
    RatingFactory,
    ReviewFactory,
    StaffFactory,
    UserFactory,
)
from tests.recommender.factories import ModelVersionFactory, TrainingRunFactory

# Examples per operation: sized so the whole run sends over a thousand requests. Signed out,
# most operations only answer 401, so that caller gets fewer.
SIGNED_IN_EXAMPLES = 20
SIGNED_OUT_EXAMPLES = 5
MIN_REQUESTS = 1000
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
ERASE = ("POST", "/api/me/erase/")


def _seed() -> tuple[User, User, dict[str, list[int]]]:
    """A few of every kind of row, a person with history and a staff member.

    Also the ids that exist, by the path segment that names their collection: random ids
    almost never hit a row, so half the generated requests are pointed at a real one.
    """
    genres = GenreFactory.create_batch(3)
    items = ItemFactory.create_batch(6)
    for item in items:
        item.genres.add(genres[item.pk % 3])
    person = UserFactory.create()
    staff = StaffFactory.create()
    for owner in (person, staff):
        for item in items[:3]:
            RatingFactory(user=owner, item=item)
            PlayFactory(user=owner, item=item)
        ReviewFactory(user=owner, item=items[4])
    DataExport.objects.create(user=person)
    ids = {
        "items": [i.pk for i in items],
        "genres": [g.pk for g in genres],
        "ratings": list(person.ratings.values_list("pk", flat=True)),
        "plays": list(person.plays.values_list("pk", flat=True)),
        "reviews": list(person.reviews.values_list("pk", flat=True)),
        "exports": list(DataExport.objects.filter(user=person).values_list("pk", flat=True)),
        "training-runs": [r.pk for r in TrainingRunFactory.create_batch(2)],
        "model-versions": [v.pk for v in ModelVersionFactory.create_batch(2)],
    }
    return person, staff, ids


def _token_for(user: User) -> str:
    # Fuzzed calls to /api/me/token/ rotate or delete the token: a new one before each call.
    return api_token(user)


def _erasable_person() -> User:
    """Each erase request gets its own person, so erasing never removes the one fuzzing."""
    person = UserFactory.create()
    RatingFactory(user=person)
    return person


def _always(user: User | None) -> Callable[[], User | None]:
    return lambda: user


def _collection(path: str) -> str:
    """The segment before `{id}`: "/api/staff/model-versions/{id}/" -> "model-versions"."""
    segments = path.strip("/").split("/")
    return segments[segments.index("{id}") - 1] if "{id}" in segments else ""


@pytest.mark.django_db
def test_every_operation_survives_generated_requests(wsgi_app: Any) -> None:
    person, staff, ids = _seed()
    schema = schemathesis.openapi.from_wsgi("/api/schema/", wsgi_app)
    sent: list[int] = []
    failures: list[str] = []

    def fuzz(operation: Any, caller: Callable[[], User | None], examples: int) -> None:
        real_ids = ids.get(_collection(operation.path), [])

        @given(case=operation.as_strategy(), real=st.booleans(), pick=st.integers(0, 99))
        @hypothesis_settings(
            max_examples=examples,
            derandomize=True,
            deadline=None,
            database=None,
            # No shrinking: the first failing request is reported as found, in seconds.
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any, real: bool, pick: int) -> None:
            if real and real_ids:
                case.path_parameters["id"] = real_ids[pick % len(real_ids)]
            who = caller()
            headers = {"Authorization": f"Token {_token_for(who)}"} if who else {}
            response = case.call(headers=headers)
            sent.append(response.status_code)
            case.validate_response(response, checks=CHECKS)

        try:
            run()
        # Schemathesis raises a group of the distinct failures it found; collect them all.
        except (Exception, BaseExceptionGroup) as exc:
            failures.append(f"{operation.label}: {exc}")

    for result in schema.get_all_operations():
        operation = result.ok()
        erase = (operation.method.upper(), operation.path) == ERASE
        signed_in = staff if "/staff/" in operation.path else person
        fuzz(operation, _erasable_person if erase else _always(signed_in), SIGNED_IN_EXAMPLES)
        fuzz(operation, _always(None), SIGNED_OUT_EXAMPLES)

    assert not failures, "\n\n".join(failures)
    assert len(sent) >= MIN_REQUESTS, f"only {len(sent)} requests sent"
    assert all(code < 500 for code in sent)
    # The seeded rows were reached: not every answer was a refusal.
    assert sum(200 <= code < 300 for code in sent) >= len(sent) // 5
