"""How `/` and `/static/…` are served, with and without a built dashboard (no browser needed)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from src.api.routes import dashboard


@pytest.fixture
def built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in web/dist with an index page and one module."""
    (tmp_path / "static" / "js").mkdir(parents=True)
    (tmp_path / "index.html").write_text("<!doctype html><title>built</title>")
    (tmp_path / "static" / "js" / "main.js").write_text("export {};")
    (tmp_path / "secret.txt").write_text("outside static/")
    monkeypatch.setattr(dashboard, "DASHBOARD_DIR", tmp_path)
    return tmp_path


async def test_without_a_build_the_root_says_how_to_build_the_dashboard(
    client: httpx.AsyncClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dashboard, "DASHBOARD_DIR", tmp_path / "missing")
    response = await client.get("/")
    assert response.status_code == 200
    assert "npm ci &amp;&amp; npm run build" in response.text
    assert "make run" in response.text
    assert (await client.get("/static/js/main.js")).status_code == 404


async def test_a_built_dashboard_is_served_with_module_script_types(
    client: httpx.AsyncClient, built: Path
) -> None:
    index = await client.get("/")
    assert index.status_code == 200
    assert "<title>built</title>" in index.text
    assert index.headers["cache-control"] == "no-cache"
    module = await client.get("/static/js/main.js")
    assert module.status_code == 200
    assert module.headers["content-type"].startswith("text/javascript")
    assert (await client.head("/static/js/main.js")).status_code == 200


@pytest.mark.parametrize(
    "path",
    ["/static/../secret.txt", "/static/%2e%2e/secret.txt", "/static/js", "/static/nothing.js"],
)
async def test_nothing_outside_the_static_folder_is_served(
    client: httpx.AsyncClient, built: Path, path: str
) -> None:
    assert (await client.get(path)).status_code == 404
