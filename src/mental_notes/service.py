"""Mental-note writes; each commits with its event and emits it afterwards.

A write that loses a race to a delete is a 404 (`src/core/races.py`).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from src.core.clock import utcnow
from src.core.races import delete_or_gone, flush_or_gone
from src.events.emitters import EventEmitter
from src.mental_notes.models import MentalNote
from src.mental_notes.schemas import MentalNoteCreate, MentalNoteUpdate


async def create_mental_note(
    session: AsyncSession, emitter: EventEmitter, *, owner_id: int, data: MentalNoteCreate
) -> MentalNote:
    now = utcnow()
    note = MentalNote(
        user_id=owner_id, title=data.title, content=data.content, created_at=now, updated_at=now
    )
    session.add(note)
    await session.flush()
    await emitter.emit_mental_note_created(note, session=session)
    return note


async def update_mental_note(
    session: AsyncSession, emitter: EventEmitter, *, note: MentalNote, data: MentalNoteUpdate
) -> MentalNote:
    if data.title is not None:
        note.title = data.title
    if data.content is not None:
        note.content = data.content
    note.updated_at = utcnow()
    await flush_or_gone(session, note)
    await emitter.emit_mental_note_updated(note, session=session)
    return note


async def delete_mental_note(
    session: AsyncSession, emitter: EventEmitter, *, note: MentalNote
) -> None:
    await delete_or_gone(session, note)
    await emitter.emit_mental_note_deleted(note.id, note.user_id, session=session)
