"""The test tree mirrors `src/`: a behaviour's test sits in the folder named after the package
whose code decides it, so a newcomer finds it where the code is (README, "Where a test goes").
`tests/web` is the one folder of another name: the dashboard's browser tests, for `web/`."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"
OUTSIDE_SRC = {"web": "the dashboard's browser tests (the page lives in web/, not src/)"}
"""Test folders named after something other than a src package -> why."""


def src_packages() -> set[str]:
    return {path.parent.name for path in (ROOT / "src").glob("*/__init__.py")}


def folders_under_tests() -> set[str]:
    """Folders directly under tests/ that hold Python files: what a move leaves behind in a
    clone (`__pycache__`, an ignored `node_modules`) is no folder of the tree."""
    return {path.parent.name for path in TESTS.glob("*/*.py")}


def test_every_test_folder_is_named_after_a_src_package() -> None:
    strays = folders_under_tests() - src_packages() - OUTSIDE_SRC.keys()
    assert strays == set(), f"tests/ folders with no src package of that name: {sorted(strays)}"


def test_the_exceptions_are_still_folders_and_still_not_packages() -> None:
    assert OUTSIDE_SRC.keys() <= folders_under_tests()
    assert OUTSIDE_SRC.keys().isdisjoint(src_packages())
    assert (ROOT / "web").is_dir()


def test_every_test_folder_is_a_package() -> None:
    """Same-named modules in two folders (`test_write_holder.py` in api and cluster) need
    their folders to be packages."""
    folders = folders_under_tests()
    missing = [name for name in folders if not (TESTS / name / "__init__.py").is_file()]
    assert missing == []
