"""The `writes`, `write-latency-*` and `storm` scenarios of `make bench` (driven by bench/run.py).

- **writes**: `writers` closed-loop REST writers (each sends its next write once the previous
  is answered) against Mindwire (`POST /api/memory-logs`, SQLite) and the Node write-path peer
  (`servers/node_writes_server.js`: JWT check, the row and its event row in one better-sqlite3
  transaction, then the emit), with `clients` subscribers that must each get every event once,
  in order. `write-latency-*` is the same with one writer and many subscribers
  (`POST /api/notifications`). The writers run in a process of their own
  (`loadgen_writer.js`), apart from the subscribers' (`BENCH_WRITER_IN_GENERATOR=1`: in it, as
  before), and the server times each write inside itself (`servers/mindwire_timed.py`, the
  Node peer's `BENCH_TIMING_FILE`): *server p50/p99* (request read -> answer written) and
  *arrival p50* (sent -> read) beside the writer's own figures.
- **storm**: `clients` subscribers lose their transports at once, `events` are written while
  they are away, then all reconnect together and resume (Mindwire: `subscribe_event` with
  `since`; Node: Connection State Recovery). Mindwire runs through `servers/mindwire_counted.py`
  so the SQL statements it sends during the storm are counted.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from figures import ratios_to_node
from pg_stack import service_cpu_seconds
from procs import Lines, cpu_seconds, end_run, pinned, start_profiler

BENCH = Path(__file__).resolve().parent
MODES = ("writes", "storm")

Start = Callable[..., "subprocess.Popen[bytes]"]


def _generator(script: str, config: dict[str, Any], options: Any, run_id: str) -> Any:
    config_file = options.workdir / f"{script}-{run_id}.json"
    config_file.write_text(json.dumps(config))
    command = pinned(options.generator_cpu, ["node", str(BENCH / script), f"@{config_file}"])
    return subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)


def _expect(lines: Lines, phase: str, timeout: float) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(lines.next(timeout))
    if message.get("phase") != phase:
        raise RuntimeError(f"load generator: {message}")
    return message


def _send(generator: Any, word: str) -> None:
    generator.stdin.write(word.encode() + b"\n")
    generator.stdin.flush()


def _checked(done: dict[str, Any]) -> bool:
    """The runs-ok check: every subscriber got every event once, in order; no write failed."""
    problems = ("lost", "duplicates", "out_of_order", "write_errors", "not_recovered")
    return not done.get("stalled") and not any(done.get(key) for key in problems)


def _timing(process: Any, path: Path | None) -> dict[str, Any]:
    """The server's own times of the writes (SIGUSR2 makes it write them), as percentiles."""
    if path is None:
        return {}
    process.send_signal(signal.SIGUSR2)
    deadline = time.monotonic() + 10
    while not path.exists():
        if time.monotonic() > deadline:
            return {}
        time.sleep(0.05)
    times = json.loads(path.read_text())
    figures: dict[str, Any] = {}
    for key, name in (("server_ms", "server"), ("arrival_ms", "arrival"), ("app_ms", "app")):
        ordered = sorted(times.get(key, []))
        for p in (50, 99):
            at = min(len(ordered) - 1, int(p / 100 * len(ordered)))
            figures[f"{name}_p{p}_ms"] = ordered[at] if ordered else None
    return figures


def _tokens(scenario: Any, fixture: Any) -> dict[str, Any]:
    writer = fixture.tokens[0] if scenario.route == "memory-logs" else fixture.admin_token
    return {"writerToken": writer, "tokens": fixture.tokens}


def _rooms(config: dict[str, Any]) -> dict[str, int]:
    """Mindwire's rooms in a storm: each user's own room (clients take the tokens in turn, so
    the fixture's user count, sized for the run's largest scenario, decides it) and the
    scenario's room. Its replays read the log once per room and batch."""
    if config["target"] != "mindwire":
        return {}
    return {"rooms": min(config["clients"], len(config["tokens"])) + 1}


def run_writes(
    scenario: Any,
    server: Any,
    options: Any,
    run_id: str,
    start: Start,
    profile: Callable[..., Any] | None = None,
) -> dict[str, Any]:
    """With `profile` (`procs.start_profiler`, `--profile DIR`): py-spy over the writes."""
    timing = options.workdir / f"timing-{run_id}.json" if server.workers == 1 else None
    process = start(server, options, run_id, timed=timing)
    generator = None
    try:
        time.sleep(options.settle)
        config = {
            "url": f"http://127.0.0.1:{options.port}",
            "route": scenario.route,
            "subscribers": scenario.clients,
            "writers": scenario.writers,
            "events": scenario.events,
            "writerApart": os.environ.get("BENCH_WRITER_IN_GENERATOR") != "1",
            **_tokens(scenario, options.fixture),
        }
        generator = _generator("loadgen_writes.js", config, options, run_id)
        lines = Lines(generator)
        _expect(lines, "ready", 600)
        time.sleep(options.settle)
        profiler = profile(options, server, process.pid, run_id) if profile else None
        services_before = service_cpu_seconds() if server.workers > 1 else {}
        cpu_before = cpu_seconds(process.pid)
        _send(generator, "go")
        done = _expect(lines, "done", 900)
        server_cpu = cpu_seconds(process.pid) - cpu_before
        services = {
            f"{name}_cpu_ms_per_write": 1000 * (used - services_before[name]) / done["writes_ok"]
            for name, used in (service_cpu_seconds().items() if services_before else ())
            if done["writes_ok"]
        }
        if profiler is not None:
            profiler.send_signal(signal.SIGINT)
            profiler.wait(30)
        return {
            **done,
            **_timing(process, timing),
            "server_cpu_s": server_cpu,
            "cpu_ms_per_write": 1000 * server_cpu / max(done["writes_ok"], 1),
            **services,
            "ok": _checked(done),
        }
    finally:
        end_run(generator, process)


