"""`SocketGateway`: the Socket.IO connection lifecycle and the inbound event pipeline.

Connect: authenticate the token, join `user_{id}`, send `connection_established`, count
presence, arm the token's expiry timer. Each inbound event: rate limit, size limit, then the
`EventHandlerRegistry`. A socket's access holds over time: its token expires (`token_expired`,
then closed after a grace unless refreshed in band), and it is closed when its token is
revoked or its user deleted or disabled.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import socketio

from src.cluster.presence import LocalPresence, Presence, UserLocks
from src.core.config import RateLimit
from src.events.emitters import EventEmitter
from src.events.errors import SocketError
from src.events.handlers import EventHandlerRegistry, HandlerContext
from src.events.rooms import RoomPolicy, Viewer, user_room
from src.events.schemas import ErrorCode, ErrorEvent
from src.events.socket_service import SocketService
from src.transport.door import ClientLeft
from src.transport.expiry import Credentials, TokenTimers
from src.transport.fastpath import slim_environ
from src.transport.packets import MALFORMED_EVENT, TolerantPacket
from src.transport.rate_limit import TokenBucket
from src.transport.recovery import Recovery, Resumption

logger = logging.getLogger("mindwire.events")

Authenticator = Callable[[str | None], Awaitable[Credentials | None]]
"""The credentials of a valid, unrevoked token of an existing user; None otherwise."""
StatusSync = Callable[[int], Awaitable[None]]
"""Make a user's stored status follow their open connections (online while any is open)."""
AdminLookup = Callable[[set[int]], Awaitable[set[int]]]
"""Which of these user ids are admins in the database now."""
UserLookup = Callable[[set[int]], Awaitable[set[int]]]
"""Which of these user ids still exist in the database, and are not disabled."""
RevocationLookup = Callable[[set[str]], Awaitable[set[str]]]
"""Which of these token ids were revoked (signed out)."""

UNAUTHORIZED = "unauthorized"
TOO_MANY_CONNECTIONS = "too_many_connections"


@dataclass(slots=True)
class ConnectedClient:
    viewer: Viewer
    bucket: TokenBucket
    jti: str | None = None
    """The id of the token the socket holds now (the last one refreshed in band)."""


@dataclass
class GatewayLimits:
    rate: RateLimit
    max_message_bytes: int
    max_subscriptions: int
    max_connections_per_user: int = 20


