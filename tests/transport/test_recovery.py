"""Connection State Recovery with python-socketio clients (docs/contract.md, section 3).

A python-socketio client gets no offset argument unless it asks (`auth.recover: true`), so its
`def h(data, meta)` handlers keep working; one that asks recovers like a `socket.io-client`.
The Node `socket.io-client` side is tests/transport/test_socketio_client.py.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import socketio
from sqlalchemy import select, update

from src.auth.models import User
from src.events.models import SocketSession
from tests.barrier import settle


class PidClient(socketio.AsyncClient):  # type: ignore[misc]
    """An `AsyncClient` that keeps what each CONNECT reply carried (`sid`, `pid`)."""

    def __init__(self) -> None:
        super().__init__(reconnection=False)
        self.replies: list[dict[str, Any]] = []

    async def _handle_connect(self, namespace: str, data: Any) -> None:
        self.replies.append(dict(data or {}))
        await super()._handle_connect(namespace, data)

    @property
    def pid(self) -> str | None:
        return self.replies[-1].get("pid") if self.replies else None


@dataclass
class Recorder:
    """Every event's arguments, as the client's handlers were called with them."""

    events: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def attach(self, client: socketio.AsyncClient) -> None:
        async def record(event: str, *args: Any) -> None:
            self.events.append((event, args))
            self.changed.set()

        client.on("*", handler=record)

    def of(self, name: str) -> list[tuple[Any, ...]]:
        return [args for event, args in self.events if event == name]

    async def wait(self, name: str, count: int = 1, timeout: float = 10) -> list[tuple[Any, ...]]:
        async with asyncio.timeout(timeout):
            while len(self.of(name)) < count:
                self.changed.clear()
                await self.changed.wait()
        return self.of(name)


async def open_socket(url: str, auth: dict[str, Any]) -> tuple[PidClient, Recorder]:
    client, recorder = PidClient(), Recorder()
    recorder.attach(client)
    await client.connect(url, auth=auth, transports=["websocket"], wait_timeout=5)
    await recorder.wait("connection_established")
    return client, recorder


async def drop(client: socketio.AsyncClient) -> None:
    """Lose the connection without a Socket.IO DISCONNECT (a network failure, not a leave)."""
    await client.eio.disconnect(abort=True)


async def write_logs(api: Any, user: Any, count: int, tag: str) -> list[int]:
    ids = []
    for n in range(count):
        response = await api.post(
            "/api/memory-logs", json={"content": f"{tag} {n}"}, headers=user.headers
        )
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


async def dropped_after(
    url: str, api: Any, user: Any, missed: int
) -> tuple[str | None, str, list[int]]:
    """A socket of `user` that gets offsets, subscribed to `memory_logs`, was sent one log
    and lost its transport; then `missed` logs were written. Its `(pid, offset, missed ids)`:
    what a CONNECT claims to resume it, and what that one must be replayed."""
    client, recorder = await open_socket(url, {"token": user.token, "recover": True})
    await client.call("subscribe_event", {"event_type": "memory_logs"}, timeout=5)
    await write_logs(api, user, 1, "seen")
    [(_data, _meta, offset)] = await recorder.wait("memory_log_created")
    pid = client.pid  # before the drop: what the client would claim
    await drop(client)
    return pid, offset, await write_logs(api, user, missed, "missed")


async def resumes_with(url: str, auth: dict[str, Any], missed: list[int]) -> None:
    """A CONNECT claiming `auth`'s pid and offset recovers that session: it keeps the pid and
    is replayed exactly the `missed` logs, in order."""
    again, replay = await open_socket(url, auth)
    try:
        assert again.pid == auth["pid"]
        events = await replay.wait("memory_log_created", len(missed))
        assert [data["id"] for data, _meta, _offset in events] == missed
    finally:
        await again.disconnect()


async def test_a_python_client_gets_a_pid_and_no_offset_so_two_argument_handlers_work(
    live_url, api, alice
):
    client = PidClient()
    created: list[tuple[dict[str, Any], dict[str, Any]]] = []
    arrived = asyncio.Event()

    @client.on("memory_log_created")
    async def on_created(log: dict[str, Any], meta: dict[str, Any]) -> None:  # exactly two
        created.append((log, meta))
        arrived.set()

    await client.connect(live_url, auth={"token": alice.token}, transports=["websocket"])
    try:
        assert isinstance(client.pid, str) and client.pid
        assert await client.call("subscribe_event", {"event_type": "memory_logs"}, timeout=5)
        [log_id] = await write_logs(api, alice, 1, "plain")
        await asyncio.wait_for(arrived.wait(), 10)
        [(log, meta)] = created
        assert log["id"] == log_id and isinstance(meta["event_id"], int)
    finally:
        await client.disconnect()


async def test_auth_recover_true_gives_the_offset_as_a_last_string_argument(live_url, api, alice):
    client, recorder = await open_socket(live_url, {"token": alice.token, "recover": True})
    try:
        await client.call("subscribe_event", {"event_type": "memory_logs"}, timeout=5)
        await write_logs(api, alice, 2, "offset")
        events = await recorder.wait("memory_log_created", 2)
        for data, meta, offset in events:
            assert offset == str(meta["event_id"]) and data["user_id"] == alice.id
        # One-socket events (not from the event log) carry no offset.
        [(established,)] = recorder.of("connection_established")
        assert established["user_id"] == alice.id
    finally:
        await client.disconnect()


async def test_a_dropped_client_recovers_its_rooms_and_every_missed_event_in_order(
    live_url, api, alice
):
    pid, offset, missed = await dropped_after(live_url, api, alice, missed=5)

    auth = {"token": alice.token, "recover": True, "pid": pid, "offset": offset}
    again, replay = await open_socket(live_url, auth)
    try:
        assert again.pid == pid  # `socket.recovered` for a socket.io-client
        events = await replay.wait("memory_log_created", 5)
        assert [data["id"] for data, _meta, _offset in events] == missed
        assert [int(o) for _d, _m, o in events] == sorted(int(o) for _d, _m, o in events)
        later = await write_logs(api, alice, 1, "live")  # the room was restored
        events = await replay.wait("memory_log_created", 6)
        assert events[-1][0]["id"] == later[0]
    finally:
        await again.disconnect()


async def test_another_users_pid_is_not_recovered(live_url, api, connect, alice, bob, admin):
    client, _recorder = await open_socket(live_url, {"token": alice.token, "recover": True})
    await client.call("subscribe_event", {"event_type": "memory_logs"}, timeout=5)
    pid = client.pid
    await drop(client)

    auth = {"token": bob.token, "recover": True, "pid": pid, "offset": "0"}
    thief, stolen = await open_socket(live_url, auth)
    try:
        assert thief.pid not in (None, pid)
        await write_logs(api, alice, 1, "alice's")
        await settle(connect, api, admin, _Pinger(thief))
        assert stolen.of("memory_log_created") == []
    finally:
        await thief.disconnect()


async def test_a_room_the_user_may_no_longer_join_is_not_restored(
    live_url, api, connect, admin, alice, db_session, make_user
):
    watcher = await make_user(admin=True, email="boss@example.com")  # for `settle`
    client, recorder = await open_socket(live_url, {"token": admin.token, "recover": True})
    for room in ("admin", f"user_{alice.id}"):
        assert (await client.call("subscribe_event", {"event_type": room}, timeout=5))["ok"]
    await write_logs(api, admin, 1, "seen")
    [(_data, _meta, offset)] = await recorder.wait("memory_log_created")
    pid = client.pid
    await drop(client)
    await db_session.execute(update(User).where(User.id == admin.id).values(is_admin=False))
    await db_session.commit()
    await write_logs(api, alice, 1, "alice's, missed")
    own = await write_logs(api, admin, 1, "own, missed")

    auth = {"token": admin.token, "recover": True, "pid": pid, "offset": offset}
    again, replay = await open_socket(live_url, auth)
    try:
        assert again.pid == pid  # recovered, without what it may no longer hold
        [(data, _meta, _offset)] = await replay.wait("memory_log_created")
        assert data["id"] == own[0]
        await write_logs(api, alice, 1, "alice's, live")
        await settle(connect, api, watcher, _Pinger(again))
        assert [d["id"] for d, _m, _o in replay.of("memory_log_created")] == own
    finally:
        await again.disconnect()


async def test_a_client_that_disconnects_on_purpose_is_not_resumed(live_url, alice, db_session):
    client, _recorder = await open_socket(live_url, {"token": alice.token, "recover": True})
    pid = client.pid
    assert await db_session.get(SocketSession, pid) is not None
    # A Socket.IO DISCONNECT packet (`socket.disconnect()` of socket.io-client): the session
    # goes, as in Node. (python-socketio's own `disconnect()` closes before it is sent.)
    await client.eio.send("1")
    async with asyncio.timeout(10):
        while await db_session.scalar(select(SocketSession.pid).where(SocketSession.pid == pid)):
            await db_session.rollback()  # a fresh snapshot next time
            await asyncio.sleep(0.05)
    await client.disconnect()
    again, _ = await open_socket(
        live_url, {"token": alice.token, "recover": True, "pid": pid, "offset": "0"}
    )
    try:
        assert again.pid not in (None, pid)
    finally:
        await again.disconnect()


class _Pinger:
    """What `settle` needs of a socket: `call("ping")` (answered behind its queued events)."""

    def __init__(self, client: socketio.AsyncClient) -> None:
        self.client = client

    async def call(self, event: str, data: Any = None) -> Any:
        return await self.client.call(event, data, timeout=5)


async def test_retention_removes_closed_sessions_and_keeps_open_ones(
    live_server_factory, alice, db_session
):
    server = live_server_factory(event_retention_seconds=2)
    kept, _ = await open_socket(server.url, {"token": alice.token, "recover": True})
    gone, _ = await open_socket(server.url, {"token": alice.token, "recover": True})
    await drop(gone)

    async def stored(pid: str | None) -> bool:
        return await db_session.get(SocketSession, pid) is not None

    try:
        async with asyncio.timeout(20):  # the pruner runs every second here
            while await stored(gone.pid):
                await db_session.rollback()  # a fresh snapshot next time
                await asyncio.sleep(0.1)
        await db_session.rollback()
        assert await stored(kept.pid)  # open for longer than retention: still resumable
    finally:
        await kept.disconnect()


async def test_a_recovered_session_keeps_its_rooms_for_the_next_drop(live_url, api, alice):
    client, recorder = await open_socket(live_url, {"token": alice.token, "recover": True})
    await client.call("subscribe_event", {"event_type": "memory_logs"}, timeout=5)
    await write_logs(api, alice, 1, "seen")
    [(_data, _meta, offset)] = await recorder.wait("memory_log_created")
    pid = client.pid
    for lap in range(2):
        await drop(client)
        missed = await write_logs(api, alice, 2, f"missed on lap {lap}")
        auth = {"token": alice.token, "recover": True, "pid": pid, "offset": offset}
        client, recorder = await open_socket(live_url, auth)
        assert client.pid == pid
        events = await recorder.wait("memory_log_created", 2)
        assert [data["id"] for data, _meta, _offset in events] == missed
        offset = events[-1][2]
    await client.disconnect()


async def _fail_the_next_replay(service: Any) -> None:
    """Make the server's next `join_and_replay` fail as a pool timeout would (on its loop)."""
    replay = service.join_and_replay

    async def failing(*_args: Any, **_kwargs: Any) -> Any:
        service.join_and_replay = replay
        raise TimeoutError("QueuePool limit reached (injected)")

    service.join_and_replay = failing


