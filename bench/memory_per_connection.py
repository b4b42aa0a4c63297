"""What one more idle, authenticated, subscribed Mindwire connection costs, and where it goes.

    .venv/bin/python bench/memory_per_connection.py --clients 5000
    .venv/bin/python bench/memory_per_connection.py --clients 10000 --top 25 --tracebacks 5

Two passes, each on a fresh copy of the bench's SQLite database, with the bench's raised
limits, on 127.0.0.1, the clients of `loadgen.js` (socket.io-client over WebSocket, 16 sockets
per user, each subscribed to `notifications`), left idle:

1. **RSS**: `mindwire serve` as the bench runs it. RSS is read once `--warm` clients (N/10 by
   default) are connected and again with all N: (RSS(N) - RSS(warm)) / (N - warm) is what each
   further connection costs, as `KiB/conn` in `make bench` (which warms with min(50, N/10)).
2. **tracemalloc**: the same server under `servers/mindwire_traced.py`, which starts tracemalloc
   before importing Mindwire and dumps a snapshot on SIGUSR1. The snapshot with all N clients
   is compared with the one at `--warm`, grouped by the line that allocated, divided by N - warm:
   the table of bytes and blocks per connection. Python objects only: what the C libraries and
   the kernel hold (uvloop's handles, socket buffers) and the allocator's slack are in RSS alone.
"""

from __future__ import annotations

import argparse
import json
import linecache
import os
import resource
import shutil
import signal
import subprocess
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from procs import Lines, end_run, rss_kib
from run import BENCH, DEFAULT_SERVERS, ROOT, Options, note, prepare_mindwire, say, start_server

LINE_TIMEOUT = 900.0
"""Seconds the load generator may take to connect a batch of clients (the whole tool is bounded)."""


