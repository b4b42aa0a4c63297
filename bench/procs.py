"""The bench's process helpers: pin to a core, read a process's memory and CPU, start and
stop servers, read a child's JSON lines with a timeout."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any


def pinned(cpu: str | None, command: list[str]) -> list[str]:
    return ["taskset", "-c", cpu, *command] if cpu is not None else command


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    """CPU seconds of `pid` and of its live descendants (the workers of `--workers N`)."""
    total, parents = 0.0, {pid}
    stats = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            stats[int(stat.parent.name)] = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
    while parents:
        for process in parents:
            fields = stats.get(process)
            if fields is not None:
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        parents = {child for child, fields in stats.items() if int(fields[1]) in parents}
    return total


def wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f}s")


def stop(process: subprocess.Popen[Any], timeout: float = 10.0) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def end_run(generator: subprocess.Popen[Any] | None, process: subprocess.Popen[Any]) -> None:
    """Every run's last step: kill its load generator (if it got that far), stop its server."""
    if generator is not None:
        generator.kill()
        generator.wait()
    stop(process)


class Lines:
    """Reads a child's stdout line by line, with a timeout."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        self.stream = process.stdout
        self.buffer = b""

    def next(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the load generator did not answer in time")
            ready, _, _ = select.select([self.stream], [], [], left)
            if ready:
                chunk = os.read(self.stream.fileno(), 65536)
                if not chunk:
                    raise RuntimeError("the load generator exited early")
                self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode()


def start_profiler(
    options: Any, server: Any, pid: int, run_id: str
) -> subprocess.Popen[bytes] | None:
    """`py-spy record` on a Python server (not Node) from now until it is sent SIGINT, into
    `--profile DIR`; None without `--profile`."""
    if options.profile is None or server.kind.startswith("node"):
        return None
    options.profile.mkdir(parents=True, exist_ok=True)
    command = [
        "py-spy", "record", "--pid", str(pid), "--format", "raw", "--rate", "250", "--gil",
        "--nonblocking", "--subprocesses",
        "--output", str(options.profile / f"{run_id}.txt"),
    ]  # fmt: skip
    profiler = subprocess.Popen(
        pinned(options.generator_cpu, command),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.5)  # attached before what is measured
    return profiler
