"""`bench/profile_summary.py` sums a py-spy raw profile by function, whatever its frames hold."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SUMMARY = Path(__file__).resolve().parents[2] / "bench" / "profile_summary.py"


def test_frames_with_control_characters_and_a_stack_without_count_are_summed(
    tmp_path: Path,
) -> None:
    raw = tmp_path / "server.txt"
    raw.write_text(
        "main (app.py:1);handle (app.py:9);parse\x1c\x0bodd (p.py:3) 30\n"
        "main (app.py:1);handle (app.py:12) 10\n"
        "main (app.py:1);broken frame (b.py:2)\n"  # cut: no count
        "main (app.py:1);select (selectors.py:468) 60\n"  # the idle loop: left out
    )
    done = subprocess.run(
        [sys.executable, str(SUMMARY), str(raw)], capture_output=True, text=True, check=True
    )
    lines = done.stdout.split("\n")
    assert lines[0] == "40 samples"
    assert "  75.0  parse\x1c\x0bodd (p.py)" in lines
    assert "  25.0  handle (app.py)" in lines
    assert " 100.0  main (app.py)" in lines
