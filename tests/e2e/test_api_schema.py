"""The API against its own OpenAPI document, with schemathesis: every operation called with inputs
generated from the document (valid ones and invalid ones), as a collector and as an operator,
through the WSGI app (no server). No input may get a server error, and every answer must be one
the document describes: its status, its content type, its body's schema; an invalid input must be
refused.

- Each operation runs as a Hypothesis test of its own (``operation.as_strategy``), in one pytest
  test per caller: schemathesis's own pytest loader (``from_fixture``) needs the test's app and
  does not run under pytest 9 (it sets ``Node._nodeid``, which pytest 9 no longer has).
- Each generated request carries a token of its own, issued straight into the database: a
  sign-out or a new PIN among the generated requests must not sign the rest of the run out.
- The rate limits' counts are emptied before each request (``limiter.reset()``): hundreds of
  requests a second are the fuzzer's, not a caller's. The limits themselves are tested in
  test_api_auth.py and test_api_sync.py; the product's limits are not changed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from redis import Redis
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from service.usecases import tokens
from service.usecases.users import user_by_email
from service.web.base import limiter
from tests.e2e.api_helpers import MUSA, Api
from tests.e2e.hub import Hub


def invalid_input_refused(ctx: Any, response: Any, case: Case) -> bool | None:
    """``negative_data_rejection``, but for ``POST /sync``: there an operation that cannot be read
    is refused on its own inside a 200 answer (``status: refused``, reason ``invalid``), as the
    document says, and the batch's other operations are still done."""
    if case.operation.method.upper() == "POST" and case.operation.path == "/api/v1/sync":
        return None
    result: bool | None = negative_data_rejection(ctx, response, case)
    return result


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    invalid_input_refused,
]
EXAMPLES = 25  # per operation and mode: 2 callers x 16 operations x 2 modes x 25, in about a minute
OPERATIONS = 16
NOTHING_INVALID = (
    "DELETE /api/v1/auth/token",
    "GET /api/v1/me",
    "GET /api/v1/materials",
    "GET /api/v1/banks",
    "GET /api/v1/households/{code}",
    "GET /api/v1/households/{code}/payout-account",
    "GET /api/v1/pickups/{reference}",
)


def token_maker(hub: Hub, kind: str) -> Callable[[], str]:
    """A maker of new tokens for a collector (Musa) or an operator."""
    if kind == "collector":
        who: dict[str, Any] = {"collector_id": Api(hub).collector_id(MUSA)}
    else:
        email = hub.add_user("operator")
        who = {"user_id": hub.read(lambda s: user_by_email(s, email)).id}

    def new_token() -> str:
        with hub.session() as session:
            return tokens.issue_token(session, datetime.now(UTC), **who).token

    return new_token


def run_operation(operation: Any, mode: GenerationMode, new_token: Callable[[], str]) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def called(case: Case) -> None:
        limiter.reset()
        # identity: schemathesis reads a WSGI answer's body as it comes, without undoing its
        # Content-Encoding (the compression is tested in test_api_reads.py).
        headers = {"Authorization": f"Bearer {new_token()}", "Accept-Encoding": "identity"}
        case.call_and_validate(headers=headers, checks=CHECKS)

    called()


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["collector", "operator"])
def test_every_operation_answers_as_documented(hub: Hub, redis: Redis, kind: str) -> None:
    hub.seed()
    new_token = token_maker(hub, kind)
    api_schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", hub.app)
    # The token is ours (a new one each request): no generated Authorization header.
    api_schema.config.generation.update(with_security_parameters=False)
    failures: dict[str, str] = {}
    labels: list[str] = []
    unsatisfiable: list[str] = []
    for found in api_schema.get_all_operations():
        operation = found.ok()
        labels.append(operation.label)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                run_operation(operation, mode, new_token)
            except Unsatisfiable:
                # Nothing can be invalid (no body, no query, a path of any text): no negative case.
                assert mode == GenerationMode.NEGATIVE, operation.label
                unsatisfiable.append(operation.label)
            except (Exception, BaseExceptionGroup) as failure:  # noqa: BLE001 - all reported together
                failures[f"{operation.label} ({mode})"] = f"{type(failure).__name__}: {failure}"
    assert len(labels) == OPERATIONS, labels
    assert sorted(unsatisfiable) == sorted(NOTHING_INVALID), unsatisfiable
    assert not failures, "\n\n".join(f"{label}:\n{failure}" for label, failure in failures.items())
