"""The ASGI entry point `src.main:create_app` (uvicorn's `--factory`; `mindwire serve` runs
`src.app.served:create_app`, the same app with python-socketio imported for a server alone).

The app is built in the composition root, `src/app/factory.py`."""

from __future__ import annotations

from src.app.factory import create_app

__all__ = ["create_app"]
