"""`npm test` in clients/typescript: unit tests and the end-to-end runs against `mindwire serve`
(reconnects and restarts; token refresh across several expiries; a list, then events from its
position)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def mindwire_bin() -> str:
    beside_python = Path(sys.executable).with_name("mindwire")
    found = str(beside_python) if beside_python.exists() else shutil.which("mindwire")
    if found is None:
        pytest.fail("the `mindwire` console script is not installed (pip install -e .)")
    return found


def test_npm_test_passes_with_no_event_missed(
    typescript_client: Path, npm: str, capsys: pytest.CaptureFixture[str]
):
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env |= {"MINDWIRE_BIN": mindwire_bin(), "MINDWIRE_E2E_REQUIRED": "1"}
    result = subprocess.run(
        [npm, "test"],
        cwd=typescript_client,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert re.search(r"^# fail 0$", output, re.MULTILINE), output
    assert re.search(r"^# skipped 0$", output, re.MULTILINE), output
    for name, clean in [
        ("e2e figures", ", missed 0, repeated 0,"),
        ("e2e token figures", ", missed 0, repeated 0,"),
        ("e2e snapshot figures", ", missing 0, in both 0, repeated 0"),
    ]:
        figures = re.search(rf"{name}: (.*)", output)
        assert figures is not None, output
        assert clean in figures.group(1)
        with capsys.disabled():
            sys.stderr.write(f"\n[clients/typescript {name}] {figures.group(1)}\n")
