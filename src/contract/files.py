"""The generated files: where they live, their text, and writing or checking them."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from pathlib import Path

from src.contract.asyncapi import asyncapi_document
from src.contract.markdown import events_table, replace_marked
from src.contract.model import Contract
from src.core.paths import SOURCE_ROOT

TYPESCRIPT_EVENTS = SOURCE_ROOT / "clients" / "typescript" / "src" / "events.ts"
EVENTS_README = SOURCE_ROOT / "src" / "events" / "README.md"
"""The generated files; they exist only in a source checkout (`SOURCE_CHECKOUT`)."""


def asyncapi_json(contract: Contract) -> str:
    """The AsyncAPI document as `mindwire asyncapi` prints it."""
    return json.dumps(asyncapi_document(contract), indent=2, ensure_ascii=False) + "\n"


def readme_with_table(contract: Contract, current: str) -> str:
    """`current` (the README's text) with its generated events table brought up to date."""
    return replace_marked(current, events_table(contract))


@dataclass(frozen=True)
class Sync:
    """The outcome of `sync`: whether the file differed, and how."""

    path: Path
    changed: bool
    diff: str


def sync(path: Path, expected: str, *, check: bool) -> Sync:
    """Write `expected` to `path` when it differs; with `check`, only report the difference."""
    current = path.read_text(encoding="utf-8") if path.exists() else ""
    if current == expected:
        return Sync(path, False, "")
    diff = "".join(
        difflib.unified_diff(
            current.splitlines(keepends=True),
            expected.splitlines(keepends=True),
            fromfile=f"{path} (committed)",
            tofile=f"{path} (generated)",
        )
    )
    if not check:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(expected, encoding="utf-8")
    return Sync(path, True, diff)
