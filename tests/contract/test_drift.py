"""The committed outputs are what the generators make now; `--check` catches drift."""

from __future__ import annotations

from pathlib import Path

from src.contract import build_contract, events_table, typescript_source
from src.contract.files import EVENTS_README, TYPESCRIPT_EVENTS, readme_with_table
from src.contract.markdown import END, START
from tests.support import run_mindwire


def test_committed_typescript_events_are_generated():
    committed = TYPESCRIPT_EVENTS.read_text(encoding="utf-8")
    assert committed == typescript_source(build_contract()), "run `mindwire gen-ts`"


def test_committed_events_table_is_generated():
    readme = EVENTS_README.read_text(encoding="utf-8")
    assert readme == readme_with_table(build_contract(), readme), "run `mindwire gen-docs`"
    table = readme.split(START, 1)[1].split(END, 1)[0]
    assert table.strip() == events_table(build_contract()).strip()


def test_gen_ts_check_reports_drift_and_writing_fixes_it(tmp_path: Path):
    out = tmp_path / "events.ts"
    out.write_text("// stale\n")
    stale = run_mindwire("gen-ts", "--check", "--out", str(out))
    assert stale.returncode == 1
    assert "out of date: run `mindwire gen-ts`" in stale.stderr
    assert "-// stale" in stale.stderr  # the diff
    assert out.read_text() == "// stale\n"  # --check writes nothing
    assert run_mindwire("gen-ts", "--out", str(out)).returncode == 0
    assert run_mindwire("gen-ts", "--check", "--out", str(out)).returncode == 0
    assert out.read_text() == TYPESCRIPT_EVENTS.read_text(encoding="utf-8")


def test_gen_docs_check_reports_drift(tmp_path: Path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# events\n\n{START}\n| stale |\n{END}\n\nafter\n")
    assert run_mindwire("gen-docs", "--check", "--readme", str(readme)).returncode == 1
    assert run_mindwire("gen-docs", "--readme", str(readme)).returncode == 0
    text = readme.read_text()
    assert "| stale |" not in text and "`memory_log_created`" in text and text.endswith("after\n")
    assert run_mindwire("gen-docs", "--check", "--readme", str(readme)).returncode == 0


def test_gen_docs_refuses_a_file_without_markers(tmp_path: Path):
    readme = tmp_path / "README.md"
    readme.write_text("# no markers\n")
    result = run_mindwire("gen-docs", "--readme", str(readme))
    assert result.returncode == 2
    assert "markers" in result.stderr and "Traceback" not in result.stderr
