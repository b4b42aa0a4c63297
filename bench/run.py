"""`make bench`: Mindwire against bare python-socketio and the reference Node socket.io server.

For each scenario and each run, the servers are started one after another (interleaved:
mindwire, bare, node, mindwire, bare, node, ...), each pinned to one core, and driven by the
same Node load generator (`loadgen.js`, socket.io-client over WebSocket) pinned to the other.
Every client must receive every event exactly once and in order; a run that loses, repeats or
reorders one is marked FAIL. Each figure is the median over the runs.

- **mindwire** is the real service: `mindwire serve` on a fresh migrated SQLite database;
  clients authenticate with access tokens (16 sockets per user) and subscribe through
  `subscribe_event` to `notifications`. Each event is one `POST /api/notifications` by an
  admin: the route, the `EventEmitter`, the event-log row and its commit, the relay, the
  fan-out. A burst keeps 8 such requests in flight. The requests are sent by a child process
  of the generator (`loadgen_trigger.js`, same core): in the clients' own loop their answers
  waited behind the deliveries it parses (`BENCH_WRITER_IN_GENERATOR=1`: as before).
- **bare** is python-socketio 5 under uvicorn with its defaults (`servers/bare_server.py`),
  **node** socket.io 4 (`servers/node_server.js`); one HTTP request asks them for the whole
  burst, which they emit back to back.
- **writes**, **write-latency-***, **storm**: the write path and a reconnect storm, against
  a Node peer that does Mindwire's work per event (`write_path.py`,
  `servers/node_writes_server.js`); each has a table of its own.
- **connect-10000**: 10,000 clients connecting and subscribing at once (`connect_burst.py`).

    .venv/bin/python bench/run.py                  # every scenario, 3 runs each
    .venv/bin/python bench/run.py --steps          # defaults -> easy wins -> fast path
    BENCH_QUICK=1 .venv/bin/python bench/run.py    # tiny numbers: checks the harness works
    .venv/bin/python bench/run.py --scenarios 1000x200 --runs 1 --targets mindwire,node

`BENCH_LOADGEN_CPU_PROF=DIR`: a V8 profile of the generator per broadcast run, from "go" to
the last delivery (`node bench/cpuprofile_summary.js FILE` says where its time goes).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import connect_burst
import pg_stack
import write_path
from figures import median_of
from procs import Lines, cpu_seconds, end_run, pinned, rss_kib, start_profiler, stop, wait_healthy

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
VENV_BIN = Path(sys.executable).parent
SECRET = "bench-secret-key-that-is-long-enough-for-hs256"
USERS = 10
CONNECTIONS_PER_USER = 16
"""Sockets per user: under Mindwire's cap of connections per user (20 by default)."""


@dataclass(frozen=True)
class Scenario:
    name: str
    clients: int
    events: int
    mode: str = "burst"  # or "steady": `rate` events per second; "writes"; "storm"; "connect"
    rate: int = 100
    writers: int = 16  # "writes": REST writers, each sending its next write once answered
    route: str = "memory-logs"  # "writes": or "notifications"
    stack: str = "sqlite"  # "writes": or pg_stack.STACK, two workers on PostgreSQL + Redis


FULL = [
    Scenario("1000x200", 1000, 200),
    Scenario("5000x50", 5000, 50),
    Scenario("100x2000", 100, 2000),
    Scenario("rest-100/s-1000", 1000, 500, "steady", 100),
    Scenario("rest-100/s-100", 100, 500, "steady", 100),
    Scenario("writes", 10, 2000, "writes", writers=16),
    Scenario("write-latency-1000", 1000, 200, "writes", writers=1, route="notifications"),
    Scenario("write-latency-5000", 5000, 200, "writes", writers=1, route="notifications"),
    Scenario("storm", 2000, 200, "storm"),
    Scenario("writes-pg-2", 10, 2000, "writes", writers=16, stack=pg_stack.STACK),
    Scenario("connect-10000", 10000, 0, connect_burst.MODE),
]
QUICK = [
    Scenario("1000x200", 40, 10),
    Scenario("5000x50", 60, 5),
    Scenario("100x2000", 10, 40),
    Scenario("rest-100/s-1000", 20, 10, "steady", 50),
    Scenario("rest-100/s-100", 5, 10, "steady", 50),
    Scenario("writes", 3, 48, "writes", writers=16),
    Scenario("write-latency-1000", 20, 10, "writes", writers=1, route="notifications"),
    Scenario("storm", 40, 10, "storm"),
    Scenario("writes-pg-2", 3, 48, "writes", writers=16, stack=pg_stack.STACK),
    Scenario("connect-10000", 50, 0, connect_burst.MODE),
]


