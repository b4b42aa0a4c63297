"""`make bench`'s harness, run with tiny numbers: it starts the three servers, drives them and
checks every delivery. No timing is asserted (that is the benchmark's job, not the suite's)."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (ROOT / "bench" / "node_modules" / "socket.io").is_dir(),
    reason="needs node and bench/node_modules (`make bench` installs them)",
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_the_harness_checks_every_delivery_on_all_three_servers(tmp_path: Path) -> None:
    results = tmp_path / "runs.json"
    command = [
        sys.executable,
        str(ROOT / "bench" / "run.py"),
        "--quick",
        "--runs=1",
        "--scenarios=1000x200",
        "--clients=4",
        "--events=3",
        f"--port={free_port()}",
        f"--json={results}",
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    for server in ("mindwire", "bare", "node"):
        assert f"| 1000x200 | {server} |" in done.stdout
    assert "Mindwire/Node" in done.stdout
    runs = json.loads(results.read_text())
    assert set(runs) == {"1000x200|mindwire", "1000x200|bare", "1000x200|node"}
    for [run] in runs.values():
        assert run["ok"] and run["delivered"] == 12 and run["lost"] == 0
