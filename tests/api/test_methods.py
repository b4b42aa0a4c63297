"""OPTIONS and 405 name every method of a path (RFC 9110 §9.3.7, §15.5.6); CORS preflights
are answered as before."""

from __future__ import annotations

import pytest


def allowed(header: str) -> set[str]:
    return {method.strip() for method in header.split(",")}


@pytest.mark.parametrize(
    ("path", "methods"),
    [
        ("/api/memory-logs", {"GET", "POST", "OPTIONS"}),
        ("/api/mental-notes", {"GET", "POST", "OPTIONS"}),
        ("/api/memory-logs/1", {"GET", "PATCH", "DELETE", "OPTIONS"}),
        ("/api/mental-notes/7", {"GET", "PATCH", "DELETE", "OPTIONS"}),
        ("/api/events", {"GET", "OPTIONS"}),
        ("/api/auth/register", {"POST", "OPTIONS"}),
    ],
)
async def test_options_lists_every_method_of_the_path(api, path, methods):
    response = await api.options(path)
    assert response.status_code == 204, response.text
    assert allowed(response.headers["Allow"]) == methods
    assert response.content == b""
    # Any other method the path lacks: 405, with the same full list.
    refused = await api.put(path)
    assert refused.status_code == 405
    assert allowed(refused.headers["Allow"]) == methods


async def test_options_on_an_unknown_path_is_404(api):
    assert (await api.options("/api/nothing-here")).status_code == 404


async def test_a_cors_preflight_is_still_answered(api):
    origin = "http://localhost:8000"  # one of the default CORS_ORIGINS
    response = await api.options(
        "/api/memory-logs",
        headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == origin
    assert "POST" in response.headers["access-control-allow-methods"]
    refused = await api.options(
        "/api/memory-logs",
        headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert refused.status_code == 400
