"""SOCKET_QUICK_START.md's "The Python client" runs as printed, from a folder of its own,
against a live server, and prints what the page shows."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path

QUICK_START = Path(__file__).resolve().parents[2] / "SOCKET_QUICK_START.md"
SECTION = re.compile(r"^## The Python client\n(?P<body>.*?)^## ", re.S | re.M)
BLOCK = re.compile(r"^```(?P<lang>\w*)\n(?P<code>.*?)^```\n", re.S | re.M)


def section_blocks() -> list[tuple[str, str]]:
    section = SECTION.search(QUICK_START.read_text(encoding="utf-8"))
    assert section is not None, "SOCKET_QUICK_START.md lacks the section"
    return [(block["lang"], block["code"]) for block in BLOCK.finditer(section["body"])]


async def test_the_python_client_snippet_runs_as_printed(live_server, alice, tmp_path: Path):
    [(_, command), (_, script), (_, shown)] = section_blocks()
    assert "python client_quickstart.py" in command
    (tmp_path / "client_quickstart.py").write_text(script)
    env = {
        **os.environ,
        "MINDWIRE_URL": live_server.url,
        "MINDWIRE_EMAIL": alice.email,
        "MINDWIRE_PASSWORD": alice.password,
    }
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "client_quickstart.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    # The page's output, with this run's ids in place of the page's.
    expected = re.escape(shown.strip())
    for number in sorted(set(re.findall(r"\d+", shown)), key=len, reverse=True):
        expected = expected.replace(re.escape(number), r"\d+")
    assert re.fullmatch(expected, result.stdout.strip()), result.stdout