async def test_a_recovery_whose_replay_fails_is_closed_and_recovers_on_the_next_try(
    live_server, api, alice
):
    url = live_server.url
    pid, offset, missed = await dropped_after(url, api, alice, missed=3)
    await live_server.run_on_server(_fail_the_next_replay(live_server.services.socket_service))

    auth = {"token": alice.token, "recover": True, "pid": pid, "offset": offset}
    unlucky, unlucky_events = await open_socket(url, auth)
    closed = asyncio.Event()
    unlucky.on("disconnect", lambda *_reason: closed.set())
    # Closed under it (a lost transport, so a socket.io-client reconnects by itself), having
    # been sent none of what it missed: it does not believe it is up to date.
    await asyncio.wait_for(closed.wait(), 10)
    assert unlucky.pid == pid
    assert unlucky_events.of("memory_log_created") == []

    await resumes_with(url, auth, missed)  # the same pid and offset: recovered now


async def test_session_writes_made_at_once_commit_together_each_with_its_own_outcome(
    services, alice, db_session
):
    """Group commit (`SessionStore`): the writes of sockets that connect at once share one
    transaction, each caller returns once its own write is stored, and a write that cannot be
    stored fails alone, its group's others are still stored."""
    store = services.gateway.recovery.store
    before = store.commits
    pids = await asyncio.gather(*(store.open(alice.id) for _ in range(20)))
    assert store.commits == before + 1
    stored = await db_session.scalars(
        select(SocketSession.pid).where(SocketSession.user_id == alice.id)
    )
    assert set(stored) == set(pids)

    unstorable = [object()]  # not JSON
    outcomes = await asyncio.gather(
        store.save_rooms(pids[0], ["notifications"]),
        store.save_rooms(pids[1], unstorable),  # type: ignore[list-item]
        store.forget(pids[2]),
        return_exceptions=True,
    )
    assert outcomes[0] is None and outcomes[2] is None
    assert isinstance(outcomes[1], Exception)
    await db_session.rollback()  # a fresh snapshot
    rows = await db_session.scalars(select(SocketSession).where(SocketSession.pid.in_(pids[:3])))
    assert {row.pid: row.rooms for row in rows} == {pids[0]: ["notifications"], pids[1]: []}

    # Resumes at once read their rows together, each getting its own (or none).
    found = await asyncio.gather(*(store.record(pid) for pid in pids[:4]))
    taken = await asyncio.gather(*(store.take_over(row, alice.id, 0) for row in found))
    assert taken == [["notifications"], [], None, []]
    assert await store.take_over(found[3], alice.id + 1, 0) is None  # another user's
