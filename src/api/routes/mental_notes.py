"""The five mental-note routes; each write emits its `mental_note_*` event after commit."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from src.api.deps import (
    BAD_BODY,
    UNAUTHORIZED,
    EmitterDep,
    Responses,
    SessionDep,
    TokenHolder,
    error,
)
from src.api.limiters import WRITE_LIMIT_RESPONSES, WRITE_LIMITED
from src.api.ownership import PageDep, list_page
from src.api.snapshot import ListSnapshotDep
from src.api.visible import VisibleMentalNote
from src.auth.exceptions import NotAuthenticated
from src.core.log_position import POSITIONED
from src.core.strict_json import StrictJSONRoute
from src.mental_notes import service
from src.mental_notes.models import MentalNote
from src.mental_notes.schemas import (
    MentalNoteCreate,
    MentalNotePublic,
    MentalNotesPublic,
    MentalNoteUpdate,
)

router = APIRouter(prefix="/api/mental-notes", tags=["mental notes"], route_class=StrictJSONRoute)

JSON = "application/json"
AUTH: Responses = {**UNAUTHORIZED}
WRITE: Responses = {**UNAUTHORIZED, **BAD_BODY, **WRITE_LIMIT_RESPONSES}
FOUND: Responses = {**UNAUTHORIZED, 404: error("no such note, or not yours (the same answer)")}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    dependencies=WRITE_LIMITED,
    response_model=MentalNotePublic,
    responses=WRITE,
)
async def create_mental_note(
    data: MentalNoteCreate, claims: TokenHolder, session: SessionDep, emitter: EmitterDep
) -> Response:
    # The hot write: the bearer is checked in the INSERT itself (`src/auth/guard.py`, no read
    # of the user first) and the answer is serialised once, straight to JSON. (A comment: a
    # docstring would become the route's OpenAPI description.)
    note = await service.create_mental_note(session, emitter, holder=claims, data=data)
    if note is None:
        raise NotAuthenticated()
    return Response(note.model_dump_json(), status.HTTP_201_CREATED, media_type=JSON)


@router.get(
    "",
    response_model=MentalNotesPublic,
    responses={
        **AUTH,
        **POSITIONED,
        403: error("`user_id` of someone else, and the caller is not an admin"),
    },
)
async def list_mental_notes(
    page: PageDep, session: SessionDep, snapshot: ListSnapshotDep
) -> MentalNotesPublic:
    """One page of the owner's items, and the log position it was read at (one snapshot)."""
    items, total = await list_page(session, MentalNote, page)
    return MentalNotesPublic(
        items=[MentalNotePublic.model_validate(i) for i in items],
        total=total,
        position=snapshot.position,
    )


@router.get("/{note_id}", response_model=MentalNotePublic, responses=FOUND)
async def read_mental_note(note: VisibleMentalNote) -> MentalNotePublic:
    return MentalNotePublic.model_validate(note)


@router.patch(
    "/{note_id}",
    response_model=MentalNotePublic,
    dependencies=WRITE_LIMITED,
    responses={**FOUND, **BAD_BODY, **WRITE_LIMIT_RESPONSES},
)
async def update_mental_note(
    data: MentalNoteUpdate, note: VisibleMentalNote, session: SessionDep, emitter: EmitterDep
) -> MentalNotePublic:
    note = await service.update_mental_note(session, emitter, note=note, data=data)
    return MentalNotePublic.model_validate(note)


@router.delete(
    "/{note_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=WRITE_LIMITED,
    responses={**FOUND, **WRITE_LIMIT_RESPONSES},
)
async def delete_mental_note(
    note: VisibleMentalNote, session: SessionDep, emitter: EmitterDep
) -> Response:
    await service.delete_mental_note(session, emitter, note=note)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
