"""The event contract, described once and written out four ways.

`build_contract` walks `EventType`, `EVENT_PAYLOADS`, the handler registry and the room policy
into one `Contract`; `asyncapi_document`, `typescript_source` and `events_table` only render it,
so the AsyncAPI document, the TypeScript types and the docs cannot disagree.
"""

from src.contract.asyncapi import asyncapi_document
from src.contract.collect import build_contract
from src.contract.markdown import events_table
from src.contract.model import Access, ClientEvent, Contract, Room, ServerEvent
from src.contract.typescript import typescript_source

__all__ = [
    "Access",
    "ClientEvent",
    "Contract",
    "Room",
    "ServerEvent",
    "asyncapi_document",
    "build_contract",
    "events_table",
    "typescript_source",
]
