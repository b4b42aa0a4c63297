"""The broadcast generator: its triggers apart from its clients (or, to compare, among them),
and its per-delivery figures: CPU per delivery, TCP reads, bytes."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support import free_port

BENCH = Path(__file__).resolve().parents[2] / "bench"


NEEDS_NODE = pytest.mark.skipif(
    shutil.which("node") is None or not (BENCH / "node_modules" / "socket.io").is_dir(),
    reason="needs node and bench/node_modules",
)


def _generate(config: dict[str, object]) -> dict[str, Any]:
    """Run `loadgen.js` with `config` against the Node reference server; its `done` line."""
    port = free_port()
    server = subprocess.Popen(
        ["node", str(BENCH / "servers" / "node_server.js"), str(port)], stdout=subprocess.PIPE
    )
    generator = None
    try:
        assert server.stdout is not None and server.stdout.readline().startswith(b"listening")
        generator = subprocess.Popen(
            [
                "node",
                str(BENCH / "loadgen.js"),
                json.dumps({"url": f"http://127.0.0.1:{port}", "target": "node", **config}),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert generator.stdout is not None and generator.stdin is not None
        assert json.loads(generator.stdout.readline())["phase"] == "ready"
        generator.stdin.write(b"go\n")
        generator.stdin.flush()
        done: dict[str, Any] = json.loads(generator.stdout.readline())
        return done
    finally:
        for process in (generator, server):
            if process is not None:
                process.kill()
                process.wait()


@NEEDS_NODE
@pytest.mark.parametrize("apart", [True, False])
def test_loadgen_counts_reads_and_bytes_per_delivery(apart: bool) -> None:
    done = _generate({"clients": 3, "events": 20, "triggersApart": apart})
    assert done["triggers_apart"] is apart
    assert (done["delivered"], done["lost"], done["out_of_order"]) == (60, 0, 0)
    assert done["trigger_errors"] == 0 and sum(done["timeline"]["triggers"]) == 1
    # Each client reads its 20 events in one read or more, never fewer than one.
    assert 3 <= done["reads"] <= 60
    assert done["deliveries_per_read"] == pytest.approx(60 / done["reads"])
    # A delivery's frame: the event, its payload and meta, ~200 bytes with the padding.
    assert 100 < done["bytes_per_delivery"] < 1000
    assert done["gen_us_per_delivery"] == pytest.approx(1e6 * done["gen_cpu_s"] / 60)


@NEEDS_NODE
def test_steady_triggers_apart_issue_every_event_on_schedule() -> None:
    done = _generate({"clients": 2, "events": 10, "mode": "steady", "rate": 50})
    assert done["triggers_apart"] is True
    assert (done["delivered"], done["lost"], done["out_of_order"]) == (20, 0, 0)
    assert sum(done["timeline"]["triggers"]) == 10
    # 10 events at 50/s: the last is issued ~180 ms after the first.
    assert 0.15 < done["trigger_s"] < 5


@NEEDS_NODE
def test_generator_profiles_itself_and_the_summary_names_where_time_went(tmp_path: Path) -> None:
    profile = tmp_path / "gen.cpuprofile"
    done = _generate({"clients": 4, "events": 500, "cpuProfile": str(profile)})
    assert (done["delivered"], done["lost"]) == (2000, 0)
    assert json.loads(profile.read_text())["samples"]  # written before the `done` line
    summary = subprocess.run(
        ["node", str(BENCH / "cpuprofile_summary.js"), str(profile), "--top", "50"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    header, _, rest = summary.partition("\n")
    busy = int(header.split(" busy samples")[0].rsplit(" ", 1)[1])
    assert busy > 0, summary
    for section in ("self, per package", "self, per function", "total, per function"):
        assert section in rest, summary
    # 2000 deliveries cannot be parsed without the client's packages on the stack.
    assert "socket.io-client" in rest or "engine.io-client" in rest, summary
