"""Node tooling for the contract tests: the AsyncAPI parser and the TypeScript client."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from src.core.paths import SOURCE_ROOT
from tests.support import npm_ci

VALIDATOR = Path(__file__).parent / "asyncapi_validator"
TYPESCRIPT_CLIENT = SOURCE_ROOT / "clients" / "typescript"

Validate = Callable[[dict[str, Any]], dict[str, Any]]


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
