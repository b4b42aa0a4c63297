"""The plain ASGI hot creates (`src/api/hot_writes.py`) sit outside FastAPI's middleware:
what that middleware acts on (an `Origin`, a body over the limit) still gets its answer, and a
refusal decided in the hot path reads exactly as the FastAPI route's (`error_answers`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from asgi_lifespan import LifespanManager

from src.core.config import Settings
from src.main import create_app
from src.testing.users import TestUser

ORIGIN = "http://localhost:8000"  # one of the default CORS_ORIGINS
LIMIT = 4096


async def _client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with LifespanManager(app) as manager:
        if app.other_asgi_app.state.services.socket_service.grouped is None:
            pytest.skip("the hot creates are SQLite's (group commit)")
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


@pytest.fixture
async def http(settings_factory: Callable[..., Settings]) -> AsyncIterator[httpx.AsyncClient]:
    settings = settings_factory(max_request_body_bytes=LIMIT, write_rate_limit="2/60s")
    async for client in _client(settings):
        yield client


def _chunks(body: bytes) -> AsyncIterator[bytes]:
    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 1000):
            yield body[start : start + 1000]

    return chunks()


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_a_hot_create_over_the_body_limit_is_413(
    http: httpx.AsyncClient, alice: TestUser, chunked: bool
) -> None:
    body = b'{"content": "' + b"a" * LIMIT + b'"}'
    headers = {**alice.headers, "Content-Type": "application/json"}
    content = _chunks(body) if chunked else body
    response = await http.post("/api/memory-logs", content=content, headers=headers)
    assert response.status_code == 413
    assert response.json() == {
        "detail": f"the request body is larger than MAX_REQUEST_BODY_BYTES ({LIMIT} bytes)"
    }


async def test_a_hot_create_from_another_origin_gets_the_cors_headers(
    http: httpx.AsyncClient, alice: TestUser
) -> None:
    headers = {**alice.headers, "Origin": ORIGIN}
    response = await http.post("/api/memory-logs", json={"content": "c"}, headers=headers)
    assert response.status_code == 201
    assert response.headers["access-control-allow-origin"] == ORIGIN


def _without_cors(response: httpx.Response) -> tuple[int, bytes, dict[str, str]]:
    cors = ("access-control-", "vary")
    headers = {k: v for k, v in response.headers.items() if not k.startswith(cors)}
    return response.status_code, response.content, headers


async def test_refusals_read_the_same_from_the_hot_path_and_the_route(
    http: httpx.AsyncClient, alice: TestUser
) -> None:
    """With an `Origin` the FastAPI route answers; without, the hot path: the same bytes."""
    post = {"url": "/api/notifications", "json": {"message": "m"}}
    hot = await http.post(**post, headers=alice.headers)  # type: ignore[arg-type]
    routed = await http.post(**post, headers={**alice.headers, "Origin": ORIGIN})  # type: ignore[arg-type]
    assert hot.status_code == 403
    assert _without_cors(hot) == _without_cors(routed)

    create = {"url": "/api/memory-logs", "json": {"content": "c"}}
    for _ in range(2):  # the write rate limit: 2 a minute
        assert (await http.post(**create, headers=alice.headers)).status_code == 201  # type: ignore[arg-type]
    hot = await http.post(**create, headers=alice.headers)  # type: ignore[arg-type]
    routed = await http.post(**create, headers={**alice.headers, "Origin": ORIGIN})  # type: ignore[arg-type]
    assert hot.status_code == 429
    assert "retry-after" in hot.headers
    assert _without_cors(hot)[:2] == _without_cors(routed)[:2]
    assert hot.headers["content-type"] == routed.headers["content-type"]


@pytest.mark.parametrize(
    "encode",
    [
        lambda text: text.encode(),
        lambda text: b"\xef\xbb\xbf" + text.encode(),  # a UTF-8 BOM
        lambda text: text.encode("utf-16"),
        lambda text: text.encode("utf-32-le"),
    ],
    ids=["utf-8", "utf-8 with a BOM", "utf-16", "utf-32-le"],
)
async def test_a_json_body_in_any_encoding_json_reads_is_created(
    settings_factory: Callable[..., Settings], alice: TestUser, encode: Callable[[str], bytes]
) -> None:
    """The hot path reads plain UTF-8; any other body JSON itself reads (the route's
    `json.loads` of the bytes) is still created, by the route."""
    headers = {**alice.headers, "Content-Type": "application/json"}
    async for http in _client(settings_factory()):
        body = encode('{"content": "é ✓"}')
        answer = await http.post("/api/memory-logs", content=body, headers=headers)
        assert answer.status_code == 201, answer.text
        assert answer.json()["content"] == "é ✓"


TRICKY_BODIES = [
    b'{"content": "x", "content": "y"}',  # the last key wins
    b'{"content": "\\ud83d\\ude00", "extra": [1, {"a": NaN}, -Infinity, 1e999]}',
    b'{"content": "x", "extra": 123456789012345678901234567890}',
    b' {"content" :  "x"}\r\n\t ',
    b'{"content": "a\\ud800"}',  # a lone surrogate: 422
    b'{"\\udfff": 1, "content": "x"}',
    b'{"content": "x", "extra": "\xed\xa0\x80"}',  # a raw one (CESU-8)
    b'{"content": "a\tb"}',  # a control character: not JSON
    b'{"content": "x",}',
    b'{"content": "x"}garbage',
    b'{"content": "\xff"}',  # not UTF-8: 400
    b'{"content": 5}',
    b'[{"content": "x"}]',
    b"",
]


@pytest.mark.parametrize("body", TRICKY_BODIES, ids=range(len(TRICKY_BODIES)))
async def test_the_hot_path_reads_a_body_as_the_route_reads_it(
    settings_factory: Callable[..., Settings], alice: TestUser, body: bytes
) -> None:
    """Parsed and validated in one call on the hot path; the route (an `Origin` sends it
    there) parses with `json.loads`: the same answer for every body."""
    headers = {**alice.headers, "Content-Type": "application/json"}
    async for http in _client(settings_factory()):
        hot = await http.post("/api/memory-logs", content=body, headers=headers)
        routed = await http.post(
            "/api/memory-logs", content=body, headers={**headers, "Origin": ORIGIN}
        )
        assert hot.status_code == routed.status_code, (hot.text, routed.text)
        if hot.status_code == 201:
            assert hot.json()["content"] == routed.json()["content"]
        else:
            assert hot.json() == routed.json()
