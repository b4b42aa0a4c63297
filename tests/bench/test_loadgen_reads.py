"""The broadcast generator's per-delivery figures: its CPU per delivery, TCP reads, bytes."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support import free_port

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.mark.skipif(
    shutil.which("node") is None or not (BENCH / "node_modules" / "socket.io").is_dir(),
    reason="needs node and bench/node_modules",
)
def test_loadgen_counts_reads_and_bytes_per_delivery() -> None:
    port = free_port()
    server = subprocess.Popen(
        ["node", str(BENCH / "servers" / "node_server.js"), str(port)], stdout=subprocess.PIPE
    )
    generator = None
    try:
        assert server.stdout is not None and server.stdout.readline().startswith(b"listening")
        config = {"url": f"http://127.0.0.1:{port}", "target": "node", "clients": 3, "events": 20}
        generator = subprocess.Popen(
            ["node", str(BENCH / "loadgen.js"), json.dumps(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert generator.stdout is not None and generator.stdin is not None
        assert json.loads(generator.stdout.readline())["phase"] == "ready"
        generator.stdin.write(b"go\n")
        generator.stdin.flush()
        done = json.loads(generator.stdout.readline())
        assert (done["delivered"], done["lost"], done["out_of_order"]) == (60, 0, 0)
        # Each client reads its 20 events in one read or more, never fewer than one.
        assert 3 <= done["reads"] <= 60
        assert done["deliveries_per_read"] == pytest.approx(60 / done["reads"])
        # A delivery's frame: the event, its payload and meta, ~200 bytes with the padding.
        assert 100 < done["bytes_per_delivery"] < 1000
        assert done["gen_us_per_delivery"] == pytest.approx(1e6 * done["gen_cpu_s"] / 60)
    finally:
        for process in (generator, server):
            if process is not None:
                process.kill()
                process.wait()
