"""The docs stand alone: every setting, command and make target is documented, every relative
link resolves, and no doc cites a document its readers never see."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from src.cli import build_parser
from src.core.config import Settings

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
USER_DOCS = [
    README,
    ROOT / "SOCKET_QUICK_START.md",
    ROOT / "src" / "events" / "README.md",
    ROOT / "web" / "README.md",
    ROOT / "clients" / "typescript" / "README.md",
    ROOT / ".env.example",
    *sorted((ROOT / "docs").glob("*.md")),
]
FOREIGN_CITATIONS = re.compile(r"SPEC\.md|SPEC §|\bseed guide\b|\bissue #?\d+", re.IGNORECASE)
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def setting_names() -> list[str]:
    return sorted(name.upper() for name in Settings.model_fields)


def cli_commands() -> list[str]:
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command")
    return sorted(subparsers.choices)  # type: ignore[arg-type]


def make_targets() -> list[str]:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    phony = re.search(r"^\.PHONY:(.*)$", makefile, re.MULTILINE)
    assert phony is not None
    return sorted(phony.group(1).split())


@pytest.mark.parametrize("key", setting_names())
def test_every_setting_is_in_the_readme_and_env_example(key):
    assert f"| `{key}` |" in README.read_text(encoding="utf-8"), f"README lacks a row for {key}"
    env_example = (ROOT / ".env.example").read_text(encoding="utf-8")
    assert re.search(rf"^{key}=", env_example, re.MULTILINE), f".env.example lacks {key}"


@pytest.mark.parametrize("command", cli_commands())
def test_every_command_is_in_the_readme(command):
    assert f"| `mindwire {command}" in README.read_text(encoding="utf-8")


@pytest.mark.parametrize("target", make_targets())
def test_every_make_target_is_in_the_readme(target):
    assert f"| `make {target}` |" in README.read_text(encoding="utf-8")


@pytest.mark.parametrize("doc", USER_DOCS, ids=lambda path: str(path.relative_to(ROOT)))
def test_docs_cite_only_what_readers_can_see(doc):
    text = doc.read_text(encoding="utf-8")
    assert FOREIGN_CITATIONS.findall(text) == []


@pytest.mark.parametrize("doc", USER_DOCS, ids=lambda path: str(path.relative_to(ROOT)))
def test_relative_links_resolve(doc):
    text = doc.read_text(encoding="utf-8")
    targets = [t for t in LINK.findall(text) if not re.match(r"[a-z]+:", t)]
    missing = [t for t in targets if not (doc.parent / t).exists()]
    assert missing == []


def route_paths() -> list[str]:
    from src.main import create_app

    app = create_app(Settings(secret_key="docs-" * 8)).other_asgi_app
    return sorted({*app.openapi()["paths"], "/", "/docs", "/redoc", "/openapi.json"})


@pytest.mark.parametrize("path", route_paths())
def test_every_route_is_in_the_readme(path):
    assert f"`{path}`" in README.read_text(encoding="utf-8")
