"""Mindwire: FastAPI REST + Socket.IO events for memory logs and mental notes."""