@dataclass(frozen=True)
class Server:
    """One server configuration: `kind` is mindwire, bare or node."""

    label: str
    kind: str
    env: dict[str, str] = field(default_factory=dict)
    deflate: bool = False  # mindwire only: start through uvicorn with per-message deflate on
    workers: int = 1  # mindwire only: more than one runs on PostgreSQL + Redis (pg_stack.py)


DEFAULT_SERVERS = {
    "mindwire": Server("mindwire", "mindwire"),
    "bare": Server("bare", "bare"),
    "node": Server("node", "node"),
}

VARIANTS = {
    "mindwire-pause-off": Server("mindwire-pause-off", "mindwire", {"SOCKET_FLUSH_PAUSE_MS": "0"}),
}
"""Chosen by label alone (`--targets mindwire,mindwire-pause-off`): the burst coalescing off,
each flush at the end of its loop pass, to measure what the pause saves."""

_OUT_OF_THE_BOX = {"SOCKET_FANOUT": "tasks", "SOCKET_GC_FREEZE": "0"}
STEPS = [
    Server("0 defaults", "mindwire", dict(_OUT_OF_THE_BOX), deflate=True),
    Server("1 +deflate off", "mindwire", dict(_OUT_OF_THE_BOX)),
    Server("2 +websocket only", "mindwire", {**_OUT_OF_THE_BOX, "SOCKET_TRANSPORTS": "websocket"}),
    Server(
        "3 +gc.freeze",
        "mindwire",
        {**_OUT_OF_THE_BOX, "SOCKET_TRANSPORTS": "websocket", "SOCKET_GC_FREEZE": "1"},
    ),
    Server(
        "4 +no task per recipient",
        "mindwire",
        {"SOCKET_TRANSPORTS": "websocket", "SOCKET_GC_FREEZE": "1", "SOCKET_FANOUT": "sequential"},
    ),
    Server(
        "5 +fast path",
        "mindwire",
        {"SOCKET_TRANSPORTS": "websocket", "SOCKET_GC_FREEZE": "1", "SOCKET_FANOUT": "direct"},
    ),
    DEFAULT_SERVERS["bare"],
    DEFAULT_SERVERS["node"],
]


# -- mindwire's database and users -------------------------------------------------------------


@dataclass
class MindwireFixture:
    template: Path
    admin_token: str
    tokens: list[str]


async def _make_users(database_url: str, users: int) -> tuple[str, list[str]]:
    from src.auth import service as auth_service
    from src.auth.models import User
    from src.core.db import create_engine, create_sessionmaker
    from src.core.security import create_access_token, hash_password

    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            admin = await auth_service.create_user(
                session, email="admin@bench.example", password="bench-password", is_admin=True
            )
            hashed = hash_password("bench-password")  # one hash for all: argon2 is slow
            rows = [
                User(email=f"user{index}@bench.example", hashed_password=hashed)
                for index in range(users)
            ]
            session.add_all(rows)
            await session.commit()
            ids = [admin.id, *[row.id for row in rows]]
    finally:
        await engine.dispose()
    tokens = [create_access_token(i, secret_key=SECRET, ttl_seconds=86400) for i in ids]
    return tokens[0], tokens[1:]


