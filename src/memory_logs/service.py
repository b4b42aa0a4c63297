"""Memory-log writes; each commits with its event and emits it afterwards.

A write that loses a race to a delete is a 404 (`src/core/races.py`).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from src.core.clock import utcnow
from src.core.races import delete_or_gone, flush_or_gone
from src.events.emitters import EventEmitter
from src.memory_logs.models import MemoryLog
from src.memory_logs.schemas import MemoryLogCreate, MemoryLogUpdate


async def create_memory_log(
    session: AsyncSession, emitter: EventEmitter, *, owner_id: int, data: MemoryLogCreate
) -> MemoryLog:
    now = utcnow()
    log = MemoryLog(user_id=owner_id, content=data.content, created_at=now, updated_at=now)
    session.add(log)
    await session.flush()
    await emitter.emit_memory_log_created(log, session=session)
    return log


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
