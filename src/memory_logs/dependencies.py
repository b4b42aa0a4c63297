"""`valid_memory_log_id`: loads the log named in the path, or answers 404."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from src.core.deps import CurrentUser, SessionDep
from src.core.ownership import ItemId, get_visible
from src.memory_logs.models import MemoryLog


async def valid_memory_log_id(log_id: ItemId, session: SessionDep, user: CurrentUser) -> MemoryLog:
    return await get_visible(session, MemoryLog, log_id, user_id=user.id, is_admin=user.is_admin)


VisibleMemoryLog = Annotated[MemoryLog, Depends(valid_memory_log_id)]
