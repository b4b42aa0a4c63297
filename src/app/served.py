"""The app factory `mindwire serve` hands uvicorn (`src.app.served:create_app`): `factory.py`'s,
with python-socketio imported for a process that only serves (`server_imports.py`) before
the app imports it, in every worker process too (each imports this module by name)."""

from src.app.server_imports import import_socketio_without_clients

import_socketio_without_clients()

from src.app.factory import create_app  # noqa: E402 - after python-socketio's import above

__all__ = ["create_app"]
