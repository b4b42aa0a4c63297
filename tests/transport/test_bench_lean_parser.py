"""The load generator's lean socket.io decoder (`bench/lean_parser.js`) decodes exactly what
socket.io-parser's official Decoder decodes: the packets every server sends, encoded by the
official Encoder, and malformed texts (the same packets, or the same errors)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"

NEEDS_NODE = pytest.mark.skipif(
    shutil.which("node") is None or not (BENCH / "node_modules" / "socket.io-parser").is_dir(),
    reason="needs node and bench/node_modules",
)


@NEEDS_NODE
def test_lean_decoder_gives_what_the_official_decoder_gives() -> None:
    checked = subprocess.run(
        ["node", str(BENCH / "lean_parser_check.js")], capture_output=True, text=True, timeout=120
    )
    report = json.loads(checked.stdout)
    assert report["mismatches"] == [], report["mismatches"][:3]
    assert checked.returncode == 0, checked.stderr
    assert report["cases"] > 200
    # The lean path itself decoded every packet type the servers send (not only the fallback).
    assert set(report["fast"]) == {"CONNECT", "DISCONNECT", "EVENT", "ACK", "CONNECT_ERROR"}
    assert min(report["fast"].values()) >= 4
