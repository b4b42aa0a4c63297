"""The Socket.IO layer: typed events, rooms, the event log, the registry and the emitter."""
