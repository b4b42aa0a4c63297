"""REST, operations: health, readiness, metrics, API docs and the dashboard page."""

from __future__ import annotations

import asyncio

API_ROUTES = {
    "/api/auth/register": {"post"},
    "/api/auth/token": {"post"},
    "/api/auth/logout": {"post"},
    "/api/auth/refresh": {"post"},
    "/api/users/me": {"get"},
    "/api/users/me/status": {"put"},
    "/api/users/online": {"get"},
    "/api/users/{user_id}": {"patch"},
    "/api/memory-logs": {"get", "post"},
    "/api/memory-logs/{log_id}": {"get", "patch", "delete"},
    "/api/mental-notes": {"get", "post"},
    "/api/mental-notes/{note_id}": {"get", "patch", "delete"},
    "/api/notifications": {"post"},
    "/api/events": {"get"},
}


async def test_health_is_ok(client):
    response = await client.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_is_200_with_every_check_ok(client, settings):
    response = await client.get("/ready")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    expected = {"database": "ok"} | ({"redis": "ok"} if settings.redis_url else {})
    assert body["checks"] == expected


async def test_metrics_is_prometheus_text_with_connected_sockets(client):
    response = await client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "# TYPE mindwire_connected_sockets gauge" in response.text
    assert "mindwire_connected_sockets 0.0" in response.text


async def test_metrics_count_emitted_events(client, alice):
    await client.post("/api/memory-logs", json={"content": "counted"}, headers=alice.headers)
    counted = 'mindwire_events_emitted_total{event="memory_log_created"} 1.0'

    # The answer does not wait for the fan-out: the relay counts the event a moment later.
    async with asyncio.timeout(10):
        while counted not in (await client.get("/metrics")).text:  # noqa: ASYNC110  (polls /metrics)
            await asyncio.sleep(0.02)


async def test_docs_serves_the_openapi_ui(client):
    response = await client.get("/docs")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "/openapi.json" in response.text


async def test_openapi_lists_every_api_route(client):
    response = await client.get("/openapi.json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    listed = {path: set(methods) for path, methods in paths.items() if path.startswith("/api/")}
    assert listed == API_ROUTES


async def test_openapi_documents_the_error_statuses_of_item_routes(client):
    paths = (await client.get("/openapi.json")).json()["paths"]

    for path in ("/api/memory-logs/{log_id}", "/api/mental-notes/{note_id}"):
        for method in ("get", "patch", "delete"):
            assert {"401", "404", "422"} <= set(paths[path][method]["responses"]), (path, method)


async def test_openapi_declares_bearer_auth_with_the_token_url(client):
    schemes = (await client.get("/openapi.json")).json()["components"]["securitySchemes"]

    [scheme] = schemes.values()
    assert scheme["type"] == "oauth2"
    assert scheme["flows"]["password"]["tokenUrl"] == "/api/auth/token"


async def test_root_serves_the_dashboard_html(client):
    response = await client.get("/")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "<html" in response.text.lower()
