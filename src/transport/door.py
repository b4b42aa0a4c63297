"""`DoorServer`: python-socketio's server with a bounded, hygienic door.

What python-socketio leaves open, and what the door does instead:

- **binary attachments**: it assembles a binary message's attachments as they come, however
  many the header announces (up to 9,999,999,999) and however large they add up to, before
  any size check. The door closes the connection when a header announces more than
  `MAX_ATTACHMENTS_PER_MESSAGE`, or when the message (header and attachments so far) passes
  `Settings.max_inbound_message_bytes` (1 MiB): memory per message is bounded while it
  arrives, not checked once it is whole;
- **sessions without CONNECT**: an Engine.IO session that answers pings but never sends the
  Socket.IO CONNECT lived forever (thousands filled the descriptor table). The door closes a
  session still without a completed CONNECT after `SOCKET_CONNECT_TIMEOUT_SECONDS`, and
  refuses a new session from a client address that already holds
  `MAX_PENDING_CONNECTIONS_PER_ADDRESS` such sessions;
- **protocol errors**: a packet no Socket.IO client sends (`packets.ProtocolError`: unknown
  type, broken JSON, an out-of-range binary placeholder, ...) was logged with a traceback per
  packet, or acknowledged as a `validation_error`, or left the socket silent for good. The
  door closes the connection with reason `parse error` (Socket.IO's) and logs one warning
  line; what the client had sent after it is dropped unread;
- **reserved names**: a client event named `connect` or `disconnect` reached the lifecycle
  handlers (and was acknowledged with `[]`). The door hands it to the namespace handler like
  any other event name, so the gateway answers `unknown_event`.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

import socketio
from socketio import packet as sio_packet

from src.transport import pending_sids
from src.transport.packets import ProtocolError, TolerantPacket

logger = logging.getLogger("mindwire.events")

RESERVED_EVENTS = frozenset({"connect", "disconnect"})
PARSE_ERROR = "parse error"
"""The disconnect reason of a protocol error, as Socket.IO's own servers name it."""
CONNECT_TIMEOUT = "connect timeout"
MESSAGE_TOO_LARGE = "message too large"


class MessageTooLarge(ProtocolError):
    """A message that passes the inbound limit while it arrives."""


class ClientLeft(str):
    """The disconnect reason of a client's Socket.IO DISCONNECT packet (`socket.disconnect()`):
    equal to python-socketio's `client disconnect`, told apart from an Engine.IO close by type
    (a client that leaves on purpose is not resumed, as in Node's socket.io)."""

    __slots__ = ()


class ClientEventName(str):
    """A client event's name that python-socketio would take for a lifecycle event."""

    __slots__ = ()


@dataclass(frozen=True)
class DoorLimits:
    max_attachments: int = 10
    max_message_bytes: int = 1024 * 1024
    connect_timeout: float = 10.0
    max_pending_per_address: int = 50


