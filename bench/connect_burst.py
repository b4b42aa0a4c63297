"""The `connect-*` scenario of `make bench` (driven by bench/run.py): `clients` sockets start
connecting at the same moment and each subscribes to `notifications` once connected.

Mindwire's clients carry access tokens (16 sockets per user), so every connect verifies a token,
reads its user, and a user's first socket writes their online status; Node's reference server
(`servers/node_server.js`) accepts any token. The figures: the time until every client is
subscribed, the connect and subscribe errors and the retries (socket.io-client's backoff,
`loadgen_connect.js`), the server's CPU seconds over it, and its RSS once every client is idle
(in all, and per connection above the RSS of the idle server before the first one).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from figures import ratios_to_node
from procs import Lines, cpu_seconds, end_run, rss_kib
from write_path import _expect, _generator, _send

MODE = "connect"
IDLE_SECONDS = 3.0
"""How long the orchestrator waits after the last subscription before it reads the RSS."""

Start = Callable[..., "subprocess.Popen[bytes]"]


def run_connect(
    scenario: Any,
    server: Any,
    options: Any,
    run_id: str,
    start: Start,
    profile: Callable[..., Any] | None = None,
) -> dict[str, Any]:
    """One run; with `profile` (`procs.start_profiler`, `--profile DIR`), py-spy over the burst."""
    process = start(server, options, run_id)
    generator = None
    try:
        time.sleep(options.settle)
        config: dict[str, Any] = {"url": f"http://127.0.0.1:{options.port}"}
        config["clients"] = scenario.clients
        config["tokens"] = options.fixture.tokens if server.kind == "mindwire" else ["bench"]
        generator = _generator("loadgen_connect.js", config, options, run_id)
        lines = Lines(generator)
        _expect(lines, "ready", 600)
        rss_base = rss_kib(process.pid)
        profiler = profile(options, server, process.pid, run_id) if profile else None
        cpu_before = cpu_seconds(process.pid)
        _send(generator, "go")
        done = _expect(lines, "subscribed", 900)
        server_cpu = cpu_seconds(process.pid) - cpu_before
        if profiler is not None:
            profiler.send_signal(signal.SIGINT)
            profiler.wait(30)
        time.sleep(options.settle * IDLE_SECONDS)
        rss_idle = rss_kib(process.pid)
        _send(generator, "end")
        if done.get("error_reasons"):  # why attempts failed (a timeout, a refusal, a drop)
            sys.stderr.write(f"  error reasons: {done['error_reasons']}\n")
        return {
            **done,
            "server_cpu_s": server_cpu,
            "rss_idle_mib": rss_idle / 1024,
            "rss_base_mib": rss_base / 1024,
            "kib_per_conn": (rss_idle - rss_base) / scenario.clients,
            "ok": not done["stalled"] and done["subscribed"] == scenario.clients,
        }
    finally:
        end_run(generator, process)


METRICS = [
    ("clients", "clients", "{:,.0f}"),
    ("all subscribed s", "all_subscribed_s", "{:.2f}"),
    ("p50 subscribed s", "p50_subscribed_s", "{:.2f}"),
    ("server CPU s", "server_cpu_s", "{:.2f}"),
    ("RSS idle MiB", "rss_idle_mib", "{:.1f}"),
    ("KiB/conn", "kib_per_conn", "{:.1f}"),
    ("connect errors", "connect_errors", "{:,.0f}"),
    ("connect timeouts", "connect_timeouts", "{:,.0f}"),
    ("subscribe errors", "subscribe_errors", "{:,.0f}"),
    ("dropped", "drops", "{:,.0f}"),
    ("retries", "retries", "{:,.0f}"),
]


def ratios(
    results: dict[tuple[str, str], list[dict[str, Any]]], scenario: Any, servers: list[Any]
) -> list[str]:
    """Mindwire over Node: time until all are subscribed, server CPU, idle RSS."""
    keys = [
        ("all_subscribed_s", "all subscribed"),
        ("server_cpu_s", "server CPU"),
        ("rss_idle_mib", "RSS idle"),
        ("kib_per_conn", "KiB/conn"),
    ]
    return ratios_to_node(results, scenario, servers, keys)
