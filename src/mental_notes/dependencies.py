"""`valid_mental_note_id`: loads the note named in the path, or answers 404."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from src.core.deps import CurrentUser, SessionDep
from src.core.ownership import ItemId, get_visible
from src.mental_notes.models import MentalNote


async def valid_mental_note_id(
    note_id: ItemId, session: SessionDep, user: CurrentUser
) -> MentalNote:
    return await get_visible(session, MentalNote, note_id, user_id=user.id, is_admin=user.is_admin)


VisibleMentalNote = Annotated[MentalNote, Depends(valid_mental_note_id)]
