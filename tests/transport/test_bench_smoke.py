"""`make bench`'s harness, run with tiny numbers: it starts the three servers, drives them and
checks every delivery. No timing is asserted (that is the benchmark's job, not the suite's)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from tests.support import free_port, npm_ci

ROOT = Path(__file__).resolve().parents[2]


def run_bench(
    tmp_path: Path, *options: str, env: dict[str, str] | None = None
) -> tuple[str, dict[str, list[dict[str, Any]]]]:
    """`bench/run.py --quick --runs=1` with `options`, as `make bench` runs it: its table, and
    every run it kept (`--json`). Fails with the output if the harness fails."""
    results = tmp_path / "runs.json"
    command = [
        sys.executable,
        str(ROOT / "bench" / "run.py"),
        "--quick",
        "--runs=1",
        *options,
        f"--port={free_port()}",
        f"--json={results}",
    ]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    runs: dict[str, list[dict[str, Any]]] = json.loads(results.read_text())
    return done.stdout, runs


def test_the_harness_checks_every_delivery_on_all_three_servers(tmp_path: Path, npm: str) -> None:
    npm_ci(ROOT / "bench", npm)  # what `make bench` installs: socket.io, socket.io-client
    stdout, runs = run_bench(tmp_path, "--scenarios=1000x200", "--clients=4", "--events=3")
    for server in ("mindwire", "bare", "node"):
        assert f"| 1000x200 | {server} |" in stdout
    assert "1000x200 [mindwire]: Mindwire/Node" in stdout
    assert "KiB/conn ÷ Node" in stdout
    if runs["1000x200|node"][0]["us_per_delivery"]:  # a tiny run may use no measurable CPU
        assert "CPU/delivery ÷ Node" in stdout
    assert set(runs) == {"1000x200|mindwire", "1000x200|bare", "1000x200|node"}
    for [run] in runs.values():
        assert run["ok"] and run["delivered"] == 12 and run["lost"] == 0


def test_the_write_and_storm_scenarios_check_every_delivery(tmp_path: Path, npm: str) -> None:
    """`writes` (16 writers), `write-latency-1000` (one writer) and `storm` against Mindwire
    and the Node write-path peer (better-sqlite3, Connection State Recovery), tiny sizes: every
    subscriber gets every event once and in order, every write is answered, every storm client
    resumes (Node: recovered), and Mindwire's replay queries are counted."""
    npm_ci(ROOT / "bench", npm)  # also builds better-sqlite3 for the Node peer
    stdout, kept = run_bench(
        tmp_path,
        "--scenarios=writes,write-latency-1000,storm",
        "--targets=mindwire,node",
        "--clients=3",
        "--events=20",
    )
    for scenario in ("writes", "write-latency-1000", "storm"):
        for server in ("mindwire", "node"):
            assert f"| {scenario} | {server} |" in stdout
    assert "writes [mindwire]: writes/s Mindwire/Node" in stdout
    assert "storm [mindwire]: storm time Mindwire/Node" in stdout
    runs = {key: run for key, [run] in kept.items()}
    assert set(runs) == {
        f"{scenario}|{server}"
        for scenario in ("writes", "write-latency-1000", "storm")
        for server in ("mindwire", "node")
    }
    for key, run in runs.items():
        assert run["ok"] and not run["stalled"], key
        assert run["lost"] == run["duplicates"] == run["out_of_order"] == 0, key
    for server in ("mindwire", "node"):
        writes = runs[f"writes|{server}"]
        assert writes["writers"] == 16 and writes["writes_ok"] == 20
        assert writes["delivered"] == 3 * 20 and writes["write_p99_ms"] > 0
        assert runs[f"write-latency-1000|{server}"]["writers"] == 1
        for scenario in ("writes", "write-latency-1000"):  # each write timed by the server
            assert runs[f"{scenario}|{server}"]["server_p50_ms"] is not None, (scenario, server)
        storm = runs[f"storm|{server}"]
        assert storm["delivered"] == 3 * 21  # the event every client had, then the 20 missed
        assert storm["reconnect_s"] is not None  # every client back and subscribed
    assert runs["storm|node"]["recovered"] == 3 and runs["storm|node"]["not_recovered"] == 0
    assert runs["storm|mindwire"]["event_log_selects"] >= 3  # at least one replay read each
    assert runs["storm|mindwire"]["rooms"] == 3 + 1  # 3 users' own rooms and notifications


def test_the_connect_scenario_subscribes_every_client(tmp_path: Path, npm: str) -> None:
    """`connect-10000`, tiny: every client of Mindwire (access tokens) and of Node connects
    at once and is subscribed, the idle server's memory is read, and the ratios printed."""
    npm_ci(ROOT / "bench", npm)
    stdout, kept = run_bench(
        tmp_path, "--scenarios=connect-10000", "--targets=mindwire,node", "--clients=20"
    )
    for server in ("mindwire", "node"):
        assert f"| connect-10000 | {server} |" in stdout
    assert "connect-10000 [mindwire]: all subscribed Mindwire/Node" in stdout
    runs = {key: run for key, [run] in kept.items()}
    assert set(runs) == {"connect-10000|mindwire", "connect-10000|node"}
    for key, run in runs.items():
        assert run["ok"] and not run["stalled"] and run["subscribed"] == 20, key
        assert run["all_subscribed_s"] > 0 and run["rss_idle_mib"] > 0, key


@pytest.mark.skipif(
    not (os.environ.get("TEST_DATABASE_URL") and os.environ.get("TEST_REDIS_URL")),
    reason="set TEST_DATABASE_URL and TEST_REDIS_URL to run on PostgreSQL and Redis",
)
def test_the_postgres_redis_write_scenario_runs_two_workers_and_drops_its_database(
    tmp_path: Path, npm: str
) -> None:
    """`writes-pg-2`: Mindwire with two workers on a fresh PostgreSQL database and its own
    Redis index; every write answered and delivered, the database's and Redis's CPU read
    beside the workers', and the database dropped after the run."""
    npm_ci(ROOT / "bench", npm)
    database = make_url(os.environ["TEST_DATABASE_URL"])
    redis = os.environ["TEST_REDIS_URL"].rsplit("/", 1)[0]
    env = {
        **os.environ,
        "BENCH_PG_URL": f"postgresql://{database.username}@{database.host}:{database.port}",
        "BENCH_REDIS_URL": f"{redis}/15",
    }
    _, kept = run_bench(tmp_path, "--scenarios=writes-pg-2", "--clients=3", "--events=20", env=env)
    [run] = kept["writes-pg-2|mindwire"]
    assert run["ok"] and run["writes_ok"] == 20 and run["delivered"] == 3 * 20
    assert run["lost"] == run["duplicates"] == run["out_of_order"] == 0
    assert run["cpu_ms_per_write"] > 0 and "postgres_cpu_ms_per_write" in run
    listed = subprocess.run(
        ["psql", env["BENCH_PG_URL"] + "/postgres", "-Atc", "SELECT datname FROM pg_database"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert not [name for name in listed.stdout.split() if name.startswith("bench_")]
