"""`StatusWrites` on a SQLite file: a group of syncs is one group-commit trip that stores what
the session path stores; a user whose write fails fails alone; the events reach a watcher in id
order over real sockets."""

from __future__ import annotations

import asyncio
import re

import pytest
from sqlalchemy import text

from src.app.services import AppServices
from src.events.log import log_position
from tests.auth.test_status_writes import Counted
from tests.support import wait_until

SQLITE_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}")
"""How SQLAlchemy's SQLite DATETIME stores a `UTCDateTime`: UTC, no offset, microseconds."""


def group_commits(services: AppServices) -> int:
    grouped = services.socket_service.grouped
    if grouped is None:
        pytest.skip("the group committer serves SQLite files only")
    return grouped.group.commits


async def refuse_status_of(services: AppServices, user_id: int) -> None:
    """A trigger that makes any status update of `user_id` fail in the database itself."""
    async with services.sessionmaker() as session:
        if session.bind.dialect.name == "sqlite":
            await session.execute(
                text(
                    f"CREATE TRIGGER refuse_status BEFORE UPDATE OF status ON users "
                    f"WHEN NEW.id = {user_id} BEGIN SELECT RAISE(ABORT, 'status refused'); END"
                )
            )
        else:
            await session.execute(
                text(
                    "CREATE FUNCTION refuse_status() RETURNS trigger AS $$ BEGIN "
                    "RAISE EXCEPTION 'status refused'; END $$ LANGUAGE plpgsql"
                )
            )
            await session.execute(
                text(
                    f"CREATE TRIGGER refuse_status BEFORE UPDATE ON users FOR EACH ROW "
                    f"WHEN (NEW.id = {user_id}) EXECUTE FUNCTION refuse_status()"
                )
            )
        await session.commit()


async def test_a_group_on_a_sqlite_file_is_one_group_commit(
    services: AppServices, make_user
) -> None:
    async with asyncio.timeout(30):
        users = [(await make_user()).id for _ in range(30)]
        counted = Counted(services, dict.fromkeys(users, 1))
        before = group_commits(services)
        await asyncio.gather(*(counted.writes.sync(user_id) for user_id in users))
        assert group_commits(services) - before == 1
        assert counted.writes.commits == 1
        assert await counted.statuses(users) == dict.fromkeys(users, "online")


async def test_a_user_whose_write_fails_fails_alone(services: AppServices, make_user) -> None:
    """The group fails in the database; each user is then written alone, so the refused
    user's caller gets the error and the others are stored, with their events in id order."""
    async with asyncio.timeout(30):
        users = [(await make_user()).id for _ in range(6)]
        refused = users[2]
        await refuse_status_of(services, refused)
        counted = Counted(services, dict.fromkeys(users, 1))
        async with services.sessionmaker() as session:
            start = await log_position(session)
        outcomes = await asyncio.gather(
            *(counted.writes.sync(user_id) for user_id in users), return_exceptions=True
        )
        failed = [user for user, outcome in zip(users, outcomes, strict=True) if outcome]
        assert failed == [refused]
        assert "status refused" in str(outcomes[2])
        written = [user for user in users if user != refused]
        statuses = await counted.statuses(users)
        assert statuses == {**dict.fromkeys(written, "online"), refused: "offline"}
        stored = await counted.stored_after(start)
        assert [event.data["user_id"] for event in stored] == written
        assert counted.handed == stored


class Overtaken(Counted):
    """Counts where another process's connect lands between this process's read of a count
    and its trip: the first read of `late` says 0, every later one 1."""

    late = 0
    stale_reads = 1

    async def _connections(self, user_id: int) -> int:
        if user_id == self.late and self.stale_reads:
            self.stale_reads -= 1
            return 0
        return await super()._connections(user_id)


async def test_a_count_that_changed_before_the_commit_is_written_again(
    services: AppServices, make_user
) -> None:
    """The trip stores the stale "offline"; the count read after its commit disagrees, so
    the user is written again, without another sync, and ends online."""
    async with asyncio.timeout(30):
        group_commits(services)
        user = (await make_user()).id
        counted = Overtaken(services, {user: 1})
        counted.stale_reads = 0
        await counted.writes.sync(user)  # online, as a tab opened
        counted.handed.clear()
        counted.late, counted.stale_reads = user, 1
        await counted.writes.sync(user)
        await wait_until("the user written again", lambda: len(counted.handed) == 2)
        assert [event.data["status"] for event in counted.handed] == ["offline", "online"]
        assert await counted.statuses([user]) == {user: "online"}


async def test_times_are_stored_as_the_session_path_stores_them(
    services: AppServices, make_user
) -> None:
    async with asyncio.timeout(30):
        group_commits(services)
        by_session, by_trip = (await make_user()).id, (await make_user()).id
        async with services.sessionmaker() as session:
            start = await log_position(session)
        session_path = Counted(services, {by_session: 1}, grouped=False)
        trip_path = Counted(services, {by_trip: 1})
        await session_path.writes.sync(by_session)
        await trip_path.writes.sync(by_trip)
        async with services.sessionmaker() as session:
            rows = await session.execute(
                text(
                    "SELECT status_changed_at, typeof(status_changed_at) FROM users "
                    f"WHERE id IN ({by_session}, {by_trip}) ORDER BY id"
                )
            )
            stored = [(str(row[0]), str(row[1])) for row in rows]
        assert [kind for _, kind in stored] == ["text", "text"]
        assert all(SQLITE_TIME.fullmatch(value) for value, _ in stored), stored
        events = await session_path.stored_after(start)
        assert [event.data["user_id"] for event in events] == [by_session, by_trip]
        assert session_path.handed == events[:1]
        assert trip_path.handed == events[1:]
        # The payloads carry the stored times, written the same way by both paths.
        for event, (value, _) in zip(events, stored, strict=True):
            changed_at = event.data["changed_at"]
            assert changed_at.replace("T", " ").startswith(value[:19]), (changed_at, value)
        shapes = {re.sub(r"\d", "9", event.data["changed_at"]) for event in events}
        assert len(shapes) == 1, shapes


async def test_statuses_of_users_connecting_together_reach_a_watcher_in_id_order(
    connect, live_server, make_user, admin
) -> None:
    watcher = await connect(admin)
    assert (await watcher.call("subscribe_event", {"event_type": "admin"}))["ok"]
    users = [await make_user() for _ in range(10)]
    ids = {user.id for user in users}

    def of(status: str):
        return lambda item: item.data["user_id"] in ids and item.data["status"] == status

    async with asyncio.timeout(30):
        sockets = await asyncio.gather(*(connect(user) for user in users))
        online = await watcher.wait_for("user_status_changed", of("online"), count=len(users))
        await asyncio.gather(*(sock.close() for sock in sockets))
        offline = await watcher.wait_for("user_status_changed", of("offline"), count=len(users))
    for arrived in (online, offline):
        assert {item.data["user_id"] for item in arrived} == ids
    every = [item.meta["event_id"] for item in watcher.events("user_status_changed")]
    assert every == sorted(every)
    assert len(online) == len(offline) == len(users)  # one change each way, none repeated
