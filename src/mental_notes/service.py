"""Mental-note writes; each commits with its event and emits it afterwards.

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
from src.mental_notes.models import MentalNote
from src.mental_notes.schemas import MentalNoteCreate, MentalNotePublic, MentalNoteUpdate

_INSERT_IF_HOLDER = insert_for_holder(
    MentalNote.__table__,  # type: ignore[arg-type]
    ["title", "content", "created_at", "updated_at"],
)
"""Built once. The row is written for the token's user only if that user may write now."""
MENTAL_NOTE_CREATED = EventType.MENTAL_NOTE_CREATED


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
    now = utcnow()
    fields = {"title": data.title, "content": data.content, "created_at": now, "updated_at": now}
    if emitter.socket_service.grouped is not None:
        return await create_grouped(
            emitter, _INSERT_IF_HOLDER, holder, fields, MentalNotePublic, MENTAL_NOTE_CREATED
        )
    row_id = await insert_as_holder(session, _INSERT_IF_HOLDER, holder, fields)
    if row_id is None or holder is None:
        return None
    note = MentalNotePublic(id=row_id, user_id=holder.user_id, **fields)
    await emitter.emit_mental_note_created(note, session=session)
    return note


async def create_mental_note_grouped(
    emitter: EventEmitter, *, holder: TokenClaims | None, data: MentalNoteCreate
) -> MentalNotePublic | None:
    """`create_mental_note` on the grouped path only (`SocketService.grouped` set): for the
    plain ASGI route (`src/api/hot_writes.py`), which has no session."""
    now = utcnow()
    fields = {"title": data.title, "content": data.content, "created_at": now, "updated_at": now}
    return await create_grouped(
        emitter, _INSERT_IF_HOLDER, holder, fields, MentalNotePublic, MENTAL_NOTE_CREATED
    )


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