def prepare_mindwire(workdir: Path, clients: int) -> MindwireFixture:
    """A migrated database with an admin and enough users for `clients` sockets."""
    sys.path.insert(0, str(ROOT))
    from src.cli import migrate

    template = workdir / "template.db"
    url = f"sqlite+aiosqlite:///{template}"
    migrate(url)
    users = max(USERS, -(-clients // CONNECTIONS_PER_USER))
    admin, tokens = asyncio.run(_make_users(url, users))
    return MindwireFixture(template, admin, tokens)


# -- one run -----------------------------------------------------------------------------------


@dataclass
class Options:
    server_cpu: str | None
    generator_cpu: str | None
    port: int
    settle: float
    workdir: Path
    fixture: MindwireFixture | None
    profile: Path | None = None
    concurrency: int = 8


def start_server(
    server: Server,
    options: Options,
    run_id: str,
    *,
    counted: bool = False,
    traced: Path | None = None,
    timed: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start `server`; with `counted`, Mindwire counts its SQL statements (`storm`); with
    `traced`, it runs under tracemalloc and dumps snapshots there on SIGUSR1
    (`servers/mindwire_traced.py`, for `memory_per_connection.py`); with `timed`, the server
    times each POST inside itself and writes the times there on SIGUSR2 (`write_path.py`)."""
    port = str(options.port)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if timed is not None:
        env["BENCH_TIMING_FILE"] = str(timed)
    if server.kind == "node":
        command = ["node", str(BENCH / "servers" / "node_server.js"), port]
    elif server.kind == "node-writes":
        database = str(options.workdir / f"node-{run_id}.db")
        command = ["node", str(BENCH / "servers" / "node_writes_server.js"), port, database]
        env["BENCH_SECRET"] = SECRET
    elif server.kind == "bare":
        command = [str(VENV_BIN / "python"), str(BENCH / "servers" / "bare_server.py"), port]
    else:
        assert options.fixture is not None
        database = options.workdir / f"mindwire-{run_id}.db"
        shutil.copyfile(options.fixture.template, database)
        env.update(
            {
                "DATABASE_URL": f"sqlite+aiosqlite:///{database}",
                "SECRET_KEY": SECRET,
                "MAX_CONNECTIONS_PER_USER": "1000000",
                "WRITE_RATE_LIMIT": "1000000/1s",  # one admin posts every event
                "MAX_CONCURRENT_WRITES_PER_USER": "1000000",
                # every client comes from 127.0.0.1: a storm's reconnects are not one
                # address's handshake flood
                "MAX_PENDING_CONNECTIONS_PER_ADDRESS": "1000000",
                "LOG_LEVEL": "WARNING",
                "ENVIRONMENT": "development",
                "SOCKET_TRANSPORTS": "polling,websocket",
            }
        )
        env.update(server.env)
        if server.workers > 1:
            from src.cli import migrate

            users = len(options.fixture.tokens)
            env.update(pg_stack.prepare(run_id, users, _make_users, migrate))
            env["SOCKET_TRANSPORTS"] = "websocket"  # what the CLI asks of several workers
            command = [
                str(VENV_BIN / "mindwire"), "serve", "--host", "127.0.0.1", "--port", port,
                "--workers", str(server.workers),
            ]  # fmt: skip
        elif server.deflate:  # what `mindwire serve` runs, but with uvicorn's default deflate
            command = [
                str(VENV_BIN / "python"), "-m", "uvicorn", "src.main:create_app", "--factory",
                "--host", "127.0.0.1", "--port", port, "--log-level", "warning",
                "--ws-per-message-deflate", "true",
            ]  # fmt: skip
        elif traced is not None:
            env["MINDWIRE_TRACE_DIR"] = str(traced)
            command = [
                str(VENV_BIN / "python"), str(BENCH / "servers" / "mindwire_traced.py"),
                "serve", "--host", "127.0.0.1", "--port", port,
            ]  # fmt: skip
        elif timed is not None:
            command = [
                str(VENV_BIN / "python"), str(BENCH / "servers" / "mindwire_timed.py"),
                "serve", "--host", "127.0.0.1", "--port", port,
            ]  # fmt: skip
        elif counted:
            env["BENCH_QUERY_COUNT_FILE"] = str(query_counts(options, run_id))
            command = [
                str(VENV_BIN / "python"), str(BENCH / "servers" / "mindwire_counted.py"),
                "serve", "--host", "127.0.0.1", "--port", port,
            ]  # fmt: skip
        else:
            command = [str(VENV_BIN / "mindwire"), "serve", "--host", "127.0.0.1", "--port", port]
    process = subprocess.Popen(
        pinned(options.server_cpu, command),
        cwd=options.workdir,  # no stray .env
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(options.workdir / f"server-{run_id}.log", "wb"),
    )
    try:
        wait_healthy(f"http://127.0.0.1:{port}/health", process)
    except Exception:
        stop(process)
        raise
    return process


def query_counts(options: Options, run_id: str) -> Path:
    """Where a counted Mindwire writes its statement tallies (`servers/mindwire_counted.py`)."""
    return options.workdir / f"queries-{run_id}.json"


def warm_up_clients(clients: int) -> int:
    """Clients connected before the memory baseline: what the first connections cost once
    (imports, caches, pools) is left out of KiB/conn, for every server alike."""
    return min(50, clients // 10)


NODE_WRITES = Server("node", "node-writes")
"""The Node peer of the write scenarios (`servers/node_writes_server.js`), labelled node."""


def servers_for(scenario: Scenario, servers: list[Server]) -> list[Server]:
    if scenario.stack == pg_stack.STACK:  # no peer on that stack: Mindwire alone
        return [pg_stack.on_stack(server) for server in servers if server.kind == "mindwire"]
    return write_path.peers(servers, NODE_WRITES) if scenario.mode in write_path.MODES else servers


def run_scenario(
    scenario: Scenario, server: Server, options: Options, run_id: str
) -> dict[str, Any]:
    """One run of any scenario: the broadcast ones here, the write ones in write_path."""
    if scenario.mode == "writes":
        try:
            return write_path.run_writes(
                scenario, server, options, run_id, start_server, start_profiler
            )
        finally:
            if server.workers > 1:
                pg_stack.drop(run_id)
    if scenario.mode == "storm":
        counts = query_counts(options, run_id) if server.kind == "mindwire" else None
        return write_path.run_storm(scenario, server, options, run_id, start_server, counts)
    if scenario.mode == connect_burst.MODE:
        return connect_burst.run_connect(
            scenario, server, options, run_id, start_server, start_profiler
        )
    return run_once(scenario, server, options, run_id)


def run_once(scenario: Scenario, server: Server, options: Options, run_id: str) -> dict[str, Any]:
    process = start_server(server, options, run_id)
    generator: subprocess.Popen[bytes] | None = None
    try:
        time.sleep(options.settle)
        rss_base = rss_kib(process.pid)
        warm = warm_up_clients(scenario.clients)
        config: dict[str, Any] = {
            "url": f"http://127.0.0.1:{options.port}",
            "target": server.kind,
            "clients": scenario.clients,
            "warm": warm,
            "events": scenario.events,
            "mode": scenario.mode,
            "rate": scenario.rate,
            # the triggers in a process of their own (loadgen_trigger.js); "1": in the clients'
            "triggersApart": os.environ.get("BENCH_WRITER_IN_GENERATOR") != "1",
        }
        if folder := os.environ.get("BENCH_LOADGEN_CPU_PROF"):  # V8 profile from go to done
            config["cpuProfile"] = str(Path(folder).resolve() / f"{run_id}.cpuprofile")
        if server.kind == "mindwire":
            assert options.fixture is not None
            config["tokens"] = options.fixture.tokens
            config["adminToken"] = options.fixture.admin_token
            config["concurrency"] = options.concurrency
        config_file = options.workdir / f"loadgen-{run_id}.json"
        config_file.write_text(json.dumps(config))
        generator = subprocess.Popen(
            pinned(options.generator_cpu, ["node", str(BENCH / "loadgen.js"), f"@{config_file}"]),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        lines = Lines(generator)
        assert generator.stdin is not None
        rss_warm = rss_base
        if warm:
            warmed = json.loads(lines.next(600))
            if warmed.get("phase") != "warm":
                raise RuntimeError(f"load generator: {warmed}")
            time.sleep(options.settle)
            rss_warm = rss_kib(process.pid)
            generator.stdin.write(b"more\n")
            generator.stdin.flush()
        ready = json.loads(lines.next(600))
        if ready.get("phase") != "ready":
            raise RuntimeError(f"load generator: {ready}")
        time.sleep(options.settle)
        rss_idle = rss_kib(process.pid)
        cpu_before = cpu_seconds(process.pid)
        profiler = start_profiler(options, server, process.pid, run_id)
        generator.stdin.write(b"go\n")
        generator.stdin.flush()
        done = json.loads(lines.next(900))
        cpu_after = cpu_seconds(process.pid)
        if profiler is not None:
            profiler.send_signal(signal.SIGINT)
            profiler.wait(30)
        if done.get("phase") != "done":
            raise RuntimeError(f"load generator: {done}")
        duration = done["duration_s"] or 1e-9
        server_cpu = cpu_after - cpu_before
        return {
            **done,
            "connect_s": ready["connect_s"],
            "server_cpu_s": server_cpu,
            "server_cpu_pct": 100 * server_cpu / duration,
            "gen_cpu_pct": 100 * done["gen_cpu_s"] / duration,
            "us_per_delivery": 1e6 * server_cpu / max(done["delivered"], 1),
            "events_per_s": scenario.events / max(done["trigger_s"], 1e-9),
            "kib_per_conn": (rss_idle - rss_warm) / (scenario.clients - warm),
            "kib_per_conn_cold": (rss_idle - rss_base) / scenario.clients,
            "rss_idle_kib": rss_idle,
            "ok": done["lost"] == 0
            and done["duplicates"] == 0
            and done["out_of_order"] == 0
            and done["trigger_errors"] == 0,
        }
    finally:
        end_run(generator, process)


# -- the table ---------------------------------------------------------------------------------

METRICS = [
    ("deliveries/s", "deliveries_per_s", "{:,.0f}"),
    ("events/s", "events_per_s", "{:,.0f}"),
    ("p50 ms", "p50_ms", "{:.1f}"),
    ("p99 ms", "p99_ms", "{:.1f}"),
    ("server CPU %", "server_cpu_pct", "{:.0f}"),
    ("µs/delivery", "us_per_delivery", "{:.1f}"),
    ("gen CPU %", "gen_cpu_pct", "{:.0f}"),
    ("gen µs/delivery", "gen_us_per_delivery", "{:.1f}"),
    ("deliveries/read", "deliveries_per_read", "{:.1f}"),
    ("KiB/conn", "kib_per_conn", "{:.1f}"),
    ("KiB/conn cold", "kib_per_conn_cold", "{:.1f}"),
]


Ratios = Callable[[dict[tuple[str, str], list[dict[str, Any]]], Any, list[Any]], list[str]]


def table(
    results: dict[tuple[str, str], list[dict[str, Any]]],
    scenarios: list[Scenario],
    servers: list[Server],
    metrics: list[tuple[str, str, str]] = METRICS,
    ratio_lines: Ratios | None = None,
) -> str:
    header = ["scenario", "server", *[name for name, _, _ in metrics], "runs ok"]
    rows = [header, ["---"] * len(header)]
    ratios: list[str] = []
    for scenario in scenarios:
        for server in servers:
            runs = results.get((scenario.name, server.label), [])
            if not runs:
                continue
            cells = [scenario.name, server.label]
            for _, key, fmt in metrics:
                value = median_of(runs, key)
                cells.append("—" if value is None else fmt.format(value))
            good = sum(1 for run in runs if run.get("ok"))
            cells.append(f"{good}/{len(runs)}" + ("" if good == len(runs) else " FAIL"))
            rows.append(cells)
        ratios.extend((ratio_lines or _ratios)(results, scenario, servers))
    lines = ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines + ([""] + ratios if ratios else []))


RATIOS_TO_NODE = [
    ("CPU/delivery", "us_per_delivery"),
    ("KiB/conn", "kib_per_conn"),
]
"""Further Mindwire/Node ratios of a broadcast scenario, beside deliveries/s (lower is better)."""


def _ratios(
    results: dict[tuple[str, str], list[dict[str, Any]]], scenario: Scenario, servers: list[Server]
) -> list[str]:
    def figure(label: str, key: str = "deliveries_per_s") -> float | None:
        return median_of(results.get((scenario.name, label), []), key)

    node, bare = figure("node"), figure("bare")
    out = []
    for server in servers:
        if server.kind != "mindwire":
            continue
        mine = figure(server.label)
        if mine is None:
            continue
        parts = []
        if node:
            parts.append(f"Mindwire/Node {mine / node:.2f}")
            for name, key in RATIOS_TO_NODE:
                ours, theirs = figure(server.label, key), figure("node", key)
                if ours is not None and theirs:
                    parts.append(f"{name} ÷ Node {ours / theirs:.2f}")
        if bare:
            parts.append(f"Mindwire/bare {mine / bare:.2f}")
        if parts:
            out.append(f"{scenario.name} [{server.label}]: " + ", ".join(parts))
    return out


def machine() -> str:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    versions = json.loads(
        subprocess.run(
            [
                "node",
                "-e",
                "console.log(JSON.stringify([require('socket.io/package.json').version,"
                "require('socket.io-client/package.json').version]))",
            ],
            cwd=BENCH,
            capture_output=True,
            text=True,
        ).stdout
    )
    from importlib.metadata import version

    return (
        f"{model}, {os.cpu_count()} cores, Linux {platform.release()}; Python "
        f"{platform.python_version()}, python-socketio {version('python-socketio')}, "
        f"uvicorn {version('uvicorn')}; Node {node}, socket.io {versions[0]}, "
        f"socket.io-client {versions[1]}"
    )


def say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def note(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def summary(result: dict[str, Any]) -> str:
    if "error" in result:
        return f"ERROR {result.get('error')}"
    if "deliveries_per_s" not in result:  # a write scenario: its figures, its problems
        shown = ("writes_per_s", "write_p50_ms", "write_p99_ms", "cpu_ms_per_write", "storm_s")
        shown += ("server_cpu_s", "event_log_selects", "recovered", "connect_errors")
        shown += ("all_subscribed_s", "rss_idle_mib")  # connect-*
        text = " ".join(f"{k}={result[k]:.4g}" for k in shown if result.get(k) is not None)
        problems = ("lost", "duplicates", "out_of_order", "write_errors", "not_recovered")
        bad = ", ".join(f"{k}={result[k]}" for k in problems if result.get(k))
        return text + ("" if result["ok"] else f" FAIL {bad or 'stalled'}")
    text = (
        f"{result['deliveries_per_s']:,.0f}/s p50 {result['p50_ms']:.1f} ms"
        f" p99 {result['p99_ms']:.1f} ms cpu {result['server_cpu_pct']:.0f}%"
        f" {result['kib_per_conn']:.1f} KiB/conn"
    )
    if result.get("trigger_retries"):
        text += f" ({result['trigger_retries']} writes retried after 503)"
    if not result["ok"]:
        problems = ("lost", "duplicates", "out_of_order", "trigger_errors")
        text += " FAIL " + ", ".join(f"{k}={result[k]}" for k in problems if result[k])
    return text


# -- main --------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", default=os.environ.get("BENCH_QUICK") == "1"
    )
    parser.add_argument(
        "--runs", type=int, default=None, help="runs per figure (default 3; 1 quick)"
    )
    parser.add_argument("--scenarios", default=None, help="comma-separated scenario names")
    parser.add_argument("--targets", default=None, help="comma-separated: mindwire,bare,node")
    parser.add_argument("--steps", action="store_true", help="defaults -> easy wins -> fast path")
    parser.add_argument("--clients", type=int, default=None, help="override every scenario's")
    parser.add_argument("--events", type=int, default=None, help="override every scenario's")
    parser.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT", "9231")))
    parser.add_argument("--json", type=Path, default=None, help="also write every run here")
    parser.add_argument(
        "--concurrency", type=int, default=8, help="mindwire: REST writes in flight in a burst"
    )
    parser.add_argument(
        "--profile", type=Path, default=None, help="py-spy the Python servers into this folder"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    catalogue = QUICK if args.quick else FULL
    scenarios = catalogue
    if args.scenarios:
        wanted = args.scenarios.split(",")
        scenarios = [s for s in catalogue if s.name in wanted]
        if not scenarios:
            note(f"no scenario among {wanted}; known: {[s.name for s in catalogue]}")
            return 2
    if any(s.stack == pg_stack.STACK for s in scenarios) and (why := pg_stack.missing()):
        note(f"skipping the {pg_stack.STACK} scenarios: {why}")
        scenarios = [s for s in scenarios if s.stack != pg_stack.STACK]
    if args.clients or args.events:
        scenarios = [
            replace(s, clients=args.clients or s.clients, events=args.events or s.events)
            for s in scenarios
        ]
    servers = STEPS if args.steps else list(DEFAULT_SERVERS.values())
    if args.targets:
        kinds = set(args.targets.split(","))
        servers = [s for s in servers if s.kind in kinds or s.label in kinds]
        servers += [s for label, s in VARIANTS.items() if label in kinds]
    runs = args.runs or (1 if args.quick else 3)
    if shutil.which("node") is None or not (BENCH / "node_modules" / "socket.io").is_dir():
        note("bench needs node and `npm ci` in bench/ (make bench does it)")
        return 2
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    cores = sorted(os.sched_getaffinity(0))
    two = len(cores) >= 2 and shutil.which("taskset") is not None
    workdir = Path(tempfile.mkdtemp(prefix="mindwire-bench-"))
    options = Options(
        server_cpu=str(cores[0]) if two else None,
        generator_cpu=str(cores[1]) if two else None,
        port=args.port,
        settle=0.1 if args.quick else 1.0,
        workdir=workdir,
        fixture=None,
        profile=args.profile,
        concurrency=args.concurrency,
    )
    say(f"# {machine()}")
    say(
        f"# server on core {options.server_cpu}, load generator on core {options.generator_cpu};"
        f" {runs} run(s) per figure, interleaved"
    )
    writes = any(s.mode in write_path.MODES for s in scenarios)  # their tokens come from here
    if writes or any(s.kind == "mindwire" for s in servers):
        options.fixture = prepare_mindwire(workdir, max(s.clients for s in scenarios))
    results: dict[tuple[str, str], list[dict[str, Any]]] = {}
    failures = 0
    try:
        failures = run_all(scenarios, servers, runs, options, results)
    finally:
        if args.json:
            args.json.write_text(
                json.dumps({f"{k[0]}|{k[1]}": v for k, v in results.items()}, indent=1)
            )
        if failures:
            note(f"server logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    report(results, scenarios, servers)
    return 1 if failures else 0


def run_all(
    scenarios: list[Scenario],
    servers: list[Server],
    runs: int,
    options: Options,
    results: dict[tuple[str, str], list[dict[str, Any]]],
) -> int:
    """Every run of every scenario, interleaved by server; fills `results`, returns failures."""
    failures = 0
    for scenario in scenarios:
        for run in range(runs):
            for server in servers_for(scenario, servers):
                run_id = re.sub(r"[^A-Za-z0-9.+-]+", "_", f"{scenario.name}-{run}-{server.label}")
                try:
                    result = run_scenario(scenario, server, options, run_id)
                except Exception as exc:
                    result = {"ok": False, "error": str(exc)}
                results.setdefault((scenario.name, server.label), []).append(result)
                failures += 0 if result["ok"] else 1
                note(f"  {scenario.name} run {run + 1} {server.label}: {summary(result)}")
    return failures


def report(
    results: dict[tuple[str, str], list[dict[str, Any]]],
    scenarios: list[Scenario],
    servers: list[Server],
) -> None:
    """One table for the broadcast scenarios, one for the writes, one for the storm."""
    tables = (*write_path.MODES, connect_burst.MODE)
    broadcast = [s for s in scenarios if s.mode not in tables]
    if broadcast:
        say("")
        say(table(results, broadcast, servers))
    for mode in tables:
        chosen = [s for s in scenarios if s.mode == mode]
        if chosen:
            peers = servers_for(chosen[0], servers)
            if mode == connect_burst.MODE:
                metrics, ratios = connect_burst.METRICS, connect_burst.ratios
            else:
                metrics, ratios = write_path.metrics_for(mode), write_path.ratios
            say("")
            say(table(results, chosen, peers, metrics, ratios))


if __name__ == "__main__":
    raise SystemExit(main())
