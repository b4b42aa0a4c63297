"""Mental-note writes; each commits with its event and emits it afterwards.

A write that loses a race to a delete is a 404 (`src/core/races.py`). A create is the hot
write: one Core `INSERT ... SELECT ... RETURNING` that checks its own bearer
(`src/auth/guard.py`), no ORM unit of work, and the row's public form built once.
"""

from __future__ import annotations

from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from src.auth.guard import HOLDER_ID, holder_is_valid, holder_params
from src.core.clock import utcnow
from src.core.races import delete_or_gone, flush_or_gone
from src.core.security import TokenClaims
from src.events.emitters import EventEmitter
from src.mental_notes.models import MentalNote
from src.mental_notes.schemas import MentalNoteCreate, MentalNotePublic, MentalNoteUpdate

_NOTES: Table = MentalNote.__table__  # type: ignore[assignment]
_INSERT_IF_HOLDER = (
    insert(_NOTES)
    .from_select(
        ["user_id", "title", "content", "created_at", "updated_at"],
        select(
            HOLDER_ID,
            bindparam("title", type_=_NOTES.c.title.type),
            bindparam("content", type_=_NOTES.c.content.type),
            bindparam("created_at", type_=_NOTES.c.created_at.type),
            bindparam("updated_at", type_=_NOTES.c.updated_at.type),
        ).where(holder_is_valid()),
    )
    .returning(_NOTES.c.id)
)
"""Built once. The row is written for the token's user only if that user may write now."""


async def create_mental_note(
    session: AsyncSession,
    emitter: EventEmitter,
    *,
    holder: TokenClaims | None,
    data: MentalNoteCreate,
) -> MentalNotePublic | None:
    """Insert a note for the token's user and emit `mental_note_created` with it (one
    commit); None, with nothing written, when the token's user is gone or disabled or the
    token was signed out (the route's 401)."""
    params = holder_params(holder)
    if params is None:
        return None
    now = utcnow()
    fields = {"title": data.title, "content": data.content, "created_at": now, "updated_at": now}
    connection = await session.connection()
    note_id = (
        await connection.execute(_INSERT_IF_HOLDER, {**params, **fields})
    ).scalar_one_or_none()
    if note_id is None:
        await session.rollback()
        return None
    note = MentalNotePublic(id=note_id, user_id=params["holder_id"], **fields)
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
