"""Memory-log writes; each commits with its event and emits it afterwards.

A write that loses a race to a delete is a 404 (`src/core/races.py`). A create is the hot
write: one Core `INSERT ... SELECT ... RETURNING` that checks its own bearer
(`src/auth/guard.py`), no ORM unit of work, and the row's public form built once.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from src.auth.guard import create_grouped, insert_as_holder, insert_for_holder
from src.core.clock import utcnow
from src.core.races import delete_or_gone, flush_or_gone
from src.core.security import TokenClaims
from src.events.emitters import EventEmitter
from src.events.schemas import EventType
from src.memory_logs.models import MemoryLog
from src.memory_logs.schemas import MemoryLogCreate, MemoryLogPublic, MemoryLogUpdate

_INSERT_IF_HOLDER = insert_for_holder(
    MemoryLog.__table__,  # type: ignore[arg-type]
    ["content", "created_at", "updated_at"],
)
"""Built once. The row is written for the token's user only if that user may write now."""
MEMORY_LOG_CREATED = EventType.MEMORY_LOG_CREATED


async def create_memory_log(
    session: AsyncSession,
    emitter: EventEmitter,
    *,
    holder: TokenClaims | None,
    data: MemoryLogCreate,
) -> MemoryLogPublic | None:
    """Insert a log for the token's user and emit `memory_log_created` with it (one commit);
    None, with nothing written, when the token's user is gone or disabled or the token was
    signed out (the route's 401)."""
    now = utcnow()
    fields = {"content": data.content, "created_at": now, "updated_at": now}
    if emitter.socket_service.grouped is not None:
        return await create_grouped(
            emitter, _INSERT_IF_HOLDER, holder, fields, MemoryLogPublic, MEMORY_LOG_CREATED
        )
    row_id = await insert_as_holder(session, _INSERT_IF_HOLDER, holder, fields)
    if row_id is None or holder is None:
        return None
    log = MemoryLogPublic(id=row_id, user_id=holder.user_id, **fields)
    await emitter.emit_memory_log_created(log, session=session)
    return log


async def create_memory_log_grouped(
    emitter: EventEmitter, *, holder: TokenClaims | None, data: MemoryLogCreate
) -> MemoryLogPublic | None:
    """`create_memory_log` on the grouped path only (`SocketService.grouped` set): for the
    plain ASGI route (`src/api/hot_writes.py`), which has no session."""
    now = utcnow()
    fields = {"content": data.content, "created_at": now, "updated_at": now}
    return await create_grouped(
        emitter, _INSERT_IF_HOLDER, holder, fields, MemoryLogPublic, MEMORY_LOG_CREATED
    )


async def update_memory_log(
    session: AsyncSession, emitter: EventEmitter, *, log: MemoryLog, data: MemoryLogUpdate
) -> MemoryLog:
    log.content = data.content
    log.updated_at = utcnow()
    await flush_or_gone(session, log)
    await emitter.emit_memory_log_updated(log, session=session)
    return log


async def delete_memory_log(
    session: AsyncSession, emitter: EventEmitter, *, log: MemoryLog
) -> None:
    await delete_or_gone(session, log)
    await emitter.emit_memory_log_deleted(log.id, log.user_id, session=session)
