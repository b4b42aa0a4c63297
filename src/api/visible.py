"""`VisibleMemoryLog`, `VisibleMentalNote`: load the item named in the path, or answer 404."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from src.api.deps import CurrentUser, SessionDep
from src.api.ownership import ItemId, get_visible
from src.memory_logs.models import MemoryLog
from src.mental_notes.models import MentalNote


async def valid_memory_log_id(log_id: ItemId, session: SessionDep, user: CurrentUser) -> MemoryLog:
    return await get_visible(session, MemoryLog, log_id, user_id=user.id, is_admin=user.is_admin)


async def valid_mental_note_id(
    note_id: ItemId, session: SessionDep, user: CurrentUser
) -> MentalNote:
    return await get_visible(session, MentalNote, note_id, user_id=user.id, is_admin=user.is_admin)


VisibleMemoryLog = Annotated[MemoryLog, Depends(valid_memory_log_id)]
VisibleMentalNote = Annotated[MentalNote, Depends(valid_mental_note_id)]
