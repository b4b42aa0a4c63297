"""Helpers of the hostile-input tests: server error capture, refused connects, timing."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from hypothesis import HealthCheck, Phase, settings

from tests.support import stop_process

# The live server runs in a thread of the test process: its records reach these loggers
# (uvicorn's own loggers do not propagate to the root).
SERVER_LOGGERS = ("", "uvicorn", "uvicorn.error", "uvicorn.access")


class RecordList(logging.Handler):
    """Keeps every record at ERROR or above."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def render(self) -> str:
        formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
        return "\n".join(
            formatter.format(record) + ("\n" + formatter.formatException(record.exc_info))
            if record.exc_info
            else formatter.format(record)
            for record in self.records
        )


@contextmanager
def server_errors() -> Iterator[RecordList]:
    """Collect the ERROR records (unhandled exceptions included) logged while inside."""
    handler = RecordList()
    loggers = [logging.getLogger(name) for name in dict.fromkeys(SERVER_LOGGERS)]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield handler
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


async def ping_round_trips(sock: Any, count: int, every: float = 0.07) -> list[float]:
    """Seconds each of `count` `ping` calls took, ack to ack, one every `every` seconds (so
    that the pinging socket stays within the default SOCKET_RATE_LIMIT of 20/1s)."""
    times = []
    for n in range(count):
        started = time.perf_counter()
        ack = await sock.call("ping", {"timestamp": n}, timeout=30)
        took = time.perf_counter() - started
        times.append(took)
        assert ack["timestamp"] == n, ack
        await asyncio.sleep(max(0.0, every - took))
    return times


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


FIGURES: list[str] = []
"""Measurements the tests report; `conftest.py` prints them in pytest's terminal summary."""


def report(line: str) -> None:
    FIGURES.append(line)


# -- a server in a process of its own (memory and timing measured apart from the test) -----------


@dataclass
class ServerProcess:
    """`mindwire serve` in a subprocess, configured by environment: the uvicorn options of
    production (`src.app.serving.uvicorn_options`) apply."""

    env: dict[str, str]
    log_path: Path
    url: str = ""
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> ServerProcess:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        command = [sys.executable, "-m", "src.cli", "serve", "--host", "127.0.0.1"]
        command += ["--port", str(port)]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command, env={**os.environ, **self.env}, stdout=log, stderr=subprocess.STDOUT
            )
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start:\n{self.log_path.read_text()}")
            time.sleep(0.1)

    def rss_mib(self) -> float:
        """The server process's resident memory (VmRSS), in MiB."""
        assert self.process is not None
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        kib = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))
        return kib / 1024

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)


def repeatable(max_examples: int) -> settings:
    """The fuzzers' hypothesis settings: a fixed seed and no example database, so a run
    repeats exactly; no deadline (a live server's answer time varies); no health checks (the
    strategies are large on purpose)."""
    return settings(
        max_examples=max_examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