def connect(options: Options, clients: int, warm: int, run_id: str, wave: int) -> tuple[Any, Lines]:
    """Start `loadgen.js` for `clients` idle clients, `wave` at a time; it stops after `warm`."""
    assert options.fixture is not None
    config = {
        "url": f"http://127.0.0.1:{options.port}",
        "target": "mindwire",
        "clients": clients,
        "warm": warm,
        "events": 1,
        "tokens": options.fixture.tokens,
        "adminToken": options.fixture.admin_token,
        "connectWave": wave,
    }
    config_file = options.workdir / f"loadgen-{run_id}.json"
    config_file.write_text(json.dumps(config))
    generator = subprocess.Popen(
        ["node", str(BENCH / "loadgen.js"), f"@{config_file}"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    return generator, Lines(generator)


def expect(lines: Lines, phase: str) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(lines.next(LINE_TIMEOUT))
    if message.get("phase") != phase:
        raise RuntimeError(f"load generator: {message}")
    return message


def one_pass(
    options: Options, clients: int, warm: int, run_id: str, traced: Path | None
) -> dict[str, float]:
    """Connect `warm` then all `clients`; RSS (KiB) at each point, snapshots when `traced`."""
    if traced is not None:
        traced.mkdir()
    process = start_server(DEFAULT_SERVERS["mindwire"], options, run_id, traced=traced)
    generator = None
    try:
        time.sleep(options.settle)
        base = rss_kib(process.pid)
        # A traced server is slow: connecting fewer at once keeps its connects' waits for the
        # database pool under the pool's timeout (a refused connect would fail the pass).
        generator, lines = connect(options, clients, warm, run_id, 100 if run_id == "rss" else 25)
        assert generator.stdin is not None
        expect(lines, "warm")
        rss_warm = settle_and_sample(process, options, traced, 1)
        generator.stdin.write(b"more\n")
        generator.stdin.flush()
        ready = expect(lines, "ready")
        rss_all = settle_and_sample(process, options, traced, 2)
        return {"base": base, "warm": rss_warm, "all": rss_all, "connect_s": ready["connect_s"]}
    finally:
        end_run(generator, process)


def settle_and_sample(
    process: subprocess.Popen[bytes], options: Options, traced: Path | None, index: int
) -> float:
    """Let the server go idle, then read its RSS (and have it dump snapshot `index`)."""
    time.sleep(options.settle)
    rss = float(rss_kib(process.pid))
    if traced is not None:
        process.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + 300
        while not (traced / f"snapshot-{index}.bin").exists():
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the traced server did not dump its snapshot")
            time.sleep(0.2)
    return rss


def short(filename: str) -> str:
    """A source path without the site-packages or repository prefix."""
    for marker in ("site-packages/", "/lib/python3"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    root = str(ROOT) + "/"
    return filename[len(root) :] if filename.startswith(root) else filename


def snapshots(folder: Path) -> tuple[tracemalloc.Snapshot, tracemalloc.Snapshot]:
    ignore = [tracemalloc.Filter(False, tracemalloc.__file__)]
    before = tracemalloc.Snapshot.load(str(folder / "snapshot-1.bin")).filter_traces(ignore)
    after = tracemalloc.Snapshot.load(str(folder / "snapshot-2.bin")).filter_traces(ignore)
    return before, after


def breakdown(folder: Path, per: int, top: int) -> list[str]:
    """The Markdown table of the snapshot difference, per connection, by allocating line."""
    before, after = snapshots(folder)
    diffs = after.compare_to(before, "lineno")
    total = sum(d.size_diff for d in diffs)
    blocks = sum(d.count_diff for d in diffs)
    out = [
        f"tracemalloc, per further connection: {total / per:,.0f} B in {blocks / per:.1f} blocks",
        "",
        "| B/conn | blocks/conn | where | line |",
        "| ---: | ---: | --- | --- |",
    ]
    shown = 0
    for diff in diffs[:top]:
        frame = diff.traceback[0]
        code = linecache.getline(frame.filename, frame.lineno).strip().replace("|", "\\|")
        where = f"{short(frame.filename)}:{frame.lineno}"
        size, count = diff.size_diff / per, diff.count_diff / per
        out.append(f"| {size:,.0f} | {count:.2f} | `{where}` | `{code[:70]}` |")
        shown += diff.size_diff
    out.append(f"| {(total - shown) / per:,.0f} | | the rest | |")
    return out


def stacks(folder: Path, per: int, count: int) -> list[str]:
    """The `count` call stacks that allocate the most per connection, innermost frame first."""
    before, after = snapshots(folder)
    out = []
    for diff in after.compare_to(before, "traceback")[:count]:
        out += ["", f"{diff.size_diff / per:,.0f} B/conn, {diff.count_diff / per:.2f} blocks/conn:"]
        out += [f"    {short(f.filename)}:{f.lineno}" for f in reversed(diff.traceback)]
    return out


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=5000)
    parser.add_argument("--warm", type=int, default=None, help="default: clients // 10")
    parser.add_argument("--top", type=int, default=20, help="rows of the tracemalloc table")
    parser.add_argument(
        "--tracebacks", type=int, default=0, help="a third pass: the top K call stacks"
    )
    parser.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT", "9241")))
    parser.add_argument("--settle", type=float, default=2.0, help="seconds idle before a sample")
    parser.add_argument("--skip-rss", action="store_true", help="only the tracemalloc pass")
    parser.add_argument("--skip-trace", action="store_true", help="only the RSS pass")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    warm = args.warm if args.warm is not None else args.clients // 10
    if not 0 < warm < args.clients:
        note("--warm must be between 0 and --clients")
        return 2
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    workdir = Path(tempfile.mkdtemp(prefix="mindwire-memory-"))
    options = Options(None, None, args.port, args.settle, workdir, None)
    per = args.clients - warm
    try:
        options.fixture = prepare_mindwire(workdir, args.clients)
        say(f"# {args.clients} idle clients, per further connection = after {warm}")
        if not args.skip_rss:
            rss = one_pass(options, args.clients, warm, "rss", None)
            say(
                f"RSS: {rss['base'] / 1024:.1f} MiB idle, {rss['warm'] / 1024:.1f} MiB with {warm},"
                f" {rss['all'] / 1024:.1f} MiB with {args.clients};"
                f" {(rss['all'] - rss['warm']) / per:.1f} KiB per further connection,"
                f" {(rss['all'] - rss['base']) / args.clients:.1f} KiB cold;"
                f" connected in {rss['connect_s']:.1f} s"
            )
        if not args.skip_trace:
            traced = workdir / "traces"
            rss = one_pass(options, args.clients, warm, "traced", traced)
            say(
                f"(traced server: {(rss['all'] - rss['warm']) / per:.1f} KiB per further"
                " connection with tracemalloc's own bookkeeping)\n"
            )
            say("\n".join(breakdown(traced, per, args.top)))
        if args.tracebacks:
            os.environ.update({"MINDWIRE_TRACE_LATE": "1", "MINDWIRE_TRACE_FRAMES": "16"})
            deep = workdir / "deep"
            one_pass(options, args.clients, warm, "deep", deep)
            say(f"\ncall stacks (traced from the {warm}th connection on, outermost first):")
            say("\n".join(stacks(deep, per, args.tracebacks)))
    except BaseException:
        note(f"server logs kept in {workdir}")
        raise
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
