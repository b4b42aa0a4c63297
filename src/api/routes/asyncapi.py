"""`GET /asyncapi.json`: the AsyncAPI 3 document of this app's socket events."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from src.api.deps import RoomsDep, ServicesDep

router = APIRouter(tags=["operations"])


@router.get("/asyncapi.json")
async def asyncapi(services: ServicesDep, rooms: RoomsDep) -> dict[str, Any]:
    """Every Socket.IO event, built from this app's handler registry and room policy, so
    handlers and rooms added at run time are listed too (`mindwire asyncapi` prints the
    built-in ones). The contract code is imported on the first request, not at start-up: a
    server that is never asked keeps none of it in memory."""
    from src.contract import asyncapi_document, build_contract

    contract = build_contract(services.registry, rooms)
    return asyncapi_document(contract)