def _queries(path: Path | None) -> dict[str, int]:
    """The counted server's tallies, once its publisher thread has caught up (100 ms)."""
    if path is None:
        return {}
    time.sleep(0.3)
    counts: dict[str, int] = json.loads(path.read_text())
    return counts


def run_storm(
    scenario: Any, server: Any, options: Any, run_id: str, start: Start, counts: Path | None
) -> dict[str, Any]:
    process = start(server, options, run_id, counted=counts is not None)
    generator = None
    try:
        time.sleep(options.settle)
        config = {
            "url": f"http://127.0.0.1:{options.port}",
            "target": "node" if server.kind == "node-writes" else "mindwire",
            "clients": scenario.clients,
            "events": scenario.events,
            **_tokens(scenario, options.fixture),
            "writerToken": options.fixture.admin_token,
        }
        generator = _generator("loadgen_storm.js", config, options, run_id)
        lines = Lines(generator)
        _expect(lines, "ready", 600)
        _send(generator, "go")
        away = _expect(lines, "away", 600)
        before = _queries(counts)
        profiler = start_profiler(options, server, process.pid, run_id)  # the storm alone
        cpu_before = cpu_seconds(process.pid)
        _send(generator, "back")
        done = _expect(lines, "done", 900)
        server_cpu = cpu_seconds(process.pid) - cpu_before
        if profiler is not None:
            profiler.send_signal(signal.SIGINT)
            profiler.wait(30)
        after = _queries(counts)
        return {
            **done,
            "missed": scenario.events,
            **_rooms(config),
            "away_write_s": away["write_s"],
            "write_errors": away["write_errors"],
            "server_cpu_s": server_cpu,
            **{key: after[key] - before.get(key, 0) for key in after},
            "ok": _checked({**done, "write_errors": away["write_errors"]}),
        }
    finally:
        end_run(generator, process)


# -- the tables --------------------------------------------------------------------------------

WRITE_METRICS = [
    ("writes/s", "writes_per_s", "{:,.0f}"),
    ("write p50 ms", "write_p50_ms", "{:.1f}"),
    ("write p99 ms", "write_p99_ms", "{:.1f}"),
    ("server p50 ms", "server_p50_ms", "{:.1f}"),
    ("server p99 ms", "server_p99_ms", "{:.1f}"),
    ("arrival p50 ms", "arrival_p50_ms", "{:.1f}"),
    ("server CPU ms/write", "cpu_ms_per_write", "{:.2f}"),
    ("PostgreSQL CPU ms/write", "postgres_cpu_ms_per_write", "{:.2f}"),
    ("Redis CPU ms/write", "redis_cpu_ms_per_write", "{:.2f}"),
    ("delivery p50 ms", "delivery_p50_ms", "{:.1f}"),
    ("delivery p99 ms", "delivery_p99_ms", "{:.1f}"),
]
STORM_METRICS = [
    ("clients", "clients", "{:,.0f}"),
    ("missed events", "missed", "{:,.0f}"),
    ("storm s", "storm_s", "{:.2f}"),
    ("all back s", "reconnect_s", "{:.2f}"),
    ("server CPU s", "server_cpu_s", "{:.2f}"),
    ("rooms", "rooms", "{:,.0f}"),
    ("event-log SELECTs", "event_log_selects", "{:,.0f}"),
    ("SQL statements", "statements", "{:,.0f}"),
    ("commits", "commits", "{:,.0f}"),
    ("recovered", "recovered", "{:,.0f}"),
    ("connect errors", "connect_errors", "{:,.0f}"),
    ("subscribe errors", "subscribe_errors", "{:,.0f}"),
    ("dropped", "drops", "{:,.0f}"),
]


def metrics_for(mode: str) -> list[tuple[str, str, str]]:
    return STORM_METRICS if mode == "storm" else WRITE_METRICS


def ratios(
    results: dict[tuple[str, str], list[dict[str, Any]]], scenario: Any, servers: list[Any]
) -> list[str]:
    """Mindwire against the Node peer: writes/s and CPU per write, or the storm's duration."""
    keys = [("storm_s", "storm time")] if scenario.mode == "storm" else [
        ("writes_per_s", "writes/s"),
        ("cpu_ms_per_write", "CPU/write"),
        ("write_p99_ms", "write p99"),
    ]  # fmt: skip
    return ratios_to_node(results, scenario, servers, keys)


def peers(servers: list[Any], node_peer: Any) -> list[Any]:
    """Who runs these scenarios: the Mindwire configurations, and the Node write-path peer in
    the place of the broadcast-only Node server (the bare server has no write path)."""
    chosen = [server for server in servers if server.kind == "mindwire"]
    return chosen + ([node_peer] if any(server.kind == "node" for server in servers) else [])
