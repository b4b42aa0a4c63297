"""SOCKET_TESTING_GUIDE.md's examples run as printed, from a user's own folder.

Each `python` block of the guide is marked with the file it belongs in
(`<!-- example: test_name.py -->`, a `pytest.ini` likewise). They are written into a fresh
folder outside this repository and run by `python -m pytest` in a subprocess, where the
fixtures can only come from the installed package's `pytest11` entry point."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from src.testing.stacks import TEST_DATABASE_URL, TEST_REDIS_URL

GUIDE = Path(__file__).resolve().parents[1] / "SOCKET_TESTING_GUIDE.md"
MARKED = re.compile(
    r"<!-- example: (?P<name>[\w.]+) -->\n```(?P<lang>\w+)\n(?P<code>.*?)\n```", re.S
)
PYTHON_BLOCK = re.compile(r"^```python$", re.M)


def guide_files() -> dict[str, str]:
    """The guide's marked blocks as {file name: content}; blocks for one file are joined."""
    files: dict[str, str] = {}
    for match in MARKED.finditer(GUIDE.read_text()):
        name = match["name"]
        files[name] = f"{files[name]}\n\n{match['code']}" if name in files else match["code"]
    return files


def test_every_python_block_of_the_guide_is_marked() -> None:
    text = GUIDE.read_text()
    marked = [m for m in MARKED.finditer(text) if m["lang"] == "python"]
    assert len(marked) == len(PYTHON_BLOCK.findall(text)) > 0


def test_the_guide_names_no_internal_documents() -> None:
    text = GUIDE.read_text()
    assert not re.search(r"SPEC\.md|\bthe seed\b|#\d+", text, re.I)


def test_the_guide_examples_pass_from_a_folder_of_their_own(pytester: pytest.Pytester) -> None:
    files = guide_files()
    assert "pytest.ini" in files
    tests = 0
    for name, code in files.items():
        (pytester.path / name).write_text(code + "\n")
        if name.startswith("test_") and name.endswith(".py"):
            tree = ast.parse(code)
            tests += sum(
                isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
                and node.name.startswith("test_")
                for node in tree.body
            )
    assert tests > 0

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=600)

    services = bool(TEST_DATABASE_URL and TEST_REDIS_URL)
    # Every example runs on both stacks; PostgreSQL + Redis is skipped without its variables.
    result.assert_outcomes(passed=tests * (2 if services else 1), skipped=0 if services else tests)
