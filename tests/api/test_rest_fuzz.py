"""REST fuzzing: schemathesis against the app's own OpenAPI schema, over a live server.

Each operation gets valid requests (positive) and invalid ones (negative), signed in as a
user and as an admin. Every check of `case.call_and_validate` runs: no 5xx, every status and
content type documented, every body matching its documented schema, invalid input refused,
valid input accepted, auth not ignored. Fixed seed (`derandomize=True`);
`REST_FUZZ_EXAMPLES=N` sets the examples per operation, mode and user (default 15).
"""

from __future__ import annotations

import os
import time
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import given
from hypothesis import strategies as st
from schemathesis import GenerationMode

from src.auth.email_rule import InvalidEmail, email_address
from src.core.config import Settings
from src.main import create_app
from tests.conftest import TEST_SECRET
from tests.hostile import repeatable, report, server_errors

REST_EXAMPLES = int(os.environ.get("REST_FUZZ_EXAMPLES", "15"))


def _accepted_email(address: str) -> bool:
    try:
        email_address(address)
    except InvalidEmail:
        return False
    return True


# `format: email` is all JSON Schema can say; the server's rule is stricter (no special-use
# domains but `.test`, ...), which UserCreate's description states. Valid data is then an
# address the rule accepts.
schemathesis.openapi.format("email", st.emails().filter(_accepted_email))


def _operations() -> list[Any]:
    app: Any = create_app(Settings(_env_file=None, secret_key=TEST_SECRET))  # type: ignore[call-arg]
    paths: dict[str, dict[str, Any]] = app.other_asgi_app.openapi()["paths"]
    operations = []
    for path, methods in paths.items():
        for method in methods:
            label = f"{method.upper()} {path}"
            operations.append(pytest.param(label, id=label))
    return operations


OPERATIONS = _operations()


async def _seed(url: str, users: list[Any]) -> None:
    """Each user owns a log and a note, so that small ids name real items."""
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        for user in users:
            body = {"content": "seed"}
            assert (await http.post("/api/memory-logs", json=body, headers=user.headers)).is_success
            body = {"title": "seed", "content": "seed"}
            assert (
                await http.post("/api/mental-notes", json=body, headers=user.headers)
            ).is_success


def _fuzz(operation: Any, url: str, token: str, mode: GenerationMode) -> int:
    """Run `REST_EXAMPLES` examples of `operation`; returns how many requests were made."""
    calls = 0

    @repeatable(REST_EXAMPLES)
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        nonlocal calls
        calls += 1
        case.call_and_validate(base_url=url, headers={"Authorization": f"Bearer {token}"})

    try:
        run()
    except Exception as exc:
        # An operation without parameters or body has no invalid variant to generate.
        if mode is GenerationMode.NEGATIVE and type(exc).__name__ == "Unsatisfiable":
            return calls
        raise
    return calls


@pytest.mark.parametrize("operation_label", OPERATIONS)
async def test_operation_answers_as_documented(
    operation_label, live_server_factory, alice, admin, stack
):
    server = live_server_factory()
    await _seed(server.url, [alice, admin])
    async with httpx.AsyncClient(base_url=server.url) as http:
        raw_schema = (await http.get("/openapi.json")).json()
    operation = schemathesis.openapi.from_dict(raw_schema).find_operation_by_label(operation_label)
    assert operation is not None, operation_label
    started = time.perf_counter()
    calls = 0
    with server_errors() as errors:
        for user in (alice, admin):
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                calls += _fuzz(operation, server.url, user.token, mode)
    report(
        f"REST fuzz {operation_label} ({stack}): {calls} requests "
        f"in {time.perf_counter() - started:.1f}s"
    )
    assert errors.records == [], errors.render()
