"""`SocketGateway`: the Socket.IO connection lifecycle, with its parts.

Connect: authenticate the token, join `user_{id}`, send `connection_established`, count
presence, arm the token's expiry timer, replay what a recovered socket missed; disconnect:
count presence again. Its parts: each inbound event's checks (`inbound.py`: rate limit, size
limit, then the `EventHandlerRegistry`) and the socket's access over time (`access.py`: token
expiry and refresh, sign-outs, deleted or disabled users, withdrawn admin rights), on the
state they share (`gateway_state.py`).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

import socketio

from src.cluster.presence import LocalPresence, Presence, UserLocks
from src.events.emitters import EventEmitter
from src.events.handlers import EventHandlerRegistry
from src.events.rooms import RoomPolicy, Viewer, user_room
from src.events.socket_service import SocketService
from src.transport.access import AccessChecks
from src.transport.door import ClientLeft
from src.transport.environ import slim_environ
from src.transport.expiry import TokenTimers
from src.transport.gateway_state import (
    AdminLookup,
    Authenticator,
    ConnectedClient,
    GatewayLimits,
    RevocationLookup,
    StatusSync,
    UserLookup,
)
from src.transport.inbound import InboundChecks, InboundEvents
from src.transport.packets import TolerantPacket
from src.transport.rate_limit import TokenBucket
from src.transport.recovery import Claim, Recovery, Resumption
from src.transport.sockets import SocketServer

__all__ = ["TOO_MANY_CONNECTIONS", "UNAUTHORIZED", "GatewayLimits", "SocketGateway"]

logger = logging.getLogger("mindwire.events")

UNAUTHORIZED = "unauthorized"
TOO_MANY_CONNECTIONS = "too_many_connections"


@dataclass
class SocketGateway(InboundChecks, AccessChecks):
    """Binds connect, disconnect and every other event of `sockets.sio` to Mindwire's rules."""

    sockets: SocketServer
    service: SocketService
    """The contract's side of `sockets`, which handlers get in their context."""
    registry: EventHandlerRegistry
    emitter: EventEmitter
    rooms: RoomPolicy
    authenticate: Authenticator
    sync_status: StatusSync
    limits: GatewayLimits
    presence: Presence = field(default_factory=LocalPresence)
    current_admins: AdminLookup | None = None
    admin_recheck_seconds: float = 10.0
    """How often `recheck_admins` and `recheck_access` run (`ADMIN_RECHECK_SECONDS`)."""
    existing_users: UserLookup | None = None
    revoked_tokens: RevocationLookup | None = None
    token_grace_seconds: float = 30.0
    """How long a socket whose token expired may refresh it (`TOKEN_REFRESH_GRACE_SECONDS`)."""
    recovery: Recovery | None = None
    """Connection State Recovery (`src/transport/recovery.py`); None: off."""
    _clients: dict[str, ConnectedClient] = field(default_factory=dict)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _status_turns: UserLocks = field(default_factory=UserLocks)
    _timers: TokenTimers = field(init=False)

    def __post_init__(self) -> None:
        self._timers = TokenTimers(
            self.token_grace_seconds, self._token_expired, self._token_grace_over
        )

    def bind(self) -> None:
        sio = self.sockets.sio
        # JSON nested too deep is answered (`validation_error`), not dropped.
        sio.packet_class = TolerantPacket
        sio.on("connect", self._on_connect)
        sio.on("disconnect", self._on_disconnect)
        sio.manager.rooms_changed = self._rooms_changed
        # Not `sio.on("*")`: python-socketio hands that catch-all an event literally named
        # "*" without its name, shifting the sid into the event's place.
        sio.register_namespace(InboundEvents(self._on_event))

    async def _on_connect(self, sid: str, environ: Any = None, auth: Any = None) -> bool | None:
        # Only the lifecycle calls this, with a new sid: `DoorServer` hands a client event
        # named "connect" (or "disconnect") to `_on_event`, which answers `unknown_event`.
        token = auth.get("token") if isinstance(auth, dict) else None
        claim = self.recovery.read_ahead(auth, environ) if self.recovery is not None else None
        try:
            try:
                credentials = await self.authenticate(token if isinstance(token, str) else None)
            except Exception:
                logger.exception("authentication of a socket failed")
                raise socketio.exceptions.ConnectionRefusedError("service unavailable") from None
            if credentials is None:
                raise socketio.exceptions.ConnectionRefusedError(UNAUTHORIZED)
            viewer = credentials.viewer
            if await self._at_connection_cap(viewer.user_id):
                raise socketio.exceptions.ConnectionRefusedError(TOO_MANY_CONNECTIONS)
            resumption = await self._resume(sid, viewer, claim)
        finally:
            Recovery.drop(claim)  # a no-op once `resume` has awaited its read
        bucket = TokenBucket(self.limits.rate, self.limits.clock)
        self._clients[sid] = ConnectedClient(viewer, bucket, credentials.jti)
        slim_environ(environ)  # kept by python-socketio for the connection's life
        await self.service.enter_room(sid, user_room(viewer.user_id))
        self.sockets.metrics.connected_sockets.inc()
        try:
            first_connection = await self.presence.connected(viewer.user_id, sid)
        except Exception as exc:  # Redis down: the connection works, presence catches up
            logger.warning(
                "presence: could not count a connection of user %s: %s", viewer.user_id, exc
            )
            first_connection = False
        if self._transport_closed(sid):
            # The client left while this handler ran: python-socketio would still mark the
            # socket connected and never call `disconnect` for it (a presence that leaks).
            await self._forget(sid, viewer, counted=True)
            return False
        self._timers.start(sid, credentials.expires_at)
        if resumption.pid is not None:
            self.sockets.sio.connect_replies[sid] = {"pid": resumption.pid}
        # Runs after python-socketio has queued the CONNECT packet, so the client is
        # connected when `connection_established` arrives.
        self._spawn(self._after_connect(sid, viewer, first_connection, resumption))
        return True

    async def _resume(self, sid: str, viewer: Viewer, claim: Claim | None) -> Resumption:
        """What the CONNECT resumes (`Recovery.resume`, with the session read begun before
        the token check); a recovered socket is held from here (its own room's live events
        too) until its missed events are replayed."""
        if self.recovery is None:
            return Resumption(None, offsets=False)
        try:
            resumption = await self.recovery.resume(viewer, claim)
        except Exception:
            logger.exception("recovery of a socket's session failed")
            raise socketio.exceptions.ConnectionRefusedError("service unavailable") from None
        manager = self.sockets.sio.manager
        if resumption.offsets:
            manager.offset_sids.add(sid)
        self.recovery.track(sid, resumption)
        if resumption.recovered:
            manager.hold(sid)
        return resumption

    async def _recover(self, sid: str, viewer: Viewer, resumption: Resumption) -> None:
        """Join the restored rooms and replay every event after the client's offset, then
        let the held live events go (`join_and_replay`: in id order, each once)."""
        rooms = [user_room(viewer.user_id), *resumption.rooms]
        failure: Exception | None = None
        try:
            assert resumption.after is not None
            # `take_over` found the log complete after the offset as the CONNECT came in.
            await self.service.join_and_replay(sid, rooms, resumption.after, checked=True)
        except Exception as exc:  # e.g. no free database connection in a reconnect storm
            failure = exc
        finally:
            await self.sockets.sio.manager.release(sid)
        if failure is not None:
            # The client counts itself recovered: carrying on would lose what the replay did
            # not send. Its session and offset are unchanged, so it recovers again.
            logger.warning("replay of recovered socket %s failed (%r): closing it", sid, failure)
            await self._drop_transport(sid)
            return
        if self.recovery is not None and sid in self._clients:
            self.recovery.track(sid, resumption, restored=True)
            await self._rooms_changed(sid)

    async def _rooms_changed(self, sid: str) -> None:
        """The manager's hook after a room change: store the socket's rooms for recovery."""
        client = self._clients.get(sid)
        if self.recovery is not None and client is not None:
            own = user_room(client.viewer.user_id)
            rooms = [room for room in self.service.rooms_of(sid) if room != own]
            await self.recovery.rooms_changed(sid, rooms)

    async def _at_connection_cap(self, user_id: int) -> bool:
        """True when the user already has `MAX_CONNECTIONS_PER_USER` connections open.

        Counted by presence (across workers with Redis). Connects racing each other may pass
        the cap by a few; a presence failure (Redis down) lets the connection in.
        """
        try:
            open_now = await self.presence.connections(user_id)
        except Exception as exc:
            logger.warning("presence: could not count user %s's connections: %s", user_id, exc)
            return False
        return open_now >= self.limits.max_connections_per_user

    async def _drop_transport(self, sid: str) -> None:
        """Close the connection under `sid` without a Socket.IO DISCONNECT: the client sees a
        lost transport and reconnects by itself (after `io server disconnect` it would not)."""
        eio_sid = self.sockets.sio.manager.eio_sid_from_sid(sid, "/")
        if eio_sid is not None:
            await self.sockets.sio.eio.disconnect(eio_sid)

    def _transport_closed(self, sid: str) -> bool:
        """Whether the Engine.IO connection behind `sid` has already gone."""
        eio = self.sockets.sio.eio
        eio_sid = self.sockets.sio.manager.eio_sid_from_sid(sid, "/")
        socket = eio.sockets.get(eio_sid) if eio_sid is not None else None
        return socket is None or bool(socket.closed)

    async def _forget(self, sid: str, viewer: Viewer, *, counted: bool) -> None:
        """Undo a connect whose client left before it was accepted."""
        self._clients.pop(sid, None)
        self._timers.cancel(sid)
        if self.recovery is not None:
            await self._spawn(self.recovery.closed(sid, voluntary=False))
        self.sockets.metrics.connected_sockets.dec()
        await self.service.leave_room(sid, user_room(viewer.user_id))
        if counted:
            await self._spawn(self._after_disconnect(sid, viewer))

    async def _after_connect(
        self, sid: str, viewer: Viewer, first_connection: bool, resumption: Resumption
    ) -> None:
        try:
            await self.emitter.emit_connection_established(sid, viewer.user_id)
        except Exception:
            logger.exception("connect follow-up for user %s failed", viewer.user_id)
        if resumption.recovered:
            await self._recover(sid, viewer, resumption)
        if first_connection:
            await self.follow_presence(viewer.user_id)

    async def _on_disconnect(self, sid: str, reason: Any = None, *_extra: Any) -> None:
        client = self._clients.pop(sid, None)
        self._timers.cancel(sid)
        if self.recovery is not None:
            voluntary = type(reason) is ClientLeft
            await self._spawn(self.recovery.closed(sid, voluntary=voluntary))
        if client is None:
            return
        self.sockets.metrics.connected_sockets.dec()
        # Tracked, so shutdown waits for it before closing the database and Redis.
        await self._spawn(self._after_disconnect(sid, client.viewer))

    async def _after_disconnect(self, sid: str, viewer: Viewer) -> None:
        try:
            last_connection = await self.presence.disconnected(viewer.user_id, sid)
        except Exception:
            logger.exception("could not count user %s's disconnection", viewer.user_id)
            return
        if last_connection:
            await self.follow_presence(viewer.user_id)

    async def mark_offline(self, user_id: int) -> None:
        """The user's last connection closed on a worker that died (the reaper)."""
        await self.follow_presence(user_id)

    async def follow_presence(self, user_id: int) -> None:
        """Store the status the user's connection count says, one change at a time.

        Called after each first connection and each last disconnection (counted atomically,
        across workers with Redis). The calls of one user run in turn here, and each writes
        what the count says when it runs (not "online" for a first, "offline" for a last), so
        the last one leaves a user with no socket open offline, whatever the interleaving.
        """
        try:
            async with self._status_turns.turn(user_id):
                await self.sync_status(user_id)
        except Exception:
            logger.exception("could not update user %s's status", user_id)