class PendingSessions:
    """Engine.IO sessions that have not completed the Socket.IO CONNECT, by client address."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._sessions: dict[str, tuple[str, asyncio.TimerHandle]] = {}
        self._per_address: Counter[str] = Counter()
        self._warned: set[str] = set()

    def __len__(self) -> int:
        return len(self._sessions)

    def __contains__(self, eio_sid: object) -> bool:
        return eio_sid in self._sessions

    def admit(self, address: str) -> bool:
        """True when `address` may open one more session; one warning per address at the cap."""
        if self._per_address[address] < self.limit:
            return True
        if address not in self._warned:
            self._warned.add(address)
            logger.warning(
                "refusing connections from %s: %d sessions without a Socket.IO CONNECT "
                "(MAX_PENDING_CONNECTIONS_PER_ADDRESS)",
                address,
                self.limit,
            )
        return False

    def add(self, eio_sid: str, address: str, timer: asyncio.TimerHandle) -> None:
        self._sessions[eio_sid] = (address, timer)
        self._per_address[address] += 1

    def settle(self, eio_sid: str) -> bool:
        """The session connected or ended: it no longer counts. False if it did not count."""
        entry = self._sessions.pop(eio_sid, None)
        if entry is None:
            return False
        address, timer = entry
        timer.cancel()
        self._per_address[address] -= 1
        if self._per_address[address] <= 0:
            del self._per_address[address]
            self._warned.discard(address)
        return True


def client_address(environ: dict[str, Any]) -> str:
    """The client's address as uvicorn saw it (after trusted proxy headers).

    Not `REMOTE_ADDR`: Engine.IO's ASGI driver sets that to 127.0.0.1 for everyone.
    """
    scope = environ.get("asgi.scope") or {}
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class DoorServer(socketio.AsyncServer):  # type: ignore[misc]
    """`socketio.AsyncServer` with the door's limits (see the module's docstring)."""

    packet_class = TolerantPacket

    def __init__(self, *, door: DoorLimits, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        pending_sids.install(self.manager)  # `sid in pending` without a scan (pending_sids.py)
        self.door = door
        self.pending = PendingSessions(door.max_pending_per_address)
        self._closing: set[asyncio.Task[None]] = set()
        self.connect_replies: dict[str, dict[str, Any]] = {}
        """What a connect handler adds to its socket's CONNECT reply (the recovery `pid`)."""
        self._connecting: set[str] = set()
        """Sessions whose CONNECT is being handled (waiting for the database, say)."""

    # -- sessions ------------------------------------------------------------------------------

    async def _handle_eio_connect(self, eio_sid: str, environ: dict[str, Any]) -> bool | None:
        address = client_address(environ)
        if not self.pending.admit(address):
            return False  # Engine.IO refuses the handshake
        await super()._handle_eio_connect(eio_sid, environ)
        loop = asyncio.get_running_loop()
        timer = loop.call_later(self.door.connect_timeout, self._connect_timed_out, eio_sid)
        self.pending.add(eio_sid, address, timer)
        return None

    async def _handle_connect(self, eio_sid: str, namespace: str | None, data: Any) -> None:
        self._connecting.add(eio_sid)
        try:
            await super()._handle_connect(eio_sid, namespace, data)
        finally:
            self._connecting.discard(eio_sid)
        namespace = namespace or "/"
        sid = self.manager.sid_from_eio_sid(eio_sid, namespace)
        if sid is not None and self.manager.is_connected(sid, namespace):
            self.pending.settle(eio_sid)

    async def _send_packet(self, eio_sid: str, pkt: Any) -> None:
        if pkt.packet_type == sio_packet.CONNECT and isinstance(pkt.data, dict):
            extra = self.connect_replies.pop(str(pkt.data.get("sid")), None)
            if extra:
                pkt.data = {**pkt.data, **extra}  # `40{"sid": ..., "pid": ...}`
        await super()._send_packet(eio_sid, pkt)

    async def _handle_eio_disconnect(self, eio_sid: str, reason: Any = None) -> None:
        self.pending.settle(eio_sid)
        await super()._handle_eio_disconnect(eio_sid, reason)

    def _connect_timed_out(self, eio_sid: str) -> None:
        if eio_sid in self._connecting:
            # The client sent its CONNECT; the server is slow to answer it (a reconnect storm
            # waiting for the database): it gets its answer, never a silent close. Checked
            # again later, in case the CONNECT is refused and the session then idles.
            loop = asyncio.get_running_loop()
            loop.call_later(self.door.connect_timeout, self._connect_timed_out, eio_sid)
            return
        if self.pending.settle(eio_sid):
            why = f"no Socket.IO CONNECT within {self.door.connect_timeout:g}s"
            self._spawn(self.close_session(eio_sid, CONNECT_TIMEOUT, why, level=logging.INFO))

    async def close_session(
        self, eio_sid: str, reason: str, why: str, *, level: int = logging.WARNING
    ) -> None:
        """Close an Engine.IO session and its connection: one log line, then the Engine.IO
        CLOSE packet, the disconnect handlers, and the WebSocket's close."""
        self._binary_packet.pop(eio_sid, None)
        socket = self.eio.sockets.get(eio_sid)
        if socket is None or socket.closing or socket.closed:
            return
        address = client_address(self.environ.get(eio_sid) or {})
        logger.log(level, "closing connection %s from %s: %s", eio_sid, address, why)
        await socket.close(wait=False, reason=reason)
        socket.queue.put_nowait(None)  # ends the writer, which closes the WebSocket

    def _spawn(self, coroutine: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coroutine)
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    # -- messages ------------------------------------------------------------------------------

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        if eio_sid not in self.environ:
            return  # closed by the door: what was still on its way is dropped
        try:
            await self._receive(eio_sid, data)
        except MessageTooLarge as exc:
            await self.close_session(eio_sid, MESSAGE_TOO_LARGE, str(exc))
        except ProtocolError as exc:
            await self.close_session(eio_sid, PARSE_ERROR, str(exc))

    async def _receive(self, eio_sid: str, data: Any) -> None:
        partial: TolerantPacket | None = self._binary_packet.get(eio_sid)
        if partial is not None:
            await self._attachment(eio_sid, partial, data)
            return
        if not isinstance(data, str) or not data:
            # Checked here: python-socketio's Packet does not decode an empty one at all, and
            # leaves an EVENT without data.
            raise ProtocolError("an empty packet, or a binary frame no packet announced")
        pkt: TolerantPacket = self.packet_class(encoded_packet=data)
        kind = pkt.packet_type
        if kind in (sio_packet.BINARY_EVENT, sio_packet.BINARY_ACK):
            if pkt.attachment_count > self.door.max_attachments:
                raise ProtocolError(
                    f"{pkt.attachment_count} binary attachments announced "
                    f"(MAX_ATTACHMENTS_PER_MESSAGE={self.door.max_attachments})"
                )
            if not self.manager.sid_from_eio_sid(eio_sid, pkt.namespace or "/"):
                raise ProtocolError("a binary packet before the Socket.IO CONNECT")
            if pkt.attachment_count == 0:
                pkt.data = pkt.reconstruct_binary(pkt.data, [])
                await self._dispatch(eio_sid, pkt)
            else:
                self._binary_packet[eio_sid] = pkt
        elif kind == sio_packet.CONNECT:
            await self._handle_connect(eio_sid, pkt.namespace, pkt.data)
        elif kind == sio_packet.DISCONNECT:
            reason = ClientLeft(self.reason.CLIENT_DISCONNECT)
            await self._handle_disconnect(eio_sid, pkt.namespace, reason)
        else:
            await self._dispatch(eio_sid, pkt)

    async def _attachment(self, eio_sid: str, partial: TolerantPacket, data: Any) -> None:
        if not isinstance(data, bytes):
            raise ProtocolError("a text packet while binary attachments were expected")
        partial.received_bytes += len(data)
        if partial.received_bytes > self.door.max_message_bytes:
            raise MessageTooLarge(
                f"a message of more than {self.door.max_message_bytes} bytes (attachments included)"
            )
        if partial.add_attachment(data):
            del self._binary_packet[eio_sid]
            await self._dispatch(eio_sid, partial)

    async def _dispatch(self, eio_sid: str, pkt: TolerantPacket) -> None:
        if pkt.packet_type in (sio_packet.EVENT, sio_packet.BINARY_EVENT):
            await self._handle_event(eio_sid, pkt.namespace, pkt.id, pkt.data)
        else:
            await self._handle_ack(eio_sid, pkt.namespace, pkt.id, pkt.data)

    # -- reserved event names ------------------------------------------------------------------

    async def _handle_event_internal(
        self, server: Any, sid: str, eio_sid: str, data: list[Any], namespace: str, id: Any
    ) -> None:
        if data[0] in RESERVED_EVENTS:
            data = [ClientEventName(data[0]), *data[1:]]
        await super()._handle_event_internal(server, sid, eio_sid, data, namespace, id)

    async def _trigger_event(self, event: str, namespace: str, *args: Any) -> Any:
        if type(event) is ClientEventName:  # not the lifecycle's: the namespace handler's
            handler = self.namespace_handlers.get(namespace or "/")
            if handler is None:
                return self.not_handled
            return await handler.trigger_event(str(event), *args)
        return await super()._trigger_event(event, namespace, *args)
