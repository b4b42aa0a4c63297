"""`import_socketio_without_clients`: python-socketio for a server process, without the HTTP
libraries of its clients.

python-socketio's package imports its clients, and Engine.IO's client modules import
`requests` and `aiohttp` as they load (to bind them, or None when they are not installed):
about 15 MiB of RSS and 200 modules that a server never runs, held for its whole life.
`mindwire serve` imports python-socketio first, with those two hidden (`sys.modules[name] =
None` makes an `import` of them raise ImportError, which those modules expect), then shows
them again: a later `import requests` or `import aiohttp` loads them as usual. Engine.IO's
clients in that process cannot connect (they would say the library is missing), so only a
process that serves and runs no client imports python-socketio this way; the tests and
scripts that run clients beside a server import it normally.
"""

from __future__ import annotations

import importlib
import sys

CLIENT_ONLY = ("requests", "aiohttp")
"""Imported by python-socketio's and Engine.IO's clients alone."""


def import_socketio_without_clients() -> bool:
    """Import python-socketio with `CLIENT_ONLY` hidden; False when it was imported already
    (then nothing changes)."""
    if "socketio" in sys.modules or "engineio" in sys.modules:
        return False
    hidden = [name for name in CLIENT_ONLY if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        importlib.import_module("socketio")
    finally:
        for name in hidden:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]
    return True
