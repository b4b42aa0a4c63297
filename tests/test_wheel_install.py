"""The wheel as a user gets it: built, installed into a fresh venv with the pinned dependencies,
then migrated, given an admin and served from an empty folder, far from the source tree."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import httpx
import pytest

from src.core.config import Settings
from tests.support import free_port, stop_process

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"
EMAIL = "root@example.com"
PASSWORD = "long-enough"


def _run(
    command: list[str],
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result


def build_wheel(folder: Path, **env: str) -> Path:
    """The wheel of this checkout, built into `folder` by setuptools through setup.py's hook
    (npm, when present, builds the dashboard into it). uv drives the build and the install:
    the same backend and wheel as pip's, minus pip's index round trips (half a minute here)."""
    _run(
        [sys.executable, "-m", "uv", "build", "-q", "--wheel", "-o", str(folder), str(ROOT)],
        env={**os.environ, **env},
    )
    (wheel,) = folder.glob("mindwire-*.whl")
    return wheel


def user_env() -> dict[str, str]:
    """This environment without Mindwire's settings or a path back to the source tree, so the
    installed commands run on their defaults, as on a new machine."""
    settings = {name.upper() for name in Settings.model_fields}
    return {
        name: value
        for name, value in os.environ.items()
        if name not in settings and name != "PYTHONPATH"
    }


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The `bin/` of a fresh venv with the wheel and the locked dependencies installed."""
    base = tmp_path_factory.mktemp("wheel")
    wheel = build_wheel(base / "dist")
    venv = base / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = str(venv / "bin" / "python")
    _run([sys.executable, "-m", "uv", "pip", "install", "-q", "--python", python,
          "-c", str(LOCK), str(wheel)])  # fmt: skip
    return venv / "bin"


def wait_until_healthy(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60  # a loaded machine takes a while to import it all
    while time.monotonic() < deadline:
        assert server.poll() is None, "mindwire serve exited"
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"mindwire serve did not answer /health at {url} within 60 s")


def test_an_installed_wheel_migrates_creates_a_user_and_serves(installed: Path, tmp_path: Path):
    folder = tmp_path / "empty"
    folder.mkdir()
    env = user_env()

    def mindwire(*args: str) -> subprocess.CompletedProcess[str]:
        return _run([str(installed / "mindwire"), *args], cwd=folder, env=env, timeout=60)

    located = _run([str(installed / "python"), "-c", "import src; print(src.__file__)"], cwd=folder)
    assert Path(located.stdout.strip()).is_relative_to(installed.parent)  # not the checkout

    mindwire("migrate")
    assert (folder / "data" / "mindwire.db").is_file()  # the default DATABASE_URL, from here
    assert mindwire("create-user", EMAIL, "--password", PASSWORD, "--admin").stdout.strip()

    url = f"http://127.0.0.1:{free_port()}"
    server = subprocess.Popen(
        [str(installed / "mindwire"), "serve", "--port", url.rsplit(":", 1)[1]],
        cwd=folder,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_healthy(url, server)
        with httpx.Client(base_url=url, timeout=10) as http:
            signed_in = http.post("/api/auth/token", data={"username": EMAIL, "password": PASSWORD})
            assert signed_in.status_code == 200, signed_in.text
            token = signed_in.json()["access_token"]
            me = http.get("/api/users/me", headers={"Authorization": f"Bearer {token}"})
            assert me.status_code == 200 and me.json()["is_admin"] is True
            asyncapi = http.get("/asyncapi.json")
            assert asyncapi.status_code == 200 and asyncapi.json()["asyncapi"].startswith("3.")
            page = http.get("/")
            assert page.status_code == 200
            if shutil.which("npm") is not None:
                assert "The dashboard has not been built" not in page.text
                assert '<script type="importmap">' in page.text
                vendor = http.get("/static/vendor/socket.io.esm.min.js")
                assert vendor.status_code == 200
            else:
                assert "The dashboard has not been built" in page.text
    finally:
        stop_process(server)


def test_installed_contract_commands_print_instead_of_writing(installed: Path, tmp_path: Path):
    env = user_env()
    asyncapi = _run([str(installed / "mindwire"), "asyncapi"], cwd=tmp_path, env=env)
    assert '"asyncapi": "3.' in asyncapi.stdout
    types = _run([str(installed / "mindwire"), "gen-ts"], cwd=tmp_path, env=env)
    assert "export interface" in types.stdout
    assert not list(installed.parent.glob("lib/*/site-packages/clients"))  # nothing written there
    docs = subprocess.run(
        [str(installed / "mindwire"), "gen-docs"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert docs.returncode == 2 and "needs --readme" in docs.stderr


def test_a_wheel_built_without_the_dashboard_still_carries_the_migrations(tmp_path: Path):
    wheel = build_wheel(tmp_path, MINDWIRE_BUILD_DASHBOARD="0")
    names = zipfile.ZipFile(wheel).namelist()
    assert not [name for name in names if name.startswith("src/dashboard/")]
    assert "src/migrations/env.py" in names and "src/migrations/script.py.mako" in names
    assert len([name for name in names if name.startswith("src/migrations/versions/")]) >= 3
