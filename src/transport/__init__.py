"""The Socket.IO transport: python-socketio, Engine.IO, uvicorn and websockets internals.

Wired only by the composition root (`src/app`); the event contract lives in `src/events`."""
