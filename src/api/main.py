"""Collects every router into one `APIRouter` for the app factory."""

from __future__ import annotations

from fastapi import APIRouter

from src.api.routes import (
    asyncapi,
    auth,
    events,
    memory_logs,
    mental_notes,
    notifications,
    ops,
    users,
)

api_router = APIRouter()
for module in (auth, users, memory_logs, mental_notes, notifications, events, ops, asyncapi):
    api_router.include_router(module.router)
