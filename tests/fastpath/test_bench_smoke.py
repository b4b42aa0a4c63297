"""`make bench`'s harness, run with tiny numbers: it starts the three servers, drives them and
checks every delivery. No timing is asserted (that is the benchmark's job, not the suite's)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support import free_port, npm_ci

ROOT = Path(__file__).resolve().parents[2]


def test_the_harness_checks_every_delivery_on_all_three_servers(tmp_path: Path, npm: str) -> None:
    npm_ci(ROOT / "bench", npm)  # what `make bench` installs: socket.io, socket.io-client
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
