"""The `writes-pg-2` scenario's stack: Mindwire on PostgreSQL and Redis with two workers.

The write scenario on SQLite has a Node peer doing the same durable job; on PostgreSQL + Redis
there is none, so this one answers a different question: how many REST writes two workers
take, and where the ceiling is. Each run gets a fresh database (`bench_<run>`, dropped after)
with the same users in the same order as the SQLite template, so the fixture's tokens hold;
Redis uses its own index (`BENCH_REDIS_URL`, default index 15, flushed before each run).
Besides the workers' CPU, the run reads the CPU that PostgreSQL's and Redis's processes spent
in the same window, so a write's cost is split between Mindwire, the database and Redis.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

PG_ADMIN = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432")
"""Where the bench may create and drop its databases (trust auth, as on the dev machine)."""
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
WORKERS = 2
STACK = "postgres-redis-2"


def missing() -> str | None:
    """Why this stack cannot run here, or None."""
    probes = {
        "PostgreSQL": ["pg_isready", "-d", PG_ADMIN, "-q"],
        "Redis": ["redis-cli", "-u", REDIS_URL, "ping"],
    }
    for name, command in probes.items():
        try:
            subprocess.run(command, check=True, capture_output=True, timeout=5)
        except (OSError, subprocess.SubprocessError):
            return f"{name} does not answer ({' '.join(command)})"
    return None


def _database(run_id: str) -> str:
    return "bench_" + re.sub(r"[^a-z0-9]+", "_", run_id.lower())[:50]


def _psql(sql: str) -> None:
    subprocess.run(
        ["psql", f"{PG_ADMIN}/postgres", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql],
        check=True,
        capture_output=True,
    )


def prepare(run_id: str, users: int, make_users: Any, migrate: Any) -> dict[str, str]:
    """A fresh migrated database with the bench's users, and the env that points at it."""
    name = _database(run_id)
    _psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    _psql(f"CREATE DATABASE {name}")
    url = f"postgresql+asyncpg://{PG_ADMIN.split('://', 1)[1]}/{name}"
    migrate(url)
    asyncio.run(make_users(url, users))
    subprocess.run(["redis-cli", "-u", REDIS_URL, "flushdb"], check=True, capture_output=True)
    return {"DATABASE_URL": url, "REDIS_URL": REDIS_URL}


def drop(run_id: str) -> None:
    _psql(f"DROP DATABASE IF EXISTS {_database(run_id)} WITH (FORCE)")


def on_stack(server: Any) -> Any:
    """The same Mindwire configuration with two workers (its env is filled at start)."""
    return replace(server, workers=WORKERS)


def service_cpu_seconds() -> dict[str, float]:
    """CPU seconds used so far by PostgreSQL's and Redis's server processes on this machine
    (other clients of the same servers count too: run the bench on a quiet machine)."""
    totals = {"postgres": 0.0, "redis": 0.0}
    tick = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # gone meanwhile
        name = text[text.index("(") + 1 : text.rindex(")")]
        kind = "postgres" if name.startswith("postgres") else "redis" if "redis" in name else None
        if kind is not None:
            fields = text.rsplit(")", 1)[1].split()
            # with the reaped children's (cutime, cstime): a backend that ended in the window
            # moves its CPU into the postmaster's, so the sum only grows
            totals[kind] += sum(int(value) for value in fields[11:15]) / tick
    return totals
