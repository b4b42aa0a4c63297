"""What the client tests share: a tally of sent and received events, REST writes that record
what they expect, and a network drop from the client side."""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from src.client import MindwireClient, RoomEvent


async def drop_network(client: MindwireClient) -> None:
    """Close the Engine.IO WebSocket under the client, as a lost network does: python-socketio
    sees a transport error (not a disconnect it asked for) and reconnects by itself."""
    ws = client.sio.eio.ws
    assert ws is not None, "the client is not on WebSocket"
    await ws.close()


class Gate:
    """The client's token source: while closed, a reconnect waits for its token, so the writes
    of a phase surely happen while the client is away, however fast it would reconnect."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.open = asyncio.Event()
        self.open.set()

    async def __call__(self) -> str:
        await self.open.wait()
        return self.token


@dataclass
class Tally:
    """Events sent (by REST) and received (by room handlers), keyed `event_type:id`."""

    sent: dict[str, str] = field(default_factory=dict)
    """key -> the phase it was written in."""
    received: Counter[str] = field(default_factory=Counter)
    ids: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    """room -> the event ids its handler got, in the order it got them."""
    payload_types: set[str] = field(default_factory=set)
    sent_while_away: int = 0

    def handler(self, room: str) -> Callable[[RoomEvent], None]:
        def on_event(event: RoomEvent) -> None:
            assert event.meta.event_type == event.type
            self.received[f"{event.type}:{getattr(event.payload, 'id', '?')}"] += 1
            self.ids[room].append(event.event_id)
            self.payload_types.add(type(event.payload).__name__)

        return on_event

    def all_received(self) -> bool:
        return all(key in self.received for key in self.sent)

    def missed(self) -> list[str]:
        return [key for key in self.sent if key not in self.received]

    def repeated(self) -> list[str]:
        return [key for key, times in self.received.items() if times > 1]

    def unexpected(self) -> list[str]:
        return [key for key in self.received if key not in self.sent]

    def out_of_order(self) -> dict[str, int]:
        """Per room, how many events came after one with a larger id."""
        return {
            room: sum(1 for a, b in zip(ids, ids[1:], strict=False) if b <= a)
            for room, ids in self.ids.items()
        }


@dataclass
class Writer:
    """REST writes as one user, each recorded in the tally with the event it must cause."""

    http: httpx.AsyncClient
    client: MindwireClient
    tally: Tally

    def expect(self, event_type: str, item_id: int, phase: str) -> None:
        self.tally.sent[f"{event_type}:{item_id}"] = phase
        if not self.client.connected:
            self.tally.sent_while_away += 1

    async def create(self, collection: str, phase: str) -> int:
        """POST a memory log or mental note; returns its id."""
        body = {"content": phase} if collection == "memory-logs" else {"title": phase}
        response = await self.http.post(f"/api/{collection}", json=body)
        assert response.status_code == 201, response.text
        item_id: int = response.json()["id"]
        event = "memory_log_created" if collection == "memory-logs" else "mental_note_created"
        self.expect(event, item_id, phase)
        return item_id

    async def both(self, phase: str, times: int = 1) -> None:
        for _ in range(times):
            await self.create("memory-logs", phase)
            await self.create("mental-notes", phase)
