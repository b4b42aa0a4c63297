"""Where Mindwire's own files are: inside the package, and beside it in a source checkout."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]
"""The `src` package: the migrations and a packaged dashboard travel inside it."""
SOURCE_ROOT = PACKAGE_DIR.parent
"""The repository in a source checkout (an editable install); site-packages once installed."""
SOURCE_CHECKOUT = (SOURCE_ROOT / "pyproject.toml").is_file()
"""True in a source checkout, where the generated TypeScript types and docs table live."""
