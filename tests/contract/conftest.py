"""Node tooling for the contract tests: `npm ci` once per lock file, skipped without Node."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from src.contract.files import PROJECT_ROOT

VALIDATOR = Path(__file__).parent / "asyncapi_validator"
TYPESCRIPT_CLIENT = PROJECT_ROOT / "clients" / "typescript"

Validate = Callable[[dict[str, Any]], dict[str, Any]]


def npm_ci(folder: Path, npm: str) -> None:
    """`npm ci` in `folder` unless node_modules already matches its package-lock.json."""
    digest = hashlib.sha256((folder / "package-lock.json").read_bytes()).hexdigest()
    stamp = folder / "node_modules" / ".mindwire-lock.sha256"
    if stamp.exists() and stamp.read_text() == digest:
        return
    result = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"npm ci in {folder} failed:\n{result.stdout}\n{result.stderr}")
    stamp.write_text(digest)


@pytest.fixture(scope="session")
def npm() -> str:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are needed for the AsyncAPI parser and the TypeScript client")
    return npm


@pytest.fixture(scope="session")
def validate_asyncapi(npm: str, tmp_path_factory: pytest.TempPathFactory) -> Validate:
    """Validate a document with the official `@asyncapi/parser`; returns its report."""
    npm_ci(VALIDATOR, npm)
    folder = tmp_path_factory.mktemp("asyncapi")

    def validate(document: dict[str, Any]) -> dict[str, Any]:
        path = folder / "asyncapi.json"
        path.write_text(json.dumps(document), encoding="utf-8")
        result = subprocess.run(
            ["node", str(VALIDATOR / "validate.mjs"), str(path)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode in (0, 1), result.stderr
        report: dict[str, Any] = json.loads(result.stdout)
        return report

    return validate


@pytest.fixture(scope="session")
def typescript_client(npm: str) -> Path:
    """clients/typescript with its dependencies installed."""
    npm_ci(TYPESCRIPT_CLIENT, npm)
    return TYPESCRIPT_CLIENT