@dataclass
class SocketGateway:
    """Binds connect, disconnect and every other event of `service.sio` to Mindwire's rules."""

    service: SocketService
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
        sio = self.service.sio
        # JSON nested too deep is answered (`validation_error`), not dropped.
        sio.packet_class = TolerantPacket
        sio.on("connect", self._on_connect)
        sio.on("disconnect", self._on_disconnect)
        sio.manager.rooms_changed = self._rooms_changed
        # Not `sio.on("*")`: python-socketio hands that catch-all an event literally named
        # "*" without its name, shifting the sid into the event's place.
        sio.register_namespace(_InboundEvents(self._on_event))

    async def _on_connect(self, sid: str, environ: Any = None, auth: Any = None) -> bool | None:
        # Only the lifecycle calls this, with a new sid: `DoorServer` hands a client event
        # named "connect" (or "disconnect") to `_on_event`, which answers `unknown_event`.
        token = auth.get("token") if isinstance(auth, dict) else None
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
        resumption = await self._resume(sid, viewer, auth, environ)
        bucket = TokenBucket(self.limits.rate)
        self._clients[sid] = ConnectedClient(viewer, bucket, credentials.jti)
        slim_environ(environ)  # kept by python-socketio for the connection's life
        await self.service.enter_room(sid, user_room(viewer.user_id))
        self.service.metrics.connected_sockets.inc()
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
            self.service.sio.connect_replies[sid] = {"pid": resumption.pid}
        # Runs after python-socketio has queued the CONNECT packet, so the client is
        # connected when `connection_established` arrives.
        self._spawn(self._after_connect(sid, viewer, first_connection, resumption))
        return True

    async def _resume(self, sid: str, viewer: Viewer, auth: Any, environ: Any) -> Resumption:
        """What the CONNECT resumes (`Recovery.resume`); a recovered socket is held from here
        (its own room's live events too) until its missed events are replayed."""
        if self.recovery is None:
            return Resumption(None, offsets=False)
        try:
            resumption = await self.recovery.resume(viewer, auth, environ)
        except Exception:
            logger.exception("recovery of a socket's session failed")
            raise socketio.exceptions.ConnectionRefusedError("service unavailable") from None
        manager = self.service.sio.manager
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
            await self.service.join_and_replay(sid, rooms, resumption.after)
        except Exception as exc:  # e.g. no free database connection in a reconnect storm
            failure = exc
        finally:
            await self.service.sio.manager.release(sid)
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
        eio_sid = self.service.sio.manager.eio_sid_from_sid(sid, "/")
        if eio_sid is not None:
            await self.service.sio.eio.disconnect(eio_sid)

    def _transport_closed(self, sid: str) -> bool:
        """Whether the Engine.IO connection behind `sid` has already gone."""
        eio = self.service.sio.eio
        eio_sid = self.service.sio.manager.eio_sid_from_sid(sid, "/")
        socket = eio.sockets.get(eio_sid) if eio_sid is not None else None
        return socket is None or bool(socket.closed)

    async def _forget(self, sid: str, viewer: Viewer, *, counted: bool) -> None:
        """Undo a connect whose client left before it was accepted."""
        self._clients.pop(sid, None)
        self._timers.cancel(sid)
        if self.recovery is not None:
            await self._spawn(self.recovery.closed(sid, voluntary=False))
        self.service.metrics.connected_sockets.dec()
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
        self.service.metrics.connected_sockets.dec()
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

    async def recheck_admins(self, only: set[int] | None = None) -> list[str]:
        """Withdraw admin rights from the sockets of users who are no longer admins.

        A token is checked once, at connect; a socket lives on. Each such socket leaves the
        rooms only admins may hold (and moves to its own scope of `memory_logs` and
        `mental_notes`), is told so with an `error` event (`forbidden`), and subscribes from
        then on as the user it now is. `only`: look at these users' sockets alone. Returns the
        sids changed.
        """
        admins = {
            sid: c.viewer.user_id
            for sid, c in self._clients.items()
            if c.viewer.is_admin and (only is None or c.viewer.user_id in only)
        }
        if not admins or self.current_admins is None:
            return []
        still_admins = await self.current_admins(set(admins.values()))
        demoted = [sid for sid, user_id in admins.items() if user_id not in still_admins]
        for sid in demoted:
            await self._withdraw_admin_rights(sid, admins[sid])
        return demoted

    async def _withdraw_admin_rights(self, sid: str, user_id: int) -> None:
        client = self._clients.get(sid)
        if client is None:  # disconnected meanwhile
            return
        viewer = Viewer(user_id, is_admin=False)
        client.viewer = viewer
        left: list[str] = []
        for room in self.service.rooms_of(sid):
            target = self.rooms.reassess(room, viewer)
            if target == room:
                continue
            await self.service.leave_room(sid, room)
            left.append(room)
            if target is not None:
                await self.service.enter_room(sid, target)
        logger.info("user %s is no longer an admin: socket %s left %s", user_id, sid, left)
        error = ErrorEvent(
            code=ErrorCode.FORBIDDEN,
            message="your admin rights were withdrawn: admin-only subscriptions were ended",
            details={"rooms": sorted(left)},
        )
        await self.emitter.emit_error(sid, error)

    @property
    def token_timers(self) -> int:
        """Expiry timers armed: one per open socket, none left behind by a closed one."""
        return len(self._timers)

    async def refresh(self, sid: str, token: str) -> datetime:
        """Swap the socket's token for `token` (`refresh_token`): a new expiry, a new timer.

        Raises `SocketError` (`unauthorized` for a token that is not valid now, `forbidden`
        for another user's) and changes nothing then. Returns the new expiry.
        """
        client = self._clients.get(sid)
        if client is None:
            raise SocketError(ErrorCode.UNAUTHORIZED, "the socket is closing")
        credentials = await self.authenticate(token)
        if credentials is None:
            raise SocketError(ErrorCode.UNAUTHORIZED, "the token is invalid, expired or revoked")
        if credentials.viewer.user_id != client.viewer.user_id:
            raise SocketError(ErrorCode.FORBIDDEN, "the token is another user's")
        if sid not in self._clients:  # closed while the token was checked
            raise SocketError(ErrorCode.UNAUTHORIZED, "the socket is closing")
        client.jti = credentials.jti
        self._timers.start(sid, credentials.expires_at)
        return credentials.expires_at

    def _token_expired(self, sid: str) -> None:
        if sid not in self._clients:
            return
        error = ErrorEvent(
            code=ErrorCode.TOKEN_EXPIRED,
            message="the access token expired: send refresh_token with a new one",
            details={"grace_seconds": self.token_grace_seconds},
        )
        self._spawn(self.emitter.emit_error(sid, error))

    def _token_grace_over(self, sid: str) -> None:
        if sid in self._clients:
            logger.info("socket %s closed: its token expired and was not refreshed", sid)
            self._spawn(self._close(sid))

    async def close_token(self, jti: str) -> int:
        """Close this worker's sockets that hold token `jti` (signed out). Returns how many."""
        sids = [sid for sid, client in self._clients.items() if client.jti == jti]
        for sid in sids:
            await self._close(sid, "the access token was revoked (signed out)")
        return len(sids)

    async def recheck_access(self, only: set[int] | None = None) -> list[str]:
        """Close the sockets whose token was revoked or whose user was deleted or disabled.

        Catches what other workers decided (a sign-out answered by another process) and
        deletions, which no request announces. `only`: look at these users' sockets alone.
        Returns the sids closed.
        """
        holders = {
            sid: (c.viewer.user_id, c.jti)
            for sid, c in self._clients.items()
            if only is None or c.viewer.user_id in only
        }
        if not holders:
            return []
        gone: set[int] = set()
        revoked: set[str] = set()
        if self.existing_users is not None:
            user_ids = {user_id for user_id, _jti in holders.values()}
            gone = user_ids - await self.existing_users(user_ids)
        if self.revoked_tokens is not None:
            jtis = {jti for _user_id, jti in holders.values() if jti is not None}
            revoked = await self.revoked_tokens(jtis)
        closed: list[str] = []
        for sid, (user_id, jti) in holders.items():
            if user_id in gone:
                await self._close(sid, "the user was deleted or disabled")
            elif jti is not None and jti in revoked:
                await self._close(sid, "the access token was revoked (signed out)")
            else:
                continue
            closed.append(sid)
        return closed

    async def _close(self, sid: str, reason: str | None = None) -> None:
        """Tell the socket why (an `unauthorized` error) when there is a reason, then close it."""
        client = self._clients.get(sid)
        if client is None:
            return
        if reason is not None:
            error = ErrorEvent(code=ErrorCode.UNAUTHORIZED, message=reason)
            await self.emitter.emit_error(sid, error)
        try:
            await self.service.sio.disconnect(sid)
        except Exception:
            logger.exception("could not close socket %s", sid)

    async def _on_event(self, event: str, sid: str, *args: Any) -> Any:
        client = self._clients.get(sid)
        if client is None:
            return None
        known = event in self.registry.registrations
        self.service.metrics.events_received.labels(event if known else "unknown").inc()
        context = self.context_for(sid, client.viewer)
        if not client.bucket.take():
            error = SocketError(ErrorCode.RATE_LIMITED, "too many events: slow down")
            return await self.registry.reject(event, error, context)
        if event is MALFORMED_EVENT:
            error = SocketError(
                ErrorCode.VALIDATION_ERROR,
                "the message could not be decoded: its JSON is nested too deeply",
            )
            return await self.registry.reject(None, error, context)
        if _encoded_size(args) > self.limits.max_message_bytes:
            error = SocketError(
                ErrorCode.PAYLOAD_TOO_LARGE,
                f"messages are limited to {self.limits.max_message_bytes} bytes",
            )
            return await self.registry.reject(event, error, context)
        data = args[0] if len(args) == 1 else (list(args) if args else None)
        return await self.registry.handle_event(event, sid, data, context)

    def context_for(self, sid: str, viewer: Viewer) -> HandlerContext:
        return HandlerContext(
            sid=sid,
            viewer=viewer,
            socket_service=self.service,
            emitter=self.emitter,
            rooms=self.rooms,
            sessionmaker=self.service.sessionmaker,
            logger=self.registry.logger,
            max_subscriptions=self.limits.max_subscriptions,
            tokens=self,
        )

    def _spawn(self, coroutine: Awaitable[None]) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def drain(self) -> None:
        """Wait for connect and disconnect follow-ups still running (used at shutdown)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


class _InboundEvents(socketio.AsyncNamespace):  # type: ignore[misc]
    """Every client event of namespace `/` but `connect` and `disconnect`, with its name."""

    def __init__(self, on_event: Callable[..., Awaitable[Any]]) -> None:
        super().__init__("/")
        self._on_event = on_event

    async def trigger_event(self, event: str, *args: Any) -> Any:
        return await self._on_event(event, *args)


def _encoded_size(args: tuple[Any, ...]) -> int:
    """Bytes the message's arguments take as JSON (binary attachments by their length)."""
    size = 0
    for arg in args:
        if isinstance(arg, bytes | bytearray):
            size += len(arg)
            continue
        try:
            size += len(json.dumps(arg, default=_binary_size_marker, separators=(",", ":")))
        except (TypeError, ValueError):
            size += 0
    return size


def _binary_size_marker(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return "x" * len(value)
    raise TypeError(f"cannot size {type(value).__name__}")
