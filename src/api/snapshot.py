"""Gap-free lists: a list route reads its rows and the event-log position they include from one
database snapshot, and answers that position (body field `position`, header `X-Log-Position`).

A client that loads a list and then subscribes with `since=position` receives exactly the
events the list does not already include: none lost, none repeated (docs/contract.md, 6).

Why the position is exact. A write and its event row commit in one transaction, so a snapshot
holds the write's effect exactly when it holds the event row. Event ids become visible in id
order: on PostgreSQL, event-writing transactions take the advisory lock of `EventLog.append`
before they draw an id and keep it until they commit (the lock is released after the commit is
visible), so an id can never commit after a higher one; SQLite has one writer at a time. So in
any snapshot the visible event ids are every id up to the highest visible one (ids of
rolled-back transactions never appear), and that highest id is the position: every event at or
below it is in the list, none above it.

Why one snapshot. PostgreSQL's default READ COMMITTED gives each statement a snapshot of its
own (a write committed between the list query and the position query would be in one and not
the other), so the list transaction runs REPEATABLE READ, READ ONLY: one snapshot, taken at its
first statement. SQLite's driver opens no transaction for a SELECT (each is its own read), so an
explicit `BEGIN` makes the reads one WAL read transaction, which is one snapshot.

The position may be ahead of what the relay has sent live yet (the write committed, its event
not out): a subscribe with `since=position` drops those late live copies
(`SocketService.join_and_replay`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Response
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.pool import SingletonThreadPool, StaticPool

from src.api.deps import CurrentUser, SessionDep
from src.core.log_position import POSITION_HEADER
from src.events.log import log_position


async def begin_snapshot(session: AsyncSession) -> None:
    """End `session`'s transaction and open a read-only one that reads one snapshot.

    What the session loaded so far (the signed-in user) stays loaded: the sessions are made
    with `expire_on_commit=False`, and that transaction only read.
    """
    await session.commit()
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        options: dict[str, Any] = {
            "isolation_level": "REPEATABLE READ",
            "postgresql_readonly": True,
        }
        await session.connection(execution_options=options)
        return
    connection = await session.connection()
    if dialect == "sqlite" and not isinstance(
        connection.engine.pool, StaticPool | SingletonThreadPool
    ):
        # An in-memory database shares one connection between all sessions: a BEGIN there
        # would take in other sessions' writes. It has no snapshot to give, so there a write
        # may land between the reads (an in-memory database is for trying things out).
        await connection.exec_driver_sql("BEGIN")


class ListSnapshot:
    """The position of a list read in this request's snapshot; it also sets the header.

    A route whose list stops short of the snapshot (a page of events cut at `limit`) lowers
    it with `stop_at`, so body and header both say where the list really ends.
    """

    def __init__(self, position: int, response: Response) -> None:
        self._response = response
        self.position = 0
        self.stop_at(position)

    def stop_at(self, position: int) -> None:
        self.position = position
        self._response.headers[POSITION_HEADER] = str(position)


async def read_snapshot(
    session: SessionDep,
    response: Response,
    _user: CurrentUser,  # signed in first: the user is read before the snapshot begins
) -> ListSnapshot:
    """Open the request's snapshot and read the position in it; the route then reads its list
    with the same `session`."""
    await begin_snapshot(session)
    return ListSnapshot(await log_position(session), response)


ListSnapshotDep = Annotated[ListSnapshot, Depends(read_snapshot)]
